"""Alerts against a prepared database: each kind fires exactly when its condition holds, and not one day earlier.

Conversion alerts look at periods ending yesterday: with TODAY = 2026-11-27,
the last whole day is 2026-11-26.
"""

import csv
import io
import json
from datetime import date, timedelta

import sqlalchemy as sa

from tracker import alerts
from tracker.cli.main import app
from tracker.plugin import Sample, Unavailable
from tracker.store import writes

from .conftest import noon

TODAY = date(2026, 11, 27)
NOW = noon(TODAY)
YESTERDAY = TODAY - timedelta(days=1)


def days(first, last):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def series(platform, metric, values_by_day):
    return [Sample(platform, metric, day, value) for day, value in values_by_day.items()]


def flat(first, last, value):
    return {day: value for day in days(first, last)}


def store(engine, account, samples=(), *, source="none", state=None, unavailable=(), status="ok"):
    """Write an account's samples through the real commit path, as one sync run would."""
    run_id = writes.start_run(engine, "manual")
    account_run = writes.start_account_run(engine, run_id, account, TODAY, TODAY)
    if status == "ok":
        result = writes.AccountResult(
            account=account,
            plugin="test",
            options_json="{}",
            conversion_source=source,
            covers_all_platforms=False,
            position=0,
            samples=list(samples),
            unavailable=list(unavailable),
            state=state,
        )
        writes.commit_account(engine, run_id, account_run, result)
    else:
        writes.finish_account_run(engine, account_run, status, "the platform is down")
    writes.finish_run(engine, run_id, status)
    return account_run


def finished_at(engine, account_run, when):
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE account_run SET finished_at = :t WHERE id = :id"),
            {"t": when.replace(tzinfo=None), "id": account_run},
        )


def of_kind(cfg, engine, kind):
    return [a for a in alerts.evaluate(cfg, engine, NOW) if a.kind == kind.value]


# --- zero conversions ------------------------------------------------------

ZERO_FIRST = YESTERDAY - timedelta(days=13)  # 14 days: 2026-11-13 .. 2026-11-26


def test_zero_conversions_for_fourteen_days_with_visits_fires(make_config, engine):
    store(
        engine,
        "web",
        series("facebook", "visits", flat(ZERO_FIRST, YESTERDAY, 5))
        + series("facebook", "conversions", {**flat(ZERO_FIRST, YESTERDAY, 0), ZERO_FIRST - timedelta(days=1): 3}),
        source="analytics",
    )
    found = of_kind(make_config({"web": {"plugin": "demo"}}), engine, alerts.Kind.ZERO_CONVERSIONS)
    assert [(a.platform, a.message) for a in found] == [
        ("facebook", "facebook: no conversions in 14 days despite 70 visits")
    ]


def test_one_conversion_on_the_first_of_the_fourteen_days_does_not_fire(make_config, engine):
    store(
        engine,
        "web",
        series("facebook", "visits", flat(ZERO_FIRST, YESTERDAY, 5))
        + series("facebook", "conversions", {**flat(ZERO_FIRST, YESTERDAY, 0), ZERO_FIRST: 1}),
        source="analytics",
    )
    assert of_kind(make_config({"web": {"plugin": "demo"}}), engine, alerts.Kind.ZERO_CONVERSIONS) == []


def test_zero_conversions_with_likes_but_no_visits_fires(make_config, engine):
    store(engine, "web", series("instagram", "conversions", flat(ZERO_FIRST, YESTERDAY, 0)), source="analytics")
    store(engine, "page", series("instagram", "likes", flat(ZERO_FIRST, YESTERDAY, 20)))
    found = of_kind(
        make_config({"web": {"plugin": "demo"}, "page": {"plugin": "demo"}}), engine, alerts.Kind.ZERO_CONVERSIONS
    )
    assert [a.message for a in found] == ["instagram: no conversions in 14 days despite 280 interactions"]


def test_zero_conversions_without_visits_or_likes_says_nothing(make_config, engine):
    store(engine, "web", series("xing", "conversions", flat(ZERO_FIRST, YESTERDAY, 0)), source="analytics")
    assert of_kind(make_config({"web": {"plugin": "demo"}}), engine, alerts.Kind.ZERO_CONVERSIONS) == []


def test_a_platform_nothing_tracks_never_gets_a_zero_conversions_alert(make_config, engine):
    store(engine, "page", series("xing", "likes", flat(ZERO_FIRST, YESTERDAY, 20)))
    assert of_kind(make_config({"page": {"plugin": "demo"}}), engine, alerts.Kind.ZERO_CONVERSIONS) == []


# --- likes or followers up, conversions down -------------------------------

CUR_FIRST = YESTERDAY - timedelta(days=6)  # trend_days = 7: 2026-11-20 .. 2026-11-26
PREV_FIRST, PREV_LAST = CUR_FIRST - timedelta(days=7), CUR_FIRST - timedelta(days=1)


def trend_case(engine, *, likes_now, conversions_now, followers=None):
    """Previous 7 days: 10 likes and 2 conversions a day (70 and 14); the current 7 days as given, in total."""
    cur_days = list(days(CUR_FIRST, YESTERDAY))
    likes = {**flat(PREV_FIRST, PREV_LAST, 10), **{d: 10 for d in cur_days}}
    likes[YESTERDAY] += likes_now - 70
    conversions = {**flat(PREV_FIRST, PREV_LAST, 2), **{d: 2 for d in cur_days}}
    conversions[YESTERDAY] += conversions_now - 14
    page = series("facebook", "likes", likes) + (series("facebook", "followers", followers) if followers else [])
    store(engine, "page", page)
    store(engine, "web", series("facebook", "conversions", conversions), source="analytics")


def trend_config(make_config):
    return make_config(
        {"page": {"plugin": "demo"}, "web": {"plugin": "demo"}}, alerts={"trend_days": 7, "trend_percent": 10}
    )


def test_likes_up_ten_percent_while_conversions_fall_ten_percent_or_more_fires(make_config, engine):
    trend_case(engine, likes_now=77, conversions_now=12)
    found = of_kind(trend_config(make_config), engine, alerts.Kind.VANITY_UP_CONVERSIONS_DOWN)
    assert [a.message for a in found] == [
        "facebook: interactions 70 -> 77 while conversions fell 14 -> 12 (last 7 days vs the 7 before)"
    ]


def test_conversions_falling_less_than_the_threshold_does_not_fire(make_config, engine):
    trend_case(engine, likes_now=77, conversions_now=13)  # -7 %
    assert of_kind(trend_config(make_config), engine, alerts.Kind.VANITY_UP_CONVERSIONS_DOWN) == []


def test_likes_rising_less_than_the_threshold_does_not_fire(make_config, engine):
    trend_case(engine, likes_now=76, conversions_now=12)  # likes +8.6 %
    assert of_kind(trend_config(make_config), engine, alerts.Kind.VANITY_UP_CONVERSIONS_DOWN) == []


def test_followers_growing_while_conversions_fall_fires(make_config, engine):
    followers = {PREV_LAST: 100, YESTERDAY: 105}
    trend_case(engine, likes_now=70, conversions_now=12, followers=followers)
    found = of_kind(trend_config(make_config), engine, alerts.Kind.VANITY_UP_CONVERSIONS_DOWN)
    assert [a.message for a in found] == [
        "facebook: followers +5 while conversions fell 14 -> 12 (last 7 days vs the 7 before)"
    ]


# --- conversion rate below the platform's own baseline -----------------------

BASE_FIRST, BASE_LAST = CUR_FIRST - timedelta(days=28), CUR_FIRST - timedelta(days=1)


def rate_case(engine, *, visits_per_day, conversions_now):
    """Baseline (28 days): 10 visits and 1 conversion a day, a 10 % rate. Current 7 days as given."""
    visits = {**flat(BASE_FIRST, BASE_LAST, 10), **flat(CUR_FIRST, YESTERDAY, visits_per_day)}
    conversions = {**flat(BASE_FIRST, BASE_LAST, 1), **flat(CUR_FIRST, YESTERDAY, 0)}
    conversions[YESTERDAY] = conversions_now
    store(
        engine,
        "web",
        series("facebook", "visits", visits) + series("facebook", "conversions", conversions),
        source="analytics",
    )


def rate_config(make_config):
    return make_config(
        {"web": {"plugin": "demo"}}, alerts={"trend_days": 7, "baseline_days": 28, "rate_drop_percent": 30}
    )


def test_a_rate_more_than_thirty_percent_below_the_baseline_fires(make_config, engine):
    rate_case(engine, visits_per_day=10, conversions_now=4)  # 4/70 = 5.7 % < 7 %
    found = of_kind(rate_config(make_config), engine, alerts.Kind.CONVERSION_RATE_BELOW_BASELINE)
    assert [a.message for a in found] == [
        "facebook: conversion rate 5.7 % is more than 30 % below its 28-day baseline of 10.0 %"
    ]


def test_a_rate_just_above_seventy_percent_of_the_baseline_does_not_fire(make_config, engine):
    rate_case(engine, visits_per_day=10, conversions_now=5)  # 5/70 = 7.1 % >= 7 %
    assert of_kind(rate_config(make_config), engine, alerts.Kind.CONVERSION_RATE_BELOW_BASELINE) == []


def test_too_few_visits_for_a_rate_does_not_fire(make_config, engine):
    rate_case(engine, visits_per_day=4, conversions_now=0)  # 28 visits < min_visits 30
    assert of_kind(rate_config(make_config), engine, alerts.Kind.CONVERSION_RATE_BELOW_BASELINE) == []


# --- operations ---------------------------------------------------------------


def test_no_successful_sync_for_more_than_two_days_fires(make_config, engine):
    finished_at(engine, store(engine, "web"), NOW - timedelta(days=2, minutes=1))
    found = of_kind(make_config({"web": {"plugin": "demo"}}), engine, alerts.Kind.SYNC_STALE)
    assert [a.message for a in found] == ["web: no successful sync since 2026-11-25 11:59 UTC"]


def test_a_sync_just_under_two_days_old_does_not_fire(make_config, engine):
    finished_at(engine, store(engine, "web"), NOW - timedelta(days=2) + timedelta(minutes=1))
    assert of_kind(make_config({"web": {"plugin": "demo"}}), engine, alerts.Kind.SYNC_STALE) == []


def test_an_account_that_only_ever_failed_fires_and_one_never_tried_does_not(make_config, engine):
    store(engine, "broken", status="failed")
    found = of_kind(
        make_config({"broken": {"plugin": "demo"}, "new": {"plugin": "demo"}}), engine, alerts.Kind.SYNC_STALE
    )
    assert [(a.account, a.message) for a in found] == [("broken", "broken: has never synced successfully")]


def test_a_token_expiring_within_seven_days_fires(make_config, engine):
    expires = NOW + timedelta(days=6, hours=23)
    store(engine, "page", state={alerts.TOKEN_EXPIRES_KEY: expires.isoformat()})
    found = of_kind(make_config({"page": {"plugin": "demo"}}), engine, alerts.Kind.TOKEN_EXPIRING)
    assert [a.message for a in found] == ["page: the access token expires on 2026-12-04 11:00 UTC; renew it"]


def test_a_token_expiring_in_more_than_seven_days_does_not_fire(make_config, engine):
    store(engine, "page", state={alerts.TOKEN_EXPIRES_KEY: (NOW + timedelta(days=7, hours=1)).isoformat()})
    assert of_kind(make_config({"page": {"plugin": "demo"}}), engine, alerts.Kind.TOKEN_EXPIRING) == []


def test_an_expired_token_says_expired(make_config, engine):
    store(engine, "page", state={alerts.TOKEN_EXPIRES_KEY: "2026-11-26T08:00:00+00:00"})
    found = of_kind(make_config({"page": {"plugin": "demo"}}), engine, alerts.Kind.TOKEN_EXPIRING)
    assert [a.message for a in found] == ["page: the access token expired on 2026-11-26 08:00 UTC; renew it"]


def test_a_retired_metric_fires_until_it_comes_back(make_config, engine):
    cfg = make_config({"page": {"plugin": "demo"}})
    store(engine, "page", unavailable=[Unavailable("facebook", "impressions", "retired by Meta in 2025")])
    found = of_kind(cfg, engine, alerts.Kind.METRIC_RETIRED)
    assert [a.message for a in found] == [
        f"page: facebook no longer serves impressions (since {writes.now():%Y-%m-%d}): retired by Meta in 2025"
    ]
    store(engine, "page", [Sample("facebook", "impressions", YESTERDAY, 10)])
    assert of_kind(cfg, engine, alerts.Kind.METRIC_RETIRED) == []


def test_a_disabled_account_raises_no_operational_alerts(make_config, engine):
    store(engine, "page", status="failed", unavailable=[Unavailable("facebook", "impressions", "retired")])
    store(engine, "page", unavailable=[Unavailable("facebook", "impressions", "retired")])
    cfg = make_config({"page": {"plugin": "demo", "enabled": False}})
    assert alerts.operational_alerts(cfg, engine, NOW) == []


# --- the command ----------------------------------------------------------------


def write_config(tmp_path, db_url, extra=""):
    path = tmp_path / "config.toml"
    path.write_text(
        f'database = "{db_url.removeprefix("sqlite:///")}"\ntimezone = "UTC"\n{extra}\n'
        '[accounts.page]\nplugin = "demo"\n',
        encoding="utf-8",
    )
    return path


def invoke(cli, *args):
    return cli.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})


def test_alerts_exit_0_and_say_so_when_nothing_holds(cli, tmp_path, db_url, engine):
    result = invoke(cli, "alerts", "--config", str(write_config(tmp_path, db_url)))
    assert result.exit_code == 0
    assert result.stdout.strip() == "No alerts."


def test_alerts_exit_1_and_list_each_alert_as_json(cli, tmp_path, db_url, engine):
    store(engine, "page", unavailable=[Unavailable("facebook", "impressions", "retired")])
    result = invoke(cli, "alerts", "--config", str(write_config(tmp_path, db_url)), "--format", "json")
    assert result.exit_code == 1
    assert [(a["kind"], a["platform"], a["account"]) for a in json.loads(result.stdout)] == [
        ("metric_retired", "facebook", "page")
    ]


def test_alerts_csv_headers_equal_the_json_keys(cli, tmp_path, db_url, engine):
    store(engine, "page", unavailable=[Unavailable("facebook", "impressions", "retired")])
    config = str(write_config(tmp_path, db_url))
    as_json = json.loads(invoke(cli, "alerts", "--config", config, "--format", "json").stdout)
    as_csv = list(csv.DictReader(io.StringIO(invoke(cli, "alerts", "--config", config, "--format", "csv").stdout)))
    evidence_as_text = [{**a, "evidence": "; ".join(f"{k}={v}" for k, v in a["evidence"].items())} for a in as_json]
    assert as_csv == evidence_as_text


def test_alerts_exit_2_on_a_bad_threshold_with_one_line(cli, tmp_path, db_url):
    config = write_config(tmp_path, db_url, "[alerts]\nstale_days = 0\n")
    result = invoke(cli, "alerts", "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {config}: alerts.stale_days: must be a whole number >= 1, not 0"


def test_alerts_are_posted_to_the_webhook_as_json(cli, tmp_path, db_url, engine, httpserver, monkeypatch):
    store(engine, "page", unavailable=[Unavailable("facebook", "impressions", "retired")])
    httpserver.expect_request("/hooks/T0K3N", method="POST").respond_with_data("ok")
    monkeypatch.setenv("ALERT_HOOK", httpserver.url_for("/hooks/T0K3N"))
    result = invoke(
        cli, "alerts", "--config", str(write_config(tmp_path, db_url, '[alerts]\nwebhook_url = "${ALERT_HOOK}"\n'))
    )
    assert result.exit_code == 1
    [(request, _)] = httpserver.log
    body = request.get_json()
    assert [a["kind"] for a in body["alerts"]] == ["metric_retired"] and "generated_at" in body


def test_a_failing_webhook_exits_2_without_showing_its_secret_path(
    cli, tmp_path, db_url, engine, httpserver, monkeypatch
):
    store(engine, "page", unavailable=[Unavailable("facebook", "impressions", "retired")])
    httpserver.expect_request("/hooks/T0K3N", method="POST").respond_with_data("no", status=404)
    monkeypatch.setenv("ALERT_HOOK", httpserver.url_for("/hooks/T0K3N"))
    result = invoke(
        cli, "alerts", "--config", str(write_config(tmp_path, db_url, '[alerts]\nwebhook_url = "${ALERT_HOOK}"\n'))
    )
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"error: alerts webhook at http://{httpserver.host}:{httpserver.port}: answered HTTP 404"
    )
    assert "T0K3N" not in result.output
