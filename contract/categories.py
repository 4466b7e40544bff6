"""Classification categories: the default set, and the one validator the stack runs at
preview and the classify function runs on start.

A category is `{"name", "keywords": [...], "examples": [...]}`: words or phrases that
indicate it, and example texts of it; it needs at least one of either. `unclassified` is the
name a document gets when no category is confident enough, so no category may take it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

UNCLASSIFIED = "unclassified"

DEFAULT_CATEGORIES: list[dict[str, Any]] = [
    {"name": "invoice", "keywords": ["invoice", "amount due", "total", "payment", "VAT"],
     "examples": []},
    {"name": "contract", "keywords": ["agreement", "party", "term", "termination", "liability"],
     "examples": []},
    {"name": "report", "keywords": ["quarterly", "analysis", "results", "revenue", "findings"],
     "examples": []},
    {"name": "letter", "keywords": ["dear", "sincerely", "regards"], "examples": []},
]  # fmt: skip


@dataclass(frozen=True)
class Category:
    name: str
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


def category_problems(raw: Any) -> list[str]:
    """Every problem with a configured category list (empty when it is valid)."""
    return _parse(raw)[1]


def parse_categories(raw: Any) -> tuple[Category, ...]:
    """The categories, or one ValueError listing every problem."""
    categories, problems = _parse(raw)
    if problems:
        raise ValueError("invalid categories: " + "; ".join(problems))
    return categories


def _parse(raw: Any) -> tuple[tuple[Category, ...], list[str]]:
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        return (), ["categories must be a list of {name, keywords, examples} objects"]
    if not raw:
        return (), ["no categories configured"]
    problems: list[str] = []
    categories: list[Category] = []
    names: set[str] = set()
    for position, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip():
            problems.append(f"category {position}: 'name' must be a non-empty string, not {name!r}")
            continue
        if name == UNCLASSIFIED:
            problems.append(
                f"category {position}: {UNCLASSIFIED!r} is reserved for documents that match "
                "no category"
            )
            continue
        if name in names:
            problems.append(f"category {name!r} is defined twice")
        names.add(name)
        keywords = _strings(item, "keywords", name, problems)
        examples = _strings(item, "examples", name, problems)
        if not keywords and not examples:
            problems.append(f"category {name!r} needs keywords or examples")
        categories.append(Category(name, keywords, examples))
    return tuple(categories), problems


def _strings(item: dict[str, Any], field: str, name: str, problems: list[str]) -> tuple[str, ...]:
    values = item.get(field, [])
    valid = isinstance(values, Sequence) and not isinstance(values, str)
    if not valid or not all(isinstance(v, str) and v.strip() for v in values):
        problems.append(f"category {name!r}: {field!r} must be a list of non-empty strings")
        return ()
    return tuple(values)
