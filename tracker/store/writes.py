"""Everything that changes the database, each in one transaction.

Samples go in with a Core `INSERT ... ON CONFLICT DO UPDATE`, deduplicated by
key first (PostgreSQL refuses to update one row twice in a statement) and sent
in batches. An account's samples, statuses, state and cursor commit together:
a failure leaves none of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from tracker.plugin import Sample, Unavailable
from tracker.store.db import WRITE_OPTION
from tracker.store.models import Account, AccountRun, MetricStatus, SyncRun
from tracker.store.models import Sample as SampleRow

BATCH = 1000
SAMPLE_KEY = ("account", "platform", "metric", "day")


def now() -> datetime:
    return datetime.now(timezone.utc)


def _write(engine: Engine) -> Any:
    return engine.connect().execution_options(**{WRITE_OPTION: True})


def _insert(conn: Connection, table: sa.Table) -> Any:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"upsert is not written for {dialect} yet")


def _upsert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]], key: tuple[str, ...]) -> None:
    if not rows:
        return
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={c: stmt.excluded[c] for c in rows[0] if c not in key},
    )
    for start in range(0, len(rows), BATCH):
        conn.execute(stmt, rows[start : start + BATCH])


def dedupe(samples: Iterable[Sample]) -> dict[tuple[str, str, date], Sample]:
    """Last one wins per (platform, metric, day): pages may overlap."""
    return {(s.platform, s.metric, s.day): s for s in samples}


@dataclass
class AccountResult:
    """What one account's fetch produced, ready to commit."""

    account: str
    plugin: str
    options_json: str
    conversion_source: str
    covers_all_platforms: bool
    position: int
    samples: list[Sample] = field(default_factory=list)
    unavailable: list[Unavailable] = field(default_factory=list)
    state: dict[str, Any] | None = None
    last_good_day: date | None = None


def start_run(engine: Engine, trigger: str) -> int:
    with _write(engine) as conn, conn.begin():
        result = conn.execute(sa.insert(SyncRun.__table__).values(started_at=now(), status="running", trigger=trigger))
        return int(result.inserted_primary_key[0])


def finish_run(engine: Engine, run_id: int, status: str) -> None:
    with _write(engine) as conn, conn.begin():
        conn.execute(
            sa.update(SyncRun.__table__).where(SyncRun.__table__.c.id == run_id).values(finished_at=now(), status=status)
        )


def start_account_run(engine: Engine, run_id: int, account: str, since: date, until: date) -> int:
    table = AccountRun.__table__
    with _write(engine) as conn, conn.begin():
        result = conn.execute(
            sa.insert(table).values(
                run_id=run_id, account=account, since=since, until=until, started_at=now(), status="running", rows=0
            )
        )
        return int(result.inserted_primary_key[0])


def finish_account_run(engine: Engine, account_run_id: int, status: str, error: str | None = None) -> None:
    table = AccountRun.__table__
    with _write(engine) as conn, conn.begin():
        conn.execute(
            sa.update(table).where(table.c.id == account_run_id).values(finished_at=now(), status=status, error=error)
        )


def commit_account(engine: Engine, run_id: int, account_run_id: int, result: AccountResult) -> int:
    """Write one account's samples, statuses, state and cursor atomically; returns rows written."""
    rows = [
        {
            "account": result.account,
            "platform": s.platform,
            "metric": s.metric,
            "day": s.day,
            "value": float(s.value),
            "provisional": bool(s.provisional),
            "run_id": run_id,
        }
        for s in dedupe(result.samples).values()
    ]
    with _write(engine) as conn, conn.begin():
        _save_account(conn, run_id, result)
        _upsert(conn, SampleRow.__table__, rows, SAMPLE_KEY)
        _save_statuses(conn, run_id, result)
        runs = AccountRun.__table__
        conn.execute(
            sa.update(runs)
            .where(runs.c.id == account_run_id)
            .values(finished_at=now(), status="ok", rows=len(rows), error=None)
        )
    return len(rows)


def _save_account(conn: Connection, run_id: int, result: AccountResult) -> None:
    table = Account.__table__
    existing = conn.execute(sa.select(table).where(table.c.name == result.account)).mappings().first()
    values: dict[str, Any] = {
        "name": result.account,
        "plugin": result.plugin,
        "options_json": result.options_json,
        "conversion_source": result.conversion_source,
        "covers_all_platforms": result.covers_all_platforms,
        "position": result.position,
        "updated_at": now(),
    }
    if result.state is not None:
        values.update(state_json=json.dumps(result.state, sort_keys=True), state_run_id=run_id)
    if result.last_good_day is not None:
        values["last_good_day"] = result.last_good_day
    if existing is None:
        values.setdefault("state_json", "{}")
        conn.execute(sa.insert(table).values(**values))
    else:
        conn.execute(sa.update(table).where(table.c.name == result.account).values(**values))


def _save_statuses(conn: Connection, run_id: int, result: AccountResult) -> None:
    """Record retired metrics; a metric that came back clears its status."""
    table = MetricStatus.__table__
    seen = {(s.platform, s.metric) for s in result.samples}
    for platform, metric in seen:
        conn.execute(
            sa.delete(table).where(
                table.c.account == result.account, table.c.platform == platform, table.c.metric == metric
            )
        )
    rows = [
        {
            "account": result.account,
            "platform": u.platform,
            "metric": u.metric,
            "status": "unavailable",
            "reason": u.reason,
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
