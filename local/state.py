"""`docpipe local up/down/send`: a long-running local deployment and its state file.

`up` starts a detached process that runs a LocalSession until it is told to stop; that
process writes `.docpipe/local.json` (pid, endpoint, environment, stack outputs) once
everything runs, and removes it on exit. `down` and `send` read the file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local.runtime import PROJECT_DIR
from local.session import LocalSession, SessionOptions

STATE_DIR = PROJECT_DIR / ".docpipe"
# DOCPIPE_LOCAL_STATE moves the state file (tests run their own deployment beside a user's).
STATE_FILE = Path(os.environ.get("DOCPIPE_LOCAL_STATE", STATE_DIR / "local.json"))
UP_LOG = STATE_FILE.with_suffix(".log")


class StateError(Exception):
    """No local deployment is running, or one already is."""


@dataclass
class LocalState:
    pid: int
    stack: str
    endpoint: str
    environment: dict[str, str]
    outputs: dict[str, Any]
    notes: list[str]
    log_dir: str

    def save(self, path: Path = STATE_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2))
        temporary.replace(path)  # readers never see a half-written file

    @classmethod
    def load(cls, path: Path = STATE_FILE) -> LocalState:
        if not path.exists():
            raise StateError("no local deployment is running (start one with `docpipe local up`)")
        return cls(**json.loads(path.read_text()))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_state(path: Path = STATE_FILE) -> LocalState | None:
    """The state of a live deployment; a file left by a dead process is removed."""
    try:
        state = LocalState.load(path)
    except StateError:
        return None
    if pid_alive(state.pid):
        return state
    path.unlink(missing_ok=True)
    return None


def serve(options: SessionOptions, path: Path = STATE_FILE) -> int:
    """Run a session in this process until SIGTERM or SIGINT (the `up` daemon's body)."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with LocalSession(options) as session:
        LocalState(
            pid=os.getpid(),
            stack=options.stack,
            endpoint=session.emulator.endpoint,
            environment=session.environment(),
            outputs=session.outputs,
            notes=session.deployment.notes,
            log_dir=str(options.runtime.log_dir),
        ).save(path)
        try:
            while not stop.wait(1.0):
                pass
        finally:
            path.unlink(missing_ok=True)
    return 0


def start_detached(argv: list[str], wait_s: float = 180.0, path: Path = STATE_FILE) -> LocalState:
    """Start `docpipe local up --foreground ...` in its own session; wait for its state file."""
    if running_state(path) is not None:
        raise StateError(f"a local deployment is already running (see {path})")
    path.parent.mkdir(parents=True, exist_ok=True)
    with UP_LOG.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "local", "up", "--foreground", *argv],
            cwd=PROJECT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the shell that ran `up`
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StateError(f"local up failed (exit {process.returncode}); see {UP_LOG}")
        state = running_state(path)
        if state is not None and state.pid == process.pid:
            return state
        time.sleep(0.5)
    process.terminate()
    raise StateError(f"local up did not become ready within {wait_s:.0f} s; see {UP_LOG}")


def stop_running(wait_s: float = 60.0, path: Path = STATE_FILE) -> int:
    """SIGTERM the `up` process and wait for it to tear down; returns its pid."""
    state = running_state(path)
    if state is None:
        raise StateError("no local deployment is running")
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while pid_alive(state.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(state.pid):
        os.kill(state.pid, signal.SIGKILL)  # teardown hung: the emulator dies with it anyway
    path.unlink(missing_ok=True)
    return state.pid
