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
from handlers.formats import Extracted, extract_document
from handlers.summarizer import summarize

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text())


def extracted(name: str) -> Extracted:
    """A sample's text, or (for `<file> > <attachment>`) its attachment's, as the first
    stage reads each."""
    file, _, attachment = name.partition(" > ")
    path = SAMPLES / file
    assert path.stat().st_size < 200 * 1024
    result = extract_document(path.read_bytes(), file)
    if not attachment:
        return result
    (child,) = [c for c in result.children if c.name == attachment]
    return extract_document(child.data, name, depth=1)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "category"), sorted(EXPECTED.items()))
def test_sample_goes_through_the_pure_pipeline(
    name: str, category: str, nltk_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NLTK_DATA", str(nltk_data))
    text = extracted(name)
    summary = summarize(text.text)
    result = classifier_for(json.dumps(DEFAULT_CATEGORIES)).classify(text.text)

    assert result.category == category
    assert summary.sentences
    assert text.confidence > 0.8
