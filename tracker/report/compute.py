"""Turn stored samples into per-platform figures for a period and the one before.

Each kind is summarised its own way (see tracker.metrics): counters are summed,
gauges take the last value and its change, uniques the daily average. The
vanity side adds up every account on a platform. The conversion side never
counts one event twice and never drops a source silently:
- visits come from one source per platform (precedence, then config order);
- orders come from the first-party sources together (a shop export and a till
  sheet add; an order id two of them hold counts once, for the higher-ranked),
  or, where no first-party source covers the platform, from one analytics
  source; precedence can prefer analytics;
- logged offline sales add to either;
- every source's own figure is kept (`SourceFigure`), so the report can show
  where sources disagree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracker import metrics
from tracker.ids import is_order_number
from tracker.metrics import Kind
from tracker.report.figures import (
    DAILY_ENGAGEMENT,
    POST_ENGAGEMENT,
    CareFigures,
    CareRules,
    CareStats,
    Figures,
    PlatformFigures,
    SourceFigure,
    Totals,
)
from tracker.report.period import Period
from tracker.store import samples
from tracker.store.models import ACCOUNT, CARE_ITEM, CONVERSION, METRIC_STATUS

VISIT_METRICS = ("visits", "visitors")
ORDER_METRICS = ("conversions", "leads", "orders", "revenue")
ENGAGEMENT_PARTS = DAILY_ENGAGEMENT + POST_ENGAGEMENT
FIRST_PARTY = "first_party"
SOURCE_RANK = {FIRST_PARTY: 0, "analytics": 1, "none": 2}
MANUAL = "manual"  # conversion_source of logged offline sales: they add to the online figures
UNKNOWN_REVENUE = (
    "revenue: unknown, some orders in the period have no amount "
    "(a sale logged without --amount, or an export without an amount column)"
)










class _AccountInfo(NamedTuple):
    """A stored account as the report weighs it; a named tuple, made from each account row without a copy."""

    name: str
    conversion_source: str
    covers_all: bool
    position: int
    attribution: str


def compute(
    engine: Engine,
    period: Period,
    platforms: list[str] | None = None,
    precedence: tuple[str, ...] = (),
    configured: set[str] | None = None,
) -> Figures:
    """Figures per platform; with `configured`, data of accounts removed from the config is left out."""
    previous = period.previous()
    with engine.connect() as conn:
        accounts = _accounts(conn)
        counted = None if configured is None else _counted_accounts(accounts, configured)
        excluded = set() if counted is None else samples.series_accounts(conn) - counted
        manual = sorted(a.name for a in accounts.values() if a.conversion_source == MANUAL)
        summed = _sums(conn, previous.start, period.end, period.start, excluded, manual)
        sums = summed.each
        at = (period.end, period.start - timedelta(days=1), previous.start - timedelta(days=1))
        gauges = samples.gauge_reads(conn, at, _GAUGES, excluded)
        gauges_now, gauges_before, gauges_prev_before = gauges.at
        gauge_keys = _by_platform(gauges_now)
        missing = _only(counted, _missing(conn))
        records = _only(counted, _record_facts(conn, period))
        rank = ranker(accounts, precedence)
        first_party = sorted(
            (a for a, info in accounts.items()
             if info.conversion_source == FIRST_PARTY and (counted is None or a in counted)),
            key=rank,
        )
        overlap = _overlap(conn, first_party, previous.start, period.end, period.start)
    seen = sorted(
        {key[1] for key in sums if not _undone_only(key, sums, accounts)}
        | {key[0] for key in summed.pooled}
        | set(gauge_keys)
    )
    if platforms:
        seen = [p for p in seen if p in platforms]
    covering = [
        a for a in accounts.values()
        if a.covers_all and a.conversion_source != "none" and (counted is None or a.name in counted)
    ]
    by_platform: dict[str, dict[SumKey, tuple[float, int, bool]]] = defaultdict(dict)
    for key, value in sums.items():
        by_platform[key[1]][key] = value
    pooled_by_platform: dict[str, dict[samples.PooledKey, tuple[float, bool]]] = defaultdict(dict)
    for pooled_key, pooled_value in summed.pooled.items():
        pooled_by_platform[pooled_key[0]][pooled_key] = pooled_value
    followers_since = _first_followers(gauges.first)
    result = []
    for platform in _ordered(seen):
        per_metric = by_platform[platform]
        conv_accounts = {k[0] for k in per_metric if k[2] in VISIT_METRICS + ORDER_METRICS}
        logged = {a for a in conv_accounts if a in accounts and accounts[a].conversion_source == MANUAL}
        visits_source = _pick(conv_accounts - logged, per_metric, VISIT_METRICS, rank)
        order_sources = _order_sources(conv_accounts - logged, per_metric, rank, accounts)
        pooled = pooled_by_platform[platform]
        current = _totals(per_metric, pooled, "current", visits_source, order_sources, logged)
        prev = _totals(per_metric, pooled, "previous", visits_source, order_sources, logged)
        _subtract(current, overlap, platform, "current", order_sources)
        _subtract(prev, overlap, platform, "previous", order_sources)
        held = gauge_keys.get(platform, [])
        _add_gauges(current, held, gauges_now, gauges_before)
        _add_gauges(prev, [k for k in held if k in gauges_before], gauges_before, gauges_prev_before)
        names = sorted(summed.accounts.get(platform, set()) | {k[0] for k in held})
        counted_orders = {*order_sources, *logged}
        result.append(
            PlatformFigures(
                platform=platform,
                accounts=names,
                current=current,
                previous=prev,
                tracked=bool(conv_accounts) or bool(covering),
                visits_source=visits_source,
                conversions_source=", ".join(order_sources) or None,
                followers_since=followers_since.get(platform),
                missing=sorted(
                    _missing_note(key, status, len(names) > 1) for key, status in missing.items() if key[1] == platform
                )
                + [UNKNOWN_REVENUE] * ("revenue" in current.unknown),
                extras={m: v for m, v in current.values.items() if "." in m},
                attribution=[
                    accounts[a].attribution for a in order_sources if a in accounts and accounts[a].attribution
                ],
                bases=sorted(
                    {b for (a, p), (bs, _) in records.items() if p == platform and a in counted_orders for b in bs}
                ),
                currencies=sorted(
                    {c for (a, p), (_, cs) in records.items() if p == platform and a in counted_orders for c in cs}
                ),
                sources=_source_figures(platform, per_metric, accounts, counted_orders, rank),
            )
        )
    return Figures(period, result)


def _counted_accounts(accounts: dict[str, _AccountInfo], configured: set[str]) -> set[str]:
    """The configured accounts, and the logged offline sales, which belong to no config table."""
    return set(configured) | {a.name for a in accounts.values() if a.conversion_source == MANUAL}


KeyT = TypeVar("KeyT", bound=tuple[Any, ...])
ValueT = TypeVar("ValueT")


def _only(counted: set[str] | None, keyed: dict[KeyT, ValueT]) -> dict[KeyT, ValueT]:
    """The entries whose key starts with a counted account (all of them when `counted` is None)."""
    if counted is None:
        return keyed
    return {k: v for k, v in keyed.items() if k[0] in counted}


def _undone_only(key: SumKey, sums: dict[SumKey, tuple[float, int, bool]], accounts: dict[str, _AccountInfo]) -> bool:
    """Logged sales on a platform that were all undone leave zeros behind: no reason to show the platform."""
    account, platform = key[0], key[1]
    if account not in accounts or accounts[account].conversion_source != MANUAL:
        return False
    return all(v[0] == 0 for k, v in sums.items() if k[0] == account and k[1] == platform)


def _ordered(platforms: list[str]) -> list[str]:
    """Platforms first, then the buckets no platform can claim."""
    return [p for p in platforms if p not in metrics.BUCKETS] + [b for b in metrics.BUCKETS if b in platforms]


def _accounts(conn: Connection) -> dict[str, _AccountInfo]:
    t = ACCOUNT
    query = sa.select(t.c.name, t.c.conversion_source, t.c.covers_all_platforms, t.c.position, t.c.attribution)
    return {row[0]: _AccountInfo._make(row) for row in conn.execute(query).all()}


def _record_facts(conn: Connection, period: Period) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """Per (account, platform): how the period's order records were attributed, and their currencies."""
    t = CONVERSION
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


class Ranked(Protocol):
    @property
    def conversion_source(self) -> str: ...

    @property
    def position(self) -> int: ...


def ranker(accounts: Mapping[str, Ranked], precedence: tuple[str, ...]) -> Rank:
    """The order of sources: `precedence`, then first-party before analytics, then config order.

    `tracker explain` ranks with it too.
    """

    def rank(name: str) -> tuple[int, int, int, str]:
        info = accounts.get(name)
        explicit = precedence.index(name) if name in precedence else len(precedence)
        source = SOURCE_RANK.get(info.conversion_source, 2) if info else 2
        return (explicit, source, info.position if info else 1_000_000, name)

    return rank


SumKey = samples.SumKey  # account, platform, metric, period
GaugeKey = samples.SeriesKey  # account, platform, metric
_GAUGES = tuple(m.name for m in metrics.METRICS.values() if m.kind is Kind.GAUGE)
# Summed account by account: the source of visits and orders is chosen per account, and a daily average of
# unique people is taken per account before accounts add. Every other summed metric adds across accounts.
_EACH = VISIT_METRICS + ORDER_METRICS + tuple(m.name for m in metrics.METRICS.values() if m.kind is Kind.UNIQUE)


def _sums(
    conn: Connection, start: date, end: date, current_start: date, excluded: set[str], manual: list[str]
) -> samples.ReportSums:
    """The two periods' sums; gauges are never summed, and logged sales are kept account by account."""
    return samples.report_sums(conn, start, end, current_start, _EACH, _GAUGES, excluded, manual)


def _missing(conn: Connection) -> dict[GaugeKey, tuple[str, date]]:
    t = METRIC_STATUS
    return {(r.account, r.platform, r.metric): (r.reason, r.since.date()) for r in conn.execute(sa.select(t))}


def _missing_note(key: GaugeKey, status: tuple[str, date], name_account: bool) -> str:
    """"profile_views: not reported by Instagram since 2025-01-08 (platform said: ...)", never cut.

    The date is when tracker first found it missing, which is what it can vouch for.
    """
    account, platform, metric = key
    reason, since = status
    said = re.match(r"Graph refused \S+: (.*)", reason, re.DOTALL)
    why = f"platform said: {said.group(1)}" if said else reason
    whose = f" to {account}" if name_account else ""
    return f"{metric}: not reported by {platform.capitalize()}{whose} since {since.isoformat()} ({why})"


def _pick(
    accounts: set[str], sums: dict[SumKey, tuple[float, int, bool]], group: tuple[str, ...], rank: Rank
) -> str | None:
    having = sorted({k[0] for k in sums if k[0] in accounts and k[2] in group}, key=rank)
    return having[0] if having else None


def _order_sources(
    candidates: set[str], sums: dict[SumKey, tuple[float, int, bool]], rank: Rank, accounts: dict[str, _AccountInfo]
) -> list[str]:
    """The best-ranked order source; if it is first-party, every first-party source with orders here (they add)."""
    best = _pick(candidates, sums, ORDER_METRICS, rank)
    if best is None or best not in accounts or accounts[best].conversion_source != FIRST_PARTY:
        return [best] if best else []
    having = {k[0] for k in sums if k[0] in candidates and k[2] in ORDER_METRICS}
    return sorted((a for a in having if a in accounts and accounts[a].conversion_source == FIRST_PARTY), key=rank)


def _source_figures(
    platform: str,
    sums: dict[SumKey, tuple[float, int, bool]],
    accounts: dict[str, _AccountInfo],
    counted: set[str],
    rank: Rank,
) -> list[SourceFigure]:
    """Each account's own conversions and revenue on a platform in the current period, counted or not."""
    figures = []
    for account in sorted({k[0] for k in sums if k[2] in ORDER_METRICS}, key=rank):
        conversions = sums.get((account, platform, "conversions", "current"))
        revenue = sums.get((account, platform, "revenue", "current"))
        kind = accounts[account].conversion_source if account in accounts else "none"
        figures.append(
            SourceFigure(
                account=account,
                kind=kind,
                conversions=conversions[0] if conversions else 0.0,
                revenue=revenue[0] if revenue else None,
                counted=account in counted,
            )
        )
    return figures


# (platform, period, account holding the copy, account holding the kept record) -> metric -> the copy's share
Overlap = dict[tuple[str, str, str, str], dict[str, float]]


def _overlap(conn: Connection, first_party: list[str], start: date, end: date, current_start: date) -> Overlap:
    """What first-party sources would count twice: records whose id a higher-ranked source also holds."""
    if len(first_party) < 2:
        return {}
    t = CONVERSION
    query = sa.select(t.c.account, t.c.id, t.c.platform, t.c.day, t.c.kind, t.c.amount).where(
        t.c.account.in_(first_party), t.c.day.between(start, end), t.c.withdrawn == sa.false()
    )
    by_id: dict[str, list[Any]] = defaultdict(list)
    for r in conn.execute(query):
        if is_order_number(r.id):
            by_id[r.id].append(r)
    twice: Overlap = defaultdict(lambda: defaultdict(float))
    for records in by_id.values():
        if len({r.account for r in records}) < 2:
            continue
        kept, *copies = sorted(records, key=lambda r: first_party.index(r.account))
        for r in copies:
            values = twice[(r.platform, "current" if r.day >= current_start else "previous", r.account, kept.account)]
            counts = 0.0 if r.amount is not None and r.amount < 0 else 1.0  # a refund is no new order
            values["orders" if r.kind == "order" else "leads"] += counts
            values["conversions"] += counts
            values["revenue"] += r.amount or 0.0  # an unknown amount added no revenue
    return twice


def _subtract(totals: Totals, overlap: Overlap, platform: str, period: str, counted: list[str]) -> None:
    """Take out each copy of an order whose kept record is counted too; with one source counted there is none."""
    for (p, per, copy, kept), twice in overlap.items():
        if (p, per) != (platform, period) or copy not in counted or kept not in counted:
            continue
        for metric, value in twice.items():
            if metric in totals.values:
                totals.values[metric] -= value


def _totals(
    sums: dict[SumKey, tuple[float, int, bool]],
    pooled: dict[samples.PooledKey, tuple[float, bool]],
    period: str,
    visits_source: str | None,
    order_sources: list[str],
    manual: set[str],
) -> Totals:
    """Vanity from every account; visits from one source; orders from the order sources plus logged offline ones."""
    totals = Totals()
    for (_platform, metric, p), (value, provisional) in pooled.items():
        if p == period:
            totals.values[metric] = totals.values.get(metric, 0.0) + value
            totals.provisional = totals.provisional or provisional
    for (account, _platform, metric, p), (value, count, provisional) in sums.items():
        if p != period:
            continue
        if metric in VISIT_METRICS and account != visits_source:
            continue
        if metric in ORDER_METRICS and account in manual:
            totals.values[f"offline_{metric}"] = totals.values.get(f"offline_{metric}", 0.0) + value
        elif metric in ORDER_METRICS and account not in order_sources:
            continue
        info = metrics.get(metric)
        if info is not None and info.kind is Kind.GAUGE:
            continue
        if info is not None and info.kind is Kind.UNIQUE:
            value = value / count  # daily average; never a sum of distinct people
        totals.values[metric] = totals.values.get(metric, 0.0) + value
        totals.provisional = totals.provisional or provisional
    _forget_unknown_revenue(totals, sums, period, [*order_sources, *manual])
    return totals


def _forget_unknown_revenue(
    totals: Totals, sums: dict[SumKey, tuple[float, int, bool]], period: str, sources: list[str]
) -> None:
    """A day with an order of unknown worth stores conversions but no revenue: then the sum would be too small."""
    for (account, _platform, metric, p), (_, days, _) in sums.items():
        if p != period or metric != "conversions" or account not in sources:
            continue
        revenue = sums.get((account, _platform, "revenue", p))
        if revenue is None or revenue[1] < days:
            totals.values.pop("revenue", None)
            totals.values.pop("offline_revenue", None)
            totals.unknown.add("revenue")


def _by_platform(at: dict[GaugeKey, float]) -> dict[str, list[GaugeKey]]:
    """The gauge series with a value, per platform: each platform's figures then look only at its own."""
    found: dict[str, list[GaugeKey]] = defaultdict(list)
    for key in at:
        found[key[1]].append(key)
    return found


def _first_followers(first: dict[GaugeKey, date]) -> dict[str, date]:
    """Per platform, the first stored followers day of any of its accounts."""
    found: dict[str, date] = {}
    for (_account, platform, metric), day in first.items():
        if metric == "followers" and (platform not in found or day < found[platform]):
            found[platform] = day
    return found


def _add_gauges(
    totals: Totals, keys: list[GaugeKey], at_end: dict[GaugeKey, float], before: dict[GaugeKey, float]
) -> None:
    """Sum each gauge's last value over the platform's accounts (`keys`: those with a value at the end), and its
    change since the day before."""
    by_metric: dict[str, list[GaugeKey]] = defaultdict(list)
    for key in keys:
        by_metric[key[2]].append(key)
    for metric, keys in by_metric.items():
        info = metrics.get(metric)
        combine = _sum if info is None or info.additive else _mean
        totals.values[metric] = combine([at_end[k] for k in keys])
        if all(k in before for k in keys):
            totals.values[f"{metric}_change"] = combine([at_end[k] for k in keys]) - combine([before[k] for k in keys])


def _sum(values: list[float]) -> float:
    return sum(values)


def _mean(values: list[float]) -> float:
    """Two shops rated 4.5 and 4.0 are not rated 8.5: a rate or an average is averaged over accounts."""
    return sum(values) / len(values)


# --- customer care (issue 20) -------------------------------------------------------------------
# Computed from the stored items at report time, never from daily samples: a median of a period is not
# any combination of daily medians. Daily `messages`/`replies` counts (an export, an older plugin) still
# count, as inbound and answered, for an account that stored no care item in the period.

OPEN_DAYS = 30  # the unanswered gauge looks at items of the last 30 days: plugins re-read recent threads only








@dataclass(frozen=True)
class _StoredItem:
    account: str
    platform: str
    channel: str
    created_at: datetime
    first_reply_at: datetime | None


def care_figures(
    engine: Engine,
    period: Period,
    rules: CareRules,
    now: datetime,
    configured: set[str] | None = None,
    platforms: list[str] | None = None,
) -> dict[str, CareFigures]:
    """Care per platform for `period`, read from care items (and daily counts where an account has none).

    An item belongs to the period by its arrival day in its account's time zone. The unanswered gauge is
    read at the end of the period (now, for a period that ends today).
    """
    with engine.connect() as conn:
        since = _care_accounts(conn)
        tracked = {key for key, first in since.items() if (configured is None or key[0] in configured)
                   and first <= period.end + timedelta(days=1)}
        earliest = min(period.start, period.end - timedelta(days=OPEN_DAYS)) - timedelta(days=2)
        stored = _care_items(conn, earliest, period.end + timedelta(days=2))
        items = [i for i in stored if (i.account, i.platform) in tracked]
        counts = _only(configured, _daily_care_counts(conn, period))
    found: dict[str, CareFigures] = {}
    for account, platform in sorted(tracked):
        figures = found.setdefault(platform, CareFigures(platform, [], {}, True))
        figures.accounts.append(account)
    in_period: set[tuple[str, str]] = set()
    for item in items:
        zone = rules.zone(item.account)
        at = min(now, datetime.combine(period.end + timedelta(days=1), time(0), zone))
        stats = _item_stats(item, period, rules, zone, at)
        if stats.inbound:
            in_period.add((item.account, item.platform))
        if stats.inbound or stats.open:
            figures = found[item.platform]
            figures.channels[item.channel] = figures.channels.get(item.channel, CareStats()).plus(stats)
    for (account, platform, metric), value in sorted(counts.items()):
        if (account, platform) in in_period:
            continue  # the items of this account already count its questions
        figures = found.setdefault(platform, CareFigures(platform, [], {}, False))
        if account not in figures.accounts:
            figures.accounts.append(account)
        setattr(figures, metric, (getattr(figures, metric) or 0.0) + value)
    if platforms:
        found = {p: f for p, f in found.items() if p in platforms}
    return {p: found[p] for p in _ordered(sorted(found))}


def _item_stats(item: _StoredItem, period: Period, rules: CareRules, zone: ZoneInfo, at: datetime) -> CareStats:
    """One item's part of the figures: inbound in the period (answered, how fast) and/or open at `at`."""
    arrived = item.created_at.astimezone(zone).date()
    late = item.created_at < at - timedelta(hours=rules.unanswered_hours)
    recent = item.created_at >= at - timedelta(days=OPEN_DAYS)
    is_open = int(late and recent and (item.first_reply_at is None or item.first_reply_at > at))
    if not period.start <= arrived <= period.end:
        return CareStats(open=is_open)
    if item.first_reply_at is None:
        return CareStats(inbound=1, open=is_open)
    minutes = rules.hours.minutes_between(item.created_at, item.first_reply_at, zone)
    return CareStats(inbound=1, answered=1, minutes=(minutes,), open=is_open)


def _care_accounts(conn: Connection) -> dict[tuple[str, str], date]:
    """Per (account, platform) storing care items (deleted ones too: they show care is collected), the first
    item's day (UTC). Before it nothing says care was collected: a period then has no care data, not 0 items."""
    t = CARE_ITEM
    query = sa.select(t.c.account, t.c.platform, sa.func.min(t.c.created_at)).group_by(t.c.account, t.c.platform)
    return {(r[0], r[1]): r[2].date() for r in conn.execute(query)}


def _care_items(conn: Connection, start: date, end: date) -> list[_StoredItem]:
    """Items that count (not deleted) arriving between two days, UTC and padded by the caller for time zones."""
    t = CARE_ITEM
    query = sa.select(t.c.account, t.c.platform, t.c.channel, t.c.created_at, t.c.first_reply_at).where(
        t.c.deleted == sa.false(),
        t.c.created_at >= datetime.combine(start, time(0), UTC),
        t.c.created_at < datetime.combine(end + timedelta(days=1), time(0), UTC),
    )
    return [_StoredItem(r.account, r.platform, r.channel, r.created_at, r.first_reply_at) for r in conn.execute(query)]


def _daily_care_counts(conn: Connection, period: Period) -> dict[tuple[str, str, str], float]:
    """Sums of the daily `messages` and `replies` samples per account and platform in the period."""
    sums = samples.period_sums(conn, period.start, period.end, period.start, ("messages", "replies"))
    return {(account, platform, metric): value for (account, platform, metric, _), (value, _, _) in sums.items()}


