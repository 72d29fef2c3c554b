"""Giving an account's stored data a new name: `tracker accounts rename`, and spotting a rename in the config.

Renaming an `[accounts.NAME]` table in the config leaves the stored rows
under the old name: the report leaves them out (the account is no longer
configured) and the new name starts from nothing. Renaming moves every row
keyed by the account, run history included so `status` keeps the account's
past runs, in one transaction: a failure leaves all of them under the old
name. The new name must hold no data, so no two accounts' rows ever mix.
Customer care items move with their hashes, which do not depend on the
account's name (tracker.store.care), so a sync under the new name finds them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracker.config import RESERVED_ACCOUNT, AccountConfig
from tracker.errors import UnknownAccount, UsageError
from tracker.store import samples
from tracker.store.db import WRITE_OPTION
from tracker.store.forget import ACCOUNT_COLUMNS, SAMPLES, Rows, count, refuse_if_syncing, removed_accounts, stored_in
from tracker.store.models import ACCOUNT, SYNC_LEASE

UNCHANGED = "nothing renamed"
# Credentials in a URL are stored redacted: they say how to log in, not which account it is.
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@")


def _refuse(conn: Connection, old: str, new: str) -> Rows:
    """OLD's rows, if renaming it to NEW keeps every account's data apart; else the one-line refusal."""
    if old == new:
        raise UsageError(f"{old} and {new} are the same name; give the new name")
    if old == RESERVED_ACCOUNT:
        raise UsageError(f"{old} holds the sales logged with `tracker log`; it cannot be renamed")
    if new == RESERVED_ACCOUNT:
        raise UsageError(f"the name {new!r} is reserved for sales logged with `tracker log`; choose another name")
    moving = count(conn, old)
    if moving.stored == 0:
        stored = ", ".join(stored_in(conn)) or "none"
        raise UnknownAccount(f"account {old!r} has no stored data to rename; stored accounts: {stored}")
    if count(conn, new).stored:
        raise UsageError(f"account {new} already has stored data; forget it first or choose another name")
    return moving


def plan(engine: Engine, old: str, new: str) -> Rows:
    """What `rename(engine, old, new)` would move now; refuses as `rename` would."""
    with engine.connect() as conn:
        return _refuse(conn, old, new)


def rename(engine: Engine, old: str, new: str) -> Rows:
    """Move every row of OLD to NEW, run history included, in one transaction; returns the rows moved."""
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        for name in (old, new):
            refuse_if_syncing(conn, name, UNCHANGED)
        _refuse(conn, old, new)
        leases = SYNC_LEASE
        conn.execute(sa.delete(leases).where(leases.c.account == new))  # a dead sync's lock, checked stale above
        moved = {
            field_name: samples.rename_account(conn, old, new) if field_name == SAMPLES
            else conn.execute(sa.update(column.table).where(column == old).values({column.name: new})).rowcount
            for field_name, column in ACCOUNT_COLUMNS.items()
        }
    return Rows(account=old, **moved)


@dataclass(frozen=True)
class Source:
    """What an account reads: its plugin and its options but secrets, as canonical JSON.

    Secrets are left out: the database holds them redacted (or as the
    `${ENV}` reference), and a renamed account may take its token from another variable.
    """

    plugin: str
    options: str


def source(plugin: str, options: Mapping[str, Any], secrets: Collection[str]) -> Source:
    """The Source of an account's option table; `secrets` names the plugin's options typed Secret."""
    kept = {key: _identity(value) for key, value in options.items() if key not in secrets}
    return Source(plugin, json.dumps(kept, sort_keys=True, default=str))


def _stored_options(text: str | None) -> dict[str, Any] | None:
    try:
        options = json.loads(text or "{}")
    except ValueError:
        return None
    return options if isinstance(options, dict) else None


def _identity(value: Any) -> Any:
    return _USERINFO.sub(r"\1", value) if isinstance(value, str) else value


@dataclass(frozen=True)
class LikelyRename:
    """A stored account gone from the config and a configured one without data, reading the same source."""

    old: str
    new: str


def likely_renames(
    engine: Engine, configured: Sequence[AccountConfig], secret_options: Mapping[str, Collection[str]]
) -> list[LikelyRename]:
    """Config changes that look like a rename: only pairs that match one to one, as a guess between several misleads.

    `secret_options` maps a plugin to its Secret options; accounts of a plugin
    missing from it (not installed, broken) are never matched, as their secrets are unknown.
    """
    names = [a.name for a in configured]
    removed = removed_accounts(engine, set(names))
    table = ACCOUNT
    with engine.connect() as conn:
        stored = set(stored_in(conn))
        query = sa.select(table.c.name, table.c.plugin, table.c.options_json).where(table.c.name.in_(removed))
        rows = conn.execute(query)
        gone = {
            row.name: source(row.plugin, options, secret_options[row.plugin])
            for row in rows
            if row.plugin in secret_options and (options := _stored_options(row.options_json)) is not None
        }
    fresh = {
        a.name: source(a.plugin, a.options, secret_options[a.plugin])
        for a in configured
        if a.name not in stored and a.plugin in secret_options
    }
    pairs = [(old, new) for old, was in gone.items() for new, now in fresh.items() if was == now]
    olds, news = [old for old, _ in pairs], [new for _, new in pairs]
    return [LikelyRename(old, new) for old, new in pairs if olds.count(old) == 1 and news.count(new) == 1]
