"""Deleting one account's stored data: `tracker accounts forget`.

Removing an account from the config stops its syncs but leaves its rows, and
those rows would go on feeding the report. Forgetting deletes every row keyed
by the account (numbers, order records, top posts, metric statuses, sync state, quota
block, a stale lock, customer care items) in one transaction, so a failure leaves all of them.

The run history (`sync_run`, `account_run`) is kept: it records what ran,
when and with what outcome, holds no number any report counts, and a
`sync_run` is shared by every account synced in it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracker.config import RESERVED_ACCOUNT
from tracker.errors import AccountBusy
from tracker.store import samples
from tracker.store.db import WRITE_OPTION
from tracker.store.models import (
    ACCOUNT,
    ACCOUNT_BLOCK,
    ACCOUNT_RUN,
    CARE_ITEM,
    CONVERSION,
    METRIC_STATUS,
    SERIES,
    SYNC_LEASE,
    TOP_POST,
)

# Field of `Rows` -> the table and its account column; every table keyed by an account but the run history.
# Samples are counted, deleted and moved through their series (tracker.store.samples), shown as `sample`.
SAMPLES = "samples"
_DELETED: dict[str, sa.Column] = {
    SAMPLES: SERIES.c.account,
    "conversions": CONVERSION.c.account,
    "top_posts": TOP_POST.c.account,
    "care_items": CARE_ITEM.c.account,
    "metric_statuses": METRIC_STATUS.c.account,
    "state": ACCOUNT.c.name,
    "blocks": ACCOUNT_BLOCK.c.account,
    "leases": SYNC_LEASE.c.account,
}
_HISTORY: dict[str, sa.Column] = {"runs": ACCOUNT_RUN.c.account}
# Every table keyed by an account, run history last: what `accounts rename` moves.
ACCOUNT_COLUMNS: dict[str, sa.Column] = {**_DELETED, **_HISTORY}
# A lease is a lock, not data: an account with only a stale lease has nothing stored.
_DATA = ("samples", "conversions", "care_items", "metric_statuses", "state", "blocks", "top_posts")


@dataclass(frozen=True)
class Rows:
    """One account's rows per table: what `forget` deletes (all but `runs`, the run history) or `rename` moves."""

    account: str
    samples: int = 0
    conversions: int = 0
    top_posts: int = 0
    care_items: int = 0
    metric_statuses: int = 0
    state: int = 0
    blocks: int = 0
    leases: int = 0
    runs: int = 0

    @property
    def deleted(self) -> int:
        return sum(getattr(self, name) for name in _DELETED)

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in ACCOUNT_COLUMNS)

    @property
    def stored(self) -> int:
        """Rows of data, leaving out a lock: an account with only a stale lock has nothing stored."""
        return sum(getattr(self, name) for name in _DATA)

    def tables(self) -> list[tuple[str, str, int]]:
        """(field, table name, rows) for every table, run history last, for display."""
        return [
            (f.name, "sample" if f.name == SAMPLES else ACCOUNT_COLUMNS[f.name].table.name, getattr(self, f.name))
            for f in fields(self)
            if f.name in ACCOUNT_COLUMNS
        ]


def _accounts_in(conn: Connection, column: sa.Column) -> set[str]:
    return {row[0] for row in conn.execute(sa.select(column).distinct()).all()}


def stored_in(conn: Connection) -> list[str]:
    """Accounts with any stored data (numbers, records, care items, statuses, state or a block), sorted."""
    names = samples.stored_accounts(conn)
    for field_name in _DATA:
        if field_name != SAMPLES:
            names |= _accounts_in(conn, _DELETED[field_name])
    return sorted(names)


def stored_accounts(engine: Engine) -> list[str]:
    """Accounts with any stored data (numbers, records, statuses, state or a block), sorted."""
    with engine.connect() as conn:
        return stored_in(conn)


def removed_accounts(engine: Engine, configured: set[str]) -> list[str]:
    """Stored accounts the config no longer has; logged sales (`manual`) are never in a config, so never removed.

    Only the accounts with series that the config lacks are checked for a stored day: the report of a large
    config asks this every time, and a seek per configured account would find what it already knows.
    """
    with engine.connect() as conn:
        names = samples.stored_accounts(conn, among=samples.series_accounts(conn) - configured)
        for field_name in _DATA:
            if field_name != SAMPLES:
                names |= _accounts_in(conn, _DELETED[field_name])
    return sorted(name for name in names if name not in configured and name != RESERVED_ACCOUNT)


def removed_note(account: str) -> str:
    """The one sentence status and report say about a removed account's data."""
    return f"stored data of removed account {account} is not counted; `tracker accounts forget {account}` deletes it"


def count(conn: Connection, name: str) -> Rows:
    """The account's rows in every table keyed by an account."""
    counts = {
        field_name: conn.execute(
            sa.select(sa.func.count()).select_from(column.table).where(column == name)
        ).scalar_one()
        for field_name, column in ACCOUNT_COLUMNS.items()
        if field_name != SAMPLES
    }
    return Rows(account=name, samples=samples.count_of(conn, name), **counts)


def plan(engine: Engine, name: str) -> Rows:
    """What `forget(engine, name)` would delete now (and the run history it would keep)."""
    with engine.connect() as conn:
        return count(conn, name)


def refuse_if_syncing(conn: Connection, name: str, unchanged: str = "nothing deleted") -> None:
    """A sync holding the account's lease would write its rows back right after the change.

    `unchanged` ends the message: what the refused command left as it was.
    """
    from tracker.locks import LeaseRow, Leases  # here: a report (removed accounts only) loads no lock machinery

    table = SYNC_LEASE
    found = conn.execute(sa.select(table).where(table.c.account == name)).mappings().first()
    if found is None:
        return
    lease = LeaseRow(**found)
    if lease.expires_at.tzinfo is None:  # some drivers hand stored UTC times back without the zone
        lease = LeaseRow(**{**found, "expires_at": lease.expires_at.replace(tzinfo=UTC)})
    if not Leases(conn.engine).stale(lease, datetime.now(UTC)):
        raise AccountBusy(f"{name}: being synced right now ({lease.describe()}); {unchanged}, try again when it ends")


def forget(engine: Engine, name: str) -> Rows:
    """Delete every row keyed by the account but its run history, in one transaction; returns the rows deleted."""
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        refuse_if_syncing(conn, name)
        kept = count(conn, name).runs
        deleted = {
            field_name: samples.delete_account(conn, name) if field_name == SAMPLES
            else conn.execute(sa.delete(column.table).where(column == name)).rowcount
            for field_name, column in _DELETED.items()
        }
    return Rows(account=name, runs=kept, **deleted)
