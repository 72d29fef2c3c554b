"""Turn stored samples into per-platform figures for a period and the one before.

Each kind is summarised its own way (see tracker.metrics): counters are summed,
gauges take the last value and its change, uniques the daily average. The
vanity side adds up every account on a platform; the conversion side takes one
source per platform (precedence, then first-party over analytics, then config
order) so that one visit or order is never counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracker import metrics
from tracker.metrics import Kind
from tracker.store.models import Account, ConversionRecord, MetricStatus
from tracker.store.models import Sample as SampleRow

VISIT_METRICS = ("visits", "visitors")
ORDER_METRICS = ("conversions", "leads", "orders", "revenue")
ENGAGEMENT_PARTS = ("likes", "comments", "shares", "post_likes", "post_reposts", "post_replies", "post_quotes")
SOURCE_RANK = {"first_party": 0, "analytics": 1, "none": 2}
MANUAL = "manual"  # conversion_source of logged offline sales: they add to the online figures


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


@dataclass
class Totals:
    """One platform's figures for one period; None means no data, never zero."""

    values: dict[str, float] = field(default_factory=dict)
    provisional: bool = False

    def get(self, metric: str) -> float | None:
        return self.values.get(metric)


@dataclass
class PlatformFigures:
    platform: str
    accounts: list[str]
    current: Totals
    previous: Totals
    tracked: bool
    visits_source: str | None
    conversions_source: str | None
    followers_since: date | None
    missing: list[str]
    extras: dict[str, float]
    attribution: str = ""
    bases: list[str] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)


@dataclass
class Figures:
    period: Period
    platforms: list[PlatformFigures]


@dataclass(frozen=True)
class _AccountInfo:
    name: str
    conversion_source: str
    covers_all: bool
    position: int
    attribution: str


def compute(engine: Engine, period: Period, platforms: list[str] | None = None, precedence: tuple[str, ...] = ()) -> Figures:
    previous = period.previous()
    with engine.connect() as conn:
        accounts = _accounts(conn)
        sums = _sums(conn, previous.start, period.end, period.start)
        gauges_now = _last_values(conn, period.end)
        gauges_before = _last_values(conn, period.start - timedelta(days=1))
        gauges_prev_before = _last_values(conn, previous.start - timedelta(days=1))
        first_days = _first_days(conn)
        missing = _missing(conn)
        records = _record_facts(conn, period)
    rank = _ranker(accounts, precedence)
    seen = sorted({key[1] for key in sums} | {key[1] for key in gauges_now})
    if platforms:
        seen = [p for p in seen if p in platforms]
    covering = [a for a in accounts.values() if a.covers_all and a.conversion_source != "none"]
    result = []
    for platform in _ordered(seen):
        per_metric = {k: v for k, v in sums.items() if k[1] == platform}
        conv_accounts = {k[0] for k in per_metric if k[2] in VISIT_METRICS + ORDER_METRICS}
        manual = {a for a in conv_accounts if a in accounts and accounts[a].conversion_source == MANUAL}
        visits_source = _pick(conv_accounts - manual, per_metric, VISIT_METRICS, rank)
        orders_source = _pick(conv_accounts - manual, per_metric, ORDER_METRICS, rank)
        current = _totals(per_metric, "current", visits_source, orders_source, manual)
        prev = _totals(per_metric, "previous", visits_source, orders_source, manual)
        _add_gauges(current, gauges_now, gauges_before, platform)
        _add_gauges(prev, gauges_before, gauges_prev_before, platform)
        names = sorted({k[0] for k in per_metric} | {k[0] for k in gauges_now if k[1] == platform})
        result.append(
            PlatformFigures(
                platform=platform,
                accounts=names,
                current=current,
                previous=prev,
                tracked=bool(conv_accounts) or bool(covering),
                visits_source=visits_source,
                conversions_source=orders_source,
                followers_since=min((d for (a, p, m), d in first_days.items() if p == platform and m == "followers"), default=None),
                missing=sorted(f"{m} ({a}: {why})" for (a, p, m), why in missing.items() if p == platform),
                extras={m: v for m, v in current.values.items() if "." in m},
                attribution=accounts[orders_source].attribution if orders_source in accounts else "",
                bases=sorted({b for (a, p), (bs, _) in records.items() if p == platform and a in {orders_source, *manual} for b in bs}),
                currencies=sorted({c for (a, p), (_, cs) in records.items() if p == platform and a in {orders_source, *manual} for c in cs}),
            )
        )
    return Figures(period, result)


def _ordered(platforms: list[str]) -> list[str]:
    """Platforms first, then the buckets no platform can claim."""
    return [p for p in platforms if p not in metrics.BUCKETS] + [b for b in metrics.BUCKETS if b in platforms]


def _accounts(conn: Connection) -> dict[str, _AccountInfo]:
    t = Account.__table__
    rows = conn.execute(sa.select(t.c.name, t.c.conversion_source, t.c.covers_all_platforms, t.c.position, t.c.attribution))
    return {
        r.name: _AccountInfo(r.name, r.conversion_source, bool(r.covers_all_platforms), r.position, r.attribution)
        for r in rows
    }


def _record_facts(conn: Connection, period: Period) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """Per (account, platform): how the period's order records were attributed, and their currencies."""
    t = ConversionRecord.__table__
    query = (
        sa.select(t.c.account, t.c.platform, t.c.basis, t.c.currency)
        .where(t.c.day.between(period.start, period.end), t.c.withdrawn == sa.false())
        .distinct()
    )
    facts: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for r in conn.execute(query):
        bases, currencies = facts[(r.account, r.platform)]
        bases.add(r.basis)
        if r.currency:
            currencies.add(r.currency)
    return facts


Rank = Callable[[str], tuple[int, int, int, str]]


def _ranker(accounts: dict[str, _AccountInfo], precedence: tuple[str, ...]) -> Rank:
    def rank(name: str) -> tuple[int, int, int, str]:
        info = accounts.get(name)
        explicit = precedence.index(name) if name in precedence else len(precedence)
        source = SOURCE_RANK.get(info.conversion_source, 2) if info else 2
        return (explicit, source, info.position if info else 1_000_000, name)

    return rank


SumKey = tuple[str, str, str, str]  # account, platform, metric, period


def _sums(conn: Connection, start: date, end: date, current_start: date) -> dict[SumKey, tuple[float, int, bool]]:
    """(sum, days with data, any provisional) per account, platform, metric and period."""
    t = SampleRow.__table__
    period = sa.case((t.c.day >= current_start, "current"), else_="previous").label("period")
    query = (
        sa.select(
            t.c.account,
            t.c.platform,
            t.c.metric,
            period,
            sa.func.sum(t.c.value),
            sa.func.count(),
            sa.func.max(sa.case((t.c.provisional, 1), else_=0)),
        )
        .where(t.c.day.between(start, end))
        .group_by(t.c.account, t.c.platform, t.c.metric, period)
    )
    return {(r[0], r[1], r[2], r[3]): (float(r[4]), int(r[5]), bool(r[6])) for r in conn.execute(query)}


GaugeKey = tuple[str, str, str]  # account, platform, metric


def _last_values(conn: Connection, at: date) -> dict[GaugeKey, float]:
    """Each gauge's last value on or before `at`, per account."""
    gauges = [m.name for m in metrics.METRICS.values() if m.kind is Kind.GAUGE]
    t = SampleRow.__table__
    latest = (
        sa.select(t.c.account, t.c.platform, t.c.metric, sa.func.max(t.c.day).label("day"))
        .where(t.c.metric.in_(gauges), t.c.day <= at)
        .group_by(t.c.account, t.c.platform, t.c.metric)
        .subquery()
    )
    query = sa.select(t.c.account, t.c.platform, t.c.metric, t.c.value).join(
        latest,
        sa.and_(
            t.c.account == latest.c.account,
            t.c.platform == latest.c.platform,
            t.c.metric == latest.c.metric,
            t.c.day == latest.c.day,
        ),
    )
    return {(r[0], r[1], r[2]): float(r[3]) for r in conn.execute(query)}


def _first_days(conn: Connection) -> dict[GaugeKey, date]:
    t = SampleRow.__table__
    query = sa.select(t.c.account, t.c.platform, t.c.metric, sa.func.min(t.c.day)).where(t.c.metric == "followers").group_by(
        t.c.account, t.c.platform, t.c.metric
    )
    return {(r[0], r[1], r[2]): r[3] for r in conn.execute(query)}


def _missing(conn: Connection) -> dict[GaugeKey, str]:
    t = MetricStatus.__table__
    return {(r.account, r.platform, r.metric): r.reason for r in conn.execute(sa.select(t))}


def _pick(accounts: set[str], sums: dict[SumKey, tuple[float, int, bool]], group: tuple[str, ...], rank: Rank) -> str | None:
    having = sorted({k[0] for k in sums if k[0] in accounts and k[2] in group}, key=rank)
    return having[0] if having else None


def _totals(
    sums: dict[SumKey, tuple[float, int, bool]],
    period: str,
    visits_source: str | None,
    orders_source: str | None,
    manual: set[str],
) -> Totals:
    """Vanity from every account; visits from one source; conversions from one source plus logged offline ones."""
    totals = Totals()
    for (account, _platform, metric, p), (value, count, provisional) in sums.items():
        if p != period:
            continue
        if metric in VISIT_METRICS and account != visits_source:
            continue
        if metric in ORDER_METRICS and account in manual:
            totals.values[f"offline_{metric}"] = totals.values.get(f"offline_{metric}", 0.0) + value
        elif metric in ORDER_METRICS and account != orders_source:
            continue
        info = metrics.get(metric)
        if info is not None and info.kind is Kind.GAUGE:
            continue
        if info is not None and info.kind is Kind.UNIQUE:
            value = value / count  # daily average; never a sum of distinct people
        totals.values[metric] = totals.values.get(metric, 0.0) + value
        totals.provisional = totals.provisional or provisional
    return totals


def _add_gauges(totals: Totals, at_end: dict[GaugeKey, float], before: dict[GaugeKey, float], platform: str) -> None:
    """Sum each gauge's last value over the platform's accounts, and its change since the day before."""
    by_metric: dict[str, list[GaugeKey]] = defaultdict(list)
    for key in at_end:
        if key[1] == platform:
            by_metric[key[2]].append(key)
    for metric, keys in by_metric.items():
        totals.values[metric] = sum(at_end[k] for k in keys)
        if all(k in before for k in keys):
            totals.values[f"{metric}_change"] = sum(at_end[k] - before[k] for k in keys)
