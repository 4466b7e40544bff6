"""Local mode: deploy the unchanged stack onto an embedded AWS emulator and run the handlers.

- `emulator`: moto's server on 127.0.0.1 (random port), its IAM switch; `moto_patches`: the
  narrow, tested patches applied at server start (moto pinned at 5.2.5).
- `deploy`: Pulumi mocks that create every resource in the emulator through boto3.
- `topology`: functions, queues, mappings and schedules read from the registrations.
- `runtime`: Lambda semantics (pollers per event source mapping, worker processes, schedules);
  `worker`: one execution environment (`python -m local.worker MODULE.FUNCTION`).
- `session`: one deployment, start to teardown; `run`: the `docpipe local run` flow and its
  report; `state`: `local up/down/send` and the state file.

See docs/local-mode.md.
"""
