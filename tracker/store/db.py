"""Opening the database: engine, SQLite pragmas, migrations.

SQLite gets WAL (readers never block the writer), foreign keys, a busy
timeout so two processes wait for each other instead of failing, and
explicit BEGIN so that DDL in migrations is transactional too (pysqlite
otherwise commits before every CREATE). Other URLs go to SQLAlchemy as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tracker.errors import NewerSchema, StoreError, UnreadableDatabase
from tracker.store import migrations


WRITE_OPTION = "tracker_write"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front: upgrading a read lock later fails without waiting.
        write = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """Create the engine for `url` and bring its schema up to date; a newer schema raises NewerSchema."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) not in ("", ":memory:"):
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database URL: {exc}") from None
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    if migrate:
        try:
            migrations.migrate(engine)
        except NewerSchema:
            engine.dispose()  # let go of the file at once: it is the user's to keep for the newer tracker
            raise
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot open database {engine.url.render_as_string(hide_password=True)}: {exc.orig}") from None
        except sa.exc.DatabaseError as exc:
            raise UnreadableDatabase(
                f"{migrations.location(engine)}: {exc.orig}; restore it from a backup, "
                "or set `database` in the config to another file"
            ) from None
    return engine
