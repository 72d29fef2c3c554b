"""`tracker explain PLATFORM METRIC`: every figure traced to the stored days and runs, with the report's own arithmetic.

The figure an explanation ends in must be the one `tracker report` shows for the same period; the tests
compare it with `build_report` for each kind of metric.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import noon
from tests.test_cli import invoke
from tests.test_report import store
from tracker import config as cfgmod
from tracker import manual
from tracker.cli.explain import arithmetic, build_explanation, notes
from tracker.cli.main import app
from tracker.plugin import Sample, Unavailable
from tracker.report.build import build_report
from tracker.store.db import open_engine

TODAY = date(2026, 11, 20)
WEEK = (TODAY - timedelta(days=6), TODAY)


def write_config(tmp_path: Path, accounts: str, db: str = "t.db") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'database = "{tmp_path / db}"\ntimezone = "UTC"\ncurrency = "EUR"\n{accounts}', encoding="utf-8")
    return path


@pytest.fixture
def demo(tmp_path, run_sync):
    """The demo bakery synced for 90 days up to a pinned today, from a config file the CLI can read too."""
    path = write_config(tmp_path, '[accounts.demo_bakery]\nplugin = "demo"\n')
    cfg = cfgmod.load(path)
    result = run_sync(cfg, since=TODAY - timedelta(days=89), until=TODAY, now=noon(TODAY))
    assert result.ok
    return cfg, result.run_id


def report_row(cfg, platform, days=7):
    return next(r for r in build_report(cfg, days, TODAY, None).rows if r.platform == platform)


def stored(cfg, platform, metric, start, end):
    engine = open_engine(cfg.database)
    try:
        with engine.connect() as conn:
            return (
                conn.exec_driver_sql(
                    "SELECT value FROM sample WHERE platform = ? AND metric = ? AND day BETWEEN ? AND ? ORDER BY day",
                    (platform, metric, start.isoformat(), end.isoformat()),
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()


# --- each kind, equal to the report ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "metric", "field"),
    [
        ("instagram", "reach", "reach_daily_avg"),
        ("instagram", "likes", "likes"),
        ("instagram", "followers", "followers"),
        ("instagram", "conversions", "conversions"),
        ("facebook", "revenue", "revenue"),
        ("facebook", "visits", "visits"),
        ("facebook", "leads", "leads"),
        ("facebook", "messages", "messages"),
        ("xing", "reach", "reach_daily_avg"),
    ],
)
def test_the_explained_figure_is_the_reports(demo, platform, metric, field):
    cfg, _ = demo
    assert build_explanation(cfg, platform, metric, *WEEK).result == getattr(report_row(cfg, platform), field)


def test_a_counter_is_the_sum_of_its_stored_days(demo):
    cfg, _ = demo
    e = build_explanation(cfg, "instagram", "likes", *WEEK)
    values = stored(cfg, "instagram", "likes", *WEEK)
    assert [(s.how, s.terms) for s in e.steps] == [("sum", values)]
    assert e.result == sum(values) == report_row(cfg, "instagram").likes
    assert arithmetic(e, "EUR") == [
        f"demo_bakery: sum of 7 days: {' + '.join(f'{v:,.0f}' for v in values)} = {sum(values):,.0f} likes"
    ]


def test_a_unique_metric_is_the_daily_average_over_days_with_data(demo):
    cfg, _ = demo
    e = build_explanation(cfg, "instagram", "reach", *WEEK)
    values = stored(cfg, "instagram", "reach", *WEEK)
    shown = report_row(cfg, "instagram").reach_daily_avg
    assert e.result == shown == round(sum(values) / 7)
    line = arithmetic(e, "EUR")[0]
    assert line.startswith(f"demo_bakery: daily average: ({values[0]:,.0f} + ")
    assert line.endswith(f") / 7 days with data = {shown:,.0f} reach/day")


def test_a_unique_metric_says_why_the_platforms_monthly_figure_is_larger(demo):
    cfg, _ = demo
    text = " ".join(notes(build_explanation(cfg, "instagram", "reach", *WEEK), "EUR"))
    values = stored(cfg, "instagram", "reach", *WEEK)
    assert "Distinct people cannot be added across days" in text
    assert "Instagram's monthly figure counts each person once per month" in text
    assert f"between the busiest day ({max(values):,.0f}) and the sum of the days ({sum(values):,.0f})" in text


def test_a_gauge_is_the_last_value_and_its_change_since_the_day_before(demo):
    cfg, _ = demo
    e = build_explanation(cfg, "instagram", "followers", *WEEK)
    row = report_row(cfg, "instagram")
    before = stored(cfg, "instagram", "followers", WEEK[0] - timedelta(days=1), WEEK[0] - timedelta(days=1))[0]
    assert (e.result, e.change) == (row.followers, row.followers_change)
    assert e.change == e.result - before
    used = {d.use: (d.day, d.value) for d in e.days if d.use}
    assert used == {
        "last value": (TODAY, row.followers),
        "day before the period": (WEEK[0] - timedelta(days=1), before),
    }
    assert not any(d.use == "summed" for d in e.days)


def test_each_day_names_the_run_plugin_and_provisional_state_that_stored_it(demo):
    cfg, run_id = demo
    e = build_explanation(cfg, "instagram", "reach", *WEEK)
    assert [d.day for d in e.days] == [WEEK[0] + timedelta(days=i) for i in range(7)]
    assert {(d.account, d.plugin, d.run_id) for d in e.days} == {("demo_bakery", "demo", run_id)}
    assert [d.day for d in e.days if d.provisional] == [TODAY - timedelta(days=1), TODAY]  # the demo's 2 revisable days
    (run,) = e.runs
    assert (run.id, run.trigger, run.status) == (run_id, "manual", "ok")
    assert run.finished_at >= run.started_at


def test_a_day_without_data_reads_no_data_not_zero(demo):
    cfg, _ = demo
    e = build_explanation(cfg, "instagram", "reach", TODAY, TODAY + timedelta(days=1))
    tomorrow = e.days[-1]
    assert (tomorrow.day, tomorrow.value, tomorrow.use) == (TODAY + timedelta(days=1), None, "no data")


# --- several accounts and sources ------------------------------------------------------------------------


@pytest.fixture
def two_pages(engine, make_config):
    """Two Instagram accounts: a with reach on 2 days (100, 200), b on 1 day (50); likes 3 + 4 and 10."""
    store(
        engine,
        "a",
        [
            Sample("instagram", "reach", TODAY, 100),
            Sample("instagram", "reach", TODAY - timedelta(days=1), 200),
            Sample("instagram", "likes", TODAY, 3),
            Sample("instagram", "likes", TODAY - timedelta(days=1), 4),
        ],
    )
    store(engine, "b", [Sample("instagram", "reach", TODAY, 50), Sample("instagram", "likes", TODAY, 10)], position=1)
    return make_config({"a": {"plugin": "demo"}, "b": {"plugin": "demo"}})


def test_several_accounts_are_averaged_each_then_added(two_pages):
    e = build_explanation(two_pages, "instagram", "reach", *WEEK)
    assert [(s.how, s.account, s.result) for s in e.steps] == [
        ("average", "a", 150.0),
        ("average", "b", 50.0),
        ("add", None, 200.0),
    ]
    assert e.result == report_row(two_pages, "instagram").reach_daily_avg == 200
    assert arithmetic(e, "EUR")[-1] == "added across accounts: 150 + 50 = 200 reach/day"


def test_several_accounts_counters_are_summed_each_then_added(two_pages):
    e = build_explanation(two_pages, "instagram", "likes", *WEEK)
    assert [(s.account, s.result) for s in e.steps] == [("a", 7.0), ("b", 10.0), (None, 17.0)]
    assert e.result == report_row(two_pages, "instagram").likes == 17


def test_a_removed_accounts_days_are_shown_but_not_counted(engine, make_config):
    store(engine, "old", [Sample("instagram", "likes", TODAY, 500)])
    store(engine, "page", [Sample("instagram", "likes", TODAY, 5)], position=1)
    cfg = make_config({"page": {"plugin": "demo"}})
    e = build_explanation(cfg, "instagram", "likes", *WEEK)
    assert {d.account: d.use for d in e.days if d.account} == {
        "old": "not counted (removed from the config)",
        "page": "summed",
    }
    assert e.result == report_row(cfg, "instagram").likes == 5
    assert "Stored data of removed account old is not counted; `tracker accounts forget old` deletes it." in notes(
        e, "EUR"
    )


@pytest.fixture
def shops(tmp_path):
    """An online shop export (3 instagram orders, 85.00), a till sheet (1, 10.00), and the demo as web analytics."""
    shop = tmp_path / "shop.csv"
    shop.write_text(
        "Order ID,Date,Amount,How did you hear about us\n"
        "1001,2026-11-02,30.00,Instagram\n1002,2026-11-03,30.00,Instagram\n1003,2026-11-04,25.00,Instagram\n",
        encoding="utf-8",
    )
    till = tmp_path / "till.csv"
    till.write_text(
        "Order ID,Date,Amount,How did you hear about us\nM-7,2026-11-07,10.00,Instagram\n", encoding="utf-8"
    )
    return {
        "shop": {"plugin": "csv", "path": str(shop), "currency": "EUR"},
        "till": {"plugin": "csv", "path": str(till), "currency": "EUR"},
        "ga": {"plugin": "demo"},
    }


def synced(make_config, run_sync, accounts):
    cfg = make_config(accounts)
    assert run_sync(cfg, since=TODAY - timedelta(days=29), until=TODAY, now=noon(TODAY)).ok
    return cfg


def test_conversions_add_two_first_party_sources_and_leave_analytics_out(shops, make_config, run_sync):
    cfg = synced(make_config, run_sync, shops)
    e = build_explanation(cfg, "instagram", "conversions", TODAY - timedelta(days=29), TODAY)
    assert e.result == report_row(cfg, "instagram", 30).conversions == 4
    assert [(s.account, s.kind, s.total, s.counted) for s in e.sources if s.counted] == [
        ("shop", "first_party", 3.0, True),
        ("till", "first_party", 1.0, True),
    ]
    (ga,) = [s for s in e.sources if not s.counted]
    assert (ga.account, ga.kind) == ("ga", "analytics")
    assert "first-party orders from shop, till count where they exist" in ga.why_not
    assert all(d.use == "not counted (see sources)" for d in e.days if d.account == "ga")
    assert arithmetic(e, "EUR")[-1] == "added across accounts: 3 + 1 = 4 conversions"


def test_revenue_of_two_first_party_sources_is_the_reports(shops, make_config, run_sync):
    cfg = synced(make_config, run_sync, shops)
    e = build_explanation(cfg, "instagram", "revenue", TODAY - timedelta(days=29), TODAY)
    assert e.result == report_row(cfg, "instagram", 30).revenue == 95.0


def test_an_order_number_in_two_exports_is_taken_out_once(shops, make_config, run_sync, tmp_path):
    (tmp_path / "till.csv").write_text(
        "Order ID,Date,Amount,How did you hear about us\n1003,2026-11-04,25.00,Instagram\n"
    )
    cfg = synced(make_config, run_sync, shops)
    e = build_explanation(cfg, "instagram", "conversions", TODAY - timedelta(days=29), TODAY)
    assert e.result == report_row(cfg, "instagram", 30).conversions == 3
    assert (e.steps[-1].how, e.steps[-1].ids) == ("once", ["1003 (till)"])


def test_a_logged_offline_sale_adds_to_the_online_conversions(shops, make_config, run_sync):
    cfg = synced(make_config, run_sync, shops)
    engine = open_engine(cfg.database)
    try:
        manual.log(engine, platform="instagram", kind="order", day=TODAY, amount=20.0)
    finally:
        engine.dispose()
    e = build_explanation(cfg, "instagram", "conversions", TODAY - timedelta(days=29), TODAY)
    assert e.result == report_row(cfg, "instagram", 30).conversions == 5
    assert ("manual", "manual", True) in [(s.account, s.kind, s.counted) for s in e.sources]


def test_a_working_source_that_saw_nothing_explains_a_zero(engine, make_config):
    store(engine, "ga", [Sample("facebook", "conversions", TODAY, 2)], source="analytics", covers_all=True)
    store(engine, "page", [Sample("instagram", "likes", TODAY, 5)], position=1)
    cfg = make_config({"ga": {"plugin": "demo"}, "page": {"plugin": "demo"}})
    e = build_explanation(cfg, "instagram", "conversions", *WEEK)
    assert e.result == report_row(cfg, "instagram").conversions == 0
    assert any(line.startswith("0, not missing") for line in notes(e, "EUR"))


# --- missing, unknown ------------------------------------------------------------------------------------


def test_a_retired_metric_is_missing_with_its_reason_never_zero(engine, make_config):
    said = "(#100) profile_views is no longer supported"
    store(
        engine,
        "insta",
        [Sample("instagram", "likes", TODAY, 3)],
        unavailable=[Unavailable("instagram", "profile_views", f"Graph refused profile_views: {said}")],
    )
    cfg = make_config({"insta": {"plugin": "demo"}})
    e = build_explanation(cfg, "instagram", "profile_views", *WEEK)
    assert e.result is None and report_row(cfg, "instagram").profile_views is None
    assert [(m.account, m.status) for m in e.missing] == [("insta", "unavailable")]
    assert any(
        f"(unavailable: platform said: {said})" in line and line.startswith("missing, not 0")
        for line in notes(e, "EUR")
    )


def test_the_retired_metric_table_shows_no_zero(cli, tmp_path, engine):
    store(
        engine,
        "insta",
        [Sample("instagram", "likes", TODAY, 3)],
        unavailable=[Unavailable("instagram", "profile_views", "retired")],
    )
    config = write_config(tmp_path, '[accounts.insta]\nplugin = "demo"\n', db="tracker.db")  # the engine fixture's file
    result = invoke(
        cli,
        "explain",
        "instagram",
        "profile_views",
        "--until",
        TODAY.isoformat(),
        "--days",
        "3",
        "--config",
        str(config),
    )
    assert result.exit_code == 0, result.output
    assert "The report shows instagram profile_views as missing, not 0" in result.stdout
    day_lines = [line for line in result.stdout.splitlines() if "2026-11-" in line and "│" in line]
    assert len(day_lines) == 3 and all("│     – │" in line and "no data" in line for line in day_lines)


def test_an_unknown_platform_names_the_known_ones_and_exits_2(cli, demo):
    cfg, _ = demo
    result = invoke(cli, "explain", "instagramm", "reach", "--config", str(cfg.path))
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: platform 'instagramm' is not known; use one of ") and "instagram" in line


def test_an_unknown_metric_names_the_known_ones_and_exits_2(cli, demo):
    cfg, _ = demo
    result = invoke(cli, "explain", "instagram", "reech", "--config", str(cfg.path))
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: metric 'reech' is not known for instagram; use one of ") and "reach" in line


def test_a_day_with_days_is_refused_as_a_usage_error(cli, demo):
    cfg, _ = demo
    result = invoke(cli, "explain", "instagram", "reach", "2026-11-20", "--days", "3", "--config", str(cfg.path))
    assert result.exit_code == 2 and "either DAY or --days/--until" in result.output


# --- output --------------------------------------------------------------------------------------------


def explain_cli(cli, cfg, *args):
    result = invoke(cli, "explain", "instagram", "reach", *args, "--config", str(cfg.path))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_one_day_argument_explains_that_day_alone(cli, demo):
    cfg, _ = demo
    data = json.loads(explain_cli(cli, cfg, "2026-11-19", "--format", "json"))
    assert (data["start"], data["end"]) == ("2026-11-19", "2026-11-19")
    assert data["result"] == stored(cfg, "instagram", "reach", date(2026, 11, 19), date(2026, 11, 19))[0]


def test_json_carries_days_runs_arithmetic_and_the_reports_figure(cli, demo):
    cfg, run_id = demo
    data = json.loads(explain_cli(cli, cfg, "--days", "7", "--until", TODAY.isoformat(), "--format", "json"))
    assert data["result"] == report_row(cfg, "instagram").reach_daily_avg
    assert (data["kind"], data["label"], data["report_field"]) == ("unique", "reach/day", "reach_daily_avg")
    assert [d["day"] for d in data["days"]] == [(WEEK[0] + timedelta(days=i)).isoformat() for i in range(7)]
    assert {d["run_id"] for d in data["days"]} == {run_id} and data["runs"][0]["trigger"] == "manual"
    assert data["arithmetic"][0].endswith(f"= {data['result']:,.0f} reach/day")


def test_csv_has_a_row_per_stored_day_and_the_result(cli, demo):
    cfg, run_id = demo
    rows = list(
        csv.DictReader(
            io.StringIO(explain_cli(cli, cfg, "--days", "7", "--until", TODAY.isoformat(), "--format", "csv"))
        )
    )
    days = [r for r in rows if r["section"] == "day"]
    assert (
        len(days) == 7
        and {r["run_id"] for r in days} == {str(run_id)}
        and {r["run_trigger"] for r in days} == {"manual"}
    )
    (result,) = [r for r in rows if r["section"] == "result"]
    assert float(result["value"]) == report_row(cfg, "instagram").reach_daily_avg


def test_the_table_at_80_columns_cuts_nothing(cli, demo):
    cfg, _ = demo
    result = cli.invoke(
        app,
        ["explain", "instagram", "reach", "--days", "7", "--until", TODAY.isoformat(), "--config", str(cfg.path)],
        env={"COLUMNS": "80", "NO_COLOR": "1"},
    )
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    assert max(len(line.rstrip()) for line in result.stdout.splitlines()) <= 80
    shown = report_row(cfg, "instagram").reach_daily_avg
    assert f"The report shows {shown:,.0f} reach/day" in result.stdout
