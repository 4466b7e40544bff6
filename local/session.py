"""One local deployment: emulator started, stack deployed, IAM on, Lambda runtime running.

`docpipe local run`, `local up`, the tests and the benchmark all start one of these. A session
can start from a snapshot of an earlier one instead of deploying (`local up --persist`), and
save one when it stops (`local.persistence`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import persistence
from local.deploy import Deployment, EmulatorMocks
from local.emulator import Credentials, Emulator, create_operator
from local.runtime import PROJECT_DIR, LambdaRuntime, RuntimeOptions
from local.topology import Topology, read_topology
from mockrun import StackRun, run_program

NLTK_BUNDLE = PROJECT_DIR / ".docpipe" / "nltk_data"


class DeployError(Exception):
    """The stack could not be deployed onto the emulator; the message says which resource."""


@dataclass
class SessionOptions:
    stack: str = "dev"
    config_overrides: Mapping[str, str] = field(default_factory=dict)
    runtime: RuntimeOptions = field(default_factory=RuntimeOptions)
    port: int = 0
    project_dir: Path = PROJECT_DIR
    # False: deploy only, nothing polls (the benchmark drives the handlers itself).
    start_runtime: bool = True
    # Start from this saved state instead of deploying (its port, resources and outputs).
    restore: persistence.Snapshot | None = None


def nltk_bundle() -> Path:
    """NLTK data for the workers: on Lambda it is a layer at /opt/python, here a local folder."""
    from packager.nltk_data import bundle

    return bundle(NLTK_BUNDLE)


class LocalSession:
    """Context manager: everything up on enter, everything torn down on exit."""

    def __init__(self, options: SessionOptions | None = None) -> None:
        self.options = options or SessionOptions()
        restore = self.options.restore
        self.emulator = Emulator(restore.port if restore else self.options.port)
        self.stack: StackRun | None = None
        self._outputs: dict[str, Any] | None = None
        self.deployment = Deployment()
        self.topology = Topology()
        self.operator: Credentials | None = None
        self.runtime: LambdaRuntime | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LocalSession:
        self.emulator.start()
        try:
            if self.options.restore is not None:
                self._restore(self.options.restore)
            else:
                self._deploy()
                self.operator = create_operator(self.emulator)
            # From here on every call must be signed by a known principal and allowed by IAM.
            self.emulator.set_auth(enabled=True)
            runtime_options = self.options.runtime
            if runtime_options.nltk_data is None:
                runtime_options.nltk_data = nltk_bundle()
            if self.options.start_runtime:
                self.runtime = LambdaRuntime(
                    self.emulator, self.topology, runtime_options, service_credentials=self.operator
                )
                self.runtime.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _deploy(self) -> None:
        mocks = EmulatorMocks(self.emulator)
        try:
            self.stack = run_program(
                self.options.stack,
                config_overrides=dict(self.options.config_overrides),
                mocks=mocks,
                project_dir=self.options.project_dir,
            )
        except Exception as exc:
            errors = "; ".join(mocks.deployment.errors) or str(exc)
            raise DeployError(f"deploying stack {self.options.stack!r} failed: {errors}") from exc
        self.deployment = mocks.deployment
        self.topology = read_topology(self.stack)
        self._outputs = self.stack.outputs

    def _restore(self, snapshot: persistence.Snapshot) -> None:
        persistence.load_backends(snapshot.backends)
        self._outputs = snapshot.outputs
        self.topology = snapshot.topology
        self.deployment = snapshot.deployment
        self.operator = snapshot.operator
        if dict(self.options.config_overrides) != snapshot.config_overrides:
            self.deployment.notes.append(
                f"restored as saved, with config {snapshot.config_overrides}: the config "
                "given now applies only to a fresh deployment"
            )

    def stop(self, save_to: Path | None = None) -> None:
        """Tear down; with `save_to`, snapshot the emulator's state there first (the runtime
        and the server stopped, so nothing changes while it is taken)."""
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None
        if save_to is not None and self.emulator.endpoint and self.operator is not None:
            self.emulator.set_auth(enabled=False)  # process-wide, not part of the state
            self.emulator.shutdown()
            persistence.save(save_to, self.snapshot())
        self.emulator.stop()

    def snapshot(self) -> persistence.Snapshot:
        import moto

        assert self.operator is not None
        return persistence.Snapshot(
            moto_version=moto.__version__,
            stack=self.options.stack,
            config_overrides=dict(self.options.config_overrides),
            port=self.emulator.port,
            outputs=self.outputs,
            topology=self.topology,
            deployment=self.deployment,
            operator=self.operator,
            backends=persistence.dump_backends(),
        )

    def __enter__(self) -> LocalSession:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- what callers use -----------------------------------------------------------------------

    @property
    def outputs(self) -> dict[str, Any]:
        assert self._outputs is not None, "start() first"
        return self._outputs

    def client(self, service: str) -> Any:
        """A client acting as the operator (allowed everything), like a developer's own keys."""
        return self.emulator.client(service, self.operator)

    def environment(self) -> dict[str, str]:
        """What to export to use the emulator with boto3 or the AWS CLI."""
        assert self.operator is not None
        return {
            "AWS_ENDPOINT_URL": self.emulator.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            **self.operator.as_env(),
        }
