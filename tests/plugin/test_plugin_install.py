"""The engine installs the plugin on its own, from the plugin directory alone.

For a `runtime: python` plugin with `toolchain: pip`, the language host's InstallDependencies
(sdk/python/toolchain/pip.go) resolves `virtualenv` against the plugin directory (default
`venv`), runs `python3 -m venv <it>`, then `<venv>/bin/python -m pip install --upgrade pip
setuptools wheel`, then `pip install -r requirements.txt` when that file exists, with the plugin
directory as working directory; RunPlugin then starts `<venv>/bin/python <plugin directory>`.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from google.protobuf import empty_pb2

from plugin.wire import PLUGIN_DIR, REPOSITORY, Engine, by_name, configure, construct, start_plugin

INSTALL_TIMEOUT_SECONDS = 1800


def manifest_options() -> dict[str, str]:
    manifest = yaml.safe_load((PLUGIN_DIR / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    return dict(manifest["runtime"].get("options") or {})


def plugin_virtualenv() -> Path:
    """Where the language host puts the plugin's virtualenv (pip toolchain; default `venv`)."""
    return (PLUGIN_DIR / manifest_options().get("virtualenv", "venv")).resolve()


def requirement_lines() -> list[str]:
    text = (PLUGIN_DIR / "requirements.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def imported_top_level(package_dir: Path) -> set[str]:
    """Top-level modules the package's code imports (absolute imports)."""
    names: set[str] = set()
    for path in package_dir.rglob("*.py"):
        if ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_the_plugin_has_its_own_virtualenv() -> None:
    options = manifest_options()
    assert options.get("toolchain", "pip") == "pip"
    venv = plugin_virtualenv()
    assert venv.is_relative_to(PLUGIN_DIR)
    # Never the repository's lock-managed .venv: the install step would upgrade pip there.
    assert venv != (REPOSITORY / ".venv").resolve()


def test_the_requirements_install_every_package_the_components_import() -> None:
    """requirements.txt installs the docpipe distribution from this checkout; that
    distribution must ship every first-party package the components import (`contract/`
    too, once they import it) and depend on every third-party one."""
    assert requirement_lines() == ["-e .."]
    checkout = (PLUGIN_DIR / "..").resolve()  # pip runs in the plugin directory
    project = tomllib.loads((checkout / "pyproject.toml").read_text())
    shipped = set(project["tool"]["setuptools"]["packages"])
    declared = {
        normalized(re.split(r"[<>=!~\[; ]", d)[0]) for d in project["project"]["dependencies"]
    }
    distributions = metadata.packages_distributions()
    unmet = []
    for module in sorted(imported_top_level(PLUGIN_DIR)):
        if module in sys.stdlib_module_names or module == "__future__" or module in shipped:
            continue
        providers = {normalized(d) for d in distributions.get(module, [])}
        if not providers & declared:
            unmet.append(module)
    assert unmet == []
    assert "components" in shipped


@pytest.fixture(scope="module")
def installed_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A virtualenv made exactly as the engine's install step makes the plugin's (in a
    temporary directory rather than components/.venv, so the checkout stays untouched)."""
    venv = tmp_path_factory.mktemp("plugin") / ".venv"
    python3 = os.environ.get("PULUMI_PYTHON_CMD") or shutil.which("python3") or sys.executable
    run([python3, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "--upgrade", "pip", "setuptools", "wheel"], venv)
    if (PLUGIN_DIR / "requirements.txt").exists():
        run([python, "-m", "pip", "install", "-r", "requirements.txt"], venv)
    yield python


def run(command: list[str], venv: Path | None = None) -> None:
    env = dict(os.environ)
    if venv is not None:  # toolchain.ActivateVirtualEnv
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env.pop("PYTHONPATH", None)
    subprocess.run(
        command,
        cwd=PLUGIN_DIR,
        env=env,
        check=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        stdout=subprocess.DEVNULL,
    )


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_TIMEOUT_SECONDS)
def test_the_engine_install_step_gives_a_working_plugin(
    installed_python: str, engine: Engine, consumer_dir: Path
) -> None:
    plugin = start_plugin(engine.engine_address, consumer_dir, python=installed_python)
    try:
        configure(plugin)
        info = plugin.stub.GetPluginInfo(empty_pb2.Empty())
        version = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["version"]
        assert info.version == version
        built = construct(
            engine, plugin, "docpipe:index:ResultsTable", "installed-results", {"rangeKey": "v"}
        )
        assert list(by_name(built.children)) == ["installed-results-table"]
    finally:
        plugin.stop()
