"""Local mode: deploy the unchanged stack onto an embedded AWS emulator and run the handlers.

- `emulator`: moto's server on 127.0.0.1 (random port), its IAM switch and narrow patches.
- `deploy`: Pulumi mocks that create every resource in the emulator through boto3.
- `runtime`: Lambda semantics (pollers per event source mapping, worker processes, schedules).
- `run`: the `docpipe local run` flow and its report; `state`: `local up/down/send`.
"""
