"""`docpipe local up/down/send`: a long-running local deployment and its state file.

`up` starts a detached process that runs a LocalSession until it is told to stop; that
process writes `.docpipe/local.json` (pid, endpoint, environment, stack outputs) once
everything runs, and removes it on exit. `down` and `send` read the file.

The state file holds the operator's full-access key: it is written with mode 0600 in a
directory of mode 0700, like the snapshot `--persist` keeps beside it.

`down` stops the deployment: SIGTERM, or SIGUSR1 to save its state first (`down --persist`).
Without a snapshot, stopping discards everything the emulator holds, so `down` refuses while
work is pending (messages queued, in flight or dead-lettered, uploads not yet taken) and
says what would go, unless `--force`.
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
# The signal that tells the `up` process to save its state before it stops.
SAVE_AND_STOP = signal.SIGUSR1


def snapshot_file(state_file: Path) -> Path:
    """Where `--persist` keeps the emulator's state between `down` and `up`."""
    return state_file.with_name(f"{state_file.stem}-snapshot.pickle")


def dead_letters_file(state_file: Path) -> Path:
    """Where the running deployment notes why each message was dead-lettered."""
    return state_file.with_name(f"{state_file.stem}-dead-letters.jsonl")


class StateError(Exception):
    """No local deployment is running, or one already is."""


class PendingWork(StateError):
    """Stopping would discard work; `lines` say what."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("work is pending: " + "; ".join(lines))
        self.lines = lines


def private_directory(path: Path) -> Path:
    """A directory only its owner can enter (it holds keys)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


@dataclass
class LocalState:
    pid: int
    stack: str
    endpoint: str
    environment: dict[str, str]
    outputs: dict[str, Any]
    notes: list[str]
    log_dir: str
    dead_letters: str = ""
    """The file of notes on why each message was dead-lettered (local/dead_letters.py)."""
    persist: str | None = None
    """The snapshot `down` saves to and `up --persist` restores from; None: not persisted."""

    def save(self, path: Path = STATE_FILE) -> None:
        private_directory(path.parent)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(json.dumps(asdict(self), indent=2))
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


def serve(options: SessionOptions, path: Path = STATE_FILE, persist: bool = False) -> int:
    """Run a session in this process until SIGTERM or SIGINT, or SIGUSR1 (save, then stop):
    the `up` daemon's body. With `persist`, start from the saved state if there is one, and
    always save on the way down."""
    from local import persistence

    snapshot, notes = snapshot_file(path), dead_letters_file(path)
    private_directory(path.parent)
    if persist and snapshot.exists():
        options.restore = persistence.load(snapshot, options.stack)
    elif notes.exists():
        notes.unlink()  # notes on dead letters of a deployment that is gone
    options.runtime.dead_letters_path = notes
    stop, save = threading.Event(), threading.Event()
    if persist:
        save.set()

    def save_and_stop(*_: object) -> None:
        save.set()
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    signal.signal(SAVE_AND_STOP, save_and_stop)
    session = LocalSession(options).start()
    try:
        LocalState(
            pid=os.getpid(),
            stack=options.stack,
            endpoint=session.emulator.endpoint,
            environment=session.environment(),
            outputs=session.outputs,
            notes=session.deployment.notes,
            log_dir=str(options.runtime.log_dir),
            dead_letters=str(notes),
            persist=str(snapshot) if persist else None,
        ).save(path)
        while not stop.wait(1.0):
            pass
    finally:
        path.unlink(missing_ok=True)
        session.stop(save_to=snapshot if save.is_set() else None)
        if not save.is_set():
            notes.unlink(missing_ok=True)
    return 0


def pending_work(state: LocalState) -> list[str]:
    """What stopping would discard, by queue, DLQ and upload area (empty: nothing pending).

    A schedule's tick waiting in its queue is no work: the schedule sends another."""
    from contract import stages
    from contract.layout import INCOMING
    from contract.messages import is_folder_marker
    from ops.operate import queue_counts
    from ops.target import from_local_session

    target = from_local_session(state.outputs, state.environment)
    lines = []
    for stage in target.stages:
        scheduled = stage in stages.TABLE and stages.TABLE[stage].fed_by == "schedule"
        waiting, in_flight = (0, 0) if scheduled else queue_counts(target, target.queue_url(stage))
        if waiting or in_flight:
            lines.append(f"{stage} queue: {waiting} waiting, {in_flight} in flight")
        dead = sum(queue_counts(target, target.dlq_url(stage)))
        if dead:
            lines.append(f"{stage} DLQ: {dead} dead letters")
    pages = target.client("s3").get_paginator("list_objects_v2")
    uploads = sum(
        1
        for page in pages.paginate(Bucket=target.outputs["bucket_name"], Prefix=INCOMING.path)
        for item in page.get("Contents", [])
        if not is_folder_marker(item["Key"], item.get("Size"))
    )
    if uploads:
        lines.append(f"{INCOMING.path}: {uploads} uploads not taken yet")
    return lines


def start_detached(argv: list[str], wait_s: float = 180.0, path: Path = STATE_FILE) -> LocalState:
    """Start `docpipe local up --foreground ...` in its own session; wait for its state file."""
    if running_state(path) is not None:
        raise StateError(f"a local deployment is already running (see {path})")
    private_directory(path.parent)
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
            raise StateError(
                f"local up failed (exit {process.returncode}): {last_line(UP_LOG)} (see {UP_LOG})"
            )
        state = running_state(path)
        if state is not None and state.pid == process.pid:
            return state
        time.sleep(0.5)
    process.terminate()
    raise StateError(f"local up did not become ready within {wait_s:.0f} s; see {UP_LOG}")


def last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def stop_running(
    wait_s: float = 60.0, path: Path = STATE_FILE, force: bool = False, persist: bool = False
) -> LocalState:
    """Stop the `up` process (saving its state first when it persists or `persist`) and wait
    for it to tear down. Refuses (PendingWork) when stopping would discard work, unless
    `force`."""
    state = running_state(path)
    if state is None:
        raise StateError("no local deployment is running")
    saving = persist or state.persist is not None
    if not (saving or force):
        try:
            pending = pending_work(state)
        except Exception as exc:  # the emulator does not answer: nobody can tell
            raise StateError(
                f"cannot tell whether work is pending ({' '.join(str(exc).split())}); "
                "`docpipe local down --force` stops it anyway"
            ) from exc
        if pending:
            raise PendingWork(pending)
    os.kill(state.pid, SAVE_AND_STOP if saving else signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while pid_alive(state.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(state.pid):
        os.kill(state.pid, signal.SIGKILL)  # teardown hung: the emulator dies with it anyway
    path.unlink(missing_ok=True)
    return state
