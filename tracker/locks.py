"""Cross-process sync locks: one lease row per account in the database.

Two processes (the daemon and a manual `tracker sync`, or two machines on one
PostgreSQL) must never sync the same account at once: both would fetch from
the same cursor and race to commit. A process takes an account's lease
before reading its cursor and gives it back after committing. The lease
names its holder (host, pid and a token per `Leases` object, so two syncers
in one process differ too) and expires unless renewed, so a crash never
blocks an account for long: a lease past its expiry, or held by a pid that no
longer exists on this host, is stale and may be taken over.

Races are settled by the database: the row's primary key (two inserts) or a
compare-and-swap update on the old holder (two takeovers); works the same on
SQLite and PostgreSQL. That is why workers on several machines need no
`SELECT ... FOR UPDATE SKIP LOCKED`: it would hold a transaction open for a
whole fetch, and SQLite has no such thing.

A sync takes leases a few accounts at a time, as its workers are about to
fetch them, in one transaction per batch (with the finished accounts' leases
given back in it): workers on several machines then split the accounts
between them instead of the first one holding them all.

Workers on several machines start their runs at about the same time and walk
the same accounts: an account another process finished syncing after this
`Leases` was made (the run's start) is skipped too, so a worker never syncs
again what another synced a moment ago in the same round.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from tracker.errors import AccountBusy, ConfigError, TrackerError
from tracker.runs import RunStatus
from tracker.store.db import WRITE_OPTION
from tracker.store.models import ACCOUNT_RUN, SYNC_LEASE

log = logging.getLogger("tracker.locks")

DEFAULT_TTL = timedelta(minutes=10)
TTL_ENV = "TRACKER_LEASE_SECONDS"
# An interrupted account run is not an attempt: its account is synced again.
ATTEMPTED = (RunStatus.OK, RunStatus.FAILED)


def lease_ttl() -> timedelta:
    """How long a crashed worker's accounts wait for another: TRACKER_LEASE_SECONDS, or ten minutes."""
    raw = os.environ.get(TTL_ENV, "").strip()
    if not raw:
        return DEFAULT_TTL
    try:
        seconds = int(raw)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise ConfigError(f"{TTL_ENV}={raw!r}: give a whole number of seconds, like 600 (the default)")
    return timedelta(seconds=seconds)


def utc_now() -> datetime:
    return datetime.now(UTC)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    if os.name == "nt":
        return True  # signal 0 is not a probe on Windows; expiry alone recovers there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    token: str

    @property
    def id(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @classmethod
    def current(cls) -> Holder:
        return cls(socket.gethostname(), os.getpid(), uuid.uuid4().hex[:12])


@dataclass(frozen=True)
class LeaseRow:
    account: str
    holder: str
    host: str
    pid: int
    acquired_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC"


class Leases:
    """The leases one syncer holds; `acquire` before an account's fetch, `release` after its commit."""

    def __init__(
        self,
        engine: Engine,
        *,
        holder: Holder | None = None,
        ttl: timedelta | None = None,
        now: Callable[[], datetime] = utc_now,
        alive: Callable[[int], bool] = pid_alive,
    ) -> None:
        self.engine = engine
        self.holder = holder or Holder.current()
        self.ttl = ttl or lease_ttl()
        self.now = now
        # The run's start, on the clock account runs are stamped with: what others sync after it is theirs.
        self.opened = utc_now()
        self.alive = alive
        self._held: set[str] = set()
        self._guard = threading.Lock()

    def acquire(self, account: str) -> None:
        """Take the account's lease, or raise AccountBusy naming who syncs it."""
        with self.engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
            refused = self.take(conn, [account])
        if account in refused:
            raise refused[account]

    def take(self, conn: sa.Connection, accounts: list[str]) -> dict[str, AccountBusy]:
        """Take the leases of `accounts` in the caller's transaction; returns the refused ones and why.

        One insert takes every free lease (a lease another process inserts first is left to it); stale ones
        are taken over one by one by compare-and-swap on their holder, which is rare.
        """
        table = SYNC_LEASE
        now = self.now()
        values = {
            "holder": self.holder.id,
            "host": self.holder.host,
            "pid": self.holder.pid,
            "acquired_at": now,
            "expires_at": now + self.ttl,
        }
        wanted = sorted(set(accounts))  # one order for every process: two inserts never wait on each other
        found = {row["account"]: LeaseRow(**row) for row in conn.execute(_LEASES_OF, {"b_accounts": wanted}).mappings()}
        refused: dict[str, AccountBusy] = {}
        mine = [a for a in wanted if a in found and found[a].holder == self.holder.id]
        stale = [a for a in wanted if a in found and a not in mine and self.stale(found[a], now)]
        for account, lease in found.items():
            if account not in mine and account not in stale:
                refused[account] = AccountBusy(
                    f"{account}: being synced by another tracker process ({lease.describe()}); skipped"
                )
        synced = self._synced_since_opened(conn, [a for a in wanted if a not in found or a in stale])
        refused.update(synced)
        free = [a for a in wanted if a not in found and a not in synced]
        if free:
            inserted = conn.execute(_TAKE_FREE[conn.dialect.name], [{"account": a, **values} for a in free])
            got = {row[0] for row in inserted}
            for account in free:
                if account not in got:
                    refused[account] = AccountBusy(f"{account}: another process started syncing it just now; skipped")
        for account in mine + [a for a in stale if a not in synced]:
            if account in stale:
                log.warning("%s: recovered a stale sync lock held by %s", account, found[account].describe())
            taken = conn.execute(
                sa.update(table)
                .where(table.c.account == account, table.c.holder == found[account].holder)
                .values(**values)
            )
            if taken.rowcount != 1:
                refused[account] = AccountBusy(f"{account}: another process took it over just now; skipped")
        with self._guard:
            self._held.update(a for a in wanted if a not in refused)
        return refused

    def _synced_since_opened(self, conn: sa.Connection, accounts: list[str]) -> dict[str, AccountBusy]:
        """Accounts another process synced after this run began (it released the lease a moment ago)."""
        if not accounts:
            return {}
        rows = conn.execute(_SYNCED_SINCE, {"b_accounts": accounts, "b_since": self.opened})
        return {
            account: AccountBusy(
                f"{account}: synced by another tracker process at {finished:%H:%M:%S} UTC, after this run began; "
                "skipped"
            )
            for account, finished in rows
            if finished is not None
        }

    def stale(self, lease: LeaseRow, now: datetime) -> bool:
        """Expired, or its holder's process is gone (only knowable on the same host)."""
        if lease.expires_at <= now:
            return True
        return lease.host == self.holder.host and not self.alive(lease.pid)

    def release(self, account: str) -> None:
        """Give the lease back; a lease someone else took over in the meantime stays theirs."""
        self.release_many([account])

    def release_many(self, accounts: list[str]) -> None:
        """Give back these leases in one transaction."""
        with self._guard:
            if not self._held.intersection(accounts):
                return
        with self.engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
            self.give_back(conn, accounts)

    def give_back(self, conn: sa.Connection, accounts: list[str]) -> None:
        """Give back these leases (those this syncer holds) in the caller's transaction."""
        with self._guard:
            held = sorted(a for a in set(accounts) if a in self._held)
            self._held.difference_update(held)
        if held:
            conn.execute(_GIVE_BACK, {"b_accounts": held, "b_holder": self.holder.id})

    def release_all(self) -> None:
        with self._guard:
            held = list(self._held)
        self.release_many(held)

    def renew(self) -> None:
        """Push every held lease's expiry forward, so a long fetch is not mistaken for a crash."""
        with self._guard:
            held = list(self._held)
        if not held:
            return
        table = SYNC_LEASE
        with self.engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
            conn.execute(
                sa.update(table)
                .where(table.c.account.in_(held), table.c.holder == self.holder.id)
                .values(expires_at=self.now() + self.ttl)
            )

    @contextmanager
    def held(self) -> Iterator[None]:
        """Renew the held leases every third of their lifetime; release whatever is left at the end."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.ttl.total_seconds() / 3):
                try:
                    self.renew()
                except (sa.exc.SQLAlchemyError, TrackerError) as exc:  # a full disk, a lost server: try again later
                    log.warning("could not renew sync locks (%s); will try again", exc)

        thread = threading.Thread(target=beat, name="tracker-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            self.release_all()


# The statements a sync runs for every batch of accounts, built once: SQLAlchemy then compiles each once
# (expanding parameters take any number of accounts) instead of building and caching them per batch.
_LEASES_OF = sa.select(SYNC_LEASE).where(SYNC_LEASE.c.account.in_(sa.bindparam("b_accounts", expanding=True)))
_GIVE_BACK = sa.delete(SYNC_LEASE).where(
    SYNC_LEASE.c.account.in_(sa.bindparam("b_accounts", expanding=True)),
    SYNC_LEASE.c.holder == sa.bindparam("b_holder"),
)
_SYNCED_SINCE = (
    sa.select(ACCOUNT_RUN.c.account, sa.func.max(ACCOUNT_RUN.c.finished_at))
    .where(
        ACCOUNT_RUN.c.account.in_(sa.bindparam("b_accounts", expanding=True)),
        ACCOUNT_RUN.c.status.in_(ATTEMPTED),
        ACCOUNT_RUN.c.finished_at >= sa.bindparam("b_since", type_=ACCOUNT_RUN.c.finished_at.type),
    )
    .group_by(ACCOUNT_RUN.c.account)
)
# Every free lease in one INSERT that skips rows already there (ON CONFLICT DO NOTHING) and says which it took.
_TAKE_FREE = {
    name: dialect.insert(SYNC_LEASE).on_conflict_do_nothing().returning(SYNC_LEASE.c.account)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def current_leases(engine: Engine) -> list[LeaseRow]:
    """Every lease in the table, for `tracker status`."""
    table = SYNC_LEASE
    with engine.connect() as conn:
        return [LeaseRow(**row) for row in conn.execute(sa.select(table)).mappings()]
