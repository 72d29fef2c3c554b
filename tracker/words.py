"""Words the owner reads: one place for plurals, so no sentence says "1 conversions"."""

from __future__ import annotations

IRREGULAR = {"reply": "replies", "sale": "sales", "day": "days", "person": "people"}


def plural(word: str, count: float) -> str:
    """The word as it reads beside `count` (English; only 1 is singular)."""
    if count == 1:
        return word
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def count(number: float, word: str, fmt: str = ",.0f") -> str:
    """`number` and its noun, e.g. "1 conversion", "1,204 visits", "2.5 hours"."""
    return f"{number:{fmt}} {plural(word, number)}"
