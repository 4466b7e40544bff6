"""Document categories from configured keywords and example phrases, with nltk.

Pure: str in, `Classification` out. Each category is `{"name", "keywords": [...],
"examples": [...]}`. Terms are stemmed (nltk's Porter stemmer) so "payments" matches
"payment", and multi-word keywords ("amount due") match as phrases. An nltk
NaiveBayesClassifier is trained at start-up on the configuration itself: each keyword and
each example is one labelled training item whose features are the vocabulary terms it holds.
A document's features are the vocabulary terms it contains; the classifier's posterior for
the best category is the confidence. Priors are uniform, so a category with more keywords
is not favoured, and a text without any vocabulary term scores 0 (`unclassified`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from contract.categories import UNCLASSIFIED, Category, parse_categories
from handlers.textio import WORD, stop_words

MAX_CLASSIFIED_CHARS = 200_000  # keeps cost linear on very long documents
MAX_PHRASE_WORDS = 4

Term = tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    category: str
    confidence: float
    runner_up: str | None
    runner_up_confidence: float
    scores: dict[str, float]
    matched_terms: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "confidence": self.confidence,
            "runner_up": self.runner_up,
            "runner_up_confidence": self.runner_up_confidence,
            "scores": self.scores,
            "matched_terms": self.matched_terms,
        }


@functools.cache
def _stemmer() -> Any:
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()


@functools.lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    # Words repeat: caching makes stemming a long document several times cheaper.
    return str(_stemmer().stem(word))


def stems(text: str) -> list[str]:
    return [_stem(word) for word in WORD.findall(text.lower())]


def _example_terms(example: str) -> set[Term]:
    """An example phrase contributes its content words (stop words say nothing of a type)."""
    stops = stop_words()
    return {(_stem(w),) for w in WORD.findall(example.lower()) if len(w) > 1 and w not in stops}


def _keyword_term(keyword: str) -> Term:
    return tuple(stems(keyword))[:MAX_PHRASE_WORDS]


class Classifier:
    """Trained once per process from the configuration, then reused for every document."""

    def __init__(self, categories: tuple[Category, ...]) -> None:
        from nltk.classify import NaiveBayesClassifier
        from nltk.probability import DictionaryProbDist

        self.categories = categories
        training = list(self._training_items())
        self.vocabulary: set[Term] = {term for features, _ in training for term in features}
        trained = NaiveBayesClassifier.train(
            [({_feature(t): True for t in features}, label) for features, label in training]
        )
        uniform = DictionaryProbDist({c.name: 1 / len(categories) for c in categories})
        self._model = NaiveBayesClassifier(uniform, trained._feature_probdist)
        self._max_len = max((len(t) for t in self.vocabulary), default=1)

    def _training_items(self) -> Any:
        for category in self.categories:
            for keyword in category.keywords:
                term = _keyword_term(keyword)
                if term:
                    yield {term}, category.name
            for example in category.examples:
                # An example also contains any keyword phrase spelled out inside it.
                terms = _example_terms(example) | _phrases(
                    stems(example), {_keyword_term(k) for k in category.keywords}
                )
                if terms:
                    yield terms, category.name

    def classify(self, text: str, threshold: float = 0.3) -> Classification:
        found = _phrases(stems(text[:MAX_CLASSIFIED_CHARS]), self.vocabulary, self._max_len)
        if not found:
            return _unclassified(self.categories)
        distribution = self._model.prob_classify({_feature(t): True for t in found})
        scores = {c.name: round(distribution.prob(c.name), 4) for c in self.categories}
        ranked = sorted(scores, key=lambda name: (-scores[name], name))
        best, second = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        return Classification(
            category=best if scores[best] >= threshold else UNCLASSIFIED,
            confidence=scores[best],
            runner_up=second,
            runner_up_confidence=scores[second] if second else 0.0,
            scores=scores,
            matched_terms=sorted(" ".join(t) for t in found),
        )


def _feature(term: Term) -> str:
    return "has(" + " ".join(term) + ")"


def _phrases(words: list[str], vocabulary: set[Term], max_len: int = MAX_PHRASE_WORDS) -> set[Term]:
    """Vocabulary terms that occur in `words` (one pass per phrase length: linear)."""
    found: set[Term] = set()
    for length in range(1, max_len + 1):
        for start in range(len(words) - length + 1):
            term = tuple(words[start : start + length])
            if term in vocabulary:
                found.add(term)
    return found


def _unclassified(categories: tuple[Category, ...]) -> Classification:
    return Classification(
        category=UNCLASSIFIED,
        confidence=0.0,
        runner_up=None,
        runner_up_confidence=0.0,
        scores={c.name: 0.0 for c in categories},
        matched_terms=[],
    )


@functools.cache
def classifier_for(categories_json: str) -> Classifier:
    """One trained classifier per configuration (cached: a warm Lambda trains once)."""
    return Classifier(parse_categories(json.loads(categories_json)))
