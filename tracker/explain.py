"""Where a report figure comes from: `tracker explain PLATFORM METRIC`.

An owner who reads "1,632 reach/day" in the report and 12,000 in Instagram's
app needs to see the stored days, the run that wrote each one, what the
platform means by the metric, and the arithmetic the report did. This module
traces every stored value of one metric on one platform in a period and
redoes the report's arithmetic step by step, following the rules of
`tracker.report.compute` (which it must equal; the tests compare the two):

- counter: the sum of the days, per account, then added;
- unique: the daily average over the days with data, per account, then added;
- gauge: the last value on or before the period's end, per account, then
  added, and the change since the day before the period;
- conversion metrics: only the sources the report counts (first-party orders
  add, else one analytics source; logged offline sales add; an order id two
  first-party sources hold counts once); the others are shown, not counted.

Which sources the report counted is taken from `compute` itself, so the two
can never disagree about a decision; the numbers are summed here again from
the stored rows, so the arithmetic shown is the arithmetic done.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracker import metrics
from tracker.errors import UsageError
from tracker.metrics import Kind
from tracker.report import compute
from tracker.report.compute import FIRST_PARTY, MANUAL, ORDER_METRICS, VISIT_METRICS, Period, Rank, ranker
from tracker.report.rows import PRECISION
from tracker.store import samples
from tracker.store.models import ACCOUNT, CONVERSION, METRIC_STATUS, SERIES, SERIES_DAY, SYNC_RUN

LOGGED_DAY = "the day given to `tracker log`"
EXTRA = "extra"  # the kind shown for a plugin's own metric outside the vocabulary: summed like a counter
REMOVED = "removed from the config"
ORDER_WORDS = "precedence, then config order"

# The report's field for a metric, where it is not the metric's own name.
REPORT_FIELDS = {"reach": "reach_daily_avg"}
# Vocabulary metrics that are not a field of the report (they are stored, and explained, all the same).
NOT_IN_REPORT = {
    "following", "posts_total", "followers_gained", "followers_lost", "engagements", "posts", "post_likes",
    "post_reposts", "post_replies", "post_quotes", "visitors", "response_time",
}


@dataclass(frozen=True)
class PluginDocs:
    """What a plugin says about its numbers: its metric definitions and which clock decides a day."""

    name: str
    day_rule: str
    metrics: Mapping[str, str]
    platforms: tuple[str, ...] = ("*",)

    def reports_on(self, platform: str) -> bool:
        return "*" in self.platforms or platform in self.platforms


@dataclass(frozen=True)
class Request:
    """What to explain, and what the config knows that the store does not."""

    platform: str
    metric: str
    period: Period
    configured: frozenset[str] | None = None  # None: every stored account counts (no config)
    precedence: tuple[str, ...] = ()
    known_platforms: frozenset[str] = frozenset()
    plugins: Mapping[str, PluginDocs] = field(default_factory=dict)
    today: date | None = None  # a period after today has no data yet: nothing in it is zero


@dataclass(frozen=True)
class Run:
    id: int
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    status: str


@dataclass(frozen=True)
class DayValue:
    """One stored value (or a day with none: `value` None), and what the report did with it."""

    day: date
    account: str | None
    plugin: str | None
    value: float | None
    provisional: bool
    run_id: int | None
    counted: bool
    use: str  # summed | averaged | last value | day before the period | not counted (...) | no data | ""
    in_period: bool = True


@dataclass(frozen=True)
class Definition:
    plugin: str
    accounts: list[str]
    meaning: str
    day_rule: str


@dataclass(frozen=True)
class Step:
    """One line of the arithmetic: an account's part (`account` set), or how the parts combine."""

    how: str  # sum | average | last | change | add | add_change | once
    account: str | None
    terms: list[float]
    result: float
    days: int = 0  # average: the days with data it divides by
    day: date | None = None  # last: the day of the value; change: the day before the period
    ids: list[str] = field(default_factory=list)  # once: the order ids counted twice


@dataclass(frozen=True)
class Source:
    """An account that stored the metric on the platform, counted or not, and why not."""

    account: str
    kind: str  # first_party | analytics | manual | none
    total: float
    counted: bool
    why_not: str = ""


@dataclass(frozen=True)
class Missing:
    """A metric_status row: the platform retired or refused the metric for an account."""

    account: str
    status: str
    reason: str
    since: datetime
    counted: bool


@dataclass
class Explanation:
    platform: str
    metric: str
    kind: str  # gauge | counter | unique | extra
    unit: str
    meaning: str  # tracker's vocabulary
    start: date
    end: date
    definitions: list[Definition]
    days: list[DayValue]
    runs: list[Run]
    steps: list[Step]
    sources: list[Source]
    missing: list[Missing]
    result: float | None  # the figure the report shows, rounded as the report rounds it; None: no data
    change: float | None  # gauges: the change over the period the report shows
    report_field: str | None  # None: the report has no field for this metric
    in_report: bool  # False: the report has no row for the platform in the period
    tracked_zero: bool = False  # conversions: a working source saw none, so the report shows 0
    removed: list[str] = field(default_factory=list)

    @property
    def provisional(self) -> bool:
        return any(d.provisional and d.counted for d in self.days)

    @property
    def period_days(self) -> int:
        return (self.end - self.start).days + 1


def explain(engine: Engine, request: Request) -> Explanation:
    """Trace one metric of one platform over the period to the rows and runs behind it."""
    with engine.connect() as conn:
        _refuse_unknown(conn, request)
        accounts = _accounts(conn)
        rows = _rows(conn, request)
        statuses = _statuses(conn, request)
    figures = compute.compute(engine, request.period, [request.platform], request.precedence, _configured(request))
    found = next((f for f in figures.platforms if f.platform == request.platform), None)
    counted = _counted(request, accounts)
    kind = _kind(request.metric)
    before = request.period.start - timedelta(days=1)
    rank = ranker(accounts, request.precedence)
    if kind is Kind.GAUGE:
        trace, steps, result, change = _gauge(rows, before, request.period, counted)
        sources: list[Source] = []
    else:
        decided = _decided(request.metric, found, counted)
        trace, steps, result, sources = _additive(rows, kind, decided, accounts, rank)
        change = None
        result = _minus_twice(engine, request, accounts, counted, steps, result, rank)
    info = metrics.get(request.metric)
    tracked_zero = result is None and _tracked_zero(request, found)
    if tracked_zero:
        result = 0.0
    return Explanation(
        platform=request.platform,
        metric=request.metric,
        kind=kind.value if kind else EXTRA,
        unit=info.unit if info else "",
        meaning=info.definition if info else "",
        start=request.period.start,
        end=request.period.end,
        definitions=_definitions(request, accounts, rows),
        days=_with_empty_days([_with_plugin(d, accounts) for d in trace], request.period),
        runs=_runs(engine, {d.run_id for d in trace if d.run_id is not None}),
        steps=steps,
        sources=sources,
        missing=[Missing(s.account, s.status, s.reason, s.since, counted(s.account)) for s in statuses],
        result=_shown(request.metric, result),
        change=change,
        report_field=_report_field(request.metric),
        in_report=found is not None,
        tracked_zero=tracked_zero,
        removed=sorted({r.account for r in rows if not counted(r.account)}),
    )


def _tracked_zero(request: Request, found: compute.PlatformFigures | None) -> bool:
    """The report's zero: a working conversion source covers the platform and saw nothing from it."""
    future = request.today is not None and request.period.start > request.today
    if request.metric != "conversions" or found is None or future:
        return False
    return found.tracked and not found.conversions_source


# --- what is known ----------------------------------------------------------------


def _refuse_unknown(conn: Connection, request: Request) -> None:
    """A typo must not read as "no data": name the platforms and metrics that exist."""
    t = SERIES
    stored = {r[0] for r in conn.execute(sa.select(t.c.platform).distinct())}
    platforms = stored | set(request.known_platforms) | set(metrics.BUCKETS)
    if request.platform not in platforms:
        raise UsageError(f"platform {request.platform!r} is not known; use one of {', '.join(sorted(platforms))}")
    extras = {
        r[0] for r in conn.execute(sa.select(t.c.metric).where(t.c.platform == request.platform).distinct())
    }
    declared = {m for docs in request.plugins.values() if docs.reports_on(request.platform) for m in docs.metrics}
    known = set(metrics.METRICS) | extras | declared
    if request.metric not in known:
        names = ", ".join(sorted(known))
        raise UsageError(f"metric {request.metric!r} is not known for {request.platform}; use one of {names}")


def _report_field(metric: str) -> str | None:
    if metric in NOT_IN_REPORT or metrics.get(metric) is None:
        return None
    return REPORT_FIELDS.get(metric, metric)


def _kind(metric: str) -> Kind | None:
    info = metrics.get(metric)
    return info.kind if info else None


def _configured(request: Request) -> set[str] | None:
    return None if request.configured is None else set(request.configured)


@dataclass(frozen=True)
class _AccountRow:
    name: str
    plugin: str
    conversion_source: str
    position: int


def _accounts(conn: Connection) -> dict[str, _AccountRow]:
    t = ACCOUNT
    query = sa.select(t.c.name, t.c.plugin, t.c.conversion_source, t.c.position)
    return {r.name: _AccountRow(r.name, r.plugin, r.conversion_source, r.position) for r in conn.execute(query)}


class _Counted:
    """Whether the report counts an account's data: configured, or logged offline sales (never in a config)."""

    def __init__(self, configured: frozenset[str] | None, manual: set[str]) -> None:
        self.configured = configured
        self.manual = manual

    def __call__(self, account: str) -> bool:
        return self.configured is None or account in self.configured or account in self.manual


def _counted(request: Request, accounts: dict[str, _AccountRow]) -> _Counted:
    return _Counted(request.configured, {a.name for a in accounts.values() if a.conversion_source == MANUAL})


@dataclass(frozen=True)
class _Row:
    account: str
    day: date
    value: float
    provisional: bool
    run_id: int


def _rows(conn: Connection, request: Request) -> list[_Row]:
    """The metric's stored rows in the period; for a gauge, every row up to the end (its last value may be older)."""
    s, d = SERIES, SERIES_DAY
    query = (
        sa.select(s.c.account, d.c.day, d.c.value, d.c.provisional, d.c.run_id)
        .select_from(samples.joined())
        .where(s.c.platform == request.platform, s.c.metric == request.metric)
        .where(d.c.day <= samples.day_number(request.period.end))
    )
    if _kind(request.metric) is not Kind.GAUGE:
        query = query.where(d.c.day >= samples.day_number(request.period.start))
    query = query.order_by(d.c.day, s.c.account)
    return [
        _Row(r.account, samples.day_of(r.day), float(r.value), bool(r.provisional), r.run_id)
        for r in conn.execute(query)
    ]


def _statuses(conn: Connection, request: Request) -> list[Missing]:
    t = METRIC_STATUS
    query = (
        sa.select(t.c.account, t.c.status, t.c.reason, t.c.since)
        .where(t.c.platform == request.platform, t.c.metric == request.metric)
        .order_by(t.c.account)
    )
    return [Missing(r.account, r.status, r.reason, r.since, True) for r in conn.execute(query)]


def _runs(engine: Engine, ids: set[int]) -> list[Run]:
    if not ids:
        return []
    t = SYNC_RUN
    with engine.connect() as conn:
        found = conn.execute(sa.select(t).where(t.c.id.in_(sorted(ids))).order_by(t.c.id))
        return [Run(r.id, r.trigger, r.started_at, r.finished_at, r.status) for r in found]


def _definitions(request: Request, accounts: dict[str, _AccountRow], rows: list[_Row]) -> list[Definition]:
    """The platform's own meaning, per plugin that stored the metric, else tracker's vocabulary."""
    by_plugin: dict[str, list[str]] = defaultdict(list)
    for name in sorted({r.account for r in rows}):
        by_plugin[accounts[name].plugin if name in accounts else ""].append(name)
    info = metrics.get(request.metric)
    fallback = info.definition if info else ""
    found = []
    for plugin, names in by_plugin.items():
        docs = request.plugins.get(plugin)
        if plugin == "log":
            meaning, rule = "Logged by hand with `tracker log`: the customer said where they came from.", LOGGED_DAY
        else:
            meaning = (docs.metrics.get(request.metric) if docs else None) or fallback
            rule = docs.day_rule if docs else ""
        found.append(Definition(plugin, names, meaning, rule))
    return found


# --- the arithmetic -------------------------------------------------------------------


def _plugin_of(accounts: dict[str, _AccountRow], name: str) -> str | None:
    return accounts[name].plugin if name in accounts else None


def _gauge(
    rows: list[_Row], before: date, period: Period, counted: _Counted
) -> tuple[list[DayValue], list[Step], float | None, float | None]:
    """Per account the last value on or before the end, and on or before the day before the period; then added."""
    per_account: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        per_account[r.account].append(r)
    last: dict[str, _Row] = {}
    prior: dict[str, _Row] = {}
    for account, found in per_account.items():
        last[account] = found[-1]
        earlier = [r for r in found if r.day <= before]
        if earlier:
            prior[account] = earlier[-1]
    trace = []
    for r in rows:
        in_period = r.day >= period.start
        if not in_period and r is not prior.get(r.account) and r is not last.get(r.account):
            continue
        use = "last value" if r is last[r.account] else "day before the period" if r is prior.get(r.account) else ""
        if not counted(r.account):
            use = f"not counted ({REMOVED})"
        used = counted(r.account) and bool(use)
        trace.append(DayValue(r.day, r.account, None, r.value, r.provisional, r.run_id, used, use, in_period))
    accounts = sorted(a for a in last if counted(a))
    steps = [Step("last", a, [last[a].value], last[a].value, day=last[a].day) for a in accounts]
    result = sum(last[a].value for a in accounts) if accounts else None
    change = None
    if accounts and all(a in prior for a in accounts):
        for a in accounts:
            end, start = last[a].value, prior[a].value
            steps.append(Step("change", a, [end, start], end - start, day=prior[a].day))
        change = sum(last[a].value - prior[a].value for a in accounts)
    if len(accounts) > 1:
        steps.append(Step("add", None, [last[a].value for a in accounts], result or 0.0))
        if change is not None:
            steps.append(Step("add_change", None, [last[a].value - prior[a].value for a in accounts], change))
    return trace, steps, result, change


@dataclass(frozen=True)
class _Decided:
    """Which accounts the report counts for the metric, and a reason for each one it does not."""

    counts: _Counted
    only: set[str] | None  # None: every counted account (the vanity side)
    why_not: dict[str, str]


def _decided(metric: str, found: compute.PlatformFigures | None, counted: _Counted) -> _Decided:
    if found is None or metric not in VISIT_METRICS + ORDER_METRICS:
        return _Decided(counted, None, {})
    if metric in VISIT_METRICS:
        source = found.visits_source
        why = f"one source for visits per platform: {source} comes first ({ORDER_WORDS})"
        return _Decided(counted, {source} if source else set(), defaultdict(lambda: why))
    used = [s for s in found.sources if s.counted]
    online = [s for s in used if s.kind != MANUAL]
    names = ", ".join(s.account for s in online)
    why_not: dict[str, str] = {}
    for s in found.sources:
        if s.counted:
            continue
        if online and online[0].kind == FIRST_PARTY and s.kind != FIRST_PARTY:
            why_not[s.account] = f"first-party orders from {names} count where they exist; analytics is the fallback"
        elif online and online[0].kind == s.kind == "analytics":
            why_not[s.account] = f"one analytics source per platform: {names} comes first ({ORDER_WORDS})"
        else:
            why_not[s.account] = f"{names or 'another source'} comes first in `precedence`"
    return _Decided(counted, {s.account for s in used}, why_not)


def _additive(
    rows: list[_Row], kind: Kind | None, decided: _Decided, accounts: dict[str, _AccountRow], rank: Rank
) -> tuple[list[DayValue], list[Step], float | None, list[Source]]:
    """Counters summed, uniques averaged over their days with data; per counted account, then added."""
    per_account: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        per_account[r.account].append(r)
    use_word = "averaged" if kind is Kind.UNIQUE else "summed"
    trace, steps, sources = [], [], []
    for account in sorted(per_account, key=rank):
        found = per_account[account]
        ok = decided.counts(account) and (decided.only is None or account in decided.only)
        why = "" if ok else REMOVED if not decided.counts(account) else decided.why_not.get(account, "not counted here")
        use = use_word if ok else f"not counted ({REMOVED if why == REMOVED else 'see sources'})"
        trace += [DayValue(r.day, account, None, r.value, r.provisional, r.run_id, ok, use) for r in found]
        values = [r.value for r in found]
        if kind is Kind.UNIQUE:
            step = Step("average", account, values, sum(values) / len(values), days=len(values))
        else:
            step = Step("sum", account, values, sum(values))
        if ok:
            steps.append(step)
        if decided.only is not None or not ok:
            info = accounts.get(account)
            sources.append(Source(account, info.conversion_source if info else "none", step.result, ok, why))
    result = sum(s.result for s in steps) if steps else None
    if len(steps) > 1:
        steps.append(Step("add", None, [s.result for s in steps], result or 0.0))
    trace.sort(key=lambda d: (d.day, rank(d.account or "")))
    return trace, steps, result, sources


def _with_plugin(d: DayValue, accounts: dict[str, _AccountRow]) -> DayValue:
    return dataclasses.replace(d, plugin=_plugin_of(accounts, d.account or ""))


def _minus_twice(
    engine: Engine,
    request: Request,
    accounts: dict[str, _AccountRow],
    counted: _Counted,
    steps: list[Step],
    result: float | None,
    rank: Rank,
) -> float | None:
    """An order id two first-party sources hold counts once, for the higher-ranked: take the others back out."""
    if request.metric not in ORDER_METRICS or result is None:
        return result
    first_party = [a.name for a in accounts.values() if a.conversion_source == FIRST_PARTY and counted(a.name)]
    order = sorted(first_party, key=rank)
    counted_here = {s.account for s in steps if s.account}
    if len(order) < 2 or not counted_here & set(order):
        return result
    t = CONVERSION
    with engine.connect() as conn:
        records = conn.execute(
            sa.select(t.c.account, t.c.id, t.c.platform, t.c.day, t.c.kind, t.c.amount).where(
                t.c.account.in_(order),
                t.c.day.between(request.period.start, request.period.end),
                t.c.withdrawn == sa.false(),
            )
        ).all()
    by_id: dict[str, list[sa.Row]] = defaultdict(list)
    for r in records:
        by_id[r.id].append(r)
    ids, terms = [], []
    for record_id, held in sorted(by_id.items()):
        if len({r.account for r in held}) < 2:
            continue
        for r in sorted(held, key=lambda r: order.index(r.account))[1:]:
            value = _twice_value(request.metric, r.kind, r.amount)
            if r.platform == request.platform and value is not None:
                ids.append(f"{record_id} ({r.account})")
                terms.append(value)
    if not terms:
        return result
    after = result - sum(terms)
    steps.append(Step("once", None, terms, after, ids=ids))
    return after


def _twice_value(metric: str, kind: str, amount: float | None) -> float | None:
    """What one order counted a second time added to the metric (a refund is no new order; no amount, no revenue)."""
    if metric == "revenue":
        return amount or 0.0
    if metric == "orders" and kind != "order" or metric == "leads" and kind == "order":
        return None
    return 0.0 if amount is not None and amount < 0 else 1.0


def _shown(metric: str, value: float | None) -> float | None:
    """Rounded once, as the report rounds it."""
    name = REPORT_FIELDS.get(metric, metric)
    if value is None or name not in PRECISION:
        return value
    return round(value, PRECISION[name])


def _with_empty_days(trace: list[DayValue], period: Period) -> list[DayValue]:
    """Every day of the period appears: a day nothing stored shows "no data", never 0."""
    seen = {d.day for d in trace}
    empty = [
        DayValue(period.start + timedelta(days=i), None, None, None, False, None, False, "no data")
        for i in range(period.days)
        if period.start + timedelta(days=i) not in seen
    ]
    return sorted(trace + empty, key=lambda d: (d.day, d.account is None))
