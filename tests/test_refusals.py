"""Input tracker must refuse with one line instead of misreading: files that are no order export, newer databases.

Every file is written here in tmp_path; header shapes follow real exports (LinkedIn, Meta Business Suite,
GA4, Plausible, Matomo) as described in plugins/_csv_columns.py, with made-up numbers.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.test_cli import invoke, write_config
from tracker.store import migrations


# --- a database written by a newer tracker --------------------------------------------------------------------------


def bump_schema(db: Path, extra: int) -> int:
    """Record `extra` migrations this release does not know, as a newer tracker would; returns the new count."""
    names = [f"m{900 + i}_from_a_newer_tracker" for i in range(extra)]
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO _tracker_migrations (name, applied_at) VALUES (?, '2030-01-01 00:00:00')",
                         [(n,) for n in names])
    conn.close()
    return len(migrations.MIGRATIONS) + extra


@pytest.mark.parametrize("command", [["report"], ["sync"], ["status"], ["log", "list"]])
def test_a_database_with_a_newer_schema_is_one_line_exit_2_and_left_byte_for_byte(cli, tmp_path, command):
    config = write_config(tmp_path)
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    db = tmp_path / "t.db"
    schema = bump_schema(db, 2)
    before = db.read_bytes()

    result = invoke(cli, *command, "--config", str(config))

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: upgrade tracker: {db} was written by a newer tracker "
        f"(schema {schema}; this release knows up to {len(migrations.MIGRATIONS)}); it was left untouched"
    ]
    assert "Traceback" not in result.output
    assert db.read_bytes() == before
