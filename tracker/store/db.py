"""Opening the database: engine, SQLite pragmas, migrations, faults in the user's terms.

SQLite gets WAL (readers never block the writer), foreign keys, a busy
timeout so two processes wait for each other instead of failing, and
explicit BEGIN so that DDL in migrations is transactional too (pysqlite
otherwise commits before every CREATE). Other URLs go to SQLAlchemy as they are.

Faults that are the machine's, not tracker's (a damaged file, a read-only
file, folder, mount or immutable flag, a full disk) are turned into domain
errors where the driver raises them, on every engine opened here: whichever
command or write meets one, the user gets one line saying what and what to do.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext

from tracker.errors import DiskFull, ReadOnlyDatabase, StoreError, TrackerError, UnreadableDatabase
from tracker.store import migrations

WRITE_OPTION = migrations.WRITE_OPTION
ELSEWHERE = "or set `database` in the config to another file"
FS_IOC_GETFLAGS = 0x80086601  # Linux: read a file's attributes (lsattr)
FS_IMMUTABLE_FL = 0x10


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")  # first: switching a new file to WAL waits for the other opener
        _patiently(lambda: cursor.execute("PRAGMA journal_mode=WAL"))
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front: upgrading a read lock later fails without waiting.
        write = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


LOCKED_RETRIES = 40  # about 30 s in all: the busy timeout's length


def _patiently(step: Callable[[], Any]) -> Any:
    """Run `step`, again after a short pause while another process holds a lock SQLite does not wait for.

    The busy timeout covers most waits, but not all: a connection that must upgrade its read lock, or
    switch a new file to WAL while another opener does the same, is told "database is locked" at once.
    """
    for attempt in range(LOCKED_RETRIES):
        try:
            return step()
        except (sqlite3.OperationalError, sa.exc.OperationalError) as exc:
            if "locked" not in str(exc) or attempt == LOCKED_RETRIES - 1:
                raise
            time.sleep(min(0.05 * (attempt + 1), 1.0))
    raise AssertionError("unreachable")


def _sqlite_path(engine: Engine) -> Path | None:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    return Path(database) if database and database != ":memory:" else None


def _immutable(path: Path) -> bool:
    """The file carries Linux's immutable attribute (chattr +i), which even root cannot write through."""
    try:
        import fcntl
        import struct

        fd = os.open(path, os.O_RDONLY)
    except (ImportError, OSError):
        return False
    try:
        flags = struct.unpack("i", fcntl.ioctl(fd, FS_IOC_GETFLAGS, b"\0" * 8)[:4])[0]
    except OSError:
        return False
    finally:
        os.close(fd)
    return bool(flags & FS_IMMUTABLE_FL)


def read_only_reason(path: Path) -> str | None:
    """Why this SQLite file cannot be written, in the terms the user fixes it in; None if nothing here says so."""
    folder = path.parent
    try:
        if os.statvfs(path if path.exists() else folder).f_flag & os.ST_RDONLY:
            return f"{path} is on a read-only file system; remount it read-write, {ELSEWHERE} on a writable disk"
    except OSError:
        return None
    if path.exists() and _immutable(path):
        return f"{path} is marked immutable; remove the mark (as root: chattr -i {path}), {ELSEWHERE}"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} is a read-only file; make it writable (chmod u+w {path}), {ELSEWHERE}"
    if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"{path}: its folder {folder} is read-only, and SQLite writes its journal files beside the database; "
            f"make the folder writable, {ELSEWHERE}"
        )
    return None


def _sqlite_fault(exc: sqlite3.Error, where: str, path: Path | None) -> StoreError | None:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_CORRUPT:
        return UnreadableDatabase(f"{where} is damaged ({exc}); restore it from a backup, {ELSEWHERE}")
    if code == sqlite3.SQLITE_NOTADB:
        return UnreadableDatabase(f"{where}: {exc}; restore it from a backup, {ELSEWHERE}")
    if code == sqlite3.SQLITE_FULL:
        return DiskFull(
            f"the disk holding {where} is full ({exc}); free some space and run again (the failed write stored nothing)"
        )
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        reason = read_only_reason(path) if path else None
        if reason:
            return ReadOnlyDatabase(reason)
        if code == sqlite3.SQLITE_READONLY:
            return ReadOnlyDatabase(
                f"{where} cannot be written ({exc}); check that you may write it and its folder, {ELSEWHERE}"
            )
        return StoreError(
            f"cannot open {where} ({exc}); check that its folder exists and that you may write to it, {ELSEWHERE}"
        )
    if code == sqlite3.SQLITE_IOERR:
        return StoreError(f"{where}: {exc}: the disk or its file system failed; check it, then run again")
    return None


def _server_fault(exc: BaseException, where: str) -> StoreError | None:
    """PostgreSQL's SQLSTATEs for the same faults (psycopg sets `sqlstate`)."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if sqlstate == "53100":
        return DiskFull(
            f"the disk of the database server for {where} is full ({first_line}); free some space there and run again"
        )
    if sqlstate == "25006":
        return ReadOnlyDatabase(
            f"{where} is read-only ({first_line}); point `database` at a server that accepts writes"
        )
    if sqlstate in ("XX001", "XX002"):
        return UnreadableDatabase(f"{where}: {first_line}, the database is damaged; restore it from a backup")
    return None


def fault(exc: BaseException, where: str, path: Path | None = None) -> StoreError | None:
    """The domain error for a driver's exception that is the machine's fault, or None to let it pass as it is."""
    if isinstance(exc, sqlite3.Error):
        return _sqlite_fault(exc, where, path)
    return _server_fault(exc, where)


def leftover_fault(exc: BaseException) -> StoreError | None:
    """One line for a database error no engine translated: the lock another process held past the busy timeout."""
    if not isinstance(exc, sa.exc.OperationalError):
        return None  # an IntegrityError or a ProgrammingError is a bug: its traceback is wanted
    code = getattr(exc.orig, "sqlite_errorcode", 0) & 0xFF
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(
            f"the database stayed locked by another process for 30 s ({exc.orig}); run again when it is done"
        )
    text = str(exc.orig).strip()
    return StoreError(f"the database failed: {text.splitlines()[0] if text else type(exc.orig).__name__}")


def _translate_faults(engine: Engine) -> None:
    where, path = migrations.location(engine), _sqlite_path(engine)

    @event.listens_for(engine, "handle_error")
    def _on_error(ctx: ExceptionContext) -> None:
        found = fault(ctx.original_exception, where, path)
        if found is not None:
            raise found from ctx.original_exception


def _make_folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = read_only_reason(path)
        if reason:
            raise ReadOnlyDatabase(reason) from None
        raise StoreError(
            f"cannot create the folder {path.parent} for the database ({exc.strerror}); {ELSEWHERE}"
        ) from None


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """Create the engine for `url` and bring its schema up to date; a newer schema raises NewerSchema."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) not in ("", ":memory:"):
            _make_folder(path)
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database URL: {exc}") from None
    _translate_faults(engine)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    if migrate:
        try:
            _patiently(lambda: migrations.migrate(engine))
        except TrackerError:
            engine.dispose()  # let go of the file at once: it is the user's to keep, restore or move
            raise
        except sa.exc.OperationalError as exc:
            engine.dispose()
            raise StoreError(
                f"cannot open database {engine.url.render_as_string(hide_password=True)}: {exc.orig}"
            ) from None
        except sa.exc.DatabaseError as exc:
            engine.dispose()
            raise UnreadableDatabase(
                f"{migrations.location(engine)}: {exc.orig}; restore it from a backup, {ELSEWHERE}"
            ) from None
    return engine
