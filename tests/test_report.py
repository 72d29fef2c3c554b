"""Report figures against values computed by hand from known samples."""

import csv
import io
import json
from datetime import date, timedelta

import pytest

from tracker.plugin import Sample, Unavailable
from tracker.report import compute, render, rows
from tracker.store import writes

END = date(2026, 3, 31)
PERIOD = compute.Period(date(2026, 3, 22), END)  # 10 days; previous: 03-12 .. 03-21


def store(engine, account, samples, source="none", covers_all=False, position=0, unavailable=()):
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(engine, run_id, account, date(2026, 1, 1), END)
    writes.commit_account(
        engine,
        run_id,
        account_run,
        writes.AccountResult(
            account=account,
            plugin="test",
            options_json="{}",
            conversion_source=source,
            covers_all_platforms=covers_all,
            position=position,
            samples=samples,
            unavailable=list(unavailable),
        ),
    )


def days(start, end):
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def report(engine, precedence=(), platforms=None):
    return rows.build(compute.compute(engine, PERIOD, platforms, precedence), "EUR")


def row(rep, platform):
    return next(r for r in rep.rows if r.platform == platform)


@pytest.fixture
def social(engine):
    """Instagram: followers 100 + day index (gauge), likes = 10/day, reach = 50 on even days and 30 on odd ones."""
    samples = []
    for i, d in enumerate(days(date(2026, 3, 1), END)):
        samples += [
            Sample("instagram", "followers", d, 100 + i),
            Sample("instagram", "likes", d, 10),
            Sample("instagram", "reach", d, 50 if d.day % 2 == 0 else 30),
        ]
    store(engine, "insta", samples)
    return engine


def test_gauge_shows_the_last_value_and_its_change_never_a_sum(social):
    r = row(report(social), "instagram")
    # 2026-03-31 is index 30 -> 130; the day before the period (03-21) is index 20 -> 120.
    assert r.followers == 130
    assert r.followers_change == 10


def test_counter_is_summed_over_the_period_and_the_previous_one(social):
    r = row(report(social), "instagram")
    assert r.likes == 100
    assert r.engagement == 100
    assert r.engagement_previous == 100


def test_unique_metric_is_a_daily_average_not_a_sum(social):
    r = row(report(social), "instagram")
    # 03-22..03-31: even days 22,24,26,28,30 -> 50; odd -> 30: average 40.
    assert r.reach_daily_avg == 40


def test_two_accounts_on_one_platform_add_up_on_the_vanity_side(engine):
    store(engine, "page_a", [Sample("facebook", "followers", END, 300), Sample("facebook", "likes", END, 4)])
    store(engine, "page_b", [Sample("facebook", "followers", END, 200), Sample("facebook", "likes", END, 6)])
    r = row(report(engine), "facebook")
    assert (r.followers, r.likes) == (500, 10)


def test_platform_without_a_conversion_source_is_not_tracked(social):
    r = row(report(social), "instagram")
    assert not r.tracked
    assert r.verdict == "not_tracked"
    assert r.conversions is None and r.conversion_rate is None


def test_working_source_that_saw_nothing_from_a_platform_means_zero_conversions(social):
    store(social, "ga4", [Sample("facebook", "visits", END, 8)], source="analytics", covers_all=True)
    r = row(report(social), "instagram")
    assert r.tracked and r.conversions == 0
    assert r.verdict == "vanity_only"
    assert "0 conversions" in r.verdict_text


def test_conversions_rate_revenue_and_efficiency_are_computed_from_the_chosen_source(social):
    conv = []
    for d in days(PERIOD.start, END):
        conv += [
            Sample("instagram", "visits", d, 20),
            Sample("instagram", "conversions", d, 1 if d.day % 5 == 0 else 0),
        ]
        conv += [Sample("instagram", "revenue", d, 30.0 if d.day % 5 == 0 else 0.0)]
    store(social, "ga4", conv, source="analytics", covers_all=True)
    r = row(report(social), "instagram")
    # conversions on 03-25 and 03-30: 2; visits 200; revenue 60; likes 100; followers 130.
    assert (r.visits, r.conversions, r.revenue) == (200, 2, 60.0)
    assert r.conversion_rate == 1.0
    assert r.engagement_per_conversion == 50  # interactions (here only likes) per conversion
    assert r.followers_per_conversion == 65
    assert r.verdict == "converts"
    assert r.conversions_source == "ga4"


def test_first_party_orders_win_over_analytics_and_are_never_summed(engine):
    store(
        engine,
        "ga4",
        [Sample("facebook", "visits", END, 50), Sample("facebook", "conversions", END, 4)],
        source="analytics",
        covers_all=True,
        position=0,
    )
    store(
        engine,
        "shop",
        [Sample("facebook", "conversions", END, 3), Sample("facebook", "revenue", END, 90.0)],
        source="first_party",
        position=1,
    )
    r = row(report(engine), "facebook")
    assert (r.conversions, r.revenue, r.conversions_source) == (3, 90.0, "shop")
    assert (r.visits, r.visits_source) == (50, "ga4")


def test_visits_come_from_the_first_analytics_account_in_config_order(engine):
    store(engine, "matomo", [Sample("x", "visits", END, 11)], source="analytics", covers_all=True, position=1)
    store(engine, "ga4", [Sample("x", "visits", END, 12)], source="analytics", covers_all=True, position=0)
    assert row(report(engine), "x").visits == 12


def test_configured_precedence_overrides_the_default_choice(engine):
    store(engine, "matomo", [Sample("x", "visits", END, 11)], source="analytics", covers_all=True, position=1)
    store(engine, "ga4", [Sample("x", "visits", END, 12)], source="analytics", covers_all=True, position=0)
    assert row(report(engine, precedence=("matomo",)), "x").visits == 11


def test_low_yield_platform_gets_the_few_customers_verdict(engine):
    store(engine, "insta", [Sample("instagram", "likes", END, 5000)])
    store(
        engine,
        "ga4",
        [Sample("instagram", "conversions", END, 2), Sample("instagram", "visits", END, 40)],
        source="analytics",
        covers_all=True,
    )
    r = row(report(engine), "instagram")
    assert r.verdict == "converts_little"
    assert "2,500 per conversion" in r.verdict_text


def test_retired_metric_is_reported_missing_not_zero(engine):
    store(
        engine,
        "page",
        [Sample("facebook", "likes", END, 3)],
        unavailable=[Unavailable("facebook", "impressions", "retired 2025-11-15")],
    )
    r = row(report(engine), "facebook")
    assert r.impressions is None
    assert "impressions" in r.missing and "retired" in r.missing


def test_buckets_come_after_platforms(engine):
    store(
        engine,
        "ga4",
        [Sample(p, "visits", END, 1) for p in ("direct", "facebook", "other", "bluesky")],
        source="analytics",
        covers_all=True,
    )
    assert [r.platform for r in report(engine).rows] == ["bluesky", "facebook", "direct", "other"]


def test_platform_filter_limits_the_rows(social):
    store(social, "page", [Sample("facebook", "likes", END, 3)])
    assert [r.platform for r in report(social, platforms=["facebook"]).rows] == ["facebook"]


def test_provisional_days_in_the_period_are_flagged(engine):
    store(engine, "page", [Sample("facebook", "likes", END, 3, provisional=True)])
    assert row(report(engine), "facebook").provisional


def test_json_keys_equal_csv_headers(social):
    rep = report(social)
    out_json, out_csv = io.StringIO(), io.StringIO()
    render.as_json(rep, out_json)
    render.as_csv(rep, out_csv)
    data = json.loads(out_json.getvalue())
    header = next(csv.reader(io.StringIO(out_csv.getvalue())))
    assert list(data["platforms"][0]) == header
    assert data["period"] == {
        "start": "2026-03-22",
        "end": "2026-03-31",
        "days": 10,
        "previous_start": "2026-03-12",
        "previous_end": "2026-03-21",
        "days_without_data_yet": 0,
    }


def test_csv_writes_no_data_as_empty_not_zero(social):
    out = io.StringIO()
    render.as_csv(report(social), out)
    record = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert record["conversions"] == "" and record["likes"] == "100"


def test_table_notes_show_customer_care_beside_the_verdict(engine):
    from rich.console import Console

    store(engine, "page", [Sample("facebook", "messages", END, 20), Sample("facebook", "replies", END, 15)])
    console = Console(record=True, width=160, no_color=True)
    render.table(report(engine), console)
    assert "care: 20 customer messages, 15 replies (75% answered)" in console.export_text()


def test_a_platform_seen_only_by_analytics_gets_a_verdict_about_visits(engine):
    store(
        engine,
        "ga4",
        [Sample("reddit", "visits", END, 5), Sample("facebook", "conversions", END, 1)],
        source="analytics",
        covers_all=True,
    )
    r = row(report(engine), "reddit")
    assert r.verdict == "vanity_only"
    assert r.verdict_text == "Visits, no customers: 5 visits from here, 0 conversions in 10 days."
