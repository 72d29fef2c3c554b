"""What the web-analytics plugins (ga4, matomo, plausible) share: summing sources into platforms."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from tracker.plugin import Sample, Window


class Tally:
    """Sums per (platform, metric, day): several sources (l.facebook.com, m.facebook.com) may be one platform."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str, date], float] = defaultdict(float)

    def add(self, platform: str, metric: str, day: date, value: str | float) -> None:
        self.values[(platform, metric, day)] += float(value)

    def samples(self, window: Window, metrics: tuple[str, ...], provisional_days: int) -> list[Sample]:
        """Every metric for every day for each platform seen: analytics leave out days without visits, and
        those are zeros, not gaps (a gap would inflate a daily average)."""
        platforms = sorted({p for p, _, _ in self.values})
        return [
            Sample(p, m, d, self.values.get((p, m, d), 0.0), window.is_provisional(d, provisional_days))
            for p in platforms
            for m in metrics
            for d in window.days()
        ]
