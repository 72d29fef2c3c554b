"""Everything that changes the database, each in one transaction.

Samples go in as plain tuples (series id, day number, ...) through one driver
`executemany` of `INSERT ... ON CONFLICT DO UPDATE` (tracker.store.samples):
each row is its own statement, so a key seen twice simply ends with its last
value. An account's samples, statuses, state and cursor commit together: a
failure leaves none of them.
"""

from __future__ import annotations

import functools
import gc
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice, repeat
from operator import attrgetter, sub
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from tracker.columns import SampleColumns
from tracker.plugin import CareItem, Conversion, PostStat, Sample, Series, Unavailable, per_day
from tracker.redact import Redactor
from tracker.runs import RunStatus
from tracker.store import care, posts, samples
from tracker.store.db import WRITE_OPTION, fault
from tracker.store.migrations import location
from tracker.store.models import ACCOUNT, ACCOUNT_BLOCK, ACCOUNT_RUN, CONVERSION, METRIC_STATUS, SERIES, SYNC_RUN

BATCH = 1000
_SERIES, _DAY = attrgetter("platform", "metric"), attrgetter("day")
_PLATFORM, _METRIC = attrgetter("platform"), attrgetter("metric")
_VALUE, _PROVISIONAL = attrgetter("value"), attrgetter("provisional")

# The statements every account's commit runs, built once with bound parameters: SQLAlchemy compiles each once
# and reuses it, where a statement built anew per commit cost it more (about 0.2 ms) than the row's own write.
# An UPDATE without values sets the columns its parameters name. On SQLite an account's commit sends its own
# statements straight to the driver instead (_update, _sqlite_execute): SQLAlchemy's execution of each cost more.
_ACCOUNT_INSERT = sa.insert(ACCOUNT)
_RUN_INSERT = sa.insert(ACCOUNT_RUN)
_RUNS_INSERT = sa.insert(ACCOUNT_RUN).returning(ACCOUNT_RUN.c.id, sort_by_parameter_order=True)
_UPDATES = {  # (table, key column): an UPDATE of the row whose key is bound as `b_key`
    ("account", "name"): sa.update(ACCOUNT).where(ACCOUNT.c.name == sa.bindparam("b_key")),
    ("account_run", "id"): sa.update(ACCOUNT_RUN).where(ACCOUNT_RUN.c.id == sa.bindparam("b_key")),
}
_STATUSES_OF = sa.select(METRIC_STATUS.c.platform, METRIC_STATUS.c.metric).where(
    METRIC_STATUS.c.account == sa.bindparam("b_account")
)
_SERIES_AND_STATUSES = sa.union_all(  # a status row has no series id
    sa.select(SERIES.c.platform, SERIES.c.metric, SERIES.c.id).where(SERIES.c.account == sa.bindparam("b_account")),
    _STATUSES_OF.add_columns(sa.null()),
)
_BLOCKS_OF = sa.select(ACCOUNT_BLOCK.c.account, ACCOUNT_BLOCK.c.until, ACCOUNT_BLOCK.c.reason).where(
    ACCOUNT_BLOCK.c.account.in_(sa.bindparam("b_accounts", expanding=True))
)
_ABANDONED = sa.update(ACCOUNT_RUN).where(
    ACCOUNT_RUN.c.account.in_(sa.bindparam("b_accounts", expanding=True)), ACCOUNT_RUN.c.status == RunStatus.RUNNING
)


_SQLITE_SERIES_AND_STATUSES = (
    "SELECT platform, metric, id FROM series WHERE account = ? "
    "UNION ALL SELECT platform, metric, NULL FROM metric_status WHERE account = ?"
)


def now() -> datetime:
    return datetime.now(UTC)


def _write(engine: Engine) -> Any:
    return engine.connect().execution_options(**{WRITE_OPTION: True})


def _update(conn: Connection, table: sa.Table, key: tuple[str, Any], values: dict[str, Any]) -> int:
    """UPDATE `table` SET `values` WHERE the column `key[0]` equals `key[1]`; returns the rows changed.

    On SQLite it goes straight to the driver, each value bound as its column's type binds it: an account's
    commit runs two such updates, and SQLAlchemy's own execution of a statement cost more than SQLite's
    work for it. Elsewhere SQLAlchemy runs the statement built once (_UPDATES).
    """
    column, value = key
    if conn.dialect.name != "sqlite":
        return int(conn.execute(_UPDATES[(table.name, column)], {"b_key": value, **values}).rowcount)
    names = list(values)
    sql = f"UPDATE {table.name} SET {', '.join(f'{n} = ?' for n in names)} WHERE {column} = ?"
    bound = [_bound(conn, table.c[n], values[n]) for n in names]
    return int(_sqlite_execute(conn, sql, (*bound, value)).rowcount)


def _bound(conn: Connection, column: sa.Column[Any], value: Any) -> Any:
    """`value` as SQLAlchemy binds it for `column` (a date or time as its text, a bool as 0 or 1)."""
    if value is None or value.__class__ in (str, int, float):
        return value
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return value if process is None else process(value)


def _sqlite_execute(conn: Connection, sql: str, params: Sequence[Any], many: bool = False) -> Any:
    """Run one statement (`many`: once per row of `params`) on the SQLite connection under `conn`, in its
    transaction.

    A failure is what the engine would have raised (tracker.store.db translates the machine's faults, a
    full disk or a damaged file, into one line; the rest is SQLAlchemy's error of the driver's), so the sync
    reports it alike.
    """
    try:
        driver = conn.connection.driver_connection
        return driver.executemany(sql, params) if many else driver.execute(sql, params)  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        engine = conn.engine
        path = engine.url.database
        found = fault(exc, location(engine), Path(path) if path and path != ":memory:" else None)
        raise (found or sa.exc.DBAPIError.instance(sql, params, exc, sqlite3.Error, ismulti=many)) from exc


def _insert(conn: Connection, table: sa.Table) -> Any:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"upsert is not written for {dialect} yet")


@dataclass
class AccountResult:
    """What one account's fetch produced, ready to commit."""

    account: str
    plugin: str
    options_json: str
    conversion_source: str
    covers_all_platforms: bool
    position: int
    samples: Sequence[Sample] = field(default_factory=list)  # a list, or the checked samples and series of a fetch
    unavailable: list[Unavailable] = field(default_factory=list)
    conversions: Sequence[Conversion] = field(default_factory=list)  # a list, or a spool of a large import
    notices: list[str] = field(default_factory=list)
    attribution: str = ""
    state: dict[str, Any] | None = None
    last_good_day: date | None = None
    posts: list[PostStat] = field(default_factory=list)  # own posts as read (tracker.store.posts keeps the best)
    care: list[CareItem] = field(default_factory=list)  # customer care facts (tracker.store.care hashes their ids)


def start_run(engine: Engine, trigger: str) -> int:
    with _write(engine) as conn, conn.begin():
        result = conn.execute(sa.insert(SYNC_RUN).values(started_at=now(), status=RunStatus.RUNNING, trigger=trigger))
        return int(result.inserted_primary_key[0])


def finish_run(engine: Engine, run_id: int, status: RunStatus) -> None:
    with _write(engine) as conn, conn.begin():
        conn.execute(
            sa.update(SYNC_RUN).where(SYNC_RUN.c.id == run_id).values(finished_at=now(), status=status)
        )


def start_account_run(engine: Engine, run_id: int, account: str, since: date, until: date) -> int:
    with _write(engine) as conn, conn.begin():
        return start_account_runs(conn, run_id, [(account, since, until)])[0]


def start_account_runs(conn: Connection, run_id: int, windows: list[tuple[str, date, date]]) -> list[int]:
    """Record several accounts' runs as started, in one statement; their ids in the order given."""
    if not windows:
        return []
    started = now()
    rows = [
        {"run_id": run_id, "account": account, "since": since, "until": until, "started_at": started,
         "status": RunStatus.RUNNING, "rows": 0}
        for account, since, until in windows
    ]
    if len(rows) == 1:
        key = conn.execute(_RUN_INSERT, rows[0]).inserted_primary_key
        return [int(key[0])] if key else []
    return [int(row[0]) for row in conn.execute(_RUNS_INSERT, rows)]


@contextmanager
def bookkeeping(engine: Engine) -> Iterator[Connection]:
    """One write transaction for the sync's own records of several accounts (leases, runs) at once."""
    with _write(engine) as conn, conn.begin():
        yield conn


def finish_account_run(engine: Engine, account_run_id: int, status: RunStatus, error: str | None = None) -> None:
    table = ACCOUNT_RUN
    with _write(engine) as conn, conn.begin():
        conn.execute(
            sa.update(table)
            .where(table.c.id == account_run_id)
            .values(finished_at=now(), status=status, error=None if error is None else Redactor().text(error))
        )


def commit_account(engine: Engine, run_id: int, account_run_id: int, result: AccountResult) -> int:
    """Write one account's samples, statuses, state and cursor atomically; returns rows written."""
    with _write(engine) as conn, conn.begin():
        _save_account(conn, run_id, result)
        known, statuses = _series_and_statuses(conn, result.account)
        written = _save_samples(conn, run_id, result.account, result.samples, known)
        written += _save_conversions(conn, run_id, result.account, result.conversions)
        posts.save(conn, run_id, result.account, result.posts)
        written += care.save(conn, run_id, result.account, result.care)
        _save_statuses(conn, run_id, result, None if result.conversions else statuses)
        _update(
            conn, ACCOUNT_RUN, ("id", account_run_id),
            {"finished_at": now(), "status": RunStatus.OK, "rows": written, "error": None,
             "notices": "\n".join(result.notices)},
        )
    return written


def _series_and_statuses(conn: Connection, account: str) -> tuple[dict[tuple[str, str], int], set[tuple[str, str]]]:
    """The account's series ids and the (platform, metric) of its statuses, in one read (both are read per commit)."""
    ids, statuses = {}, set()
    if conn.dialect.name == "sqlite":
        rows: Iterable[Any] = _sqlite_execute(conn, _SQLITE_SERIES_AND_STATUSES, (account, account))
    else:
        rows = conn.execute(_SERIES_AND_STATUSES, {"b_account": account})
    for platform, metric, series_id in rows:
        if series_id is None:
            statuses.add((platform, metric))
        else:
            ids[(platform, metric)] = series_id
    return ids, statuses


def _save_samples(
    conn: Connection, run_id: int, account: str, batch: Sequence[Sample], known: dict[tuple[str, str], int]
) -> int:
    """Upsert the samples as (series id, day number, value, provisional, run id) tuples; returns distinct keys.

    The hot path of a sync, so no Python bytecode runs per sample: the columns are built by `map` and `zip`,
    a Series' straight from its days and values (tracker.columns), Sample objects' through their attributes,
    with series ids and day numbers looked up in dicts made once per commit.
    """
    parts = batch.parts if isinstance(batch, SampleColumns) else ((list(batch),) if batch else ())
    if not parts:
        return 0
    with _collector_paused():
        platforms = [None if isinstance(part, Series) else _platform_of(part) for part in parts]
        ids = samples.series_ids(conn, account, _keys_of(parts, platforms), known)
        sqlite = conn.dialect.name == "sqlite"
        rows: list[samples.Row] = []
        days_of: dict[int, set[int]] = {}  # series id -> day numbers written, of the Series parts
        pairs: set[tuple[int, int]] = set()  # (series id, day number) written, of the Sample parts
        numbered: dict[int, list[int]] = {}  # id of a Series' days -> their numbers: series often share their days
        for part, platform in zip(parts, platforms, strict=True):
            if isinstance(part, Series):
                sid = ids[(part.platform, part.metric)]
                numbers = numbered.get(id(part.days)) or numbered.setdefault(id(part.days), _numbers(part.days))
                values = part.values if sqlite else map(float, part.values)  # SQLite's REAL column makes ints floats
                rows += zip(repeat(sid), numbers, values, _flags(sqlite, part), repeat(run_id))
                days_of.setdefault(sid, set()).update(numbers)
            else:
                series, numbers = _series_column(ids, part, platform), _day_numbers(part)
                flags = samples.flags(conn, list(map(_PROVISIONAL, part)))
                rows += zip(series, numbers, map(float, map(_VALUE, part)), flags, repeat(run_id))
                pairs.update(zip(series, numbers, strict=True))
        if sqlite:  # straight to the driver, as _sqlite_execute says why
            _sqlite_execute(conn, samples.upsert_sql(conn), rows, many=True)
        else:
            samples.upsert(conn, rows)
        del rows  # freed now, while the collector is off: once it is back on, it would scan every row first
        both = sum(1 for sid, day in pairs if day in days_of.get(sid, ())) if days_of and pairs else 0
        return sum(map(len, days_of.values())) + len(pairs) - both


def _numbers(days: Sequence[date]) -> list[int]:
    return list(map(sub, map(date.toordinal, days), repeat(samples.EPOCH_ORDINAL)))


def _day_numbers(part: list[Sample]) -> list[int]:
    """Each sample's day number, worked out once per distinct day (a commit holds few days, many samples)."""
    days = list(map(_DAY, part))
    numbers = {day: samples.day_number(day) for day in set(days)}
    return list(map(numbers.__getitem__, days))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector held off while a batch's rows are made and written, then resumed as it was.

    Every row is a new tuple, and every few hundred new objects the collector runs, now and then over every
    object alive: for a million rows beside the samples waiting to be written, that cost a whole sync more
    than the upsert itself. The rows hold numbers only and form no cycle, so nothing is freed late.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _platform_of(part: list[Sample]) -> str | None:
    """The one platform of these samples, or None if they are of several."""
    platforms = set(map(_PLATFORM, part))
    return platforms.pop() if len(platforms) == 1 else None


def _keys_of(parts: Sequence[list[Sample] | Series], platforms: list[str | None]) -> set[tuple[str, str]]:
    """Every (platform, metric) of the parts. Samples of one platform have their metrics gathered alone,
    without a (platform, metric) pair made and hashed per sample."""
    keys: set[tuple[str, str]] = set()
    for part, platform in zip(parts, platforms, strict=True):
        if isinstance(part, Series):
            keys.add((part.platform, part.metric))
        elif platform is not None:
            keys.update(zip(repeat(platform), set(map(_METRIC, part))))
        else:
            keys.update(map(_SERIES, part))
    return keys


def _series_column(ids: dict[tuple[str, str], int], part: list[Sample], platform: str | None) -> list[int]:
    """Each sample's series id: by metric alone when the samples are all of one platform."""
    if platform is not None:
        by_metric = {m: i for (p, m), i in ids.items() if p == platform}
        return list(map(by_metric.__getitem__, map(_METRIC, part)))
    return list(map(ids.__getitem__, map(_SERIES, part)))


def _flags(sqlite: bool, series: Series) -> Iterator[bool] | Iterator[int]:
    """A Series' provisional column as samples.flags gives it: one value repeated, or one per day."""
    if series.provisional.__class__ is not bool and per_day(series.provisional):
        return map(int, map(bool, series.provisional)) if sqlite else map(bool, series.provisional)
    flag = bool(series.provisional)
    return repeat(int(flag)) if sqlite else repeat(flag)


def _save_conversions(conn: Connection, run_id: int, account: str, conversions: Sequence[Conversion]) -> int:
    """Upsert order-level records in batches, remove what complete exports no longer hold, recompute the days touched.

    A record's withdrawn flag survives re-imports: undoing a sale is never reverted by a sync. Batches keep a
    million-row import from building a million-row statement; a record id seen twice takes its last version.
    The records are read once, in order, a batch at a time: a large import's spool (tracker.spool) is read back
    page by page, so only one page is in memory, all inside the caller's one transaction.
    """
    if not conversions:
        return 0
    table = CONVERSION
    stmt = _insert(conn, table)
    keep = {"account", "id", "withdrawn", "recorded_at"}
    stmt = stmt.on_conflict_do_update(
        index_elements=["account", "id"],
        set_={c: stmt.excluded[c] for c in table.c.keys() if c not in keep},
    )
    touched: set[tuple[str, date]] = set()
    spans: dict[str, tuple[date, date]] = {}
    recorded_at = now()
    for batch in _batches(conversions):
        latest = {c.id: c for c in batch}  # PostgreSQL updates a row once per statement
        touched |= _record_days(conn, account, list(latest))
        conn.execute(stmt, [_conversion_row(account, run_id, recorded_at, c) for c in latest.values()])
        for c in latest.values():
            touched.add((c.platform, c.day))
            if c.export:
                first, last = spans.get(c.export, (c.day, c.day))
                spans[c.export] = (min(first, c.day), max(last, c.day))
    for export, (first, last) in sorted(spans.items()):
        touched |= _remove_absent(conn, run_id, account, export, first, last)
    return recompute_conversion_samples(conn, run_id, account, touched)


def _batches(conversions: Iterable[Conversion]) -> Iterator[list[Conversion]]:
    """Consecutive runs of BATCH records (the last may be shorter), as slicing a list into BATCHes gives."""
    records = iter(conversions)
    while batch := list(islice(records, BATCH)):
        yield batch


def _conversion_row(account: str, run_id: int, recorded_at: datetime, c: Conversion) -> dict[str, Any]:
    return {
        "account": account,
        "id": c.id,
        "platform": c.platform,
        "day": c.day,
        "kind": c.kind,
        "amount": None if c.amount is None else float(c.amount),
        "currency": c.currency,
        "basis": getattr(c.basis, "value", c.basis),
        "ref": c.ref,
        "note": c.note,
        "withdrawn": False,
        "run_id": run_id,
        "recorded_at": recorded_at,
    }


def _remove_absent(
    conn: Connection, run_id: int, account: str, export: str, first: date, last: date
) -> set[tuple[str, date]]:
    """Delete the records an export held before and no longer holds within the days it spans; returns their days.

    An export is the whole truth about its days: an order missing from it was deleted or cancelled at the shop.
    Records this run wrote carry its run id, so "no longer held" needs no list of ids. Withdrawn records stay:
    they carry the owner's `tracker log undo`, which a later export holding the order again must not revive.
    Records outside the span (an export of the last 30 days says nothing about older ones) and records that
    another export holds now (their ref names it) are untouched.
    """
    table = CONVERSION
    prefix = export + " "
    absent = sa.and_(
        table.c.account == account,
        sa.func.substr(table.c.ref, 1, len(prefix)) == prefix,
        table.c.day.between(first, last),
        table.c.run_id != run_id,
        table.c.withdrawn == sa.false(),
    )
    days = {
        (r.platform, r.day) for r in conn.execute(sa.select(table.c.platform, table.c.day).where(absent).distinct())
    }
    if days:
        conn.execute(sa.delete(table).where(absent))
    return days


def _record_days(conn: Connection, account: str, ids: list[str]) -> set[tuple[str, date]]:
    """Where these records were before this write, in case a re-import moved one."""
    table = CONVERSION
    found: set[tuple[str, date]] = set()
    for start in range(0, len(ids), BATCH):
        query = sa.select(table.c.platform, table.c.day).where(
            table.c.account == account, table.c.id.in_(ids[start : start + BATCH])
        )
        found |= {(r.platform, r.day) for r in conn.execute(query)}
    return found


def recompute_conversion_samples(conn: Connection, run_id: int, account: str, days: set[tuple[str, date]]) -> int:
    """Daily orders, leads, conversions and revenue of an account, from its records that count.

    A day holding an order of unknown amount gets no revenue sample (any earlier one is deleted): its revenue
    is unknown, and a sum of the known amounts would be too small. The account's revenue status per platform
    says which orders lack an amount, so the report can say missing instead of a number.
    """
    table = CONVERSION
    rows: list[tuple[str, str, date, float]] = []
    for platform, day in sorted(days):
        counted = sa.func.sum(sa.case((table.c.amount < 0, 0), else_=1))  # a refund (negative) is no new order
        unknown = sa.func.sum(sa.case((table.c.amount.is_(None), 1), else_=0))
        query = (
            sa.select(
                table.c.kind, sa.func.coalesce(counted, 0), sa.func.coalesce(sa.func.sum(table.c.amount), 0.0), unknown
            )
            .where(table.c.account == account, table.c.platform == platform, table.c.day == day)
            .where(table.c.withdrawn == sa.false())
            .group_by(table.c.kind)
        )
        by_kind = {r[0]: (int(r[1]), float(r[2]), int(r[3] or 0)) for r in conn.execute(query)}
        orders, order_revenue, unknown_orders = by_kind.get("order", (0, 0.0, 0))
        leads, lead_revenue, _ = by_kind.get("lead", (0, 0.0, 0))  # a lead of unknown worth adds nothing
        values: dict[str, float] = {"orders": orders, "leads": leads, "conversions": orders + leads}
        if unknown_orders:
            samples.delete(conn, account, platform, "revenue", day)
        else:
            values["revenue"] = order_revenue + lead_revenue
        rows += [(platform, metric, day, float(value)) for metric, value in values.items()]
    ids = samples.series_ids(conn, account, {(platform, metric) for platform, metric, _, _ in rows})
    samples.upsert(
        conn, [(ids[(p, m)], samples.day_number(day), value, False, run_id) for p, m, day, value in rows]
    )
    _refresh_unknown_revenue(conn, run_id, account, {platform for platform, _ in days})
    return len(rows)


def _refresh_unknown_revenue(conn: Connection, run_id: int, account: str, platforms: set[str]) -> None:
    """Record revenue as unavailable on a platform while any counted order there lacks an amount; clear it after.

    A status the plugin reports in the same commit (its own Unavailable) is written after this and wins.
    """
    records, statuses = CONVERSION, METRIC_STATUS
    for platform in sorted(platforms):
        row = conn.execute(
            sa.select(
                sa.func.count(), sa.func.min(records.c.day), sa.func.max(records.c.day), sa.func.min(records.c.ref)
            )
            .where(records.c.account == account, records.c.platform == platform, records.c.kind == "order")
            .where(records.c.amount.is_(None), records.c.withdrawn == sa.false())
        ).one()
        mine = sa.and_(statuses.c.account == account, statuses.c.platform == platform, statuses.c.metric == "revenue")
        if not row[0]:
            conn.execute(sa.delete(statuses).where(mine))
            continue
        days = f"on {row[1]}" if row[1] == row[2] else f"from {row[1]} to {row[2]}"
        example = f", e.g. {row[3]}" if row[3] else ""
        orders = f"{row[0]} order{'s' if row[0] != 1 else ''}"
        reason = f"{orders} without an amount {days}{example}: revenue unknown on those days"
        stmt = _insert(conn, statuses)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["account", "platform", "metric"],
                set_={"reason": stmt.excluded.reason, "run_id": stmt.excluded.run_id, "status": stmt.excluded.status},
            ),
            {"account": account, "platform": platform, "metric": "revenue", "status": "unavailable", "reason": reason,
             "since": now(), "run_id": run_id},
        )


def withdraw_conversion(engine: Engine, account: str, record_id: str, trigger: str = "log undo") -> bool:
    """Mark a record withdrawn (kept, not deleted) and recompute its day; False if unknown or already withdrawn."""
    table = CONVERSION
    run_id = start_run(engine, trigger)
    try:
        with _write(engine) as conn, conn.begin():
            row = conn.execute(
                sa.select(table.c.platform, table.c.day, table.c.withdrawn).where(
                    table.c.account == account, table.c.id == record_id
                )
            ).first()
            if row is not None and not row.withdrawn:
                conn.execute(
                    sa.update(table).where(table.c.account == account, table.c.id == record_id).values(withdrawn=True)
                )
                recompute_conversion_samples(conn, run_id, account, {(row.platform, row.day)})
    except BaseException:
        finish_run(engine, run_id, RunStatus.FAILED)
        raise
    finish_run(engine, run_id, RunStatus.OK)
    return row is not None and not row.withdrawn


def _save_account(conn: Connection, run_id: int, result: AccountResult) -> None:
    """The account row; its options with URL credentials hidden (`http://user:pass@` is typed into configs).

    The state is stored as the plugin left it: tracker.collect already dropped any entry holding a secret,
    and masking more here could break a cursor the plugin needs back.
    """
    values: dict[str, Any] = {
        "name": result.account,
        "plugin": result.plugin,
        "options_json": _stored_options(result.options_json),
        "conversion_source": result.conversion_source,
        "covers_all_platforms": result.covers_all_platforms,
        "position": result.position,
        "attribution": result.attribution,
        "updated_at": now(),
    }
    if result.state is not None:
        values.update(state_json=json.dumps(result.state, sort_keys=True), state_run_id=run_id)
    if result.last_good_day is not None:
        values["last_good_day"] = result.last_good_day
    updated = _update(conn, ACCOUNT, ("name", result.account), values)
    if not updated:  # the account's first commit: one statement on every later one
        values.setdefault("state_json", "{}")
        conn.execute(_ACCOUNT_INSERT, values)


@functools.lru_cache(maxsize=1024)
def _stored_options(options_json: str) -> str:
    """The options as stored: URL credentials hidden, keys sorted. The same text on every commit of an
    account, so worked out once per text."""
    return json.dumps(Redactor().mapping(json.loads(options_json)), sort_keys=True)


def _save_statuses(
    conn: Connection, run_id: int, result: AccountResult, recorded: set[tuple[str, str]] | None = None
) -> None:
    """Record metrics the platform did not serve, and clear a status only on evidence that the metric is back.

    The rule, per (account, platform, metric): a status is cleared only by a commit that carries a sample of
    that metric and does not itself report the metric unavailable. A commit with no sample of it says nothing
    (a window without posts, a source row that left the field out), and one that reports it unavailable beside
    samples of other days says it is still missing: both keep the status and its `since`. Plugins therefore
    yield `Unavailable` on every run that learns the metric is still missing, and no sample for it.
    """
    table = METRIC_STATUS
    if recorded is None:  # not read with the series, or conversions changed them since (the revenue status)
        recorded = {(r.platform, r.metric) for r in conn.execute(_STATUSES_OF, {"b_account": result.account})}
    if recorded:  # usually none: one read instead of a delete per metric, and no pass over the samples
        mine = table.c.account == result.account
        still_missing = {(u.platform, u.metric) for u in result.unavailable}
        back = _held(result.samples) - still_missing
        for platform, metric in recorded & back:
            conn.execute(sa.delete(table).where(mine, table.c.platform == platform, table.c.metric == metric))
    rows = [
        {
            "account": result.account,
            "platform": u.platform,
            "metric": u.metric,
            "status": "unavailable",
            "reason": Redactor().text(u.reason),  # tracker.collect redacted known secrets; URL credentials again here
            "since": now(),
            "run_id": run_id,
        }
        for u in {(u.platform, u.metric): u for u in result.unavailable}.values()
    ]
    if rows:
        stmt = _insert(conn, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["account", "platform", "metric"],
            set_={"reason": stmt.excluded.reason, "run_id": stmt.excluded.run_id, "status": stmt.excluded.status},
        )
        conn.execute(stmt, rows)


def _held(batch: Sequence[Sample]) -> set[tuple[str, str]]:
    """Every (platform, metric) the samples hold."""
    return batch.keys() if isinstance(batch, SampleColumns) else set(map(_SERIES, batch))


def block_account(engine: Engine, run_id: int, account: str, until: datetime, reason: str) -> None:
    """Remember that the account's quota is spent until `until`."""
    table = ACCOUNT_BLOCK
    row = {"account": account, "until": until, "reason": reason, "run_id": run_id}
    with _write(engine) as conn, conn.begin():
        stmt = _insert(conn, table)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["account"], set_={c: stmt.excluded[c] for c in ("until", "reason", "run_id")}
            ),
            row,
        )


def blocked_until(engine: Engine, account: str, at: datetime) -> tuple[datetime, str] | None:
    """(until, reason) if an earlier run learnt the account's quota is spent past `at`."""
    with engine.connect() as conn:
        return blocked(conn, [account], at).get(account)


def blocked(conn: Connection, accounts: list[str], at: datetime) -> dict[str, tuple[datetime, str]]:
    """The accounts among these whose quota an earlier run learnt is spent past `at`: (until, reason) each."""
    found = {}
    for row in conn.execute(_BLOCKS_OF, {"b_accounts": accounts}):
        until = row.until if row.until.tzinfo else row.until.replace(tzinfo=UTC)
        if until > at:
            found[row.account] = (until, row.reason)
    return found


def close_abandoned_runs(engine: Engine, account: str) -> int:
    """Mark the account's runs still `running` as interrupted: whoever wrote them died (we hold its lease now)."""
    with _write(engine) as conn, conn.begin():
        return close_abandoned_account_runs(conn, [account])


def close_abandoned_account_runs(conn: Connection, accounts: list[str]) -> int:
    """`close_abandoned_runs` for several accounts, in the caller's transaction (which holds their leases)."""
    if not accounts:
        return 0
    result = conn.execute(
        _ABANDONED,
        {"b_accounts": accounts, "status": RunStatus.INTERRUPTED, "finished_at": now(),
         "error": "the process ended before this run finished"},
    )
    return int(result.rowcount or 0)


def close_run(engine: Engine, run_id: int, status: RunStatus, error: str) -> list[str]:
    """Close a run that cannot finish normally, with its account runs still `running`; returns those accounts.

    For a run that ends in an exception (a full disk) or a process that exits without waiting for a stuck
    fetch: the runs say what happened instead of staying `running` forever.
    """
    runs, accounts = SYNC_RUN, ACCOUNT_RUN
    unfinished = sa.and_(accounts.c.run_id == run_id, accounts.c.status == RunStatus.RUNNING)
    with _write(engine) as conn, conn.begin():
        names = [row.account for row in conn.execute(sa.select(accounts.c.account).where(unfinished))]
        conn.execute(sa.update(accounts).where(unfinished).values(status=status, finished_at=now(), error=error))
        conn.execute(sa.update(runs).where(runs.c.id == run_id).values(status=status, finished_at=now()))
    return sorted(names)


def close_abandoned_sync_runs(engine: Engine, current_run_id: int) -> int:
    """Mark as interrupted the runs still `running` that have no account run in progress: their process died.

    Runs keep no pid, so "abandoned" is read from their account runs, which `close_abandoned_runs` closes under
    the account's lease: a run closes once none of its accounts is being fetched. A live run of another
    process caught between recording itself and its accounts is corrected by its own `finish_run`.
    """
    runs, accounts = SYNC_RUN, ACCOUNT_RUN
    busy = (
        sa.select(accounts.c.id).where(accounts.c.run_id == runs.c.id, accounts.c.status == RunStatus.RUNNING).exists()
    )
    with _write(engine) as conn, conn.begin():
        result = conn.execute(
            sa.update(runs)
            .where(runs.c.status == RunStatus.RUNNING, runs.c.id != current_run_id, ~busy)
            .values(status=RunStatus.INTERRUPTED, finished_at=now())
        )
    return int(result.rowcount or 0)
