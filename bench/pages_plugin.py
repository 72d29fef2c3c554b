"""benchpages: a plugin for the bench that yields deterministic pages and makes no request.

The runner copies this file into a temporary `plugin_dirs` folder, so
`tracker sync` finds it like any local plugin. Every number comes from
`value()`, which the bench's data builder uses too: data synced through
tracker and data written straight into the store are the same rows.

Options: `seed` (which account: changes every number), `platform` (what the
numbers are about) and `order`: `key` yields one page per metric with its days
in order (the table's key order); `day` yields one page per day holding every
metric (day-major, as a daily sync does).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from tracker.plugin import HttpSession, Plugin, Sample, Window, option

PLATFORMS = ("bluesky", "facebook", "instagram", "linkedin", "mastodon", "threads", "x", "youtube")
METRICS = ("comments", "followers", "impressions", "likes", "shares", "views")  # sorted: key order
GAUGES = ("followers",)
COUNTERS = tuple(m for m in METRICS if m not in GAUGES)
EPOCH = date(2000, 1, 1)


def value(seed: int, metric: int, day: int) -> int:
    """The stored number for account `seed`, METRICS[metric], `day` days after EPOCH: followers rise, counters vary."""
    if METRICS[metric] in GAUGES:
        return 1000 + seed * 3 + day
    return (seed * 7919 + metric * 104729 + day * 31) % 97


@dataclass(frozen=True)
class Options:
    seed: int = option(0, help="Which account: changes every number.")
    platform: str = option("facebook", help="What the numbers are about.")
    order: str = option("key", help="key: a page per metric; day: a page per day.")


def fetch(opts: Options, window: Window, http: HttpSession, state: dict) -> Iterator[list[Sample]]:
    days = [(d, (d - EPOCH).days) for d in window.days()]
    if opts.order == "day":
        for day, n in days:
            yield [Sample(opts.platform, m, day, value(opts.seed, i, n)) for i, m in enumerate(METRICS)]
        return
    for i, metric in enumerate(METRICS):
        yield [Sample(opts.platform, metric, day, value(opts.seed, i, n)) for day, n in days]


plugin = Plugin(
    name="benchpages",
    platforms=PLATFORMS,
    fetch=fetch,
    options=Options,
    description="Deterministic pages for tracker's bench; no HTTP.",
)
