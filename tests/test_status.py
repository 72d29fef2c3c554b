"""`tracker status`: last run per account, repeated failures, next scheduled run, stale platforms."""

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

from tracker import status
from tracker.cli.main import app
from tracker.errors import ApiError
from tracker.plugin import Plugin, Sample
from tracker.registry import Entry, discover

from .conftest import noon

TODAY = date(2026, 11, 27)


def registry_with_failing():
    def fails(opts, window, http, state):
        raise ApiError("the token was refused")
        yield

    registry = discover()
    registry.add(Entry("broken", "test", Plugin(name="broken", platforms=("broken",), fetch=fails)))
    return registry


def by_account(result):
    return {a.account: a for a in result.accounts}


def test_status_shows_each_accounts_last_run_rows_and_why_it_failed(make_config, run_sync, engine):
    cfg = make_config(
        {"bakery": {"plugin": "demo"}, "down": {"plugin": "broken"}, "new": {"plugin": "demo", "enabled": False}}
    )
    synced = run_sync(cfg, now=noon(TODAY), plugins=registry_with_failing())
    rows = next(o.rows for o in synced.outcomes if o.account == "bakery")
    accounts = by_account(status.snapshot(cfg, engine, datetime.now(UTC)))
    assert (accounts["bakery"].last_status, accounts["bakery"].last_rows, accounts["bakery"].last_error) == (
        "ok",
        rows,
        "",
    )
    assert (accounts["down"].last_status, accounts["down"].last_error) == ("failed", "the token was refused")
    assert accounts["down"].last_success_at is None
    assert accounts["new"].last_status is None and accounts["new"].next_run is None


def test_three_failures_in_a_row_is_failing_repeatedly_and_two_is_not(make_config, run_sync, engine):
    cfg = make_config({"down": {"plugin": "broken"}})
    registry = registry_with_failing()
    for _ in range(2):
        run_sync(cfg, now=noon(TODAY), plugins=registry)
    two = by_account(status.snapshot(cfg, engine, datetime.now(UTC)))["down"]
    assert (two.failures_in_a_row, two.failing_repeatedly) == (2, False)
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    three = by_account(status.snapshot(cfg, engine, datetime.now(UTC)))["down"]
    assert (three.failures_in_a_row, three.failing_repeatedly) == (3, True)


def test_a_good_run_resets_the_failure_count(make_config, run_sync, engine):
    flaky = {"fail": True}

    def sometimes(opts, window, http, state):
        if flaky["fail"]:
            raise ApiError("down")
        yield [Sample("flaky", "likes", window.until, 1)]

    registry = discover()
    registry.add(Entry("flaky", "test", Plugin(name="flaky", platforms=("flaky",), fetch=sometimes)))
    cfg = make_config({"f": {"plugin": "flaky"}})
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    flaky["fail"] = False
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    flaky["fail"] = True
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    assert by_account(status.snapshot(cfg, engine, datetime.now(UTC)))["f"].failures_in_a_row == 1


def test_the_next_run_comes_from_the_accounts_schedule(make_config, engine):
    cfg = make_config(
        {"bakery": {"plugin": "demo"}, "snap": {"plugin": "demo", "schedule": "hourly"}}, schedule={"sync": "06:30"}
    )
    now = datetime(2026, 11, 27, 12, 10, tzinfo=UTC)
    accounts = by_account(status.snapshot(cfg, engine, now))
    assert accounts["bakery"].next_run == datetime(2026, 11, 28, 6, 30, tzinfo=UTC)
    assert accounts["snap"].next_run == datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


def test_staleness_is_days_since_each_platforms_newest_sample(make_config, run_sync, engine):
    cfg = make_config({"bakery": {"plugin": "demo", "initial_days": 5}})
    run_sync(cfg, now=noon(TODAY - timedelta(days=3)))
    platforms = {p.platform: p for p in status.snapshot(cfg, engine, noon(TODAY)).platforms}
    assert list(platforms) == ["facebook", "instagram", "xing", "direct"]
    assert {(p.latest_day, p.days_behind) for p in platforms.values()} == {(TODAY - timedelta(days=3), 3)}


def write_config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\n'
        '[schedule]\nsync = "06:30"\n[accounts.bakery]\nplugin = "demo"\n',
        encoding="utf-8",
    )
    return path


def invoke(cli, *args):
    return cli.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})


def test_status_json_lists_accounts_and_platforms(cli, tmp_path):
    config = write_config(tmp_path)
    invoke(cli, "sync", "--config", str(config))
    result = invoke(cli, "status", "--config", str(config), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    [bakery] = data["accounts"]
    assert (bakery["account"], bakery["last_status"], bakery["schedule"]) == ("bakery", "ok", "30 6 * * *")
    assert bakery["next_run"].endswith("06:30:00+00:00")
    assert {p["platform"] for p in data["platforms"]} == {"facebook", "instagram", "xing", "direct"}


def test_status_csv_has_one_header_and_a_section_column(cli, tmp_path):
    config = write_config(tmp_path)
    invoke(cli, "sync", "--config", str(config))
    rows = list(csv.DictReader(io.StringIO(invoke(cli, "status", "--config", str(config), "--format", "csv").stdout)))
    assert [r["section"] for r in rows] == ["account", "platform", "platform", "platform", "platform"]
    assert rows[0]["account"] == "bakery" and rows[1]["platform"] == "facebook"


def test_status_table_stays_plain_without_color_and_in_a_pipe(cli, tmp_path):
    config = write_config(tmp_path)
    result = invoke(cli, "status", "--config", str(config))
    assert result.exit_code == 0
    assert "bakery" in result.stdout and "never synced" in result.stdout
    assert "\x1b[" not in result.stdout
