"""A local deployment's state kept across `docpipe local down` / `up` (`--persist`).

moto 5.2.5 has no persistence of its own. Its server offers a recorder
(`/moto-api/recorder/...`) that logs every request and replays them all in order: replaying a
pipeline's history would re-send every message, redo every receive (receive counts and
redrives included) and replay deletes with receipt handles that no longer exist, so what it
rebuilt would not be the state it had. moto keeps all of its state in memory, in one
`BackendDict` per service (`moto.backends.get_backend(name)`), and its S3 objects are made to
be pickled (`FakeKey.__getstate__`). So a snapshot here is the pickled backends, taken once
the runtime has stopped and the server no longer answers (nothing changes under it), plus
what local mode needs to carry on without deploying again: the stack's outputs and topology,
the deployment's notes, the operator's keys, and the port (queue URLs and the functions'
environment name the endpoint). Restoring starts the server on that port, puts the backends
back, and switches IAM on: uploads, messages (visible, in flight or dead letters, with their
receive counts and timers), ledger items, metrics and IAM are as they were.

A few objects in moto's models cannot be pickled as they are: locks and conditions (made
anew), weak-value dictionaries (moto's Lambda ARN index: pickled as a plain dict and made
weak again), defaultdicts whose factory is a lambda (given the type the lambda returns) and
KMS key material (kept as PKCS#8 bytes). The snapshot names the moto version
it was taken with and is refused by another (pickles of a library's internals are not
portable). It holds secrets (the operator's full-access key): written with mode 0600.
"""

from __future__ import annotations

import io
import os
import pickle
import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.deploy import Deployment
from local.emulator import Credentials
from local.topology import Topology


class SnapshotError(Exception):
    """The snapshot cannot be used: another moto version, another stack, unreadable."""


@dataclass
class Snapshot:
    moto_version: str
    stack: str
    config_overrides: dict[str, str]
    port: int
    outputs: dict[str, Any]
    topology: Topology
    deployment: Deployment
    operator: Credentials
    backends: bytes = field(repr=False)
    """Pickled apart, and unpickled only after the emulator's reset (`load_backends`)."""


def _lock() -> Any:
    return threading.Lock()


def _rlock() -> Any:
    return threading.RLock()


def _condition() -> threading.Condition:
    return threading.Condition()


def _weak_values(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


def _defaultdict(factory: Any, items: dict[Any, Any]) -> defaultdict[Any, Any]:
    return defaultdict(factory, items)


def _private_key(pkcs8: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(pkcs8, password=None)


_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class StatePickler(pickle.Pickler):
    """pickle, with the few objects moto's models hold that pickle cannot take."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES):
            return (_rlock if "RLock" in type(obj).__name__ else _lock), ()
        if isinstance(obj, threading.Condition):
            return _condition, ()
        if isinstance(obj, weakref.WeakValueDictionary):
            return _weak_values, (dict(obj),)
        if (
            isinstance(obj, defaultdict)
            and getattr(obj.default_factory, "__name__", "") == "<lambda>"
        ):
            # moto's `defaultdict(lambda: {})`: the same defaults from the value's own type
            return _defaultdict, (type(obj.default_factory()), dict(obj))  # type: ignore[misc]
        if type(obj).__module__.startswith("cryptography") and hasattr(obj, "private_bytes"):
            from cryptography.hazmat.primitives import serialization as s

            der = obj.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption())
            return _private_key, (der,)
        return NotImplemented


# What every BackendDict holds about itself; anything else is state (S3's bucket index).
_BACKEND_DICT_OWN = {"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"}


def dump_backends() -> bytes:
    """Every moto backend in use, pickled (call once the server has stopped).

    Each one's accounts and regions, and the state some keep beside them (S3's index of bucket
    names to accounts, which routes every bucket request)."""
    from moto.backends import get_backend
    from moto.core.base_backend import BackendDict

    backends = {}
    for backend in BackendDict._instances:  # type: ignore[misc]
        if get_backend(backend.service_name) is not backend:  # type: ignore[call-overload]
            raise SnapshotError(f"cannot locate moto's {backend.service_name} backend by name")
        extra = {k: v for k, v in vars(backend).items() if k not in _BACKEND_DICT_OWN}
        backends[backend.service_name] = (dict(backend), extra)
    buffer = io.BytesIO()
    StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(backends)
    return buffer.getvalue()


def load_backends(saved: bytes) -> None:
    """Put saved backends in place of moto's, in this process. Call it after moto's reset:
    a reset disposes of every S3 object moto has ever created, unpickled ones included."""
    from moto.backends import get_backend
    from moto.core.base_backend import BackendDict

    backends: dict[str, tuple[dict[str, Any], dict[str, Any]]] = pickle.loads(saved)
    for name, (accounts, extra) in backends.items():
        live = get_backend(name)  # type: ignore[call-overload]
        dict.clear(live)
        dict.update(live, accounts)
        vars(live).update(extra)
        if live not in BackendDict._instances:  # type: ignore[misc]
            BackendDict._instances.append(live)  # type: ignore[misc]


def save(path: Path, snapshot: Snapshot) -> None:
    """Write the snapshot (mode 0600) atomically: a reader never sees half of one."""
    data = pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    temporary.replace(path)


def load(path: Path, stack: str) -> Snapshot:
    """The snapshot at `path`, checked against this moto and the stack asked for."""
    import moto

    try:
        snapshot = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise SnapshotError(f"cannot read the saved state {path}: {exc}") from exc
    if not isinstance(snapshot, Snapshot):
        raise SnapshotError(f"{path} is not a docpipe local snapshot")
    if snapshot.moto_version != moto.__version__:
        raise SnapshotError(
            f"{path} was saved with moto {snapshot.moto_version}, this is {moto.__version__}; "
            "remove it to start afresh"
        )
    if snapshot.stack != stack:
        raise SnapshotError(
            f"{path} holds stack {snapshot.stack!r}: run `docpipe local up --persist --stack "
            f"{snapshot.stack}`, or remove it to start {stack!r} afresh"
        )
    return snapshot
