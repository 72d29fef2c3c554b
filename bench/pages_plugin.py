"""benchpages: a plugin for the bench that yields deterministic pages and makes no request.

The runner copies this file into a temporary `plugin_dirs` folder, so
`tracker sync` finds it like any local plugin. Every number comes from
`value()`, which the bench's data builder uses too: data synced through
tracker and data written straight into the store are the same rows.

Options: `seed` (which account: changes every number), `platform` (what the
numbers are about) and `order`: `key` yields each metric's days and values as
one `Series` (as a service answering a metric's values by day, the Graph API's
insights); `day` reads the window as a service answering a row per day (the
day, then one value per metric: YouTube Analytics, GA4) and yields each metric's
column of those rows as a `Series`, `days, *columns = zip(*rows)`. Either way
the numbers are what `value()` gives; `column()` makes a metric's run of them
from one cycle (a counter repeats every 97 days) rather than day by day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from tracker.plugin import HttpSession, Plugin, Series, Window, option

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


CYCLE = 97  # a counter's value() repeats every 97 days: day n + 1 adds 31, modulo 97
STEPS = [31 * k % CYCLE for k in range(CYCLE)]


def column(seed: int, metric: int, first: int, days: int) -> list[int]:
    """[value(seed, metric, n) for n in range(first, first + days)], made by slicing rather than day by day."""
    start = value(seed, metric, first)
    if METRICS[metric] in GAUGES:
        return list(range(start, start + days))
    at = start * pow(31, -1, CYCLE) % CYCLE  # STEPS[at] == start
    cycle = STEPS[at:] + STEPS[:at]
    return (cycle * -(-days // CYCLE))[:days]


@dataclass(frozen=True)
class Options:
    seed: int = option(0, help="Which account: changes every number.")
    platform: str = option("facebook", help="What the numbers are about.")
    order: str = option("key", help="key: a page per metric; day: a page per day.")


def fetch(opts: Options, window: Window, http: HttpSession, state: dict) -> Iterator[list[Series]]:
    days = list(window.days())
    first = (window.since - EPOCH).days
    columns = [column(opts.seed, i, first, len(days)) for i in range(len(METRICS))]
    if opts.order == "day":
        rows = list(zip(days, *columns, strict=True))  # the service's answer: a row per day
        days, *columns = map(list, zip(*rows, strict=True))
    yield [Series(opts.platform, metric, days, values) for metric, values in zip(METRICS, columns, strict=True)]


plugin = Plugin(
    name="benchpages",
    platforms=PLATFORMS,
    fetch=fetch,
    options=Options,
    description="Deterministic pages for tracker's bench; no HTTP.",
)
