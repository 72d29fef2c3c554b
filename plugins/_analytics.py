"""What the web-analytics plugins (ga4, matomo, plausible) share: summing sources into platforms."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from tracker.plugin import Sample, Unavailable, Window


class Tally:
    """Sums per (platform, metric, day): several sources (l.facebook.com, m.facebook.com) may be one platform.

    A source row that leaves a number out makes that platform's figure for the day unknown: a sum without
    it would be too small, and a zero would be made up.
    """

    def __init__(self) -> None:
        self.values: dict[tuple[str, str, date], float] = defaultdict(float)
        self.unknown: set[tuple[str, str, date]] = set()

    def add(self, platform: str, metric: str, day: date, value: str | float | None) -> None:
        """Add one source row's figure; None means the row did not carry it."""
        if value is None:
            self.unknown.add((platform, metric, day))
        else:
            self.values[(platform, metric, day)] += float(value)

    def samples(self, window: Window, metrics: tuple[str, ...], provisional_days: int) -> list[Sample]:
        """Every metric for every day for each platform seen, except unknown ones: analytics leave out days
        without visits, and those are zeros, not gaps (a gap would inflate a daily average)."""
        platforms = sorted({p for p, _, _ in self.values} | {p for p, _, _ in self.unknown})
        return [
            Sample(p, m, d, self.values.get((p, m, d), 0.0), window.is_provisional(d, provisional_days))
            for p in platforms
            for m in metrics
            for d in window.days()
            if (p, m, d) not in self.unknown
        ]

    def unavailable(self, source: str, fields: dict[str, str]) -> list[Unavailable]:
        """One status per (platform, metric) some row left out, naming the field (`fields`: metric -> field)
        and the days."""
        days: dict[tuple[str, str], list[date]] = defaultdict(list)
        for platform, metric, day in sorted(self.unknown):
            days[(platform, metric)].append(day)
        return [
            Unavailable(
                platform, metric, f"{source} left {fields.get(metric, metric)} out on {_days(found)}: unknown, not zero"
            )
            for (platform, metric), found in days.items()
        ]


def _days(found: list[date]) -> str:
    if len(found) == 1:
        return found[0].isoformat()
    return f"{len(found)} days ({found[0].isoformat()} to {found[-1].isoformat()})"
