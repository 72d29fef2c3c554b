"""`tracker db migrate --to URL`: a whole history copied into another database, checked, resumable.

The source is a real SQLite history (demo accounts synced, a logged sale, and one row in every table the
sync left empty, found by reflection), copied into a fresh database on the real PostgreSQL server and
back into a SQLite file. PostgreSQL tests skip without TRACKER_TEST_POSTGRES_URL (.ci/run sets it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tracker.cli.main import app
from tracker.store import copy, migrations
from tracker.store.db import open_engine

BOOKKEEPING = {migrations.TABLE, copy.PROGRESS_TABLE}
ACCOUNTS = ("Bakery", "alpha", "café", "zeta")  # upper, lower case and non-ASCII: sorted otherwise by each collation
PASSWORD = "s3cret-pg-passw0rd"


def write_config(path: Path, database: str) -> Path:
    accounts = "".join(f'[accounts."{name}"]\nplugin = "demo"\nseed = {i + 1}\n' for i, name in enumerate(ACCOUNTS))
    path.write_text(f'database = "{database}"\ntimezone = "UTC"\ninitial_days = 40\n{accounts}', encoding="utf-8")
    return path


def value_for(column: sa.Column[Any]) -> object:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return 1  # run 1 exists: foreign keys to sync_run hold
    if isinstance(kind, (sa.Float, sa.Numeric)):
        return 0.1 + 0.2  # not exactly 0.3: a float must survive to the last bit
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    if isinstance(kind, sa.Date):
        return date(2026, 2, 28)
    return "ünïcode 'quoted' \\ text"


def fill_empty_tables(url: str) -> None:
    """One row in each table the sync left empty, so every table of the schema is copied with data."""
    engine = open_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect().execution_options(**{migrations.WRITE_OPTION: True}) as conn, conn.begin():
        for table in metadata.sorted_tables:
            if table.name in BOOKKEEPING or conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
                continue
            conn.execute(table.insert().values({c.name: value_for(c) for c in table.columns}))
    engine.dispose()


def normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return value


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (bookkeeping aside), in one order, with times as naive UTC."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    try:
        with engine.connect() as conn:
            found = {}
            for table in metadata.sorted_tables:
                if table.name in BOOKKEEPING:
                    continue
                rows = [tuple(normal(v) for v in row) for row in conn.execute(sa.select(table))]
                found[table.name] = sorted(rows, key=repr)
            return found
    finally:
        engine.dispose()


def counts(url: str) -> dict[str, int]:
    return {name: len(rows) for name, rows in contents(url).items()}


def report_json(runner: CliRunner, config: Path) -> str:
    result = runner.invoke(app, ["report", "--config", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    return "\n".join(line for line in result.stdout.splitlines() if '"generated_at"' not in line)


@pytest.fixture
def history(tmp_path: Path, cli: CliRunner) -> Path:
    """A config whose SQLite database holds synced demo accounts, a logged sale and a row in every table."""
    config = write_config(tmp_path / "config.toml", str(tmp_path / "history.db"))
    assert cli.invoke(app, ["sync", "--config", str(config)]).exit_code == 0
    sale = cli.invoke(app, ["log", "sale", "--config", str(config), "--platform", "instagram", "--amount", "12.5"])
    assert sale.exit_code == 0, sale.output
    fill_empty_tables(f"sqlite:///{tmp_path / 'history.db'}")
    return config


def migrate(runner: CliRunner, config: Path, to: str, *more: str) -> Any:
    return runner.invoke(app, ["db", "migrate", "--config", str(config), "--to", to, *more])


def source_url(config: Path) -> str:
    return f"sqlite:///{config.parent / 'history.db'}"


def test_a_history_copied_to_postgres_and_back_to_sqlite_is_equal_row_for_row(history, pg_url, tmp_path, cli):
    to_pg = migrate(cli, history, pg_url)
    assert to_pg.exit_code == 0, to_pg.output
    assert "row counts equal; `tracker report --format json` identical on both" in to_pg.stdout
    pg_config = write_config(tmp_path / "pg.toml", pg_url)
    back = tmp_path / "back.db"
    to_sqlite = migrate(cli, pg_config, str(back))
    assert to_sqlite.exit_code == 0, to_sqlite.output
    original, on_pg, returned = contents(source_url(history)), contents(pg_url), contents(f"sqlite:///{back}")
    assert all(original.values()), "every table of the schema took part, with rows"
    assert {t: len(r) for t, r in on_pg.items()} == {t: len(r) for t, r in original.items()}
    assert returned == original
    back_config = write_config(tmp_path / "back.toml", str(back))
    assert report_json(cli, pg_config) == report_json(cli, history) == report_json(cli, back_config)


def test_the_summary_gives_every_tables_rows_on_both_sides(history, tmp_path, cli):
    result = migrate(cli, history, str(tmp_path / "copy.db"))
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[2:] if len(line.split()) == 3}
    expected = counts(source_url(history))
    assert {name: [str(n), str(n)] for name, n in expected.items()} == lines


def test_a_sync_into_the_postgres_copy_continues_after_the_copied_run_ids(history, pg_url, tmp_path, cli):
    assert migrate(cli, history, pg_url).exit_code == 0
    before = max(row[0] for row in contents(pg_url)["sync_run"])
    synced = cli.invoke(app, ["sync", "--config", str(write_config(tmp_path / "pg.toml", pg_url))])
    assert synced.exit_code == 0, synced.output
    assert max(row[0] for row in contents(pg_url)["sync_run"]) == before + 1


def test_a_target_that_already_holds_data_is_refused_in_one_line_with_exit_2(history, tmp_path, cli):
    other = write_config(tmp_path / "other.toml", str(tmp_path / "other.db"))
    assert cli.invoke(app, ["sync", "--config", str(other), "--account", "zeta"]).exit_code == 0
    before = contents(f"sqlite:///{tmp_path / 'other.db'}")
    result = migrate(cli, history, str(tmp_path / "other.db"))
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith(f"error: {tmp_path / 'other.db'} already holds other data (")
    assert "copy into an empty database" in result.stderr
    assert result.stdout == "", "nothing is copied"
    assert contents(f"sqlite:///{tmp_path / 'other.db'}") == before


def test_resume_refuses_a_target_whose_data_no_copy_left(history, tmp_path, cli):
    other = write_config(tmp_path / "other.toml", str(tmp_path / "other.db"))
    assert cli.invoke(app, ["sync", "--config", str(other), "--account", "zeta"]).exit_code == 0
    result = migrate(cli, history, str(tmp_path / "other.db"), "--resume")
    assert result.exit_code == 2
    assert "that no copy from this database left" in result.stderr


def test_a_finished_copy_is_not_copied_again_without_resume(history, tmp_path, cli):
    target = str(tmp_path / "copy.db")
    assert migrate(cli, history, target).exit_code == 0
    again = migrate(cli, history, target)
    assert again.exit_code == 2
    assert f"already holds a copy from {tmp_path / 'history.db'}; add --resume" in again.stderr
    checked = migrate(cli, history, target, "--resume")
    assert checked.exit_code == 0, checked.output
    assert counts(f"sqlite:///{target}") == counts(source_url(history))


def test_copying_into_the_configs_own_database_is_refused(history, cli):
    result = migrate(cli, history, str(history.parent / "history.db"))
    assert result.exit_code == 2
    assert "is the config's own database" in result.stderr


def test_the_target_urls_password_is_never_printed(history, pg_url, cli):
    with_password = sa.make_url(pg_url).set(password=PASSWORD).render_as_string(hide_password=False)
    result = migrate(cli, history, with_password)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    refused = migrate(cli, history, with_password)
    assert refused.exit_code == 2
    assert PASSWORD not in refused.output and "REDACTED@" in refused.stderr


class StopAfter:
    """A progress display that asks the copy to stop after `batches` batches, as Ctrl-C does."""

    def __init__(self, batches: int) -> None:
        self.left = batches
        self.stop = threading.Event()

    def start(self, resumed: bool) -> None:
        pass

    def table(self, name: str, total: int, done: int) -> None:
        pass

    def copied(self, name: str, rows: int) -> None:
        self.left -= 1
        if self.left == 0:
            self.stop.set()


def stopped_copy(source_url: str, target_url: str, batch: int, batches: int) -> None:
    """Copy until the stop after `batches` batches, as an interrupted `tracker db migrate` does."""
    source, into = open_engine(source_url), open_engine(target_url)
    stopping = StopAfter(batches)
    try:
        with pytest.raises(copy.CopyStopped, match="run the same command with --resume"):
            copy.copy_history(source, into, batch=batch, progress=stopping, stop=stopping.stop)
    finally:
        source.dispose()
        into.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'copy.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_an_interrupted_copy_is_finished_by_resume_without_a_row_twice(history, target, cli):
    stopped_copy(source_url(history), target, batch=100, batches=12)
    partial = sum(counts(target).values())
    assert 0 < partial < sum(counts(source_url(history)).values())
    refused = migrate(cli, history, target)
    assert refused.exit_code == 2 and "add --resume to finish" in refused.stderr
    resumed = migrate(cli, history, target, "--resume", "--batch-size", "100")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.startswith("resuming the copy of ")
    assert contents(target) == contents(source_url(history))


def test_a_table_a_later_migration_adds_is_copied_too(history, tmp_path, monkeypatch, cli):
    def m999_later_table(conn: sa.Connection) -> None:
        md = sa.MetaData()
        sa.Table("later_table", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.String))
        md.create_all(conn)

    later = migrations.Migration("m999_later_table", m999_later_table)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, later])
    engine = open_engine(source_url(history))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO later_table (id, text) VALUES (1, 'reply to Anna'), (2, 'thank Ben')"))
    engine.dispose()
    result = migrate(cli, history, str(tmp_path / "copy.db"))
    assert result.exit_code == 0, result.output
    assert contents(f"sqlite:///{tmp_path / 'copy.db'}")["later_table"] == [(1, "reply to Anna"), (2, "thank Ben")]


@pytest.fixture
def icu_pg_url(pg_url: str) -> Iterator[str]:
    """A PostgreSQL database sorting text by the English rules ('a' < 'B'), not by bytes as SQLite does ('B' < 'a')."""
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"tracker_icu_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"
            )
    except sa.exc.DBAPIError as exc:
        admin.dispose()
        pytest.skip(f"this PostgreSQL server cannot create an ICU-collated database: {exc.orig}")
    yield sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def test_a_copy_from_a_database_that_sorts_text_otherwise_resumes_in_its_own_order(history, icu_pg_url, tmp_path, cli):
    assert migrate(cli, history, icu_pg_url).exit_code == 0
    back = f"sqlite:///{tmp_path / 'back.db'}"
    stopped_copy(icu_pg_url, back, batch=1, batches=2)  # 'alpha' and 'Bakery': in ICU order
    resumed = migrate(cli, write_config(tmp_path / "pg.toml", icu_pg_url), back, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert contents(back) == contents(source_url(history))


def wait_for(what: str, check: Callable[[], object], timeout: float = 60.0) -> None:
    """Poll until `check()` is truthy; how long it takes is not what these tests measure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def copied_so_far(url: str) -> tuple[int, bool]:
    """Rows the copy committed so far, and whether every table is finished."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(copy.PROGRESS_TABLE):
                return 0, False
            rows = conn.execute(sa.text(f"SELECT rows, finished FROM {copy.PROGRESS_TABLE}")).all()
    finally:
        engine.dispose()
    return sum(r[0] for r in rows), bool(rows) and all(r[1] for r in rows)


@pytest.mark.subprocess
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_copy_killed_mid_way_is_finished_by_resume(history, pg_url, cli, stop):
    exe = shutil.which("tracker", path=os.path.dirname(sys.executable)) or shutil.which("tracker")
    assert exe, "the tracker console script is not installed"
    command = [exe, "db", "migrate", "--config", str(history), "--to", pg_url, "--batch-size", "10"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for("the copy to commit some batches", lambda: copied_so_far(pg_url)[0] >= 50)
        os.kill(proc.pid, stop)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if stop == signal.SIGTERM:
        assert proc.returncode == 130, err
        assert err == f"error: {copy.STOPPED}\n"
    rows, finished = copied_so_far(pg_url)
    assert not finished, "the copy ended before it was stopped: give it more rows"
    assert sum(counts(pg_url).values()) == rows, "only whole batches, each with its progress row, were committed"
    resumed = migrate(cli, history, pg_url, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert contents(pg_url) == contents(source_url(history))
