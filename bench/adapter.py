"""The only bench module that knows tracker's store schema: change this file, and only it, when the schema changes.

Everything else in bench/ hands over plain rows (account, platform, metric,
day, value) and gets plain figures back:

- `open_store` creates or opens a database the way tracker does (migrations);
- `write_accounts` and `write_samples` fill it fast, bypassing the sync:
  raw `executemany` (SQLite) or `COPY` (PostgreSQL) into the current tables,
  in big batches;
- `store_write` is the store's own write path for one account (what a sync
  commits), for the ingest figure;
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
from tracker.store import writes
from tracker.store.db import open_engine
from tracker.store.models import ACCOUNT

BATCH = 200_000
SAMPLE_COLUMNS = "account, platform, metric, day, value, provisional, run_id"


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
    """Append samples straight into the sample table in batches of BATCH; returns how many.

    Rows are (account, platform, metric, day, value) tuples, written as one sync run. SQLite gets
    `executemany` on the driver's connection with synchronous off for the build; PostgreSQL gets COPY and
    then ANALYZE (what autovacuum would do soon after a sync this size).
    """
    run_id = writes.start_run(engine, "bench")
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        if engine.dialect.name == "sqlite":
            written = _sqlite_samples(dbapi, rows, run_id)
        else:
            written = _postgres_samples(dbapi, rows, run_id)
    finally:
        raw.close()
    writes.finish_run(engine, run_id, "ok")
    return written


def _sqlite_samples(dbapi: Any, rows: Iterable[tuple[str, str, str, date, float]], run_id: int) -> int:
    insert = f"INSERT INTO sample ({SAMPLE_COLUMNS}) VALUES (?, ?, ?, ?, ?, 0, ?)"
    dbapi.execute("PRAGMA synchronous=OFF")
    dbapi.execute("PRAGMA cache_size=-1000000")  # 1 GB: the secondary index takes its rows out of order
    written = 0
    iso: dict[date, str] = {}
    it = iter(rows)
    while batch := list(islice(it, BATCH)):
        dbapi.execute("BEGIN")
        dbapi.executemany(
            insert, [(a, p, m, iso.get(d) or iso.setdefault(d, d.isoformat()), v, run_id) for a, p, m, d, v in batch]
        )
        dbapi.execute("COMMIT")
        written += len(batch)
    dbapi.execute("PRAGMA synchronous=NORMAL")
    dbapi.execute("PRAGMA cache_size=-2000")
    return written


def _postgres_samples(dbapi: Any, rows: Iterable[tuple[str, str, str, date, float]], run_id: int) -> int:
    written = 0
    with dbapi.cursor() as cur:
        with cur.copy(f"COPY sample ({SAMPLE_COLUMNS}) FROM STDIN") as copy:
            for a, p, m, d, v in rows:
                copy.write_row((a, p, m, d, float(v), False, run_id))
                written += 1
        dbapi.commit()
    with contextlib.closing(dbapi.cursor()) as cur:
        cur.execute("ANALYZE")
    dbapi.commit()
    return written


def count_samples(url: str) -> int:
    """How many samples the database holds."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT COUNT(*) FROM sample").scalar_one())
    finally:
        engine.dispose()


def start_run(engine: Engine) -> int:
    return writes.start_run(engine, "bench")


def finish_run(engine: Engine, run_id: int) -> None:
    writes.finish_run(engine, run_id, "ok")


def store_write(engine: Engine, run_id: int, account: str, plugin: str, samples: list[Sample], until: date) -> int:
    """One account's samples through the store's own write path, as a sync commits them; returns rows written."""
    account_run = writes.start_account_run(engine, run_id, account, samples[0].day, until)
    result = writes.AccountResult(
        account=account, plugin=plugin, options_json=json.dumps({}), conversion_source="none",
        covers_all_platforms=False, position=0, samples=samples, last_good_day=until,
    )
    return writes.commit_account(engine, run_id, account_run, result)


@dataclass(frozen=True)
class HandFigures:
    """Per (platform, metric): counters' sums over the period and the one before; gauges' sums of last values."""

    counters: dict[tuple[str, str], tuple[float, float]]  # (current, previous)
    gauges: dict[tuple[str, str], tuple[float, float]]  # (at the end, on the day before the start)


def hand_report_sql(counters: tuple[str, ...], gauges: tuple[str, ...]) -> str:
    """One statement computing what the report shows for counters and gauges, written for the current schema.

    Counters: summed per platform over the period and the one before, found through the
    (platform, metric, day) index. Gauges: each account's last value on or before the end and on or before
    the day before the start, one primary-key seek each; accounts and platforms are listed by skipping
    through the indexes (one seek per distinct value), not by reading all history.
    """
    quoted = ", ".join(f"'{m}'" for m in counters)
    gauge_rows = " UNION ALL ".join(f"SELECT '{m}'" for m in gauges)
    return f"""
WITH RECURSIVE
  accounts(name) AS (
    SELECT MIN(account) FROM sample
    UNION ALL
    SELECT (SELECT MIN(s.account) FROM sample s WHERE s.account > accounts.name) FROM accounts WHERE name IS NOT NULL
  ),
  platforms(name) AS (
    SELECT MIN(platform) FROM sample
    UNION ALL
    SELECT (SELECT MIN(s.platform) FROM sample s WHERE s.platform > platforms.name) FROM platforms
    WHERE name IS NOT NULL
  ),
  gauges(metric) AS ({gauge_rows}),
  last_values AS (
    SELECT p.name AS platform, g.metric AS metric,
      (SELECT s.value FROM sample s WHERE s.account = a.name AND s.platform = p.name AND s.metric = g.metric
        AND s.day <= :end ORDER BY s.day DESC LIMIT 1) AS at_end,
      (SELECT s.value FROM sample s WHERE s.account = a.name AND s.platform = p.name AND s.metric = g.metric
        AND s.day <= :before ORDER BY s.day DESC LIMIT 1) AS at_before
    FROM accounts a, platforms p, gauges g
    WHERE a.name IS NOT NULL AND p.name IS NOT NULL
  )
SELECT 'counter' AS kind, s.platform, s.metric,
  SUM(CASE WHEN s.day >= :start THEN s.value END) AS current_value,
  SUM(CASE WHEN s.day < :start THEN s.value END) AS previous_value
FROM platforms p JOIN sample s ON s.platform = p.name
WHERE s.metric IN ({quoted}) AND s.day >= :prev_start AND s.day <= :end
GROUP BY s.platform, s.metric
UNION ALL
SELECT 'gauge', platform, metric, SUM(at_end), SUM(at_before)
FROM last_values
GROUP BY platform, metric
HAVING SUM(at_end) IS NOT NULL
"""


def hand_params(engine: Engine, start: date, end: date) -> dict[str, Any]:
    """The statement's days, typed as the dialect stores them (SQLite: ISO text)."""
    days = start - timedelta(days=(end - start).days + 1), start - timedelta(days=1)
    values = {"start": start, "end": end, "prev_start": days[0], "before": days[1]}
    if engine.dialect.name == "sqlite":
        return {k: v.isoformat() for k, v in values.items()}
    return values


def hand_report(
    engine: Engine, start: date, end: date, counters: tuple[str, ...], gauges: tuple[str, ...]
) -> HandFigures:
    sql = sa.text(hand_report_sql(counters, gauges))
    found: dict[str, dict[tuple[str, str], tuple[float, float]]] = {"counter": {}, "gauge": {}}
    with engine.connect() as conn:
        for kind, platform, metric, current, previous in conn.execute(sql, hand_params(engine, start, end)):
            found[kind][(platform, metric)] = (float(current or 0), float(previous or 0))
    return HandFigures(found["counter"], found["gauge"])


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch
