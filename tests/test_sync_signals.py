"""`tracker sync` as a real process stopped by signals while a plugin ignores them.

The plugin `sleepy` (a file in a temp plugin folder) marks that it started and then sleeps without looking
at the stop event, as a plugin stuck in a blocking call would. The demo account `bakery` syncs beside it.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tracker.sync import STOP_GRACE_SECONDS

pytestmark = pytest.mark.subprocess

SLEEPY = '''
import os, time
from pathlib import Path
from tracker.plugin import Plugin, Sample

def fetch(opts, window, http, state):
    Path(os.environ["SLEEPY_MARK"]).write_text("fetching")
    time.sleep(float(os.environ["SLEEPY_SECONDS"]))
    yield [Sample("sleepy", "likes", window.until, 1)]

plugin = Plugin(name="sleepy", platforms=("sleepy",), fetch=fetch)
'''


def query(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def wait_for(what: str, check: Callable[[], object], timeout: float = 60.0) -> None:
    """Poll until `check()` is truthy; how long it takes is not what these tests measure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@dataclass
class Stuck:
    """A `tracker sync` process whose `sleepy` account is fetching and whose `bakery` account has committed."""

    proc: subprocess.Popen[str]
    db: Path

    def finish(self) -> tuple[int, str, str]:
        """Exit code, stdout, stderr; well before the plugin's sleep would end on its own."""
        out, err = self.proc.communicate(timeout=STOP_GRACE_SECONDS * 6)
        return self.proc.returncode, out, err


@pytest.fixture
def stuck_sync(tmp_path: Path):
    """Start the sync and wait until `sleepy` sleeps; `sleep_for` is how long the plugin ignores the stop."""
    started: list[subprocess.Popen[str]] = []

    def start(sleep_for: float) -> Stuck:
        plugins = tmp_path / "plugins"
        plugins.mkdir(exist_ok=True)
        (plugins / "sleepy.py").write_text(SLEEPY, encoding="utf-8")
        db, mark = tmp_path / "t.db", tmp_path / "fetching"
        config = tmp_path / "config.toml"
        config.write_text(
            f'database = "{db}"\ntimezone = "UTC"\nplugin_dirs = ["{plugins}"]\n'
            '[accounts.bakery]\nplugin = "demo"\ninitial_days = 3\n[accounts.sleepy]\nplugin = "sleepy"\n',
            encoding="utf-8",
        )
        exe = shutil.which("tracker", path=os.path.dirname(sys.executable)) or shutil.which("tracker")
        assert exe, "the tracker console script is not installed"
        env = {**os.environ, "COLUMNS": "160", "SLEEPY_MARK": str(mark), "SLEEPY_SECONDS": str(sleep_for)}
        proc = subprocess.Popen(
            [exe, "sync", "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        started.append(proc)
        wait_for("sleepy to start fetching", mark.exists)
        wait_for("bakery to commit", lambda: db.exists() and query(db, "SELECT 1 FROM account_run WHERE status = 'ok'"))
        return Stuck(proc, db)

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def account_runs(db: Path) -> dict[str, tuple[str, str | None]]:
    return {a: (s, e) for a, s, e in query(db, "SELECT account, status, error FROM account_run")}


def test_a_second_signal_ends_a_sync_stuck_in_a_plugin_and_records_the_run_interrupted(stuck_sync):
    stuck = stuck_sync(sleep_for=600)
    stuck.proc.send_signal(signal.SIGTERM)
    stuck.proc.send_signal(signal.SIGINT)  # another signal number, so the two cannot merge into one delivery

    code, _, err = stuck.finish()

    assert code == 1
    assert err.splitlines() == [
        "error: stopped without waiting for sleepy: a second signal came; run 1 recorded as interrupted, "
        "nothing of sleepy stored"
    ]
    assert query(stuck.db, "SELECT status FROM sync_run") == [("interrupted",)]
    runs = account_runs(stuck.db)
    assert runs["sleepy"] == ("interrupted", "stopped without waiting: a second signal came")
    assert runs["bakery"] == ("ok", None)
    assert query(stuck.db, "SELECT COUNT(*) FROM sample WHERE account = 'sleepy'") == [(0,)]
    assert query(stuck.db, "SELECT COUNT(*) FROM sync_lease") == [(0,)], "the locks are given back"


def test_a_sync_stuck_in_a_plugin_exits_after_the_grace_time_with_the_run_interrupted(stuck_sync):
    stuck = stuck_sync(sleep_for=600)
    stuck.proc.send_signal(signal.SIGTERM)

    code, _, err = stuck.finish()

    assert code == 1
    grace = f"{STOP_GRACE_SECONDS:.0f}"
    assert err.splitlines() == [
        f"error: stopped without waiting for sleepy: it did not end within {grace} s of the signal; "
        "run 1 recorded as interrupted, nothing of sleepy stored"
    ]
    assert query(stuck.db, "SELECT status FROM sync_run") == [("interrupted",)]
    assert account_runs(stuck.db)["sleepy"][0] == "interrupted"


def test_a_plugin_that_returns_within_the_grace_time_ends_the_sync_normally(stuck_sync):
    stuck = stuck_sync(sleep_for=1)
    stuck.proc.send_signal(signal.SIGTERM)

    code, out, err = stuck.finish()

    assert "stopped without waiting" not in err
    assert "Sync run 1" in out, "the summary is printed as after any sync"
    assert code in (0, 1)  # the plugin's page may land before or after the stop: either way the run ends itself
    assert query(stuck.db, "SELECT status FROM sync_run") != [("running",)]
