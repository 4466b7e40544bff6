"""Facts two parts of the tree must agree on are defined once and imported: these guard it."""

from __future__ import annotations

import re
from pathlib import Path

from cli.main import main

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "cli",
    "components",
    "contract",
    "handlers",
    "local",
    "mockrun",
    "ops",
    "packager",
    "policies",
)
TYPE_TOKEN = re.compile(r"""["']aws:[a-z0-9]+/[a-zA-Z0-9]+:[A-Za-z0-9]+["']""")
CONTRACT_PREFIXES = ("DOCPIPE", "OCR", "DOCUMENT", "SUMMARY", "CLASSIFY", "SWEEP", "COLLECT")
ENV_NAME = re.compile(rf"""["']((?:{"|".join(CONTRACT_PREFIXES)})_[A-Z_]+)["']""")
# Local mode's own variables, not the runtime contract's: the state file and a worker's ARN.
LOCAL_MODE_VARIABLES = {"DOCPIPE_LOCAL_STATE", "DOCPIPE_LOCAL_FUNCTION_ARN", "DOCPIPE_OFFLINE"}


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_pulumi_type_tokens_are_spelled_only_in_resource_types() -> None:
    spelled = {
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sources()
        if path.name != "resource_types.py"
        for match in TYPE_TOKEN.finditer(path.read_text())
    }
    assert spelled == set()


def test_contract_variable_names_are_spelled_only_in_contract_settings() -> None:
    spelled = {
        f"{path.relative_to(ROOT)}: {match.group(1)}"
        for path in sources()
        if path != ROOT / "contract" / "settings.py"
        for match in ENV_NAME.finditer(path.read_text())
        if match.group(1) not in LOCAL_MODE_VARIABLES
    }
    assert spelled == set()


def test_local_send_refuses_a_key_outside_incoming(capsys: object) -> None:
    # `docpipe local send` and `docpipe send --file` build the manual event in one place,
    # which checks the key before anything is sent (local mode once skipped the check).
    assert main(["local", "send", "--file", "text/abc.txt"]) == 1
    assert "must start with 'incoming/'" in capsys.readouterr().err  # type: ignore[attr-defined]
