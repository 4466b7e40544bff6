"""Summarizer throughput: docpipe's extractive ranking vs sumy's LexRank on the same texts.

Run (sumy lives only in the bench environment, see bench/requirements.txt):
  `bench/.venv/bin/python bench/summarize_bench.py [--repeats 3]`

Texts: the docstrings of a fixed list of standard-library modules, one text per module
(English prose, 2-60 KB, available offline and identical for everyone on the same Python).
Both summarizers produce 5 sentences; both split sentences with nltk punkt_tab (the same
bundled data). sumy's LexRank builds an n x n sentence similarity matrix, docpipe scores
each sentence once against word frequencies, so the gap widens with length.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODULES = ["argparse", "logging", "subprocess", "unittest.case", "email.message", "csv",
           "json", "pathlib", "asyncio.tasks", "collections", "typing", "zipfile"]  # fmt: skip


def module_text(name: str) -> str:
    module = importlib.import_module(name)
    docs = [inspect.getdoc(module) or ""]
    for _, member in sorted(vars(module).items()):
        if (inspect.isclass(member) or inspect.isfunction(member)) and getattr(
            member, "__module__", None
        ) == module.__name__:
            docs.append(inspect.getdoc(member) or "")
    return "\n\n".join(d for d in docs if d)


def time_per_text(summarize, texts: list[str], repeats: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for text in texts:
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            summarize(text)
            samples.append(time.perf_counter() - start)
        times.append(statistics.median(samples))
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import nltk

    from packager.nltk_data import bundle

    os.environ["NLTK_DATA"] = str(bundle())
    nltk.data.path.insert(0, os.environ["NLTK_DATA"])  # nltk read NLTK_DATA when bundle imported it
    from sumy.nlp.stemmers import Stemmer
    from sumy.nlp.tokenizers import Tokenizer
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.utils import get_stop_words

    from handlers.config import SummaryBounds
    from handlers.summarizer import summarize

    lexrank = LexRankSummarizer(Stemmer("english"))
    lexrank.stop_words = get_stop_words("english")
    tokenizer = Tokenizer("english")
    bounds = SummaryBounds(max_sentences=5, max_chars=100_000)

    def docpipe(text: str) -> object:
        return summarize(text, bounds)

    def sumy(text: str) -> object:
        return lexrank(PlaintextParser.from_string(text, tokenizer).document, 5)

    texts = [module_text(name) for name in MODULES]
    ours = time_per_text(docpipe, texts, args.repeats)
    theirs = time_per_text(sumy, texts, args.repeats)
    total_chars = sum(len(t) for t in texts)
    print(f"{len(texts)} texts, {total_chars / 1000:.0f} K chars, median of {args.repeats}")
    print(f"  {'text':16} {'chars':>8} {'docpipe ms':>11} {'LexRank ms':>11} {'speed-up':>9}")
    for name, text, a, b in zip(MODULES, texts, ours, theirs, strict=True):
        print(f"  {name:16} {len(text):8d} {a * 1000:11.1f} {b * 1000:11.1f} {b / a:8.1f}x")
    print(
        f"  throughput: docpipe {total_chars / sum(ours) / 1000:.0f} K chars/s, "
        f"LexRank {total_chars / sum(theirs) / 1000:.0f} K chars/s"
    )


if __name__ == "__main__":
    main()
