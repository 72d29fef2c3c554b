"""The only bench module that knows tracker's store schema: change this file, and only it, when the schema changes.

Everything else in bench/ hands over plain rows (account, platform, metric,
day, value) and gets plain figures back:

- `open_store` creates or opens a database the way tracker does (migrations);
- `write_accounts` and `write_samples` fill it fast, bypassing the sync:
  the `series` rows first, then raw `executemany` (SQLite) or `COPY`
  (PostgreSQL) of (series id, day number, ...) into `series_day`, in big
  batches;
- `start_account_runs` and `store_write` are the store's own write path (the
  account runs a sync starts for each batch of accounts it takes, then what it
  commits for each account), for the ingest figure;
- `hand_report` is the hand-written SQL statement the report's computation is
  held against: the same figures the report shows, in one statement.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracker.plugin import Sample
from tracker.store import samples, writes
from tracker.store.db import open_engine
from tracker.store.models import ACCOUNT

BATCH = 200_000
SAMPLE_COLUMNS = "series_id, day, value, provisional, run_id"


@dataclass(frozen=True)
class Row:
    """One stored number, in the bench's terms."""

    account: str
    platform: str
    metric: str
    day: date
    value: float


def open_store(url: str) -> Engine:
    """The database as tracker opens it: created and migrated if new."""
    return open_engine(url)


def write_accounts(engine: Engine, names: list[str], plugin: str, last_good_day: date) -> None:
    """Account rows as a sync leaves them, so the store looks synced."""
    now = datetime.now(UTC)
    rows = [
        {
            "name": name, "plugin": plugin, "options_json": "{}", "conversion_source": "none",
            "covers_all_platforms": False, "position": i, "last_good_day": last_good_day, "state_json": "{}",
            "updated_at": now, "attribution": "",
        }
        for i, name in enumerate(names)
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(ACCOUNT), rows)


def write_samples(engine: Engine, rows: Iterable[tuple[str, str, str, date, float]]) -> int:
    """Append samples straight into the store in batches of BATCH; returns how many.

    Rows are (account, platform, metric, day, value) tuples, written as one sync run. Each batch first gets
    the `series` rows it needs, then its values go to `series_day` as (series id, day number, value,
    provisional, run id). SQLite gets `executemany` on the driver's connection with synchronous off for the
    build; PostgreSQL gets COPY and then ANALYZE (what autovacuum would do soon after a sync this size).
    """
    run_id = writes.start_run(engine, "bench")
    sqlite = engine.dialect.name == "sqlite"
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        if sqlite:
            dbapi.execute("PRAGMA synchronous=OFF")
            dbapi.execute("PRAGMA cache_size=-1000000")  # 1 GB
        ids: dict[tuple[str, str, str], int] = {}
        numbers: dict[date, int] = {}
        written = 0
        for batch in chunks(rows, BATCH):
            _add_series(dbapi, ids, {(a, p, m) for a, p, m, _, _ in batch}, "?" if sqlite else "%s")
            keyed = [
                (ids[(a, p, m)], numbers.get(d) or numbers.setdefault(d, samples.day_number(d)), float(v), False,
                 run_id)
                for a, p, m, d, v in batch
            ]
            (_sqlite_samples if sqlite else _postgres_samples)(dbapi, keyed)
            written += len(keyed)
        if sqlite:
            dbapi.execute("PRAGMA synchronous=NORMAL")
            dbapi.execute("PRAGMA cache_size=-2000")
        else:
            with contextlib.closing(dbapi.cursor()) as cur:
                cur.execute("ANALYZE")
            dbapi.commit()
    finally:
        raw.close()
    writes.finish_run(engine, run_id, "ok")
    return written


def _add_series(dbapi: Any, ids: dict[tuple[str, str, str], int], keys: set[tuple[str, str, str]], mark: str) -> None:
    """Insert the series not seen yet and learn their ids, in one transaction."""
    new = sorted(keys - ids.keys())
    if not new:
        return
    with contextlib.closing(dbapi.cursor()) as cur:
        if mark == "?":
            cur.execute("BEGIN")
        cur.executemany(f"INSERT INTO series (account, platform, metric) VALUES ({mark}, {mark}, {mark})", new)
        cur.execute("SELECT account, platform, metric, id FROM series")
        ids.update({(a, p, m): i for a, p, m, i in cur.fetchall()})
        if mark == "?":
            cur.execute("COMMIT")
        else:
            dbapi.commit()


def _sqlite_samples(dbapi: Any, rows: list[tuple[int, int, float, bool, int]]) -> None:
    dbapi.execute("BEGIN")
    dbapi.executemany(f"INSERT INTO series_day ({SAMPLE_COLUMNS}) VALUES (?, ?, ?, ?, ?)", rows)
    dbapi.execute("COMMIT")


def _postgres_samples(dbapi: Any, rows: list[tuple[int, int, float, bool, int]]) -> None:
    with dbapi.cursor() as cur:
        with cur.copy(f"COPY series_day ({SAMPLE_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    dbapi.commit()


def count_samples(url: str) -> int:
    """How many samples the database holds."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT COUNT(*) FROM series_day").scalar_one())
    finally:
        engine.dispose()


def start_run(engine: Engine) -> int:
    return writes.start_run(engine, "bench")


def finish_run(engine: Engine, run_id: int) -> None:
    writes.finish_run(engine, run_id, "ok")


def start_account_runs(engine: Engine, run_id: int, windows: list[tuple[str, date, date]]) -> list[int]:
    """Several accounts' runs started in one transaction, as a sync starts each batch of accounts it takes."""
    with writes.bookkeeping(engine) as conn:
        return writes.start_account_runs(conn, run_id, windows)


def store_write(
    engine: Engine, run_id: int, account_run: int, account: str, plugin: str, samples: list[Sample], until: date
) -> int:
    """One account's samples through the store's own write path, as a sync commits them; returns rows written."""
    result = writes.AccountResult(
        account=account, plugin=plugin, options_json=json.dumps({}), conversion_source="none",
        covers_all_platforms=False, position=0, samples=samples, last_good_day=until,
    )
    return writes.commit_account(engine, run_id, account_run, result)


@dataclass(frozen=True)
class HandFigures:
    """Per (platform, metric): counters' sums over the period and the one before; gauges' sums of last values.

    Per platform, the other figures the report's JSON prints from the samples: whether a counted day of the
    period is provisional, the accounts holding data, and each gauge's first stored day (`followers_since`).
    """

    counters: dict[tuple[str, str], tuple[float, float]]  # (current, previous)
    gauges: dict[tuple[str, str], tuple[float, float]]  # (at the end, on the day before the start)
    provisional: dict[str, bool]
    accounts: dict[str, set[str]]
    first_days: dict[tuple[str, str], date]


def hand_report_sql(counters: tuple[str, ...], gauges: tuple[str, ...], dialect: str = "sqlite") -> str:
    """One statement computing what the report shows from the samples, written for the current schema.

    Per counter series: its sum over the period and over the one before, and whether the period holds a
    provisional day, each over one (series id, day) range of the primary key: on SQLite a scalar subquery per
    figure (a third faster than a join grouped by series id), on PostgreSQL a LATERAL subquery per period (its
    planner scans the whole history for the join); then summed per platform. Per gauge series: its last value on
    or before the end and on or before the day before the start, one primary-key seek each, and its first day.
    Then the accounts holding data per platform, which the report names. Days are day numbers (days since
    1970-01-01), as stored. Every figure is one the report's JSON prints; the report computes nothing here that
    the statement does not.
    """
    counter_list = ", ".join(f"'{m}'" for m in counters)
    gauge_list = ", ".join(f"'{m}'" for m in gauges)
    return f"""
WITH
  counter_series AS ({_hand_counters(counter_list, dialect)}
  ),
  gauge_series AS (
    SELECT s.account, s.platform, s.metric,
      (SELECT d.value FROM series_day d WHERE d.series_id = s.id AND d.day <= :end ORDER BY d.day DESC LIMIT 1)
        AS at_end,
      (SELECT d.value FROM series_day d WHERE d.series_id = s.id AND d.day <= :before ORDER BY d.day DESC LIMIT 1)
        AS at_before,
      (SELECT MIN(d.day) FROM series_day d WHERE d.series_id = s.id) AS first_day
    FROM series s
    WHERE s.metric IN ({gauge_list})
  )
SELECT 'counter' AS kind, platform, metric, SUM(current_value), SUM(previous_value), MAX(provisional)
FROM counter_series
GROUP BY platform, metric
UNION ALL
SELECT 'gauge', platform, metric, SUM(at_end), SUM(at_before), MIN(first_day)
FROM gauge_series
GROUP BY platform, metric
HAVING SUM(at_end) IS NOT NULL
UNION ALL
SELECT 'account', platform, account, NULL, NULL, NULL
FROM (
  SELECT platform, account FROM counter_series WHERE current_value IS NOT NULL OR previous_value IS NOT NULL
  UNION
  SELECT platform, account FROM gauge_series WHERE at_end IS NOT NULL
) holding
"""


def _hand_counters(counter_list: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"""
    SELECT s.account, s.platform, s.metric, c.total AS current_value, p.total AS previous_value,
      c.flag AS provisional
    FROM series s
    CROSS JOIN LATERAL (
      SELECT SUM(d.value) AS total, MAX(CAST(d.provisional AS INTEGER)) AS flag
      FROM series_day d WHERE d.series_id = s.id AND d.day >= :start AND d.day <= :end
    ) c
    CROSS JOIN LATERAL (
      SELECT SUM(d.value) AS total
      FROM series_day d WHERE d.series_id = s.id AND d.day >= :prev_start AND d.day <= :before
    ) p
    WHERE s.metric IN ({counter_list})"""
    return f"""
    SELECT s.account, s.platform, s.metric,
      (SELECT SUM(d.value) FROM series_day d WHERE d.series_id = s.id AND d.day >= :start AND d.day <= :end)
        AS current_value,
      (SELECT SUM(d.value) FROM series_day d WHERE d.series_id = s.id AND d.day >= :prev_start AND d.day <= :before)
        AS previous_value,
      (SELECT 1 FROM series_day d WHERE d.series_id = s.id AND d.day >= :start AND d.day <= :end AND d.provisional
       LIMIT 1) AS provisional
    FROM series s
    WHERE s.metric IN ({counter_list})"""


def hand_params(engine: Engine, start: date, end: date) -> dict[str, Any]:
    """The statement's days as stored: day numbers on every dialect."""
    days = start - timedelta(days=(end - start).days + 1), start - timedelta(days=1)
    values = {"start": start, "end": end, "prev_start": days[0], "before": days[1]}
    return {k: samples.day_number(v) for k, v in values.items()}


def hand_report(
    engine: Engine, start: date, end: date, counters: tuple[str, ...], gauges: tuple[str, ...]
) -> HandFigures:
    """The statement's figures. On PostgreSQL it runs with JIT off, as the report's sums do: the subqueries'
    estimated cost would otherwise have the server compile it for longer than it takes to run."""
    sql = sa.text(hand_report_sql(counters, gauges, engine.dialect.name))
    found = HandFigures({}, {}, {}, {}, {})
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL jit = off")
        for kind, platform, name, current, previous, extra in conn.execute(sql, hand_params(engine, start, end)):
            if kind == "account":
                found.accounts.setdefault(platform, set()).add(name)
            elif kind == "counter":
                found.counters[(platform, name)] = (float(current or 0), float(previous or 0))
                found.provisional[platform] = found.provisional.get(platform, False) or bool(extra)
            else:
                found.gauges[(platform, name)] = (float(current or 0), float(previous or 0))
                found.first_days[(platform, name)] = samples.day_of(extra)
    return found


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch
