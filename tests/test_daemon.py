"""The one real-time test: `tracker schedule` as a real process, a schedule seconds ahead, SIGTERM, `tracker status`.

Accounts: `bakery` (demo), `broken` (a plugin that always fails) and `slow`
(a plugin that yields a page every 0.2 s for a minute, on its own schedule a
few seconds after the main one). The daemon catches up on start, runs the
scheduled sync, survives `broken`, and is stopped by SIGTERM while `slow` is
being fetched: `slow` is recorded as interrupted and writes nothing.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tracker.store import writes
from tracker.store.db import open_engine

PLUGINS = {
    "broken.py": '''
from tracker.plugin import ApiError, Plugin

def fetch(opts, window, http, state):
    raise ApiError("the platform is down")
    yield

plugin = Plugin(name="broken", platforms=("broken",), fetch=fetch)
''',
    "slow.py": '''
import time
from tracker.plugin import Plugin, Sample

def fetch(opts, window, http, state):
    for i in range(300):
        time.sleep(0.2)
        yield [Sample("slow", "likes", window.until, i)]

plugin = Plugin(name="slow", platforms=("slow",), fetch=fetch)
''',
}


def cron_at(moment):
    return f"{moment.second} {moment.minute} {moment.hour} * * *"


def wait_for(what, check, timeout=60.0):
    """Poll until `check()` is truthy; waiting is not what this test measures."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def rows(url, sql):
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).all()
    finally:
        engine.dispose()


@pytest.mark.subprocess
def test_the_daemon_syncs_on_schedule_survives_a_failing_account_and_stops_cleanly_on_sigterm(tmp_path, isolated_env):
    exe = shutil.which("tracker", path=os.path.dirname(sys.executable)) or shutil.which("tracker")
    assert exe, "the tracker console script is not installed"
    folder = tmp_path / "plugins"
    folder.mkdir()
    for name, text in PLUGINS.items():
        (folder / name).write_text(text, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 't.db'}"
    engine = open_engine(url)
    run_id = writes.start_run(engine, "manual")  # slow synced a moment ago: not due for catch-up
    writes.finish_account_run(
        engine, writes.start_account_run(engine, run_id, "slow", datetime.now().date(), datetime.now().date()), "ok"
    )
    writes.finish_run(engine, run_id, "ok")
    engine.dispose()
    start = datetime.now(UTC).replace(microsecond=0)
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\nplugin_dirs = ["{folder}"]\n'
        f'[schedule]\nsync = "{cron_at(start + timedelta(seconds=6))}"\ntimezone = "UTC"\n'
        '[accounts.bakery]\nplugin = "demo"\ninitial_days = 10\n'
        '[accounts.broken]\nplugin = "broken"\n'
        f'[accounts.slow]\nplugin = "slow"\nschedule = "{cron_at(start + timedelta(seconds=9))}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "COLUMNS": "200"}
    daemon = subprocess.Popen(
        [exe, "schedule", "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        wait_for(
            "the scheduled run",
            lambda: rows(url, "SELECT id FROM sync_run WHERE \"trigger\" = 'schedule' AND status != 'running'"),
        )
        wait_for(
            "slow to start",
            lambda: rows(url, "SELECT id FROM account_run WHERE account = 'slow' AND status = 'running'"),
        )
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert daemon.returncode == 0, stderr
    runs = rows(url, "SELECT \"trigger\", status FROM sync_run ORDER BY id")
    assert runs == [("manual", "ok"), ("catch-up", "failed"), ("schedule", "failed"), ("schedule", "interrupted")]
    accounts = rows(
        url,
        'SELECT r."trigger", a.account, a.status FROM account_run a JOIN sync_run r ON r.id = a.run_id ORDER BY a.id',
    )
    assert sorted(accounts[-3:]) == [
        ("schedule", "bakery", "ok"),
        ("schedule", "broken", "failed"),
        ("schedule", "slow", "interrupted"),
    ]
    assert rows(url, "SELECT COUNT(*) FROM sample WHERE account = 'slow'") == [(0,)], (
        "an interrupted account writes nothing"
    )
    assert rows(url, "SELECT COUNT(*) FROM sync_lease") == [(0,)], "every lock is given back"
    assert "account=broken status=failed" in stderr and 'message="the platform is down"' in stderr
    assert "msg=stopped" in stderr
    log_file = isolated_env / "state" / "tracker" / "log" / "tracker.log"
    assert "account=bakery status=ok" in log_file.read_text(encoding="utf-8")

    shown = subprocess.run(
        [exe, "status", "--config", str(config), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    accounts = {a["account"]: a for a in json.loads(shown.stdout)["accounts"]}
    assert accounts["bakery"]["last_status"] == "ok" and accounts["bakery"]["last_rows"] > 0
    assert (accounts["broken"]["last_status"], accounts["broken"]["last_error"]) == ("failed", "the platform is down")
    assert accounts["broken"]["failures_in_a_row"] == 2
    assert accounts["slow"]["last_status"] == "interrupted"
    assert all(a["next_run"] for a in accounts.values())
