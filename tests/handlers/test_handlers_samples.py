"""The demo documents in samples/ get the categories local mode expects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    aws_fixture,
    env_fixture,
    nltk_data_fixture,
    stage_env_fixture,
)

from contract.categories import DEFAULT_CATEGORIES
from handlers.classifier import classifier_for
from handlers.ocr_engine import extract_text
from handlers.summarizer import summarize

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize(("name", "category"), sorted(EXPECTED.items()))
def test_sample_goes_through_the_pure_pipeline(
    name: str, category: str, nltk_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NLTK_DATA", str(nltk_data))
    path = SAMPLES / name
    assert path.stat().st_size < 200 * 1024

    text = extract_text(path.read_bytes(), name)
    summary = summarize(text.text)
    result = classifier_for(json.dumps(DEFAULT_CATEGORIES)).classify(text.text)

    assert result.category == category
    assert summary.sentences
    assert text.confidence > 0.8
