"""Alerts fire only on enough data to mean it, and carry the figures they used.

Each kind has a near miss: one step below its threshold says nothing, the
threshold itself fires. The three false alarms seen on a new install (issue 15)
have a test each. Time is pinned: TODAY = 2026-11-27, so conversion alerts look
at periods ending 2026-11-26.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tracker import alerts, manual
from tracker import config as cfgmod
from tracker.cli.alerts import show
from tracker.cli.common import Format
from tracker.errors import ConfigError

from .test_alerts import NOW, TODAY, YESTERDAY, flat, of_kind, series, store

ZERO_FIRST = YESTERDAY - timedelta(days=13)  # the default 14 days: 2026-11-13 .. 2026-11-26


def figures(alert: alerts.Alert) -> dict:
    return {f.name: f.value for f in alert.evidence}


# --- zero_conversions: activity threshold -------------------------------------


def quiet_platform(engine, *, visits_per_day=None, likes=None):
    """An analytics account sees instagram on every day of the window, with no conversions; a page adds likes."""
    web = series("instagram", "conversions", flat(ZERO_FIRST, YESTERDAY, 0))
    if visits_per_day is not None:
        web += series("instagram", "visits", flat(ZERO_FIRST, YESTERDAY, visits_per_day))
    store(engine, "web", web, source="analytics")
    if likes is not None:
        store(engine, "page", series("instagram", "likes", {**flat(ZERO_FIRST, YESTERDAY, 0), YESTERDAY: likes}))


def zero_config(make_config, **thresholds):
    return make_config({"web": {"plugin": "demo"}, "page": {"plugin": "demo"}}, alerts=thresholds)


def test_zero_conversions_with_no_visits_and_a_few_likes_stays_silent(make_config, engine):
    """Seen on a new install: "no conversions ... despite 0 visits" over a handful of likes."""
    quiet_platform(engine, visits_per_day=0, likes=12)
    assert of_kind(zero_config(make_config), engine, alerts.Kind.ZERO_CONVERSIONS) == []


def test_zero_conversions_with_29_interactions_stays_silent(make_config, engine):
    quiet_platform(engine, visits_per_day=0, likes=29)
    assert of_kind(zero_config(make_config), engine, alerts.Kind.ZERO_CONVERSIONS) == []


def test_zero_conversions_with_30_interactions_fires_with_its_figures(make_config, engine):
    quiet_platform(engine, visits_per_day=0, likes=30)
    [found] = of_kind(zero_config(make_config), engine, alerts.Kind.ZERO_CONVERSIONS)
    assert found.message == "instagram: no conversions in 14 days despite 0 visits and 30 interactions"
    assert figures(found) == {
        "period_start": "2026-11-13",
        "period_end": "2026-11-26",
        "conversions": 0,
        "conversions_today": 0,
        "visits": 0,
        "interactions": 30,
        "min_activity": 30,
    }


def test_zero_conversions_with_29_visits_stays_silent(make_config, engine):
    store(
        engine,
        "web",
        series("instagram", "visits", {**flat(ZERO_FIRST, YESTERDAY, 2), YESTERDAY: 3})
        + series("instagram", "conversions", flat(ZERO_FIRST, YESTERDAY, 0)),
        source="analytics",
    )
    assert of_kind(zero_config(make_config), engine, alerts.Kind.ZERO_CONVERSIONS) == []


def test_zero_conversions_with_30_visits_fires(make_config, engine):
    store(
        engine,
        "web",
        series("instagram", "visits", {**flat(ZERO_FIRST, YESTERDAY, 2), YESTERDAY: 4})
        + series("instagram", "conversions", flat(ZERO_FIRST, YESTERDAY, 0)),
        source="analytics",
    )
    [found] = of_kind(zero_config(make_config), engine, alerts.Kind.ZERO_CONVERSIONS)
    assert (figures(found)["visits"], figures(found)["interactions"]) == (30, None)


def test_zero_conversions_min_activity_is_read_from_the_config(make_config, engine):
    quiet_platform(engine, visits_per_day=5)  # 70 visits
    assert (
        of_kind(zero_config(make_config, zero_conversions_min_activity=71), engine, alerts.Kind.ZERO_CONVERSIONS) == []
    )


def test_an_absent_visits_figure_is_not_called_zero_visits(make_config, engine):
    quiet_platform(engine, likes=280)
    [found] = of_kind(zero_config(make_config), engine, alerts.Kind.ZERO_CONVERSIONS)
    assert "visits" not in found.message and figures(found)["visits"] is None


# --- zero_conversions: a sale logged or imported for today --------------------


def test_a_sale_logged_for_today_silences_zero_conversions(make_config, engine):
    """Seen: `tracker log sale -p instagram`, then "instagram: no conversions in 14 days"."""
    quiet_platform(engine, visits_per_day=5)
    manual.log(engine, platform="instagram", kind="order", day=TODAY, amount=20.0, today=TODAY)
    assert of_kind(zero_config(make_config), engine, alerts.Kind.ZERO_CONVERSIONS) == []


def test_a_sale_logged_for_today_and_undone_counts_for_nothing(make_config, engine):
    quiet_platform(engine, visits_per_day=5)
    manual.undo(engine, manual.log(engine, platform="instagram", kind="order", day=TODAY, amount=20.0, today=TODAY))
    [found] = of_kind(zero_config(make_config), engine, alerts.Kind.ZERO_CONVERSIONS)
    assert figures(found)["conversions_today"] == 0


def test_a_shop_order_imported_for_today_silences_zero_conversions(make_config, engine, run_sync, tmp_path):
    quiet_platform(engine, visits_per_day=5)
    export = tmp_path / "orders.csv"
    export.write_text(
        "Date,Order #,Status,Customer,Customer type,Product(s),Items sold,Coupon(s),Net sales,Attribution\n"
        f"{TODAY} 10:15:00,2001,completed,Anna,new,1x Brot,1,INSTA10,20.00,Direct\n",
        encoding="utf-8",
    )
    shop = {"plugin": "csv", "path": str(export), "currency": "EUR", "coupons": {"insta10": "instagram"}}
    cfg = make_config({"web": {"plugin": "demo"}, "shop": shop})
    assert run_sync(cfg, accounts=["shop"], now=NOW).ok
    assert of_kind(cfg, engine, alerts.Kind.ZERO_CONVERSIONS) == []


# --- vanity_up_conversions_down: data in both periods ---------------------------

CUR_FIRST = YESTERDAY - timedelta(days=6)  # trend_days = 7: 2026-11-20 .. 2026-11-26
PREV_FIRST, PREV_LAST = CUR_FIRST - timedelta(days=7), CUR_FIRST - timedelta(days=1)


def trend(engine, *, likes_from=PREV_FIRST, likes_before=10, followers=None):
    """Conversions 2 a day from the analytics account (14 -> 12); likes from `likes_from`, 11 a day now (77)."""
    conversions = flat(PREV_FIRST, YESTERDAY, 2)
    conversions[YESTERDAY] = 0
    store(engine, "web", series("facebook", "conversions", conversions), source="analytics")
    likes = {**flat(likes_from, PREV_LAST, likes_before), **flat(CUR_FIRST, YESTERDAY, 11)}
    store(engine, "page", series("facebook", "likes", likes) + series("facebook", "followers", followers or {}))


def trend_config(make_config):
    return make_config(
        {"page": {"plugin": "demo"}, "web": {"plugin": "demo"}}, alerts={"trend_days": 7, "trend_percent": 10}
    )


def test_likes_synced_from_one_day_into_the_previous_period_say_nothing(make_config, engine):
    """A half-synced previous period (60 likes in 6 days) would look like a rise to 77."""
    trend(engine, likes_from=PREV_FIRST + timedelta(days=1))
    assert of_kind(trend_config(make_config), engine, alerts.Kind.VANITY_UP_CONVERSIONS_DOWN) == []


def test_likes_synced_from_the_previous_periods_first_day_fire_with_their_figures(make_config, engine):
    trend(engine, likes_from=PREV_FIRST)
    [found] = of_kind(trend_config(make_config), engine, alerts.Kind.VANITY_UP_CONVERSIONS_DOWN)
    assert (
        found.message == "facebook: interactions 70 -> 77 while conversions fell 14 -> 12 (last 7 days vs the 7 before)"
    )
    assert figures(found) == {
        "period_start": "2026-11-20",
        "period_end": "2026-11-26",
        "previous_start": "2026-11-13",
        "previous_end": "2026-11-19",
        "interactions": 77,
        "interactions_previous": 70,
        "followers_change": None,
        "conversions": 12,
        "conversions_previous": 14,
        "trend_percent": 10,
    }


def test_a_rise_from_zero_interactions_says_nothing(make_config, engine):
    trend(engine, likes_before=0)
    assert of_kind(trend_config(make_config), engine, alerts.Kind.VANITY_UP_CONVERSIONS_DOWN) == []


def test_followers_last_counted_before_the_previous_period_say_nothing(make_config, engine):
    trend(engine, likes_before=11, followers={PREV_FIRST - timedelta(days=1): 100, YESTERDAY: 105})
    assert of_kind(trend_config(make_config), engine, alerts.Kind.VANITY_UP_CONVERSIONS_DOWN) == []


def test_followers_counted_in_the_previous_period_fire(make_config, engine):
    trend(engine, likes_before=11, followers={PREV_FIRST: 100, YESTERDAY: 105})
    [found] = of_kind(trend_config(make_config), engine, alerts.Kind.VANITY_UP_CONVERSIONS_DOWN)
    assert found.message.startswith("facebook: followers +5 while") and figures(found)["followers_change"] == 5


# --- conversion_rate_below_baseline: min_visits and trend_days days of history --

BASE_LAST = CUR_FIRST - timedelta(days=1)


def rate(engine, baseline_visits: dict, baseline_conversions: dict):
    """Now: 10 visits a day and no conversion (0 %); the baseline as given."""
    visits = {**baseline_visits, **flat(CUR_FIRST, YESTERDAY, 10)}
    conversions = {**baseline_conversions, **flat(CUR_FIRST, YESTERDAY, 0)}
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


def test_a_baseline_of_one_day_is_no_baseline(make_config, engine):
    """Seen on a new install: 30 days synced, the last 28 compared with a "90-day baseline" of their first day."""
    first = YESTERDAY - timedelta(days=28)
    store(
        engine,
        "web",
        series("facebook", "visits", {first: 3, **flat(first + timedelta(days=1), YESTERDAY, 2)})
        + series("facebook", "leads", {first: 1})
        + series("facebook", "conversions", {first: 1, YESTERDAY: 1}),
        source="analytics",
    )
    cfg = make_config({"web": {"plugin": "demo"}})  # defaults: trend_days 28, baseline_days 90, min_visits 30
    assert of_kind(cfg, engine, alerts.Kind.CONVERSION_RATE_BELOW_BASELINE) == []


def test_a_baseline_with_six_days_of_visits_says_nothing(make_config, engine):
    first = BASE_LAST - timedelta(days=5)
    rate(engine, flat(first, BASE_LAST, 10), flat(first, BASE_LAST, 1))
    assert of_kind(rate_config(make_config), engine, alerts.Kind.CONVERSION_RATE_BELOW_BASELINE) == []


def test_a_baseline_with_seven_days_of_visits_fires_with_its_figures(make_config, engine):
    first = BASE_LAST - timedelta(days=6)
    rate(engine, flat(first, BASE_LAST, 10), flat(first, BASE_LAST, 1))
    [found] = of_kind(rate_config(make_config), engine, alerts.Kind.CONVERSION_RATE_BELOW_BASELINE)
    assert found.message == "facebook: conversion rate 0.0 % is more than 30 % below its 28-day baseline of 10.0 %"
    assert figures(found) == {
        "period_start": "2026-11-20",
        "period_end": "2026-11-26",
        "visits": 70,
        "conversions": 0,
        "rate_percent": 0.0,
        "baseline_start": "2026-10-23",
        "baseline_end": "2026-11-19",
        "baseline_visits": 70,
        "baseline_conversions": 7,
        "baseline_rate_percent": 10.0,
        "baseline_days_with_visits": 7,
        "rate_drop_percent": 30,
        "min_visits": 30,
        "min_days": 7,
    }


def test_a_baseline_of_29_visits_says_nothing(make_config, engine):
    first = BASE_LAST - timedelta(days=6)
    rate(engine, {**flat(first, BASE_LAST, 4), first: 5}, {first: 3})
    assert of_kind(rate_config(make_config), engine, alerts.Kind.CONVERSION_RATE_BELOW_BASELINE) == []


def test_a_baseline_of_30_visits_fires(make_config, engine):
    first = BASE_LAST - timedelta(days=6)
    rate(engine, {**flat(first, BASE_LAST, 4), first: 6}, {first: 3})
    [found] = of_kind(rate_config(make_config), engine, alerts.Kind.CONVERSION_RATE_BELOW_BASELINE)
    assert figures(found)["baseline_visits"] == 30


# --- the new setting -------------------------------------------------------------


@pytest.mark.parametrize(
    ("alerts_table", "problem"),
    [
        (
            {"zero_conversions_min_activity": 0},
            "alerts.zero_conversions_min_activity: must be a whole number >= 1, not 0",
        ),
        ({"trend_days": 28, "baseline_days": 14}, "alerts.baseline_days: must be at least trend_days (28), not 14"),
    ],
    ids=["min-activity-zero", "baseline-shorter-than-trend"],
)
def test_a_bad_alerts_setting_is_refused_with_one_line(tmp_path, alerts_table, problem):
    with pytest.raises(ConfigError) as caught:
        cfgmod.parse({"alerts": alerts_table, "accounts": {}}, tmp_path / "config.toml")
    assert str(caught.value) == f"{tmp_path / 'config.toml'}: {problem}"


# --- the evidence in every output --------------------------------------------------


def test_operational_alerts_carry_their_figures(make_config, engine):
    store(engine, "broken", status="failed")
    [found] = of_kind(make_config({"broken": {"plugin": "demo"}}), engine, alerts.Kind.SYNC_STALE)
    assert figures(found) == {"last_success": None, "stale_days": 2}


def zero_alert_for_instagram(make_config, engine) -> list[alerts.Alert]:
    quiet_platform(engine, likes=280)
    return alerts.evaluate(zero_config(make_config), engine, NOW)


def test_the_text_output_shows_each_alerts_figures_within_80_columns(make_config, engine, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    show(zero_alert_for_instagram(make_config, engine), Format.table)
    out = capsys.readouterr().out
    assert "figures: period_start=2026-11-13; period_end=2026-11-26;" in out and "visits=missing;" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_json_output_carries_the_figures_as_an_object(make_config, engine, capsys):
    show(zero_alert_for_instagram(make_config, engine), Format.json)
    [shown] = json.loads(capsys.readouterr().out)
    assert shown["evidence"]["interactions"] == 280 and shown["evidence"]["visits"] is None


def test_the_webhook_body_keeps_its_fields_and_adds_the_figures(make_config, engine, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    alerts.post(httpserver.url_for("/hook"), zero_alert_for_instagram(make_config, engine), NOW)
    [(request, _)] = httpserver.log
    body = request.get_json()
    assert body["generated_at"] == "2026-11-27T12:00:00+00:00"
    assert body["alerts"] == [
        {
            "kind": "zero_conversions",
            "platform": "instagram",
            "account": "",
            "message": "instagram: no conversions in 14 days despite 280 interactions",
            "evidence": {
                "period_start": "2026-11-13",
                "period_end": "2026-11-26",
                "conversions": 0,
                "conversions_today": 0,
                "visits": None,
                "interactions": 280,
                "min_activity": 30,
            },
        }
    ]


def test_data_of_an_account_removed_from_the_config_raises_no_conversion_alert(make_config, engine):
    quiet_platform(engine, visits_per_day=5)
    assert of_kind(make_config({"page": {"plugin": "demo"}}), engine, alerts.Kind.ZERO_CONVERSIONS) == []
