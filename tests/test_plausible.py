"""The Plausible plugin against a fake Stats API v2."""

from __future__ import annotations

import json
from datetime import date

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.plausible import FakePlausible
from tracker.errors import ApiError, AuthError, RateLimited
from tracker.http import HttpSession
from tracker.testing import check_plugin, fetch_once, make_options, raises_domain_error, window
from tracker_plugins import plausible as module
from tracker_plugins.plausible import plugin

TODAY = date(2026, 11, 23)
KEY = "plausible-test-key"
ENV = {"TEST_TOKEN": KEY}


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakePlausible:
    return FakePlausible(httpserver, key=KEY)


def options(fake: FakePlausible, **extra: object) -> dict[str, object]:
    return {"site_id": "example.com", "token": "${TEST_TOKEN}", "base_url": fake.server.url_for("/"), **extra}


def seed_week(fake: FakePlausible) -> None:
    fake.add_visits(date(2026, 11, 2), "Facebook", 10, 8)
    fake.add_visits(date(2026, 11, 2), "Instagram", 5, 5)
    fake.add_visits(date(2026, 11, 2), "Direct / None", 20, 18)
    fake.add_visits(date(2026, 11, 2), "markosaric.com", 3, 3)
    fake.add_visits(date(2026, 11, 9), "Facebook", 7, 6)
    fake.add_visits(date(2026, 11, 9), "Twitter", 2, 2)
    fake.add_visits(date(2026, 11, 9), "x.com", 1, 1)
    fake.add_conversions(date(2026, 11, 2), "Facebook", "Signup", 2)
    fake.add_conversions(date(2026, 11, 2), "Facebook", "Purchase", 1, revenue=39.5)
    fake.add_conversions(date(2026, 11, 9), "Direct / None", "Purchase", 1, revenue=20.0)


def stored(rows: list[dict], platform: str, metric: str, day: date) -> float | None:
    match = [r["value"] for r in rows if (r["platform"], r["metric"], r["day"]) == (platform, metric, day.isoformat())]
    return match[0] if match else None


def test_conformance_kit_passes(fake: FakePlausible) -> None:
    seed_week(fake)
    result = check_plugin(plugin, options(fake), since=date(2026, 11, 1), until=date(2026, 11, 10), env=ENV)
    assert {s.platform for s in result.samples} == {"facebook", "instagram", "direct", "other", "x"}


def test_sync_stores_visits_visitors_conversions_and_revenue_per_day_per_platform(
    fake: FakePlausible, make_config, run_sync, samples, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_TOKEN", KEY)
    seed_week(fake)
    cfg = make_config({"site": {"plugin": "plausible", **options(fake)}})
    result = run_sync(cfg, now=noon(TODAY))
    assert result.ok, result.outcomes
    rows = samples(cfg.database)
    nov2, nov9 = date(2026, 11, 2), date(2026, 11, 9)
    assert stored(rows, "facebook", "visits", nov2) == 10
    assert stored(rows, "facebook", "visitors", nov2) == 8
    assert stored(rows, "facebook", "conversions", nov2) == 3
    assert stored(rows, "facebook", "revenue", nov2) == 39.5
    assert stored(rows, "facebook", "visits", nov9) == 7
    assert stored(rows, "instagram", "visits", nov2) == 5
    assert stored(rows, "direct", "visits", nov2) == 20
    assert stored(rows, "direct", "conversions", nov9) == 1
    assert stored(rows, "direct", "revenue", nov9) == 20.0
    assert stored(rows, "other", "visits", nov2) == 3  # an unknown referrer is kept, as other


def test_days_plausible_leaves_out_are_stored_as_zero_not_missing(
    fake, make_config, run_sync, samples, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_TOKEN", KEY)
    seed_week(fake)
    cfg = make_config({"site": {"plugin": "plausible", **options(fake)}})
    assert run_sync(cfg, now=noon(TODAY)).ok
    rows = samples(cfg.database)
    assert stored(rows, "facebook", "visits", date(2026, 11, 5)) == 0
    assert stored(rows, "instagram", "conversions", date(2026, 11, 2)) == 0


def test_sources_that_map_to_one_platform_are_summed_per_day(fake: FakePlausible) -> None:
    seed_week(fake)
    result = fetch_once(plugin, options(fake), window(date(2026, 11, 9), date(2026, 11, 9)), env=ENV)
    x = [s for s in result.samples if s.platform == "x" and s.metric == "visits"]
    assert [s.value for s in x] == [3]  # "Twitter" (t.co) + "x.com"


def test_account_attribution_table_maps_an_unknown_host_to_a_platform(fake: FakePlausible) -> None:
    fake.add_visits(date(2026, 11, 2), "mastodon.social", 4, 4)
    raw = options(fake, attribution={"hosts": {"mastodon.social": "mastodon"}})
    result = fetch_once(plugin, raw, window(date(2026, 11, 2), date(2026, 11, 2)), env=ENV)
    assert [(s.platform, s.value) for s in result.samples if s.metric == "visits"] == [("mastodon", 4)]


def test_goals_option_filters_conversions_by_goal_name(fake: FakePlausible) -> None:
    seed_week(fake)
    result = fetch_once(plugin, options(fake, goals=["Signup"]), window(date(2026, 11, 2), date(2026, 11, 2)), env=ENV)
    conversions = {s.platform: s.value for s in result.samples if s.metric == "conversions"}
    assert conversions["facebook"] == 2
    body = json.loads(fake.requests[-1]["body"])
    assert body["filters"] == [["is", "event:goal", ["Signup"]]]


def test_a_goal_not_configured_in_plausible_is_a_one_line_api_error(fake: FakePlausible) -> None:
    error = raises_domain_error(plugin, options(fake, goals=["Newsletter"]), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, ApiError)
    assert "Newsletter" in str(error) and "\n" not in str(error)


def test_multi_page_results_are_read_to_the_end(fake: FakePlausible, monkeypatch) -> None:
    monkeypatch.setattr(module, "PAGE_SIZE", 2)
    for n in range(1, 8):
        fake.add_visits(date(2026, 11, n), "Facebook", n, n)
    result = fetch_once(plugin, options(fake), window(date(2026, 11, 1), date(2026, 11, 7)), env=ENV)
    visits = sorted((s.day.day, s.value) for s in result.samples if s.metric == "visits")
    assert visits == [(n, n) for n in range(1, 8)]
    offsets = [json.loads(r["body"])["pagination"]["offset"] for r in fake.requests]
    assert offsets[:4] == [0, 2, 4, 6]


def test_backfill_has_no_date_window_to_split_so_a_long_one_reads_more_than_one_page(
    fake: FakePlausible, make_config, run_sync, samples, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_TOKEN", KEY)
    monkeypatch.setattr(module, "PAGE_SIZE", 50)
    start = date(2026, 1, 1)
    for n in range(120):
        fake.add_visits(date.fromordinal(start.toordinal() + n), "Instagram", 1 + n % 5, 1)
    cfg = make_config({"site": {"plugin": "plausible", **options(fake)}})
    result = run_sync(cfg, since=start, until=date(2026, 4, 30), now=noon(TODAY))
    assert result.ok, result.outcomes
    rows = samples(cfg.database)
    assert stored(rows, "instagram", "visits", date(2026, 4, 30)) == 1 + 119 % 5
    assert len([r for r in rows if r["metric"] == "visits"]) == 120
    visit_queries = [json.loads(r["body"]) for r in fake.requests if "visits" in json.loads(r["body"])["metrics"]]
    assert [q["pagination"]["offset"] for q in visit_queries] == [0, 50, 100]
    assert {tuple(q["date_range"]) for q in visit_queries} == {("2026-01-01", "2026-04-30")}


def test_hourly_rate_limit_raises_rate_limited_with_an_hour_wait(fake: FakePlausible) -> None:
    fake.requests_left = 0
    error = raises_domain_error(plugin, options(fake), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 3600
    assert "hour" in str(error)


def test_short_burst_limit_waits_the_seconds_plausible_names(httpserver: HTTPServer) -> None:
    message = "Too many API requests in a short period of time. The limit is 10 per 60 seconds."
    httpserver.expect_request("/api/v2/query", method="POST").respond_with_json({"error": message}, status=429)
    raw = {"site_id": "example.com", "token": "${TEST_TOKEN}", "base_url": httpserver.url_for("/")}
    error = raises_domain_error(plugin, raw, window(TODAY, TODAY), env=ENV)
    assert isinstance(error, RateLimited) and error.retry_after == 60


def test_rate_limited_sync_fails_the_account_with_a_clear_message(fake, make_config, run_sync, monkeypatch) -> None:
    monkeypatch.setenv("TEST_TOKEN", KEY)
    fake.requests_left = 1
    cfg = make_config({"site": {"plugin": "plausible", **options(fake)}})
    outcome = run_sync(cfg, now=noon(TODAY)).outcomes[0]
    assert outcome.status == "failed"
    assert "hourly request allowance" in outcome.message


def test_invalid_key_fails_the_account_with_one_line_naming_the_problem(
    fake, make_config, run_sync, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_TOKEN", "wrong-key-123")
    cfg = make_config({"site": {"plugin": "plausible", **options(fake)}})
    outcome = run_sync(cfg, now=noon(TODAY)).outcomes[0]
    assert outcome.status == "failed"
    assert "refused the API key" in outcome.message
    assert "wrong-key-123" not in outcome.message and "\n" not in outcome.message


def test_key_goes_in_the_authorization_header_never_the_url(fake: FakePlausible) -> None:
    seed_week(fake)
    fetch_once(plugin, options(fake), window(TODAY, TODAY), env=ENV)
    assert fake.requests
    for request in fake.requests:
        assert KEY not in request["url"] and KEY not in request["body"]
        assert request["headers"]["Authorization"] == f"Bearer {KEY}"


def test_revenue_is_left_out_not_zeroed_when_plausible_refuses_revenue_metrics(fake: FakePlausible) -> None:
    seed_week(fake)
    fake.refuse_revenue = True
    result = fetch_once(plugin, options(fake), window(date(2026, 11, 2), date(2026, 11, 2)), env=ENV)
    assert {s.metric for s in result.samples} == {"visits", "visitors", "conversions"}
    assert [s.value for s in result.samples if (s.platform, s.metric) == ("facebook", "conversions")] == [3]


def test_last_two_days_are_provisional(fake: FakePlausible) -> None:
    fake.add_visits(TODAY, "Facebook", 1, 1)
    result = fetch_once(plugin, options(fake), window(date(2026, 11, 20), TODAY), env=ENV)
    provisional = {s.day for s in result.samples if s.provisional}
    assert provisional == {date(2026, 11, 22), TODAY}


def test_check_reports_the_site_and_its_visits(fake: FakePlausible) -> None:
    seed_week(fake)
    opts = make_options(plugin, options(fake), env=ENV)
    with HttpSession(retries=0) as http:
        assert plugin.check(opts, http) == "site example.com: 48 visits in the last 28 days"


def test_check_with_a_wrong_site_id_raises_auth_error(fake: FakePlausible) -> None:
    opts = make_options(plugin, options(fake, site_id="other.example"), env=ENV)
    with HttpSession(retries=0) as http, pytest.raises(AuthError, match="other.example"):
        plugin.check(opts, http)


def _shape(value: object) -> object:
    """Keys and value types, recursively: what the parser relies on."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_fake_and_parser_agree_with_plausibles_recorded_responses(fake: FakePlausible) -> None:
    folder = SHARED_FIXTURES / "plausible"
    if not folder.is_dir():
        pytest.skip(f"recorded Plausible responses not available ({folder} is absent)")
    real = json.loads((folder / "pagination-response.json").read_text())
    fake.add_visits(date(2024, 9, 10), "twitter", 3, 2)
    body = {
        "site_id": "example.com",
        "metrics": ["visitors", "events", "pageviews"],
        "date_range": ["2024-09-10", "2024-09-16"],
        "dimensions": ["visit:source"],
        "include": {"total_rows": True},
        "pagination": {"limit": 3, "offset": 0},
    }
    mine = fake._answer(body)
    assert set(mine) == set(real) and set(mine["meta"]) == set(real["meta"])
    assert set(mine["query"]) == set(real["query"])
    assert _shape(mine["results"][0]) == _shape(real["results"][0])
    timeseries = json.loads((folder / "timeseries-response.json").read_text())
    assert all(
        isinstance(d, str) and date.fromisoformat(d[:10]) for r in timeseries["results"] for d in r["dimensions"]
    )
    revenue = json.loads((folder / "revenue-metrics-response.json").read_text())["results"]
    assert [module._revenue(r["metrics"][0]) for r in revenue] == [96336315.0, None]
    fake.add_conversions(date(2024, 9, 10), "Facebook", "Purchase", 1, revenue=12.5)
    goal_rows = fake._goal_rows(
        {"metrics": ["total_revenue"], "dimensions": ["event:goal"]}, date(2024, 9, 1), date(2024, 9, 30)
    )
    assert set(goal_rows[0]["metrics"][0]) == set(revenue[0]["metrics"][0])
    utm = json.loads((folder / "utm-response.json").read_text())["results"]
    attribution = make_options(plugin, options(fake), env=ENV).attribution
    assert {module.platform_of(r["dimensions"][1], attribution) for r in utm} == {
        "other",
        "x",
        "facebook",
        "unattributed",
    }
