"""Sales and leads the owner logs by hand: the phone call, the customer in the shop.

They are conversion records of the reserved account `manual`, so they are
traced to a run, can be withdrawn (kept, not deleted), and add to the online
conversions in the report as their own part. `undo` also withdraws an order
imported from a shop export (the owner knows it was cancelled or a test):
the withdrawal survives every later import of the same order.
"""

from __future__ import annotations

import contextlib
import json
import math
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracker import metrics
from tracker.config import RESERVED_ACCOUNT
from tracker.errors import ConfigError, TrackerError, UsageError
from tracker.plugin import Basis, Conversion
from tracker.runs import RunStatus
from tracker.store import writes
from tracker.store.models import CONVERSION

ACCOUNT = RESERVED_ACCOUNT


@dataclass(frozen=True)
class Logged:
    id: str
    platform: str
    day: date
    kind: str
    amount: float | None  # None: a sale whose amount was not given
    currency: str | None
    note: str
    withdrawn: bool
    account: str = ACCOUNT
    ref: str = ""


def log(
    engine: Engine, *, platform: str, kind: str, day: date, amount: float | None = None, currency: str | None = None,
    note: str = "", known: Collection[str] = (), today: date | None = None,
) -> str:
    """Record one offline sale or lead; returns its id (for `tracker log undo`).

    A sale without an amount has an unknown amount (its day's revenue is reported missing, never as 0); a lead
    without one is worth 0, as leads count nothing in revenue. `known` is the platform keys `tracker link`
    accepts: a typo logged once would stay a platform forever. Everything is checked before a run is recorded.
    """
    if not metrics.is_platform(platform) or (known and platform not in known):
        hint = f"one of {', '.join(sorted(known))}" if known else "a platform key like instagram, facebook or xing"
        raise ConfigError(f"--platform {platform!r} is not a platform key; use {hint}")
    check_day(day, today)
    if amount is None and kind == "lead":
        amount = 0.0
    if amount is not None:
        check_amount(amount)
    record = Conversion(
        id=uuid.uuid4().hex[:8], platform=platform, day=day, kind=kind, amount=amount, currency=currency,
        basis=Basis.MANUAL, ref="tracker log", note=note,
    )
    run_id = writes.start_run(engine, "log")
    try:
        _commit(engine, run_id, record)
    except BaseException:
        with contextlib.suppress(Exception):  # the database may be what failed: keep the first error
            writes.finish_run(engine, run_id, RunStatus.FAILED)
        raise
    writes.finish_run(engine, run_id, RunStatus.OK)
    return record.id


def check_day(day: date, today: date | None) -> None:
    """A logged sale happened: not after today, and not before any platform tracker reads existed."""
    if today is not None and day > today:
        raise ConfigError(f"--date {day}: is after today ({today}); give the day it happened")
    if day < metrics.EARLIEST_DAY:
        raise ConfigError(f"--date {day}: is before {metrics.EARLIEST_DAY}, earlier than any platform tracker reads; "
                          "give the day it happened")


def check_amount(amount: float) -> None:
    """A number a report can add: finite, not negative, not absurdly large (tracker.metrics.PLAUSIBLE_MAX)."""
    if not math.isfinite(amount):
        raise ConfigError(f"--amount {amount}: is not a number; give the amount like 49.90, or leave it out if unknown")
    if amount < 0:
        raise ConfigError(f"--amount {amount}: must be 0 or more")
    if amount > metrics.PLAUSIBLE_MAX:
        raise ConfigError(f"--amount {amount:g}: is more than {metrics.PLAUSIBLE_MAX:g}, not a plausible sale; "
                          "give the amount like 49.90")


def _commit(engine: Engine, run_id: int, record: Conversion) -> None:
    account_run = writes.start_account_run(engine, run_id, ACCOUNT, record.day, record.day)
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
    try:
        writes.commit_account(engine, run_id, account_run, result)
    except BaseException:
        with contextlib.suppress(Exception):
            writes.finish_account_run(engine, account_run, RunStatus.FAILED, "the sale could not be stored")
        raise


def undo(engine: Engine, record_id: str, account: str | None = None) -> Logged:
    """Withdraw a logged sale or lead, or an imported order, by id; returns what was withdrawn.

    An id held by one account needs no account name; an order number two imports share does.
    """
    held = _holders(engine, record_id, account)
    active = [h for h in held if not h.withdrawn]
    if not held:
        where = f" in account {account!r}" if account else ""
        raise TrackerError(f"no logged conversion or imported order {record_id!r}{where} to undo "
                           "(see `tracker log list`, or `tracker log list --account NAME` for an import)")
    if not active:
        raise TrackerError(f"no logged conversion {record_id!r} to undo: it is already withdrawn")
    if len(active) > 1:
        names = ", ".join(h.account for h in active)
        raise UsageError(f"{record_id!r} is held by several accounts ({names}): add --account NAME")
    target = active[0]
    writes.withdraw_conversion(engine, target.account, record_id)
    return target


def _holders(engine: Engine, record_id: str, account: str | None) -> list[Logged]:
    t = CONVERSION
    query = sa.select(t).where(t.c.id == record_id).order_by(t.c.account)
    if account:
        query = query.where(t.c.account == account)
    with engine.connect() as conn:
        return [_logged(r) for r in conn.execute(query)]


def listed(engine: Engine, include_withdrawn: bool = False, account: str = ACCOUNT) -> list[Logged]:
    """One account's records, oldest first: the logged ones by default, or an import's (`--account NAME`)."""
    t = CONVERSION
    query = sa.select(t).where(t.c.account == account).order_by(t.c.day, t.c.recorded_at, t.c.id)
    if not include_withdrawn:
        query = query.where(t.c.withdrawn == sa.false())
    with engine.connect() as conn:
        return [_logged(r) for r in conn.execute(query)]


def _logged(r: sa.Row[Any]) -> Logged:
    return Logged(r.id, r.platform, r.day, r.kind, r.amount, r.currency, r.note, bool(r.withdrawn), r.account, r.ref)
