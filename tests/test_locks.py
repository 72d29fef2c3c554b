"""Sync locks: one process syncs an account at a time; a crashed holder never blocks it for long."""

import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tracker.cli.main import app
from tracker.errors import AccountBusy
from tracker.locks import Holder, Leases, current_leases
from tracker.plugin import Plugin, Sample
from tracker.registry import Entry, discover
from tracker.sync import Syncer

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def other_process_on(host, pid):
    return Holder(host, pid, "other")


def leases(engine, holder=None, now=T0):
    return Leases(engine, holder=holder, now=lambda: now)


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_an_account_held_by_another_process_is_skipped_with_a_message(make_config, registry, engine, samples):
    other = Leases(engine, holder=other_process_on(socket.gethostname(), os.getpid()))
    other.acquire("bakery")
    cfg = make_config({"bakery": {"plugin": "demo"}, "spare": {"plugin": "demo", "seed": 3}})
    result = Syncer(cfg, registry, engine).run()
    by_name = {o.account: o for o in result.outcomes}
    assert by_name["bakery"].status == "skipped"
    assert "being synced by another tracker process" in by_name["bakery"].message
    assert by_name["spare"].status == "ok"
    assert result.ok, "a skipped account is not a failure"
    assert {s["account"] for s in samples(cfg.database)} == {"spare"}


def test_two_syncers_on_one_database_never_write_an_account_twice(make_config, engine, samples):
    fetching, finish = threading.Event(), threading.Event()

    def slow(opts, window, http, state):
        fetching.set()
        finish.wait(30)
        yield [Sample("slow", "likes", day, day.day) for day in window.days()]

    registry = discover()
    registry.add(Entry("slow", "test", Plugin(name="slow", platforms=("slow",), fetch=slow)))
    cfg = make_config({"shop": {"plugin": "slow", "initial_days": 5}})
    first: list = []
    thread = threading.Thread(target=lambda: first.append(Syncer(cfg, registry, engine).run()))
    thread.start()
    assert fetching.wait(30)
    second = Syncer(cfg, registry, engine).run()
    finish.set()
    thread.join(30)
    assert [o.status for o in first[0].outcomes] == ["ok"]
    assert [o.status for o in second.outcomes] == ["skipped"]
    rows = samples(cfg.database)
    assert len(rows) == 5 and {r["run_id"] for r in rows} == {first[0].run_id}
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT account, status FROM account_run")).all()
    assert runs == [("shop", "ok")], "the skipped sync records no account run and no rows"


def test_a_manual_sync_while_the_daemon_holds_the_account_says_skipped_and_exits_0(cli, tmp_path, engine, db_url):
    Leases(engine, holder=other_process_on(socket.gethostname(), os.getpid())).acquire("bakery")
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{db_url.removeprefix("sqlite:///")}"\ntimezone = "UTC"\n[accounts.bakery]\nplugin = "demo"\n'
    )
    result = cli.invoke(app, ["sync", "--config", str(config)], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "skipped" in result.stdout and "being synced by another tracker process" in result.stdout


def test_the_lease_is_released_after_the_commit(make_config, registry, engine):
    cfg = make_config({"bakery": {"plugin": "demo"}})
    Syncer(cfg, registry, engine).run()
    assert current_leases(engine) == []


def test_a_failing_account_releases_its_lease(make_config, engine):
    def fails(opts, window, http, state):
        raise RuntimeError("boom")
        yield

    registry = discover()
    registry.add(Entry("fails", "test", Plugin(name="fails", platforms=("fails",), fetch=fails)))
    result = Syncer(make_config({"bad": {"plugin": "fails"}}), registry, engine).run()
    assert result.outcomes[0].status == "failed"
    assert current_leases(engine) == []


def test_an_expired_lease_is_taken_over(engine):
    leases(engine, other_process_on("other-box", 4242), now=T0).acquire("bakery")
    later = T0 + timedelta(minutes=10, seconds=1)
    leases(engine, now=later).acquire("bakery")
    assert [lease.host for lease in current_leases(engine)] == [socket.gethostname()]


def test_a_lease_on_another_host_is_respected_until_it_expires(engine):
    leases(engine, other_process_on("other-box", 4242), now=T0).acquire("bakery")
    almost = T0 + timedelta(minutes=9, seconds=59)
    with pytest.raises(AccountBusy, match=r"bakery: being synced by another tracker process \(pid 4242 on other-box"):
        leases(engine, now=almost).acquire("bakery")


def test_a_lease_of_a_process_that_died_on_this_host_is_taken_over_at_once(engine):
    crashed = other_process_on(socket.gethostname(), dead_pid())
    leases(engine, crashed, now=T0).acquire("bakery")
    leases(engine, now=T0 + timedelta(seconds=1)).acquire("bakery")
    assert [lease.pid for lease in current_leases(engine)] == [os.getpid()]


def test_renewing_pushes_the_expiry_forward(engine):
    clock = [T0]
    mine = Leases(engine, now=lambda: clock[0])
    mine.acquire("bakery")
    clock[0] = T0 + timedelta(minutes=8)
    mine.renew()
    still = T0 + timedelta(minutes=12)
    with pytest.raises(AccountBusy):
        leases(engine, other_process_on("other-box", 1), now=still).acquire("bakery")
