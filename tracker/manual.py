"""Sales and leads the owner logs by hand: the phone call, the customer in the shop.

They are conversion records of the reserved account `manual`, so they are
traced to a run, can be withdrawn (kept, not deleted), and add to the online
conversions in the report as their own part.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracker import metrics
from tracker.config import RESERVED_ACCOUNT
from tracker.errors import ConfigError, TrackerError
from tracker.plugin import Basis, Conversion
from tracker.store import writes
from tracker.store.models import ConversionRecord

ACCOUNT = RESERVED_ACCOUNT


@dataclass(frozen=True)
class Logged:
    id: str
    platform: str
    day: date
    kind: str
    amount: float
    currency: str | None
    note: str
    withdrawn: bool


def log(
    engine: Engine, *, platform: str, kind: str, day: date, amount: float = 0.0, currency: str | None = None, note: str = "",
    known: Collection[str] = (), today: date | None = None,
) -> str:
    """Record one offline sale or lead; returns its id (for `tracker log undo`).

    `known` is the platform keys `tracker link` accepts: a typo logged once would stay a platform forever.
    """
    if not metrics.is_platform(platform) or (known and platform not in known):
        hint = f"one of {', '.join(sorted(known))}" if known else "a platform key like instagram, facebook or xing"
        raise ConfigError(f"--platform {platform!r} is not a platform key; use {hint}")
    if today is not None and day > today:
        raise ConfigError(f"--date {day}: is after today ({today}); give the day it happened")
    if amount < 0:
        raise ConfigError(f"--amount {amount}: must be 0 or more")
    record = Conversion(
        id=uuid.uuid4().hex[:8], platform=platform, day=day, kind=kind, amount=amount, currency=currency,
        basis=Basis.MANUAL, ref="tracker log", note=note,
    )
    run_id = writes.start_run(engine, "log")
    account_run = writes.start_account_run(engine, run_id, ACCOUNT, day, day)
    result = writes.AccountResult(
        account=ACCOUNT,
        plugin="log",
        options_json=json.dumps({}),
        conversion_source="manual",
        covers_all_platforms=False,
        position=1_000_000,
        conversions=[record],
        attribution="logged by hand: the customer said where they came from",
    )
    writes.commit_account(engine, run_id, account_run, result)
    writes.finish_run(engine, run_id, "ok")
    return record.id


def undo(engine: Engine, record_id: str) -> None:
    if not writes.withdraw_conversion(engine, ACCOUNT, record_id):
        raise TrackerError(f"no logged conversion {record_id!r} to undo (see `tracker log list`)")


def listed(engine: Engine, include_withdrawn: bool = False) -> list[Logged]:
    t = ConversionRecord.__table__
    query = sa.select(t).where(t.c.account == ACCOUNT).order_by(t.c.day, t.c.recorded_at)
    if not include_withdrawn:
        query = query.where(t.c.withdrawn == sa.false())
    with engine.connect() as conn:
        return [
            Logged(r.id, r.platform, r.day, r.kind, r.amount, r.currency, r.note, bool(r.withdrawn))
            for r in conn.execute(query)
        ]
