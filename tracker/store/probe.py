"""Whether a database holds nothing at all, found with the standard library's sqlite3 alone.

`tracker report` on a database that holds nothing shows the empty report. Finding that out through
SQLAlchemy would cost its import, most of the command's time. Only a plain SQLite file is probed; any
doubt (another URL, a file SQLite cannot read, a lock) answers False and the caller opens the database
as usual, with its migrations and its errors in the user's terms.

Every table is looked at, not a list of tracker's: a database written by an older or a newer tracker
holds nothing only if no table holds a row, so no stored row is ever read past or left unmigrated.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SQLITE = "sqlite:///"
MIGRATIONS_TABLE = "_tracker_migrations"  # tracker.store.migrations.TABLE: the schema's record, not data


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL (no driver, no options, not in memory); None otherwise."""
    if not url.startswith(SQLITE) or "?" in url:
        return None
    path = url.removeprefix(SQLITE)
    return Path(path) if path not in ("", ":memory:") else None


def holds_nothing(url: str) -> bool:
    """True if `url` is a SQLite file that does not exist yet, or one whose tables hold no row."""
    path = sqlite_file(url)
    if path is None:
        return False
    if not path.exists():
        return True
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except (sqlite3.Error, ValueError):
        return False
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        data = [t for t in tables if t != MIGRATIONS_TABLE and not t.startswith("sqlite_")]
        return not any(_has_rows(conn, t) for t in data)
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def _has_rows(conn: sqlite3.Connection, table: str) -> bool:
    quoted = '"' + table.replace('"', '""') + '"'
    return conn.execute(f"SELECT 1 FROM {quoted} LIMIT 1").fetchone() is not None
