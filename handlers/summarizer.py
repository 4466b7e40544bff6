"""Extractive summaries: rank the text's own sentences, keep the best within bounds.

Pure: str in, `Summary` out. Sentences come from nltk's punkt tokenizer (punkt_tab data
found through NLTK_DATA; never downloaded at run time). Ranking is word frequency over
content words (nltk FreqDist, English stop words removed), damped by sentence length, with
near-duplicates skipped. Cost is linear: only the first MAX_SCORED_CHARS characters and
MAX_SCORED_SENTENCES sentences are scored, whatever the document's length.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from contract import settings as env
from handlers.config import SummaryBounds
from handlers.textio import WORD, stop_words

MAX_SCORED_CHARS = 200_000
MAX_SCORED_SENTENCES = 2_000
# Longer "sentences" (OCR output without punctuation, tables) are cut at word boundaries so
# that a summary can still hold a piece of them without exceeding its character bound.
MAX_SENTENCE_CHARS = 400
DUPLICATE_OVERLAP = 0.8
PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\f")


@dataclass(frozen=True)
class Summary:
    summary: str
    sentences: list[str]
    total_sentences: int
    scored_sentences: int
    truncated: bool = False
    scores: list[float] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "sentences": self.sentences,
            "total_sentences": self.total_sentences,
            "scored_sentences": self.scored_sentences,
            "truncated": self.truncated,
        }


class NltkDataMissingError(RuntimeError):
    """The punkt_tab data is not where NLTK_DATA points: a packaging bug, not bad input."""


@functools.cache
def _punkt() -> Any:
    import nltk

    # nltk reads NLTK_DATA once, at import; honour a value set later (tests, local mode).
    for folder in reversed(os.environ.get(env.NLTK_DATA.name, "").split(os.pathsep)):
        if folder and folder not in nltk.data.path:
            nltk.data.path.insert(0, folder)
    from nltk.tokenize.punkt import PunktTokenizer

    try:
        return PunktTokenizer("english")
    except LookupError as exc:
        raise NltkDataMissingError(
            "punkt_tab English data not found: set NLTK_DATA to a folder written by "
            "packager.nltk_data.bundle()"
        ) from exc


def split_sentences(text: str) -> list[str]:
    """The text's sentences, whitespace-normalised; paragraph breaks always end one."""
    tokenizer = _punkt()
    sentences: list[str] = []
    for paragraph in PARAGRAPH_BREAK.split(text):
        flat = " ".join(paragraph.split())
        if flat:
            for sentence in tokenizer.tokenize(flat):
                sentences.extend(_cut_long(sentence))
    return sentences


def _cut_long(sentence: str) -> list[str]:
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [sentence]
    pieces, current = [], ""
    for word in sentence.split(" "):
        if current and len(current) + 1 + len(word) > MAX_SENTENCE_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current} {word}" if current else word[:MAX_SENTENCE_CHARS]
    return [*pieces, current] if current else pieces


def content_words(sentence: str) -> list[str]:
    stops = stop_words()
    return [w for w in WORD.findall(sentence.lower()) if len(w) > 1 and w not in stops]


def summarize(text: str, bounds: SummaryBounds | None = None) -> Summary:
    bounds = bounds or SummaryBounds()
    truncated = len(text) > MAX_SCORED_CHARS
    sentences = split_sentences(text[:MAX_SCORED_CHARS])
    total = len(sentences)
    scored = sentences[:MAX_SCORED_SENTENCES]
    truncated = truncated or total > len(scored)
    scores = _scores(scored)
    chosen = _select(scored, scores, bounds)
    picked = [scored[i] for i in chosen]
    return Summary(
        summary=" ".join(picked),
        sentences=picked,
        total_sentences=total,
        scored_sentences=len(scored),
        truncated=truncated,
        scores=[scores[i] for i in chosen],
    )


def _scores(sentences: list[str]) -> list[float]:
    from nltk.probability import FreqDist

    words = [content_words(s) for s in sentences]
    frequencies = FreqDist(w for sentence_words in words for w in sentence_words)
    top = max(frequencies.values(), default=1)
    scores = []
    for sentence_words in words:
        distinct = set(sentence_words)
        weight = sum(frequencies[w] / top for w in distinct)
        # sqrt damping: neither the longest nor the shortest sentences win by length alone.
        scores.append(weight / math.sqrt(len(distinct)) if distinct else 0.0)
    return scores


def _select(sentences: list[str], scores: list[float], bounds: SummaryBounds) -> list[int]:
    """Indices of the chosen sentences in document order; ties go to the earlier sentence."""
    ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    chosen_words: list[set[str]] = []
    length = 0
    for index in ranked:
        if len(chosen) == bounds.max_sentences:
            break
        sentence = sentences[index]
        added = len(sentence) + (1 if chosen else 0)
        if length + added > bounds.max_chars:
            continue
        words = set(content_words(sentence))
        if any(_overlap(words, seen) >= DUPLICATE_OVERLAP for seen in chosen_words):
            continue
        chosen.append(index)
        chosen_words.append(words)
        length += added
    return sorted(chosen)


def _overlap(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 1.0 if a == b else 0.0
    return len(a & b) / min(len(a), len(b))
