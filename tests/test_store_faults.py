"""Faults of the database itself: one line and exit 2 instead of a traceback, runs closed, migrations serialised.

Each fault is made for real: a newer tracker's migration record, two processes opening one fresh file,
damaged pages, a read-only file, a read-only mount, an immutable file, a full disk, a SIGKILLed sync.
Mounts and `chattr` need root; where the test cannot make the fault it is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.test_cli import invoke, write_config
from tracker.errors import NewerSchema
from tracker.registry import discover
from tracker.store import migrations, writes
from tracker.sync import Syncer

FUTURE = "m999_future_change"
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def query(db: Path, sql: str) -> list[tuple]:
    """Read with plain sqlite3, so the check does not depend on the code under test."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def record_future_migration(db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO _tracker_migrations (name, applied_at) VALUES (?, '2030-01-01 00:00:00')", (FUTURE,))
    conn.close()


def one_error_line(result) -> str:
    """The command's stderr, which must be one `error:` line and no traceback."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def synced(cli, tmp_path: Path) -> tuple[Path, Path]:
    """A config with the demo account and its database after one sync: (config, database file)."""
    config = write_config(tmp_path, '[accounts.bakery]\nplugin = "demo"\ninitial_days = 30\n')
    result = invoke(cli, "sync", "--config", str(config))
    assert result.exit_code == 0, result.output
    return config, tmp_path / "t.db"


def tracker_command() -> str:
    exe = shutil.which("tracker", path=os.path.dirname(sys.executable)) or shutil.which("tracker")
    assert exe, "the tracker console script is not installed"
    return exe


def run_root(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


@pytest.fixture
def mounts() -> Iterator[Callable[..., None]]:
    """Mount file systems for a test (root only); every one is unmounted afterwards."""
    made: list[Path] = []

    def mount(*args: str, target: Path) -> None:
        if not ROOT:
            pytest.skip("needs root to mount a file system (run as an ordinary user, the test cannot make this fault)")
        done = run_root("mount", *args, str(target))
        if done.returncode != 0:
            pytest.skip(f"root, but mount {' '.join(args)} was refused here: {done.stderr.strip()}")
        made.append(target)

    yield mount
    for target in reversed(made):
        if run_root("umount", str(target)).returncode != 0:
            run_root("umount", "-l", str(target))


# --- 7: a database written by a newer tracker ------------------------------------------------------------------------


def test_db_status_names_the_migrations_this_release_does_not_know_and_exits_2(cli, synced):
    config, db = synced
    record_future_migration(db)
    before = db.read_bytes()

    result = invoke(cli, "db", "status", "--config", str(config))

    assert result.exit_code == 2
    known = len(migrations.MIGRATIONS)
    assert f"migrations applied: {known + 1}, this release knows {known}" in result.stdout
    assert f"unknown to this release: {FUTURE}" in result.stdout
    assert "pending: 0" not in result.stdout
    assert one_error_line(result) == (
        f"error: upgrade tracker: {db} was written by a newer tracker "
        f"(schema {known + 1}; this release knows up to {known}); it was left untouched"
    )
    assert db.read_bytes() == before


def test_an_engine_opened_before_a_newer_tracker_migrated_the_file_refuses_the_next_sync(make_config, engine, db_url):
    cfg = make_config({"bakery": {"plugin": "demo", "initial_days": 3}})
    syncer = Syncer(cfg, discover(), engine)
    assert syncer.run().ok
    db = Path(sa.make_url(db_url).database)
    record_future_migration(db)  # a daemon keeps its engine open while the owner runs a newer tracker

    with pytest.raises(NewerSchema, match="written by a newer tracker"):
        Syncer(cfg, discover(), engine).run()

    assert query(db, "SELECT COUNT(*) FROM sync_run") == [(1,)]


# --- 8: two processes open one fresh database -------------------------------------------------------------------------

# Imports first, then waits for a line on stdin: both processes reach the migration within a moment of each
# other, which process start-up (a second of imports) would otherwise leave to chance.
GATED_TRACKER = (
    "import sys; import tracker.cli.main as cli, tracker.sync, tracker.store.db; sys.stdin.readline(); "
    "sys.argv = ['tracker', *sys.argv[1:]]; cli.run()"
)
PAIRS = 10


def sync_pair(config: Path, env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    """Two real `tracker sync` processes released at the same moment; returns both when they have exited."""
    args = [sys.executable, "-c", GATED_TRACKER, "sync", "--config", str(config)]
    procs = [
        subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def pair_config(folder: Path, database: str) -> Path:
    folder.mkdir()
    config = folder / "config.toml"
    config.write_text(
        f'database = "{database}"\ntimezone = "UTC"\n[accounts.bakery]\nplugin = "demo"\ninitial_days = 3\n',
        encoding="utf-8",
    )
    return config


def applied_names(url: str) -> list[str]:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as conn:
            return [r[0] for r in conn.execute(sa.text(f"SELECT name FROM {migrations.TABLE} ORDER BY name"))]
    finally:
        eng.dispose()


def assert_pair_migrated_once(pair: list[subprocess.CompletedProcess[str]], url: str, attempt: int) -> None:
    for run in pair:
        assert run.returncode == 0, f"pair {attempt}: {run.stderr.strip()}"
        assert "error" not in run.stderr, f"pair {attempt}: {run.stderr.strip()}"
    assert applied_names(url) == sorted(m.name for m in migrations.MIGRATIONS), f"pair {attempt}"


@pytest.mark.subprocess
def test_two_syncs_on_a_fresh_sqlite_file_both_succeed_and_migrate_it_once(tmp_path):
    env = {**os.environ, "COLUMNS": "160"}
    for attempt in range(1, PAIRS + 1):
        folder = tmp_path / f"pair{attempt}"
        config = pair_config(folder, str(folder / "t.db"))
        pair = sync_pair(config, env)
        assert_pair_migrated_once(pair, f"sqlite:///{folder / 't.db'}", attempt)


@pytest.mark.subprocess
def test_two_syncs_on_a_fresh_postgresql_database_both_succeed_and_migrate_it_once(tmp_path, pg_url):
    env = {**os.environ, "COLUMNS": "160"}
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(1, PAIRS + 1):
            with admin.connect() as conn:  # fresh again: the previous pair's tables go
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
            pair = sync_pair(pair_config(tmp_path / f"pair{attempt}", pg_url), env)
            assert_pair_migrated_once(pair, pg_url, attempt)
    finally:
        admin.dispose()


# --- 12: damaged pages, read-only file or mount, immutable file, full disk --------------------------------------------


def damage_sample_page(db: Path, which: str) -> None:
    """Overwrite the middle half of one leaf page of the samples' table (its first or last) with garbage."""
    root = query(db, "SELECT rootpage FROM sqlite_master WHERE name = 'series_day'")[0][0]
    data = db.read_bytes()
    size = struct.unpack(">H", data[16:18])[0]
    page = data[size * (root - 1) : size * root]
    assert page[0] == 0x02, "the demo data fills more than one page, so the root is an interior page (WITHOUT ROWID)"
    if which == "last":
        leaf = struct.unpack(">I", page[8:12])[0]  # the right-most child: the newest rows, which a sync rewrites
    else:
        first_cell = struct.unpack(">H", page[12:14])[0]
        leaf = struct.unpack(">I", page[first_cell : first_cell + 4])[0]
    with db.open("r+b") as f:
        f.seek(size * (leaf - 1) + size // 4)
        f.write(b"\xa5" * (size // 2))


@pytest.mark.parametrize("command", [["report"], ["report", "--format", "json"], ["chart"], ["sync"]])
def test_a_database_with_damaged_pages_is_one_line_naming_it_and_exit_2(cli, synced, command):
    config, db = synced
    damage_sample_page(db, "first" if command[0] != "sync" else "last")

    result = invoke(cli, *command, "--config", str(config))

    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"error: {db} is damaged (database disk image is malformed); restore it from a backup, "
        "or set `database` in the config to another file"
    )


def test_a_sync_that_meets_damaged_pages_closes_its_run_as_failed(cli, synced):
    config, db = synced
    damage_sample_page(db, "last")

    assert invoke(cli, "sync", "--config", str(config)).exit_code == 2

    assert query(db, "SELECT id, status FROM sync_run ORDER BY id") == [(1, "ok"), (2, "failed")]
    [(status, error)] = query(db, "SELECT status, error FROM account_run WHERE run_id = 2")
    assert status == "failed" and "is damaged (database disk image is malformed)" in error


def test_a_read_only_file_in_a_read_only_folder_is_one_line_saying_read_only(cli, synced):
    if ROOT:
        pytest.skip("running as root, whom chmod 0444 does not stop from writing; the read-only mount test covers root")
    config, db = synced
    db.chmod(0o444)
    db.parent.chmod(0o555)
    try:
        result = invoke(cli, "sync", "--config", str(config))
    finally:
        db.parent.chmod(0o755)
        db.chmod(0o644)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith(f"error: {db} is a read-only file; make it writable (chmod u+w {db})"), line


@pytest.mark.parametrize("command", [["sync"], ["report"], ["db", "status"], ["log", "sale", "-p", "instagram"]])
def test_a_database_on_a_read_only_mount_is_one_line_saying_read_only(cli, tmp_path, mounts, command):
    source, target = tmp_path / "disk", tmp_path / "mnt"
    source.mkdir()
    target.mkdir()
    config = write_config(source)
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    db = target / "t.db"
    config.write_text(config.read_text().replace(str(source / "t.db"), str(db)), encoding="utf-8")
    mounts("--bind", str(source), target=target)
    mounts("-o", "remount,ro,bind", target=target)
    before = (source / "t.db").read_bytes()

    result = invoke(cli, *command, "--config", str(config))

    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"error: {db} is on a read-only file system; remount it read-write, "
        "or set `database` in the config to another file on a writable disk"
    )
    assert (source / "t.db").read_bytes() == before


@pytest.fixture
def immutable(synced) -> Iterator[Path]:
    """The synced database file marked immutable (chattr +i), unmarked afterwards."""
    _, db = synced
    if not ROOT:
        pytest.skip("needs root to mark a file immutable (chattr +i)")
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed (Debian: e2fsprogs)")
    done = run_root("chattr", "+i", str(db))
    if done.returncode != 0:
        pytest.skip(f"this file system does not take the immutable mark: {done.stderr.strip()}")
    yield db
    run_root("chattr", "-i", str(db))


@pytest.mark.parametrize("command", [["sync"], ["log", "sale", "-p", "instagram", "--amount", "5"]])
def test_writing_to_an_immutable_database_file_is_one_line_saying_so(cli, synced, immutable, command):
    config, db = synced

    result = invoke(cli, *command, "--config", str(config))

    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"error: {db} is marked immutable; remove the mark (as root: chattr -i {db}), "
        "or set `database` in the config to another file"
    )


def test_reading_an_immutable_database_file_still_works(cli, synced, immutable):
    config, _ = synced
    result = invoke(cli, "report", "--config", str(config), "--format", "json")
    assert result.exit_code == 0, result.output


def fill(folder: Path, leave: int) -> None:
    """Write a file that leaves `leave` bytes free on the file system holding `folder`."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with (folder / "filler").open("wb") as f:
        f.write(b"\0" * max(0, free - leave))


def test_a_full_disk_mid_commit_is_one_line_exit_2_and_the_run_is_closed_as_failed(cli, tmp_path, mounts):
    disk = tmp_path / "small"
    disk.mkdir()
    mounts("-t", "tmpfs", "-o", "size=4m", "tmpfs", target=disk)
    db = disk / "t.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{db}"\ntimezone = "UTC"\n[accounts.bakery]\nplugin = "demo"\ninitial_days = 3\n', encoding="utf-8"
    )
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    stored = query(db, "SELECT COUNT(*) FROM sample")
    fill(disk, leave=256 * 1024)  # room to record a run, none for two years of samples

    result = invoke(cli, "sync", "--config", str(config), "--since", "2024-01-01", "--until", "2025-12-31")

    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"error: the disk holding {db} is full (database or disk is full); free some space and run again "
        "(the failed write stored nothing)"
    )
    (disk / "filler").unlink()
    assert query(db, "SELECT COUNT(*) FROM sample") == stored
    assert query(db, "SELECT status FROM sync_run ORDER BY id") == [("ok",), ("failed",)]
    assert query(db, "SELECT status FROM account_run ORDER BY id") == [("ok",), ("failed",)]


# --- 12: runs left `running` by a killed process ----------------------------------------------------------------------


def test_a_run_left_running_by_a_killed_process_is_closed_as_interrupted_at_the_next_sync(make_config, engine, db_url):
    cfg = make_config({"bakery": {"plugin": "demo", "initial_days": 3}})
    killed = writes.start_run(engine, "manual")  # as a SIGKILL leaves them: the run and its account run `running`
    writes.start_account_run(engine, killed, "bakery", date.today(), date.today())
    logged = writes.start_run(engine, "log")  # a `tracker log` killed before it recorded anything

    result = Syncer(cfg, discover(), engine).run()

    db = Path(sa.make_url(db_url).database)
    statuses = dict(query(db, "SELECT id, status FROM sync_run"))
    assert (statuses[killed], statuses[logged], statuses[result.run_id]) == ("interrupted", "interrupted", "ok")
    assert query(db, f"SELECT status FROM account_run WHERE run_id = {killed}") == [("interrupted",)]


def test_a_run_whose_account_is_still_fetching_elsewhere_is_left_running(make_config, engine, db_url):
    cfg = make_config({"bakery": {"plugin": "demo", "initial_days": 3}})
    other = writes.start_run(engine, "schedule")  # another process, fetching an account this sync does not touch
    writes.start_account_run(engine, other, "shop", date.today(), date.today())

    Syncer(cfg, discover(), engine).run()

    db = Path(sa.make_url(db_url).database)
    assert query(db, f"SELECT status FROM sync_run WHERE id = {other}") == [("running",)]


SLEEPY = '''
import os, time
from pathlib import Path
from tracker.plugin import Plugin, Sample

def fetch(opts, window, http, state):
    Path(os.environ["SLEEPY_MARK"]).write_text("fetching")
    time.sleep(float(os.environ.get("SLEEPY_SECONDS", "600")))
    yield [Sample("sleepy", "likes", window.until, 1)]

plugin = Plugin(name="sleepy", platforms=("sleepy",), fetch=fetch)
'''


def wait_for(what: str, check: Callable[[], object], timeout: float = 60.0) -> None:
    """Poll until `check()` is truthy; how long it takes is not what the test measures."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.subprocess
def test_a_sigkilled_sync_run_is_closed_as_interrupted_by_the_next_sync(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "sleepy.py").write_text(SLEEPY, encoding="utf-8")
    db, mark = tmp_path / "t.db", tmp_path / "fetching"
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{db}"\ntimezone = "UTC"\nplugin_dirs = ["{plugins}"]\n[accounts.sleepy]\nplugin = "sleepy"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "COLUMNS": "160", "SLEEPY_MARK": str(mark)}
    proc = subprocess.Popen(
        [tracker_command(), "sync", "--config", str(config)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for("the plugin to start fetching", mark.exists)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert query(db, "SELECT status FROM sync_run") == [("running",)]

    again = subprocess.run(
        [tracker_command(), "sync", "--config", str(config)], env={**env, "SLEEPY_SECONDS": "0"},
        capture_output=True, text=True, timeout=120,
    )

    assert again.returncode == 0, again.stderr
    assert query(db, "SELECT id, status FROM sync_run ORDER BY id") == [(1, "interrupted"), (2, "ok")]
    assert query(db, "SELECT run_id, status FROM account_run ORDER BY id") == [(1, "interrupted"), (2, "ok")]
