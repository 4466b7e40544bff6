"""One mock engine and one plugin process for the whole wire-level suite (it starts in ~2 s).

The plugin runs the way the engine runs it: the plugin directory's `__main__.py` by absolute
path, with a consumer project outside the repository as its working directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.wire import Engine, Plugin, configure, fake_build, start_plugin


@pytest.fixture(scope="session")
def consumer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A consumer project outside the repository (the plugin's working directory)."""
    directory = tmp_path_factory.mktemp("consumer")
    (directory / "Pulumi.yaml").write_text("name: consumer\nruntime: yaml\n")
    return directory


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    return fake_build(tmp_path)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    served = Engine.serve()
    yield served
    served.stop()


@pytest.fixture(autouse=True)
def fresh_deployment(engine: Engine) -> None:
    """Each test deploys into an empty stack; the plugin process is shared, as across runs."""
    engine.monitor.reset()


@pytest.fixture(scope="session")
def plugin(engine: Engine, consumer_dir: Path) -> Iterator[Plugin]:
    started = start_plugin(engine.engine_address, consumer_dir)
    configure(started)
    yield started
    started.stop()
