"""Figures over time: the report's own arithmetic, applied to each day or week of a period.

Charts (terminal and HTML) draw these. Each point is a whole report row for
its bucket, computed by `compute` and `rows` exactly as `tracker report` would
for that day or week, so a chart can never tell a different story than the
table: counters per bucket add up to the period's total, a gauge point is the
last value on or before the bucket's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.engine import Engine

from tracker.report import compute, rows
from tracker.report.period import Step
from tracker.report.rows import PlatformRow


@dataclass(frozen=True)
class Point:
    start: date
    end: date
    row: PlatformRow | None  # None: the platform had no data in this bucket


@dataclass(frozen=True)
class Series:
    platform: str
    points: list[Point]

    def periods(self) -> list[compute.Period]:
        return [compute.Period(p.start, p.end) for p in self.points]

    def values(self, field: str) -> list[float | None]:
        """One field of every point, None where the bucket has no data."""
        return [getattr(p.row, field) if p.row is not None else None for p in self.points]


def buckets(period: compute.Period, step: Step | int) -> list[compute.Period]:
    """The period cut into days, weeks or `step` days, ending on the period's last day (the first may be shorter)."""
    size = step if isinstance(step, int) else 1 if step is Step.day else 7
    found = []
    end = period.end
    while end >= period.start:
        start = max(period.start, end - timedelta(days=size - 1))
        found.append(compute.Period(start, end))
        end = start - timedelta(days=1)
    return found[::-1]


def series(
    engine: Engine,
    period: compute.Period,
    step: Step | int = Step.day,
    *,
    platforms: list[str] | None = None,
    precedence: tuple[str, ...] = (),
    configured: set[str] | None = None,
    currency: str = "EUR",
) -> list[Series]:
    """One series per platform that has data in the period, in the report's platform order."""
    per_bucket = []
    for bucket in buckets(period, step):
        figures = compute.compute(engine, bucket, platforms, precedence, configured)
        per_bucket.append((bucket, {r.platform: r for r in rows.build(figures, currency).rows}))
    names = list(dict.fromkeys(p for _, found in per_bucket for p in found))
    return [
        Series(name, [Point(bucket.start, bucket.end, found.get(name)) for bucket, found in per_bucket])
        for name in names
    ]
