"""Several `tracker sync` workers on one PostgreSQL database split the accounts, and survive a crashed one.

The workers are real `tracker sync` processes sharing a config whose 100 accounts use `fast`, a plugin in
a temp plugin folder that yields a few samples without HTTP. Two gate files let a test line the workers
up: `fast` waits for `start` when it is imported (both workers then walk the accounts together) and each
fetch waits for `fetch` (nothing is committed before every worker's run has begun). Where `unshare` can
give a worker its own host name, workers look like separate machines to each other, as they are for an
agency: a crashed worker's leases are then known stale only by their expiry, never by its pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tracker.cli.main import app
from tracker.errors import ConfigError
from tracker.locks import Holder, Leases, current_leases, lease_ttl
from tracker.plugin import Plugin, Sample
from tracker.registry import Entry, discover
from tracker.store.db import open_engine
from tracker.sync import Syncer, leases_ahead

ACCOUNTS = [f"client{i:03d}" for i in range(100)]
WORKERS = 4
DAYS = 5
METRICS = ("likes", "comments")

FAST = '''
import time
from pathlib import Path
from tracker.plugin import Plugin, Sample

HERE = Path(__file__).parent


def wait_for(gate):
    while not (HERE / gate).exists():
        time.sleep(0.01)


wait_for("start")


def fetch(opts, window, http, state):
    wait_for("fetch")
    yield [Sample("fast", metric, day, float(day.day)) for metric in ("likes", "comments") for day in window.days()]


plugin = Plugin(name="fast", platforms=("fast",), fetch=fetch)
'''


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def wait_for(what: str, check: Callable[[], object], timeout: float = 120.0) -> None:
    """Poll until `check()` is truthy; how long it takes is not what these tests measure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def can_name_hosts() -> bool:
    """`unshare --uts` works here (root, or a user namespace): a worker can have its own host name."""
    unshare = shutil.which("unshare")
    if not unshare:
        return False
    probe = subprocess.run([unshare, "--uts", "hostname", "probe-host"], capture_output=True)
    return probe.returncode == 0


@dataclass
class Fleet:
    """Workers on one database: `start` launches `tracker sync` as a process named like a machine."""

    url: str
    folder: Path
    config: Path
    exe: str
    hosts: bool
    lease_seconds: int | None = None

    def open(self, gate: str) -> None:
        (self.folder / "plugins" / gate).write_text("", encoding="utf-8")

    def start(self, host: str) -> subprocess.Popen[str]:
        command = [self.exe, "sync", "--config", str(self.config)]
        if self.hosts:  # unshare execs the shell, which execs tracker: the process keeps its pid
            shell = f'hostname {host} && exec "$0" "$@"'
            command = [shutil.which("unshare") or "unshare", "--uts", "sh", "-c", shell, *command]
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
        if self.lease_seconds:
            env["TRACKER_LEASE_SECONDS"] = str(self.lease_seconds)
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def sql(self, text: str) -> list[tuple[Any, ...]]:
        return query(self.url, text)


@pytest.fixture
def fleet(tmp_path: Path, pg_url: str) -> Iterator[Fleet]:
    """A migrated PostgreSQL database and a config of 100 `fast` accounts; workers left running are killed."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "fast.py").write_text(FAST, encoding="utf-8")
    accounts = "".join(f'[accounts.{name}]\nplugin = "fast"\n' for name in ACCOUNTS)
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{pg_url}"\ntimezone = "UTC"\ninitial_days = {DAYS}\nworkers = {WORKERS}\n'
        f'plugin_dirs = ["{plugins}"]\n'
        + accounts,
        encoding="utf-8",
    )
    open_engine(pg_url).dispose()  # the schema, before the workers start
    exe = shutil.which("tracker", path=os.path.dirname(sys.executable)) or shutil.which("tracker")
    assert exe, "the tracker console script is not installed"
    crew = Fleet(pg_url, tmp_path, config, exe, can_name_hosts())
    started: list[subprocess.Popen[str]] = []
    original = crew.start

    def tracked(host: str) -> subprocess.Popen[str]:
        proc = original(host)
        started.append(proc)
        return proc

    crew.start = tracked  # type: ignore[method-assign]
    yield crew
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def finished(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


@pytest.mark.subprocess
def test_two_workers_on_one_postgres_sync_each_account_once_and_no_row_twice(fleet):
    first, second = fleet.start("worker-a"), fleet.start("worker-b")
    fleet.open("start")
    wait_for("both workers to begin their runs", lambda: fleet.sql("SELECT COUNT(*) FROM sync_run")[0][0] == 2)
    wait_for("both workers to take accounts", lambda: fleet.sql("SELECT COUNT(DISTINCT pid) FROM sync_lease") == [(2,)])
    fleet.open("fetch")
    for proc in (first, second):
        code, out, err = finished(proc)
        assert code == 0, out + err
    synced = fleet.sql("SELECT account, run_id FROM account_run WHERE status = 'ok'")
    per_account = Counter(account for account, _ in synced)
    assert sorted(per_account) == ACCOUNTS, "every account was synced"
    assert set(per_account.values()) == {1}, f"synced twice: {[a for a, n in per_account.items() if n > 1]}"
    assert len({run for _, run in synced}) == 2, "the workers split the accounts"
    assert fleet.sql("SELECT COUNT(*) FROM account_run WHERE status <> 'ok'") == [(0,)]
    samples = fleet.sql("SELECT account, run_id, COUNT(*) FROM sample GROUP BY account, run_id")
    assert sorted(samples) == sorted((account, run, DAYS * len(METRICS)) for account, run in synced)
    keys = fleet.sql("SELECT COUNT(*), COUNT(DISTINCT (account, platform, metric, day)) FROM sample")
    assert keys == [(len(ACCOUNTS) * DAYS * len(METRICS),) * 2]
    assert fleet.sql("SELECT COUNT(*) FROM sync_lease") == [(0,)], "every lease was given back"


@pytest.mark.subprocess
def test_a_crashed_workers_accounts_wait_for_its_leases_to_expire_then_a_later_run_syncs_them(fleet):
    if not fleet.hosts:
        pytest.skip("needs `unshare --uts` (root) to run the workers under two host names, as on two machines")
    fleet.lease_seconds = 5
    fleet.open("start")
    crashed = fleet.start("worker-a")
    ahead = leases_ahead(WORKERS)  # a worker takes accounts a batch at a time, as its workers are about to fetch them
    wait_for(
        "worker-a to take its first accounts and fetch",
        lambda: fleet.sql("SELECT COUNT(*) FROM account_run WHERE status = 'running'") == [(ahead,)],
    )
    crashed.send_signal(signal.SIGKILL)
    crashed.wait(30)
    held = dict(fleet.sql("SELECT account, expires_at FROM sync_lease WHERE host = 'worker-a'"))
    assert sorted(held) == ACCOUNTS[:ahead]
    assert {pid for (pid,) in fleet.sql("SELECT DISTINCT pid FROM sync_lease")} == {crashed.pid}
    fleet.open("fetch")

    code, out, err = finished(fleet.start("worker-b"))
    assert code == 0, out + err
    taken = fleet.sql("SELECT account, started_at FROM account_run WHERE status = 'ok'")
    early = [account for account, started in taken if account in held and started < held[account]]
    assert early == [], f"taken while worker-a's lease was still valid: {early}"
    if len(taken) < len(ACCOUNTS):
        assert f"pid {crashed.pid} on worker-a" in out, "an account left alone names the crashed worker"

    last_expiry = max(held.values())
    wait_for("worker-a's leases to expire", lambda: datetime.now(UTC).replace(tzinfo=None) > last_expiry)
    code, out, err = finished(fleet.start("worker-c"))
    assert code == 0, out + err
    latest = fleet.sql(
        "SELECT DISTINCT ON (account) account, status FROM account_run WHERE status <> 'interrupted' "
        "ORDER BY account, id DESC"
    )
    assert latest == [(account, "ok") for account in ACCOUNTS]
    crashed_run = min(run for (run,) in fleet.sql("SELECT id FROM sync_run"))
    crashed_runs = fleet.sql(f"SELECT status, COUNT(*) FROM account_run WHERE run_id = {crashed_run} GROUP BY status")
    assert crashed_runs == [("interrupted", ahead)], "the crashed worker's account runs are closed"
    assert fleet.sql(f"SELECT status FROM sync_run WHERE id = {crashed_run}") == [("interrupted",)]
    assert fleet.sql("SELECT COUNT(*) FROM sample") == [(len(ACCOUNTS) * DAYS * len(METRICS),)]


def fast_registry() -> Any:
    def fetch(opts: Any, window: Any, http: Any, state: Any) -> Any:
        yield [Sample("fast", "likes", day, 1.0) for day in window.days()]

    registry = discover()
    registry.add(Entry("fast", "test", Plugin(name="fast", platforms=("fast",), fetch=fetch)))
    return registry


def test_a_worker_skips_an_account_another_synced_after_its_run_began(make_config, engine):
    cfg = make_config({"shop": {"plugin": "fast"}, "cafe": {"plugin": "fast"}})
    registry = fast_registry()
    late = Syncer(cfg, registry, engine, leases=Leases(engine, holder=Holder("worker-b", 2, "b")))
    quick = Syncer(cfg, registry, engine, leases=Leases(engine, holder=Holder("worker-a", 1, "a"))).run(["shop"])
    result = late.run()
    outcome = {o.account: o for o in result.outcomes}
    assert outcome["shop"].status == "skipped"
    assert "shop: synced by another tracker process at" in outcome["shop"].message
    assert "after this run began; skipped" in outcome["shop"].message
    assert outcome["cafe"].status == "ok"
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT account, run_id FROM account_run ORDER BY id")).all()
    assert runs == [("shop", quick.run_id), ("cafe", result.run_id)]


def test_a_worker_syncs_again_what_was_synced_before_its_run_began(make_config, engine):
    cfg = make_config({"shop": {"plugin": "fast"}})
    registry = fast_registry()
    assert Syncer(cfg, registry, engine, leases=Leases(engine, holder=Holder("worker-a", 1, "a"))).run().ok
    again = Syncer(cfg, registry, engine, leases=Leases(engine, holder=Holder("worker-b", 2, "b"))).run()
    assert [o.status for o in again.outcomes] == ["ok"]


def test_an_interrupted_account_run_of_another_worker_is_synced_again(make_config, engine):
    cfg = make_config({"shop": {"plugin": "fast"}})
    registry = fast_registry()
    late = Syncer(cfg, registry, engine, leases=Leases(engine, holder=Holder("worker-b", 2, "b")))
    stopped = Syncer(cfg, registry, engine, leases=Leases(engine, holder=Holder("worker-a", 1, "a")))
    stopped.stop.set()  # the worker was stopped (SIGTERM) before its fetch: the account run ends `interrupted`
    assert [o.status for o in stopped.run().outcomes] == ["interrupted"]
    assert [o.status for o in late.run().outcomes] == ["ok"]


def test_the_lease_duration_comes_from_tracker_lease_seconds(engine, monkeypatch):
    monkeypatch.setenv("TRACKER_LEASE_SECONDS", "45")
    Leases(engine).acquire("shop")
    (lease,) = current_leases(engine)
    assert (lease.expires_at - lease.acquired_at).total_seconds() == 45


@pytest.mark.parametrize("value", ["soon", "0", "-5", "1.5"])
def test_a_lease_duration_that_is_not_whole_seconds_is_refused(monkeypatch, value):
    monkeypatch.setenv("TRACKER_LEASE_SECONDS", value)
    with pytest.raises(ConfigError, match=rf"TRACKER_LEASE_SECONDS='{value}': give a whole number of seconds"):
        lease_ttl()


def test_sync_with_a_bad_lease_duration_says_so_in_one_line_with_exit_2(cli, tmp_path, db_url):
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{db_url.removeprefix("sqlite:///")}"\n[accounts.bakery]\nplugin = "demo"\n')
    result = cli.invoke(app, ["sync", "--config", str(config)], env={"TRACKER_LEASE_SECONDS": "ten"})
    assert result.exit_code == 2
    assert result.stderr == (
        "error: TRACKER_LEASE_SECONDS='ten': give a whole number of seconds, like 600 (the default)\n"
    )

