"""The nltk classifier over configured categories."""

from __future__ import annotations

import json

import pytest

from contract.categories import DEFAULT_CATEGORIES, UNCLASSIFIED, parse_categories
from handlers.classifier import Classifier, classifier_for

SAMPLES = {
    "invoice": "INVOICE No. 2024-118. Amount due: 1,250.00 EUR incl. 19% VAT. "
    "Total payable within 30 days. Payment by bank transfer.",
    "contract": "This Service Agreement is made between the parties below. The term is two "
    "years. Termination requires three months notice. Liability is limited to the fees.",
    "report": "Quarterly report. Our analysis of the third quarter results shows revenue "
    "growth of 12 percent. Key findings are summarised below.",
    "letter": "Dear Ms. Jensen, thank you for your visit last week. It was a pleasure to meet "
    "you. Kind regards, Ole Hansen",
}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return classifier_for(json.dumps(DEFAULT_CATEGORIES, sort_keys=True))


@pytest.mark.parametrize(("expected", "text"), sorted(SAMPLES.items()))
def test_each_default_category_is_recognised(
    classifier: Classifier, expected: str, text: str
) -> None:
    result = classifier.classify(text)
    assert result.category == expected
    assert 0.5 < result.confidence <= 1.0
    assert result.runner_up not in (None, expected)
    assert 0.0 <= result.runner_up_confidence < result.confidence


def test_unrelated_text_is_unclassified(classifier: Classifier) -> None:
    result = classifier.classify("The cat sat on the mat and looked at the rain outside.")
    assert (result.category, result.confidence) == (UNCLASSIFIED, 0.0)


def test_weak_evidence_below_the_threshold_is_unclassified(classifier: Classifier) -> None:
    # One shared word is not enough to be sure at a strict threshold...
    weak = classifier.classify("We discussed the payment.", threshold=0.9)
    assert weak.category == UNCLASSIFIED
    assert weak.runner_up is not None
    # ...but the same text passes a lenient one.
    assert classifier.classify("We discussed the payment.", threshold=0.3).category == "invoice"


def test_stemming_and_phrases_match_inflected_text(classifier: Classifier) -> None:
    result = classifier.classify("Both parties agree; the amounts due and the payments are listed.")
    assert "amount due" in result.matched_terms
    assert "payment" in result.matched_terms


def test_examples_teach_categories_without_keywords() -> None:
    categories = [
        {"name": "recipe", "examples": ["Preheat the oven and whisk the eggs with flour"]},
        {"name": "invoice", "keywords": ["invoice", "amount due"]},
    ]
    classifier = Classifier(parse_categories(categories))
    assert classifier.classify("Whisk two eggs, then bake in the oven.").category == "recipe"


def test_confidences_form_a_distribution(classifier: Classifier) -> None:
    scores = classifier.classify(SAMPLES["report"] + " " + SAMPLES["letter"]).scores
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert sum(scores.values()) == pytest.approx(1.0, abs=0.01)


def test_invalid_configuration_lists_every_problem() -> None:
    with pytest.raises(ValueError) as raised:
        parse_categories([{"name": ""}, {"name": "a", "keywords": "x"}, {"name": "b"}])
    message = str(raised.value)
    assert "category 0" in message
    assert "'a': 'keywords' must be a list" in message
    assert "'b' needs keywords or examples" in message


def test_very_long_text_is_classified_quickly(classifier: Classifier) -> None:
    import time

    text = "The quarterly analysis of results shows revenue growth in every region. " * 20_000
    start = time.perf_counter()
    result = classifier.classify(text)
    assert result.category == "report"
    assert time.perf_counter() - start < 5


def test_summarize_and_classify_share_one_word_pattern_and_stop_list() -> None:
    from handlers import classifier, summarizer, textio

    assert classifier.WORD is summarizer.WORD is textio.WORD
    assert classifier.stop_words is summarizer.stop_words is textio.stop_words
    assert textio.WORD.findall("Amount due: 42 items, O'Neil's re-run _x") == [
        "Amount", "due", "42", "items", "O'Neil's", "re-run", "x"
    ]  # fmt: skip
