"""The schedule: jobs from the config, catch-up after missed runs and sleep, jobs fired with an injected clock."""

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tracker.cli.main import app
from tracker.config import ConfigError
from tracker.plugin import Plugin
from tracker.registry import Entry, discover
from tracker.scheduler import ClockWatch, Daemon
from tracker.schedules import jobs_for

# Tests never read the real clock: the demo's numbers depend on the day, and so would their alerts.
PINNED_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """Wall and monotonic time that move only when a test says so."""

    wall: datetime = field(default_factory=lambda: PINNED_NOW)
    mono: float = 1000.0

    def now(self):
        return self.wall

    def monotonic(self):
        return self.mono

    def advance(self, delta, *, asleep=False):
        self.wall += delta
        if not asleep:  # a suspended machine's monotonic clock stands still
            self.mono += delta.total_seconds()


def clock_at_the_real_time():
    """For tests that compare the clock with run times, which the store records from the real clock."""
    return FakeClock(wall=datetime.now(UTC))


def query(engine, sql):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).all()


def failing_registry():
    def fails(opts, window, http, state):
        raise RuntimeError("the platform is down")
        yield

    registry = discover()
    registry.add(Entry("broken", "test", Plugin(name="broken", platforms=("broken",), fetch=fails)))
    return registry


def test_accounts_without_their_own_schedule_share_the_default_daily_job(make_config):
    cfg = make_config(
        {
            "bakery": {"plugin": "demo"},
            "snapshots": {"plugin": "demo", "schedule": "hourly"},
            "daily": {"plugin": "demo", "schedule": "daily"},
            "off": {"plugin": "demo", "enabled": False},
        },
        schedule={"sync": "06:30"},
    )
    assert [(j.id, j.cron, j.accounts) for j in jobs_for(cfg)] == [
        ("sync", "30 6 * * *", ("bakery", "daily")),
        ("sync:snapshots", "0 * * * *", ("snapshots",)),
    ]


def test_the_daily_job_next_runs_at_the_configured_time_in_its_time_zone(make_config):
    cfg = make_config({"bakery": {"plugin": "demo"}}, schedule={"sync": "30 6 * * *", "timezone": "Europe/Berlin"})
    job = jobs_for(cfg)[0]
    # 06:30 in Berlin is 05:30 UTC in November (CET, UTC+1)
    assert job.next_run(datetime(2026, 11, 27, 5, 29, tzinfo=UTC)) == datetime(2026, 11, 27, 5, 30, tzinfo=UTC)
    assert job.next_run(datetime(2026, 11, 27, 5, 31, tzinfo=UTC)) == datetime(2026, 11, 28, 5, 30, tzinfo=UTC)


def test_a_cron_expression_may_start_with_a_seconds_field(make_config):
    cfg = make_config({"bakery": {"plugin": "demo"}}, schedule={"sync": "*/10 * * * * *"})
    at = datetime(2026, 11, 27, 5, 0, 1, tzinfo=UTC)
    assert jobs_for(cfg)[0].next_run(at) == datetime(2026, 11, 27, 5, 0, 10, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["25:00", "every day", "61 * * * *"])
def test_a_malformed_schedule_is_one_line_naming_the_key(make_config, bad):
    with pytest.raises(ConfigError) as caught:
        make_config({"bakery": {"plugin": "demo", "schedule": bad}})
    assert caught.value.problems[0].split(": ")[1] == "accounts.bakery.schedule"
    assert len(caught.value.problems) == 1


def test_jobs_coalesce_missed_runs_run_one_at_a_time_and_allow_a_misfire_grace(make_config, registry, engine):
    cfg = make_config({"bakery": {"plugin": "demo"}}, schedule={"sync": "06:30", "misfire_grace_minutes": 45})
    scheduler = Daemon(cfg, registry, engine).build_scheduler()
    scheduler.start(paused=True)  # job defaults apply once the scheduler starts
    [job] = scheduler.get_jobs()
    scheduler.shutdown()
    assert (job.id, job.coalesce, job.max_instances, job.misfire_grace_time) == ("sync", True, 1, 45 * 60)
    assert str(job.trigger) == "cron[month='*', day='*', day_of_week='*', hour='6', minute='30']"


def test_a_scheduled_job_syncs_its_accounts_and_records_the_trigger(make_config, registry, engine):
    cfg = make_config({"bakery": {"plugin": "demo"}})
    daemon = Daemon(cfg, registry, engine, clock=FakeClock())
    result = daemon.run_job(daemon.jobs[0])
    assert [(o.account, o.status) for o in result.outcomes] == [("bakery", "ok")]
    assert query(engine, "SELECT trigger, status FROM sync_run") == [("schedule", "ok")]


def test_a_failing_account_does_not_stop_the_scheduled_run(make_config, engine):
    cfg = make_config({"bakery": {"plugin": "demo"}, "down": {"plugin": "broken"}})
    daemon = Daemon(cfg, failing_registry(), engine, clock=FakeClock())
    result = daemon.run_job(daemon.jobs[0])
    assert {o.account: o.status for o in result.outcomes} == {"bakery": "ok", "down": "failed"}


def test_catch_up_on_start_syncs_accounts_never_synced(make_config, registry, engine):
    cfg = make_config({"bakery": {"plugin": "demo"}, "snapshots": {"plugin": "demo", "schedule": "hourly"}})
    result = Daemon(cfg, registry, engine, clock=FakeClock()).catch_up()
    assert sorted(o.account for o in result.outcomes) == ["bakery", "snapshots"]
    assert query(engine, "SELECT trigger FROM sync_run") == [("catch-up",)]


def test_catch_up_syncs_only_accounts_whose_last_success_is_older_than_their_interval(make_config, registry, engine):
    cfg = make_config({"bakery": {"plugin": "demo"}, "snapshots": {"plugin": "demo", "schedule": "hourly"}})
    clock = clock_at_the_real_time()
    daemon = Daemon(cfg, registry, engine, clock=clock)
    daemon.catch_up()
    clock.advance(timedelta(minutes=59))
    assert daemon.catch_up() is None, "nothing is older than its interval yet"
    clock.advance(timedelta(minutes=2))
    result = daemon.catch_up()
    assert [o.account for o in result.outcomes] == ["snapshots"]


def test_a_daily_account_is_caught_up_after_the_machine_slept_past_its_run(make_config, registry, engine):
    cfg = make_config({"bakery": {"plugin": "demo"}})
    clock = clock_at_the_real_time()
    daemon = Daemon(cfg, registry, engine, clock=clock)
    daemon.catch_up()
    clock.advance(timedelta(hours=25), asleep=True)
    assert daemon.watch.jumped()
    assert [o.account for o in daemon.catch_up().outcomes] == ["bakery"]


def test_the_clock_watch_notices_a_sleep_but_not_ordinary_time_passing():
    clock = FakeClock()
    watch = ClockWatch(clock)
    clock.advance(timedelta(seconds=5))
    assert not watch.jumped()
    clock.advance(timedelta(minutes=1, seconds=59), asleep=True)
    assert not watch.jumped(), "within the tolerance"
    clock.advance(timedelta(hours=3), asleep=True)
    assert watch.jumped()
    clock.advance(timedelta(seconds=5))
    assert not watch.jumped(), "one jump is reported once"


def test_no_new_sync_starts_once_the_daemon_is_asked_to_stop(make_config, registry, engine):
    stop = threading.Event()
    daemon = Daemon(make_config({"bakery": {"plugin": "demo"}}), registry, engine, stop=stop, clock=FakeClock())
    stop.set()
    assert daemon.run_job(daemon.jobs[0]) is None
    assert query(engine, "SELECT COUNT(*) FROM sync_run") == [(0,)]


def test_alerts_after_a_scheduled_run_are_posted_once_until_they_change(make_config, engine, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    cfg = make_config(
        {"bakery": {"plugin": "demo"}, "down": {"plugin": "broken"}},
        alerts={"webhook_url": httpserver.url_for("/hook")},
    )
    daemon = Daemon(cfg, failing_registry(), engine, clock=FakeClock())
    daemon.run_job(daemon.jobs[0])
    daemon.run_job(daemon.jobs[0])
    posted = [request.get_json() for request, _ in httpserver.log]
    assert len(posted) == 1
    # The demo bakery leaves Instagram questions unanswered on purpose (customer care); "down" never synced.
    assert [(a["kind"], a["account"]) for a in posted[0]["alerts"]] == [("unanswered", ""), ("sync_stale", "down")]


def test_schedule_once_syncs_what_is_due_then_finds_nothing_due(cli, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\n'
        '[schedule]\nsync = "06:30"\n[accounts.bakery]\nplugin = "demo"\n'
    )
    first = cli.invoke(app, ["schedule", "--once", "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert "bakery" in first.stdout and "next sync:" in first.stdout
    second = cli.invoke(app, ["schedule", "--once", "--config", str(config)])
    assert second.exit_code == 0
    assert "Nothing is due." in second.stdout
