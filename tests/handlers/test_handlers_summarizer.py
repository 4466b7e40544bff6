"""Extractive summaries: only input sentences, within bounds, deterministic, linear cost."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    aws_fixture,
    env_fixture,
    nltk_data_fixture,
    stage_env_fixture,
)

from handlers import summarizer
from handlers.config import SummaryBounds

ARTICLE = """Quarterly results were published on Monday. Revenue rose by twelve percent to
4.2 million euros, driven by strong demand in the northern region. Dr. Smith, the chief
financial officer, said the results exceeded the analysts' expectations.

Costs remained stable during the quarter. The company opened two regional offices, in
Bergen and in Tromso. Revenue from the new offices is expected to grow next year.

The board approved a dividend of 0.40 euros per share. Shareholders will vote on it at the
annual meeting in May. The weather in May is usually mild."""


@pytest.fixture(autouse=True)
def punkt(nltk_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLTK_DATA", str(nltk_data))


def test_summary_holds_only_sentences_of_the_input() -> None:
    # GIVEN an article WHEN it is summarised
    result = summarizer.summarize(ARTICLE, SummaryBounds(max_sentences=3, max_chars=400))

    # THEN every chosen sentence is one of the article's own, in document order
    sentences = summarizer.split_sentences(ARTICLE)
    assert result.sentences
    assert all(s in sentences for s in result.sentences)
    positions = [sentences.index(s) for s in result.sentences]
    assert positions == sorted(positions)
    assert result.summary == " ".join(result.sentences)


def test_sentence_splitting_respects_abbreviations_and_decimals() -> None:
    sentences = summarizer.split_sentences(ARTICLE)
    assert (
        "Dr. Smith, the chief financial officer, said the results exceeded the analysts' "
        "expectations." in sentences
    )
    assert any("4.2 million euros" in s for s in sentences)
    assert len(sentences) == 9


@pytest.mark.parametrize(("max_sentences", "max_chars"), [(1, 1000), (2, 150), (5, 1200), (10, 90)])
def test_summary_respects_both_bounds(max_sentences: int, max_chars: int) -> None:
    result = summarizer.summarize(ARTICLE, SummaryBounds(max_sentences, max_chars))
    assert len(result.sentences) <= max_sentences
    assert len(result.summary) <= max_chars


def test_ranking_prefers_central_sentences_over_asides() -> None:
    result = summarizer.summarize(ARTICLE, SummaryBounds(max_sentences=2, max_chars=1000))
    assert "The weather in May is usually mild." not in result.sentences
    assert any("Revenue" in s for s in result.sentences)


def test_summaries_are_deterministic() -> None:
    bounds = SummaryBounds(max_sentences=3, max_chars=500)
    runs = {summarizer.summarize(ARTICLE, bounds).summary for _ in range(5)}
    assert len(runs) == 1


def test_empty_and_whitespace_text_give_an_empty_summary() -> None:
    for text in ("", "   \n\f\n  "):
        result = summarizer.summarize(text)
        assert (result.summary, result.sentences, result.total_sentences) == ("", [], 0)


def test_one_sentence_is_its_own_summary() -> None:
    result = summarizer.summarize("The contract ends on 31 December.")
    assert result.sentences == ["The contract ends on 31 December."]


def test_a_sentence_longer_than_the_bound_is_cut_into_word_bounded_pieces() -> None:
    # GIVEN OCR output without punctuation: one enormous "sentence"
    text = " ".join(f"word{i}" for i in range(2000))

    # WHEN summarised THEN pieces of it (whole words, each within bounds) are used
    result = summarizer.summarize(text, SummaryBounds(max_sentences=2, max_chars=900))
    assert 0 < len(result.summary) <= 900
    assert all(len(s) <= summarizer.MAX_SENTENCE_CHARS for s in result.sentences)
    assert all(piece in text for piece in result.sentences)


def test_very_long_text_costs_what_its_scored_prefix_costs() -> None:
    # GIVEN a text far larger than what is scored
    sentence = "Revenue grew in the region number {} after the analysis. "
    huge = "".join(sentence.format(i) for i in range(60_000))  # about 3.5 MB
    assert len(huge) > 10 * summarizer.MAX_SCORED_CHARS

    # WHEN summarised
    start = time.perf_counter()
    result = summarizer.summarize(huge)
    elapsed = time.perf_counter() - start

    # THEN only the capped prefix was scored and the run stays short
    assert result.truncated
    assert result.scored_sentences <= summarizer.MAX_SCORED_SENTENCES
    assert elapsed < 10
    assert all(s in huge for s in result.sentences)


def test_near_duplicate_sentences_are_not_repeated() -> None:
    text = "Revenue grew strongly this quarter. Revenue grew strongly this quarter! Costs fell."
    result = summarizer.summarize(text, SummaryBounds(max_sentences=3, max_chars=500))
    assert len([s for s in result.sentences if s.startswith("Revenue")]) == 1


def test_missing_punkt_data_is_reported_as_a_packaging_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    monkeypatch.setenv("NLTK_DATA", str(tmp_path))
    summarizer._punkt.cache_clear()
    try:
        with pytest.raises(summarizer.NltkDataMissingError, match="NLTK_DATA"):
            summarizer.split_sentences("Hello there. Bye.")
    finally:
        summarizer._punkt.cache_clear()
