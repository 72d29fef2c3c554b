"""The Instagram plugin, specified against the fake Graph API (tests/fakes/graph.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.graph import TOKEN, FakeGraph, FakeIgUser, graph_error
from tracker.errors import ApiError, AuthError, RateLimited
from tracker.http import HttpSession
from tracker.store.db import open_engine
from tracker.testing import check_plugin, make_options, raises_domain_error, window
from tracker_plugins import _graph, instagram
from tracker_plugins.instagram import TOTAL_VALUE, plugin

USER = "17841405822304914"
TODAY = date(2026, 11, 20)
ENV = {"TEST_TOKEN": TOKEN}
INSIGHTS = {"reach": "reach", "follower_count": "followers_gained", **TOTAL_VALUE}


def value_of(metric: str, day: date) -> int:
    """A different number for every metric and day, so a value on the wrong day cannot pass."""
    return 1000 * (list(INSIGHTS).index(metric) + 1) + day.toordinal() % 997


def seeded(first: date, last: date, followers: int = 2480) -> FakeIgUser:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    series = {m: {d: value_of(m, d) for d in days} for m in INSIGHTS}
    return FakeIgUser(USER, followers_count=followers, series=series)


@pytest.fixture
def graph(httpserver: Any) -> FakeGraph:
    return FakeGraph(httpserver, today=TODAY)


@pytest.fixture
def raw(httpserver: Any) -> dict[str, Any]:
    return {"user_id": USER, "token": "${TEST_TOKEN}", "base_url": httpserver.url_for("/")}


@pytest.fixture
def account(make_config: Any, raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    return make_config({"insta": {"plugin": "instagram", **raw}})


def stored(samples: Any, cfg: Any) -> dict[tuple[str, date], float]:
    return {(r["metric"], date.fromisoformat(str(r["day"]))): r["value"] for r in samples(cfg.database)}


def statuses(cfg: Any) -> list[tuple[str, str, str]]:
    engine = open_engine(cfg.database)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text("SELECT platform, metric, reason FROM metric_status"))]
    finally:
        engine.dispose()


def test_instagram_passes_the_conformance_kit(graph: FakeGraph, raw: dict[str, Any]) -> None:
    graph.add_ig_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    result = check_plugin(plugin, raw, since=date(2026, 11, 10), until=TODAY, today=TODAY, env=ENV)
    assert {s.metric for s in result.samples} == set(instagram.DEFINITIONS)


def test_instagram_multi_week_sync_stores_every_metric_on_its_pacific_day(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    graph.add_ig_user(seeded(date(2026, 10, 1), TODAY - timedelta(days=1)))
    result = run_sync(account, now=noon(TODAY))
    assert result.ok, result.outcomes
    first = TODAY - timedelta(days=29)
    days = [first + timedelta(days=i) for i in range(29)]  # today has no insights yet
    expected = {(name, d): value_of(m, d) for m, name in INSIGHTS.items() if m != "follower_count" for d in days}
    # follower_count: Graph serves the 30 days before its today; the plugin keeps a margin for any timezone
    expected |= {("followers_gained", d): value_of("follower_count", d) for d in days if d >= TODAY - timedelta(days=28)
                 and d <= TODAY - timedelta(days=2)}
    expected |= {("followers", TODAY): 2480, ("following", TODAY): 311, ("posts_total", TODAY): 412}
    assert stored(samples, account) == expected


def test_instagram_views_are_stored_as_views_and_impressions_are_never_requested(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    graph.add_ig_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    result = check_plugin(plugin, raw, since=date(2026, 11, 15), until=TODAY, today=TODAY, env=ENV)
    assert "impressions" not in {s.metric for s in result.samples}
    assert {s.value for s in result.samples if s.metric == "views" and s.day == date(2026, 11, 16)} == {
        value_of("views", date(2026, 11, 16))
    }
    assert not any("impressions" in r.params.get("metric", "") for r in graph.requests)


def test_instagram_recent_48_hours_are_provisional(graph: FakeGraph, raw: dict[str, Any]) -> None:
    graph.add_ig_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    result = check_plugin(plugin, raw, since=date(2026, 11, 10), until=TODAY, today=TODAY, env=ENV)
    provisional = {s.day for s in result.samples if s.provisional}
    assert provisional == {TODAY - timedelta(days=2), TODAY - timedelta(days=1), TODAY}
    assert plugin.lookback_days == 3


def test_instagram_backfill_of_45_days_is_split_into_30_day_reach_requests_and_one_total_value_request_per_day(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    since, until = date(2026, 8, 1), date(2026, 9, 14)  # 45 days, long before follower_count's 30-day horizon
    graph.add_ig_user(seeded(since, until))
    result = run_sync(account, since=since, until=until, now=noon(TODAY))
    assert result.ok, result.outcomes
    insights = graph.insights_requests(USER)
    series = [r for r in insights if "metric_type" not in r.params]
    totals = [r for r in insights if r.params.get("metric_type") == "total_value"]
    assert [r.params["metric"] for r in series] == ["reach", "reach"]
    assert [round((int(r.params["until"]) - int(r.params["since"])) / 86400) for r in series] == [30, 15]
    assert len(totals) == 45 and all(int(r.params["until"]) - int(r.params["since"]) == 86400 for r in totals)
    got = stored(samples, account)
    for metric in ("reach", "views", "engagements"):
        assert {d for m, d in got if m == metric} == {since + timedelta(days=i) for i in range(45)}


def test_instagram_reach_paging_next_is_followed_to_until_and_never_beyond(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    graph.page_days = 4
    graph.add_ig_user(seeded(date(2026, 10, 1), TODAY + timedelta(days=20)))
    since, until = date(2026, 11, 1), date(2026, 11, 10)
    result = check_plugin(plugin, raw, since=since, until=until, today=TODAY, env=ENV)
    reach_days = sorted(s.day for s in result.samples if s.metric == "reach")
    assert reach_days == [since + timedelta(days=i) for i in range(10)]
    reach_calls = [r for r in graph.insights_requests(USER) if r.params["metric"] == "reach"]
    assert len(reach_calls) == 3 * 3  # three fetches, 10 days at 4 a page
    assert max(int(r.params["until"]) for r in reach_calls) == _graph.pacific_midnight(until + timedelta(days=1))


def test_instagram_retired_metric_is_reported_missing_while_valid_ones_land(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    graph.add_ig_user(seeded(date(2026, 10, 1), TODAY - timedelta(days=1)))
    graph.retired.add("profile_views")
    result = run_sync(account, now=noon(TODAY))
    assert result.ok, result.outcomes
    metrics = {m for m, _ in stored(samples, account)}
    assert metrics == set(instagram.DEFINITIONS) - {"profile_views"}
    ((platform, metric, reason),) = statuses(account)
    assert (platform, metric) == ("instagram", "profile_views") and "must be one of" in reason


def test_instagram_account_under_100_followers_gets_no_new_follower_counts_and_says_so(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    graph.add_ig_user(seeded(date(2026, 10, 1), TODAY - timedelta(days=1), followers=64))
    assert run_sync(account, now=noon(TODAY)).ok
    assert not any(r.params["metric"] == "follower_count" for r in graph.insights_requests(USER))
    got = stored(samples, account)
    assert got[("followers", TODAY)] == 64 and ("reach", TODAY - timedelta(days=1)) in got
    assert [(m, "100+" in r) for _, m, r in statuses(account)] == [("followers_gained", True)]


def test_instagram_throttle_code_80002_raises_rate_limited_with_the_regain_time(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    graph.add_ig_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    usage = {USER: [{"type": "instagram", "call_count": 100, "total_cputime": 3, "total_time": 4,
                     "estimated_time_to_regain_access": 2}]}
    graph.fail_next(graph_error(80002, "There have been too many calls to this Instagram account. Wait a bit and "
                                       "try again."), headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
    error = raises_domain_error(plugin, raw, window(date(2026, 11, 10), TODAY), env=ENV)
    assert isinstance(error, RateLimited) and error.retry_after == 120


def test_instagram_expired_token_fails_account_with_one_line(graph: FakeGraph, account: Any, run_sync: Any) -> None:
    graph.add_ig_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    graph.expired = True
    (outcome,) = run_sync(account, now=noon(TODAY)).outcomes
    assert outcome.status == "failed"
    assert "\n" not in outcome.message and "token has expired" in outcome.message
    assert TOKEN not in outcome.message


def test_instagram_token_goes_in_the_authorization_header_never_in_a_url(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    graph.page_days = 3
    graph.add_ig_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    check_plugin(plugin, raw, since=date(2026, 11, 10), until=TODAY, today=TODAY, env=ENV)
    assert graph.requests and all(r.authorization == f"Bearer {TOKEN}" for r in graph.requests)
    assert not any(TOKEN in r.url or "access_token" in r.params for r in graph.requests)


def test_instagram_check_names_the_account_and_its_followers(graph: FakeGraph, raw: dict[str, Any]) -> None:
    graph.add_ig_user(FakeIgUser(USER, username="baeckerei.lindner", followers_count=2480))
    with HttpSession(timeout=5, retries=0) as http:
        assert plugin.check(make_options(plugin, raw, ENV), http) == "@baeckerei.lindner, 2,480 followers"


def test_instagram_check_with_an_invalid_token_is_an_auth_error(graph: FakeGraph, raw: dict[str, Any]) -> None:
    graph.add_ig_user(FakeIgUser(USER))
    with HttpSession(timeout=5, retries=0) as http, pytest.raises(AuthError, match="token is invalid"):
        plugin.check(make_options(plugin, raw, {"TEST_TOKEN": "wrong"}), http)


def _real(name: str) -> Any:
    folder = SHARED_FIXTURES / "instagram"
    if not folder.is_dir():
        pytest.skip(f"real Instagram recordings not available ({folder} is absent)")
    return json.loads((folder / name).read_text())


def test_instagram_fake_user_node_has_the_real_keys_and_types(graph: FakeGraph) -> None:
    real = _real("ig_user_node_fields.json")
    fake = graph._node(FakeIgUser(USER), {"fields": "id,username,followers_count,media_count"})
    assert set(fake) <= set(real) and all(type(fake[k]) is type(real[k]) for k in fake)
    assert [s.value for s in instagram._snapshot(real, window(TODAY, TODAY))] == [64363, 427]


def test_instagram_total_value_parser_takes_the_real_total_not_the_overlapping_breakdowns(httpserver: Any) -> None:
    real = _real("user_insights_reach_total_value_breakdowns.json")
    day = date(2023, 11, 6)
    (sample,) = instagram._total_samples(real, {"reach": "reach"}, day, window(day, day))
    assert (sample.metric, sample.day, sample.value) == ("reach", day, 14516883)
    fake = FakeGraph(httpserver, today=TODAY)
    fake_entry = fake._ig_entry(seeded(day, day), "views", "day", True, day, day + timedelta(days=1))
    real_entry = real["data"][0]
    assert set(fake_entry) == set(real_entry)
    assert type(fake_entry["total_value"]["value"]) is type(real_entry["total_value"]["value"])


def test_instagram_real_media_error_is_not_mistaken_for_a_retired_metric() -> None:
    body = _real("error_100_subcode_2108006_media_before_business.json")
    assert set(graph_error(100, "x", 1)["error"]) <= set(body["error"])
    error = _graph.classify(400, body["error"], _graph.Usage(), _graph.Target("Instagram account 1", "p", "t"))
    assert type(error) is ApiError and "2108006" in str(error)
