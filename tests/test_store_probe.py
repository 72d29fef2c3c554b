"""Whether a database holds nothing, read with sqlite3 alone (tracker.store.probe)."""

import sqlite3

import pytest

from tracker.store.db import open_engine
from tracker.store.probe import holds_nothing


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://tracker@127.0.0.1:5432/tracker",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite+pysqlite:///{db}",
        "sqlite:///{db}?mode=ro",
    ],
)
def test_only_a_plain_sqlite_file_is_probed(tmp_path, url):
    assert holds_nothing(url.format(db=tmp_path / "missing.db")) is False


def test_a_file_not_there_yet_holds_nothing(tmp_path):
    assert holds_nothing(f"sqlite:///{tmp_path / 'missing.db'}") is True
    assert not (tmp_path / "missing.db").exists()


def test_a_migrated_database_without_rows_holds_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    open_engine(url).dispose()
    assert holds_nothing(url) is True


def test_one_row_in_any_table_is_something(tmp_path):
    db = tmp_path / "t.db"
    open_engine(f"sqlite:///{db}").dispose()
    with sqlite3.connect(db) as conn:
        conn.execute('CREATE TABLE "a ""quoted"" table" (x)')
        conn.execute('INSERT INTO "a ""quoted"" table" VALUES (1)')
    conn.close()
    assert holds_nothing(f"sqlite:///{db}") is False


def test_a_file_that_is_no_database_is_left_to_the_usual_path(tmp_path):
    db = tmp_path / "t.db"
    db.write_bytes(b"a shopping list\n" * 100)
    assert holds_nothing(f"sqlite:///{db}") is False
    assert db.read_bytes() == b"a shopping list\n" * 100
