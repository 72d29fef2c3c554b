"""Plurals: one helper so no sentence says "1 conversions" or "2 replys"."""

import pytest

from tracker import words


@pytest.mark.parametrize(
    ("number", "word", "expected"),
    [
        (1, "conversion", "1 conversion"),
        (0, "conversion", "0 conversions"),
        (2, "reply", "2 replies"),
        (1, "day", "1 day"),
        (14, "day", "14 days"),
        (1204, "visit", "1,204 visits"),
        (3, "inquiry", "3 inquiries"),
        (2, "purchase", "2 purchases"),
    ],
)
def test_count_reads_as_english(number: int, word: str, expected: str) -> None:
    assert words.count(number, word) == expected


def test_count_keeps_the_given_precision() -> None:
    assert words.count(2.5, "hour", ".1f") == "2.5 hours"
    assert words.count(1.0, "hour", ".1f") == "1.0 hour"
