"""Writing customer care facts: one row per inbound item, keyed by a salted hash of its id.

The platform's id of an item is never stored: it would lead anyone holding the
database back to the message and its author. Its SHA-256, salted with a random
value kept in the database (`care_salt`), still recognises the item on every
re-sync, so an item is counted once however often its thread is read again.
The salt makes the same item hash differently in two databases; it does not
stop someone who holds this database and a list of candidate ids from testing
them, which is why the hash is the only trace of the id and no text, author or
handle is ever accepted (`tracker.plugin.CareItem` has no field for them).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracker.plugin import CareItem
from tracker.store.models import CARE_ITEM, CARE_SALT

BATCH = 1000
SALT_ROW = 1


def item_hash(salt: str, platform: str, item_id: str) -> str:
    """The stored key of an item: the same id on two platforms is two items."""
    return hashlib.sha256(f"{salt}\x00{platform}\x00{item_id}".encode()).hexdigest()


def _insert(conn: Connection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def database_salt(conn: Connection) -> str:
    """The database's salt, made on first use inside the caller's write transaction.

    Made here rather than by the migration, so a new database holds no row until care is stored (a copy
    into a fresh database brings the source's salt, and its hashes with it). Two first writers cannot
    both win: the insert does nothing if the row exists, and the row is read back.
    """
    found = conn.execute(sa.select(CARE_SALT.c.salt).where(CARE_SALT.c.id == SALT_ROW)).scalar()
    if found:
        return str(found)
    conn.execute(_insert(conn, CARE_SALT).on_conflict_do_nothing(), {"id": SALT_ROW, "salt": secrets.token_hex(16)})
    return str(conn.execute(sa.select(CARE_SALT.c.salt).where(CARE_SALT.c.id == SALT_ROW)).scalar_one())


def save(conn: Connection, run_id: int, account: str, items: list[CareItem]) -> int:
    """Upsert the account's care items; returns the rows written or removed.

    A re-sync may add a reply: the earliest reply seen is kept (a reply is never un-made by a fetch that no
    longer sees it). `deleted` is the latest word. The account's own items are removed if stored, never added.
    """
    if not items:
        return 0
    salt = database_salt(conn)
    keyed = {item_hash(salt, i.platform, i.item_id): i for i in items}  # pages may overlap: the last one wins
    own = [key for key, i in keyed.items() if i.from_account]
    recorded_at = datetime.now(UTC)
    rows = [_row(account, key, i, run_id, recorded_at) for key, i in keyed.items() if not i.from_account]
    stmt = _insert(conn, CARE_ITEM)
    stored, new = CARE_ITEM.c.first_reply_at, stmt.excluded.first_reply_at
    earliest = sa.case((stored.is_(None), new), (new.is_(None), stored), (new < stored, new), else_=stored)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account", "item_hash"],
        set_={
            "platform": stmt.excluded.platform,
            "channel": stmt.excluded.channel,
            "created_at": stmt.excluded.created_at,
            "first_reply_at": earliest,
            "deleted": stmt.excluded.deleted,
            "run_id": stmt.excluded.run_id,
        },
    )
    for start in range(0, len(rows), BATCH):
        conn.execute(stmt, rows[start : start + BATCH])
    removed = 0
    for start in range(0, len(own), BATCH):
        mine = sa.and_(CARE_ITEM.c.account == account, CARE_ITEM.c.item_hash.in_(own[start : start + BATCH]))
        removed += int(conn.execute(sa.delete(CARE_ITEM).where(mine)).rowcount or 0)
    return len(rows) + removed


def _row(account: str, key: str, item: CareItem, run_id: int, recorded_at: datetime) -> dict[str, Any]:
    return {
        "account": account,
        "item_hash": key,
        "platform": item.platform,
        "channel": getattr(item.channel, "value", item.channel),
        "created_at": item.created_at.astimezone(UTC),  # the column type stores UTC and gives it back aware
        "first_reply_at": None if item.first_reply_at is None else item.first_reply_at.astimezone(UTC),
        "deleted": item.deleted,
        "run_id": run_id,
        "recorded_at": recorded_at,
    }
