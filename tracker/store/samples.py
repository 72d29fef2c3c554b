"""Samples in and out of the integer-keyed store: `series` ids, day numbers, and reads by series and days.

Every reader and writer of samples goes through here, so the layout
(tracker.store.models: a `series` row per account, platform and metric, its
daily values in `series_day` keyed by series id and day number) is known in
one place. Reads join the small series table to `series_day` so that each
series is one index seek or range: a period costs the period, not the history.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import repeat
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.store.models import SERIES, SERIES_DAY

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

SeriesKey = tuple[str, str, str]  # account, platform, metric
SumKey = tuple[str, str, str, str]  # account, platform, metric, "current" | "previous"
Row = tuple[int, int, float, bool | int, int]  # series id, day number, value, provisional, run id


def day_number(day: date) -> int:
    """Days since 1970-01-01: how `series_day.day` stores a date."""
    return day.toordinal() - EPOCH_ORDINAL


def day_of(number: int) -> date:
    return date.fromordinal(number + EPOCH_ORDINAL)


def joined() -> sa.Join:
    """series joined to its days, for readers that filter by account, platform or metric."""
    return SERIES.join(SERIES_DAY, SERIES_DAY.c.series_id == SERIES.c.id)


# --- writing -------------------------------------------------------------------------------------


def series_ids(
    conn: Connection, account: str, wanted: Iterable[tuple[str, str]], known: dict[tuple[str, str], int] | None = None
) -> dict[tuple[str, str], int]:
    """(platform, metric) -> series id of the account, creating the series that do not exist yet.

    One read of the account's few series per commit (none if the caller read them in this transaction:
    `known`); new ones are inserted with ON CONFLICT DO NOTHING, so a concurrent writer of the same series (a
    logged sale beside a sync) cannot make the commit fail. The insert returns the ids it made; the account's
    series are read again only if a concurrent writer made some first.
    """
    ids = _account_series(conn, account) if known is None else dict(known)
    missing = sorted(set(wanted) - ids.keys())
    if missing:
        rows = conn.execute(
            _series_insert(conn.dialect.name), [{"account": account, "platform": p, "metric": m} for p, m in missing]
        )
        ids.update({(p, m): i for p, m, i in rows})
        if not ids.keys() >= set(missing):
            ids = _account_series(conn, account)
    return ids


@functools.cache
def _series_insert(dialect: str) -> Any:
    """The series' insert for this database, built once per process (a sync makes series on every first commit)."""
    from sqlalchemy.dialects import postgresql, sqlite  # here: a report never loads the PostgreSQL dialect

    insert = (postgresql if dialect == "postgresql" else sqlite).insert(SERIES)
    return insert.on_conflict_do_nothing(index_elements=["account", "platform", "metric"]).returning(
        SERIES.c.platform, SERIES.c.metric, SERIES.c.id
    )


_SERIES_OF = sa.select(SERIES.c.platform, SERIES.c.metric, SERIES.c.id).where(
    SERIES.c.account == sa.bindparam("b_account")
)


def _account_series(conn: Connection, account: str) -> dict[tuple[str, str], int]:
    """Built once (_SERIES_OF), so that SQLAlchemy compiles it once: it runs on every commit."""
    return {(p, m): i for p, m, i in conn.execute(_SERIES_OF, {"b_account": account})}


def upsert_sql(conn: Connection) -> str:
    """The upsert of one `Row`, in the driver's own parameter style."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return (
        "INSERT INTO series_day (series_id, day, value, provisional, run_id) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) "
        "ON CONFLICT (series_id, day) DO UPDATE SET value = excluded.value, provisional = excluded.provisional, "
        "run_id = excluded.run_id"
    )


def flags(conn: Connection, provisional: Sequence[Any]) -> Iterator[bool] | Iterator[int]:
    """The `provisional` column's values as the driver binds them fastest: 0 and 1 for SQLite (its driver binds
    an exact int at once, but looks a bool up among its adapters first, which took a third of the upsert's
    time), True and False for PostgreSQL (whose boolean column refuses integers). A batch without a provisional
    value, the usual, is one value repeated."""
    sqlite = conn.dialect.name == "sqlite"
    if not any(provisional):
        return repeat(0) if sqlite else repeat(False)
    truths = map(bool, provisional)
    return map(int, truths) if sqlite else truths


def upsert(conn: Connection, rows: Iterable[Row]) -> None:
    """Insert or overwrite rows, one driver `executemany` of plain tuples: a later row of the same key wins.

    Through `exec_driver_sql`, which hands the tuples to the driver as they are, so that the engine's error
    handling (a damaged page, a full disk) sees any failure.
    """
    batch = rows if isinstance(rows, list) else list(rows)
    if batch:
        conn.exec_driver_sql(upsert_sql(conn), batch)


def delete(conn: Connection, account: str, platform: str, metric: str, day: date) -> None:
    s, d = SERIES, SERIES_DAY
    one = sa.select(s.c.id).where(s.c.account == account, s.c.platform == platform, s.c.metric == metric)
    conn.execute(sa.delete(d).where(d.c.series_id.in_(one.scalar_subquery()), d.c.day == day_number(day)))


# --- reading -------------------------------------------------------------------------------------


def _keyed(s: sa.Table, metrics: Collection[str] | None) -> sa.Select[Any]:
    query = sa.select(s.c.account, s.c.platform, s.c.metric)
    return query if metrics is None else query.where(s.c.metric.in_(sorted(metrics)))


def period_sums(
    conn: Connection,
    start: date,
    end: date,
    current_start: date,
    metrics: Collection[str] | None = None,
    leave_out: Collection[str] = (),
) -> dict[SumKey, tuple[float, int, bool]]:
    """(sum, days with data, any provisional) per series and period, from `start` to `end`.

    Days from `current_start` are the "current" period, earlier ones the "previous". Each period is one
    statement of plain aggregates grouped by series id, which follows the primary key's order: one range
    seek per series, no sort. `leave_out` names metrics not to read (the report's gauges, never summed).
    """
    found: dict[SumKey, tuple[float, int, bool]] = {}
    periods = (("previous", start, current_start - timedelta(days=1)), ("current", max(start, current_start), end))
    for name, first, last in periods:
        if first <= last:
            for account, platform, metric, total, days, provisional in conn.execute(
                _sums_query(first, last, metrics, leave_out)
            ):
                found[(account, platform, metric, name)] = (float(total), int(days), bool(provisional))
    return found


def _sums_query(first: date, last: date, metrics: Collection[str] | None, leave_out: Collection[str]) -> sa.Select[Any]:
    s, d = SERIES, SERIES_DAY
    days = sa.and_(d.c.series_id == s.c.id, d.c.day >= day_number(first), d.c.day <= day_number(last))
    query = (
        _keyed(s, metrics)
        .add_columns(sa.func.sum(d.c.value), sa.func.count(), sa.func.max(sa.cast(d.c.provisional, sa.Integer)))
        .select_from(s.join(d, days))
        .group_by(s.c.id)
    )
    return query.where(s.c.metric.not_in(sorted(leave_out))) if leave_out else query


PooledKey = tuple[str, str, str]  # platform, metric, "current" | "previous"


@dataclass
class ReportSums:
    """The report's sums of two periods: series by series where accounts are weighed apart, else per platform.

    `provisional` is read for the current period only: no output shows whether the period before held a
    provisional day, so the "previous" entries' flag is always False.
    """

    each: dict[SumKey, tuple[float, int, bool]] = field(default_factory=dict)  # (sum, days with data, provisional)
    pooled: dict[PooledKey, tuple[float, bool]] = field(default_factory=dict)  # (sum over accounts, provisional)
    accounts: dict[str, set[str]] = field(default_factory=dict)  # platform -> accounts with a summed day


def report_sums(
    conn: Connection,
    start: date,
    end: date,
    current_start: date,
    each: Collection[str],
    leave_out: Collection[str] = (),
    excluded: Collection[str] = (),
    whole_accounts: Collection[str] = (),
) -> ReportSums:
    """Sums of the days from `start` to `end` (from `current_start` on: "current"), in one statement.

    The database adds up what needs no account of its own: only the metrics in `each`, and every metric of
    `whole_accounts`, come back series by series, with their days with data; the rest comes back summed per
    platform and metric, with the accounts each platform's sums hold. `leave_out` names metrics not to read
    (the gauges), `excluded` accounts not to count. The provisional flag is read for the current period only.
    """
    s = SERIES
    periods = ((0, start, current_start - timedelta(days=1)), (1, max(start, current_start), end))
    apart_series = _apart(s.c.metric, s.c.account, each, whole_accounts)
    per = _per_series(conn.dialect.name, periods, apart_series, leave_out, excluded).cte("per_series")
    apart = _apart(per.c.metric, per.c.account, each, whole_accounts)
    held = sa.or_(per.c.total_0.is_not(None), per.c.total_1.is_not(None))
    figures = (per.c.total_0, per.c.days_0, per.c.flag_0, per.c.total_1, per.c.days_1, per.c.flag_1)
    one_by_one = sa.select(sa.literal_column("0"), per.c.account, per.c.platform, per.c.metric, *figures).where(
        apart, held
    )
    summed = (
        sa.select(
            sa.literal_column("1"), sa.null(), per.c.platform, per.c.metric,
            sa.func.sum(per.c.total_0), sa.null(), sa.func.max(per.c.flag_0),
            sa.func.sum(per.c.total_1), sa.null(), sa.func.max(per.c.flag_1),
        )
        .where(~apart)
        .group_by(per.c.platform, per.c.metric)
    )
    holding = (
        sa.select(sa.literal_column("2"), per.c.account, per.c.platform, *(sa.null() for _ in range(7)))
        .where(held)
        .group_by(per.c.platform, per.c.account)
    )
    found = ReportSums()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")  # its compiling would take longer than reading: see _per_series
    for kind, account, platform, metric, *values in conn.execute(sa.union_all(one_by_one, summed, holding)).all():
        if kind == 2:
            found.accounts.setdefault(platform, set()).add(account)
            continue
        for name, (total, days, flag) in (("previous", values[:3]), ("current", values[3:])):
            if total is None:
                continue  # no day of the period: no figure, never 0
            if kind == 0:
                found.each[(account, platform, metric, name)] = (float(total), int(days), bool(flag))
            else:
                found.pooled[(platform, metric, name)] = (float(total), bool(flag))
    return found


Periods = tuple[tuple[int, date, date], ...]  # (0 previous | 1 current, first day, last day)


def _apart(
    metric: sa.ColumnElement[str], account: sa.ColumnElement[str], each: Collection[str], whole: Collection[str]
) -> sa.ColumnElement[bool]:
    """Whether a series comes back on its own: a metric of `each`, or any metric of a `whole` account."""
    apart: sa.ColumnElement[bool] = metric.in_(sorted(each))
    return sa.or_(apart, account.in_(sorted(whole))) if whole else apart


def _none(number: int) -> list[sa.ColumnElement[Any]]:
    """A period's three columns where it has no figure (typed, so that PostgreSQL can add them up)."""
    return [
        sa.cast(sa.null(), sa.Float).label(f"total_{number}"),
        sa.cast(sa.null(), sa.Integer).label(f"days_{number}"),
        sa.cast(sa.null(), sa.Integer).label(f"flag_{number}"),
    ]


def _per_series(
    dialect: str,
    periods: Periods,
    apart: sa.ColumnElement[bool],
    leave_out: Collection[str],
    excluded: Collection[str],
) -> sa.Select[Any]:
    """One row per series, each period's sum, days with data and provisional flag in its own columns.

    Each period of a series is read over one (series id, day) range of the primary key, never a scan of the
    history: on SQLite one scalar subquery per figure (a plain aggregate per seek, which SQLite steps about a
    third faster than a join grouped by series id), on PostgreSQL one LATERAL subquery per period computing all
    three (its planner chose a scan of the whole history for the join at 10M samples). A period without a day
    of the series has a NULL sum: no figure, never 0. Days are counted only for the series that come back
    `apart` (nobody reads the others'), and provisional days only in the current period (no output shows the
    period before's). On PostgreSQL the statement runs with JIT off: the many seeks' estimated cost would have
    the server compile it (0.35-0.55 s here) for longer than reading takes.
    """
    s = SERIES
    columns: list[sa.ColumnElement[Any]] = []
    source: sa.FromClause = s
    for number, first, last in periods:
        if first > last:
            columns += _none(number)
        elif dialect == "postgresql":
            period = _period_lateral(number, _days_of_series(first, last))
            source = source.join(period, sa.true())
            columns += [
                period.c.total.label(f"total_{number}"),
                sa.case((apart, period.c.days)).label(f"days_{number}"),
                period.c.flag.label(f"flag_{number}"),
            ]
        else:
            columns += _period_subqueries(number, _days_of_series(first, last), apart)
    query = sa.select(s.c.account, s.c.platform, s.c.metric, *columns).select_from(source)
    return _series_filtered(query, leave_out, excluded)


def _period_lateral(number: int, days: sa.ColumnElement[bool]) -> sa.FromClause:
    """PostgreSQL: one index scan of the period's days computing its sum, days and (current period) flag."""
    d = SERIES_DAY
    flag = sa.func.max(sa.cast(d.c.provisional, sa.Integer)) if number == 1 else sa.cast(sa.null(), sa.Integer)
    return (
        sa.select(sa.func.sum(d.c.value).label("total"), sa.func.count().label("days"), flag.label("flag"))
        .where(days)
        .lateral(f"period_{number}")
    )


def _period_subqueries(number: int, days: sa.ColumnElement[bool], apart: sa.ColumnElement[bool]) -> list[Any]:
    """SQLite: the period's sum, its days (series read apart only) and, for the current period, a probe that
    stops at the first provisional day, each a scalar subquery over the period's range."""
    d = SERIES_DAY
    provisional: sa.Select[Any] = sa.select(sa.literal_column("1")).where(days, d.c.provisional == sa.true())
    return [
        sa.select(sa.func.sum(d.c.value)).where(days).scalar_subquery().label(f"total_{number}"),
        sa.case((apart, sa.select(sa.func.count()).where(days).scalar_subquery())).label(f"days_{number}"),
        (provisional.limit(1).scalar_subquery() if number == 1 else sa.cast(sa.null(), sa.Integer)).label(
            f"flag_{number}"
        ),
    ]


def _series_filtered(query: sa.Select[Any], leave_out: Collection[str], excluded: Collection[str]) -> sa.Select[Any]:
    if leave_out:
        query = query.where(SERIES.c.metric.not_in(sorted(leave_out)))
    if excluded:
        query = query.where(_not_among(SERIES.c.account, excluded))
    return query


def _days_of_series(first: date, last: date) -> sa.ColumnElement[bool]:
    d = SERIES_DAY
    return sa.and_(d.c.series_id == SERIES.c.id, d.c.day >= day_number(first), d.c.day <= day_number(last))


def _not_among(column: sa.Column[str], names: Collection[str]) -> sa.ColumnElement[bool]:
    """`column NOT IN (names)` with the names written into the statement, not bound one parameter each: a
    config that dropped thousands of accounts must not reach the driver's limit on parameters."""
    return column.not_in(sa.bindparam(f"not_{column.name}", sorted(names), expanding=True, literal_execute=True))


def _among(column: sa.Column[str], names: Collection[str]) -> sa.ColumnElement[bool]:
    """`column IN (names)`, the names written into the statement as in `_not_among`."""
    return column.in_(sa.bindparam(f"in_{column.name}", sorted(names), expanding=True, literal_execute=True))


@dataclass
class GaugeReads:
    """Each gauge series' last value on or before each asked day, and its first stored day."""

    at: list[dict[SeriesKey, float]]
    first: dict[SeriesKey, date]


def gauge_reads(
    conn: Connection, days: Sequence[date], metrics: Collection[str], excluded: Collection[str] = ()
) -> GaugeReads:
    """One statement: per series one index seek per day, and one for its first day; `excluded` accounts left out."""
    s, d = SERIES, SERIES_DAY
    first = sa.select(sa.func.min(d.c.day)).where(d.c.series_id == s.c.id).scalar_subquery()
    query = _keyed(s, metrics).add_columns(first, *_last_value_columns(days))
    if excluded:
        query = query.where(_not_among(s.c.account, excluded))
    found = GaugeReads([{} for _ in days], {})
    for row in conn.execute(query).all():
        key = (row[0], row[1], row[2])
        if row[3] is not None:
            found.first[key] = day_of(row[3])
        for i, value in enumerate(row[4:]):
            if value is not None:
                found.at[i][key] = float(value)
    return found


def _last_value_columns(days: Sequence[date]) -> list[sa.ScalarSelect[Any]]:
    s, d = SERIES, SERIES_DAY
    return [
        sa.select(d.c.value)
        .where(d.c.series_id == s.c.id, d.c.day <= day_number(day))
        .order_by(d.c.day.desc())
        .limit(1)
        .scalar_subquery()
        for day in days
    ]


def last_values(conn: Connection, days: Sequence[date], metrics: Collection[str]) -> list[dict[SeriesKey, float]]:
    """For each of `days`, each series' last value on or before it: one index seek per series and day."""
    found: list[dict[SeriesKey, float]] = [{} for _ in days]
    for row in conn.execute(_keyed(SERIES, metrics).add_columns(*_last_value_columns(days))):
        key = (row[0], row[1], row[2])
        for i, value in enumerate(row[3:]):
            if value is not None:
                found[i][key] = float(value)
    return found


def first_days(conn: Connection, metrics: Collection[str]) -> dict[SeriesKey, date]:
    """Each series' first stored day: one seek per series."""
    s, d = SERIES, SERIES_DAY
    first = sa.select(sa.func.min(d.c.day)).where(d.c.series_id == s.c.id).scalar_subquery()
    found = {}
    for account, platform, metric, number in conn.execute(_keyed(s, metrics).add_columns(first)):
        if number is not None:
            found[(account, platform, metric)] = day_of(number)
    return found


def stored_accounts(conn: Connection, among: Collection[str] | None = None) -> set[str]:
    """Accounts holding at least one sample (a series emptied by a deleted revenue day holds none); with
    `among`, only those of these names (the report asks about the few accounts its config no longer has).

    One seek per account, not per series: each distinct account (the series index) is checked for a day.
    """
    s, d = SERIES, SERIES_DAY
    if among is not None and not among:
        return set()
    accounts = sa.select(s.c.account).distinct()
    if among is not None:
        accounts = accounts.where(_among(s.c.account, among))
    names = accounts.subquery()
    has_days = sa.select(d.c.series_id).select_from(s.join(d, d.c.series_id == s.c.id)).where(
        s.c.account == names.c.account
    ).exists()
    return {row[0] for row in conn.execute(sa.select(names.c.account).where(has_days)).all()}


def series_accounts(conn: Connection) -> set[str]:
    """Every account with a series, whether or not it still holds a day (the series' own index alone)."""
    return {row[0] for row in conn.execute(sa.select(SERIES.c.account).distinct()).all()}


# --- one account's samples: forget and rename -----------------------------------------------------


def _of_account(account: str) -> sa.ColumnElement[bool]:
    s = SERIES
    return SERIES_DAY.c.series_id.in_(sa.select(s.c.id).where(s.c.account == account).scalar_subquery())


def count_of(conn: Connection, account: str) -> int:
    """How many samples the account holds."""
    return int(
        conn.execute(sa.select(sa.func.count()).select_from(SERIES_DAY).where(_of_account(account))).scalar_one()
    )


def delete_account(conn: Connection, account: str) -> int:
    """Delete the account's samples and series; returns the samples deleted."""
    deleted = conn.execute(sa.delete(SERIES_DAY).where(_of_account(account))).rowcount
    conn.execute(sa.delete(SERIES).where(SERIES.c.account == account))
    return int(deleted or 0)


def rename_account(conn: Connection, old: str, new: str) -> int:
    """Give OLD's series to NEW (their samples follow by id); returns the samples moved.

    NEW must hold no sample: its empty series (a revenue day deleted after an unknown amount) are dropped first.
    """
    moved = count_of(conn, old)
    conn.execute(sa.delete(SERIES).where(SERIES.c.account == new))
    conn.execute(sa.update(SERIES).where(SERIES.c.account == old).values(account=new))
    return moved
