"""The Facebook Page plugin, specified against the fake Graph API (tests/fakes/graph.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.graph import TOKEN, FakeGraph, FakePage, end_time, graph_error
from tracker.errors import AuthError, NotFound, QuotaExhausted, RateLimited
from tracker.http import HttpSession
from tracker.store.db import open_engine
from tracker.testing import check_plugin, make_options, raises_domain_error, window
from tracker_plugins import _graph
from tracker_plugins.facebook import METRICS, plugin

PAGE = "1234567890"
TODAY = date(2026, 11, 20)
ENV = {"TEST_TOKEN": TOKEN}


def value_of(metric: str, day: date) -> int:
    """A different number for every metric and day, so a value on the wrong day cannot pass."""
    return 1000 * (list(METRICS).index(metric) + 1) + day.toordinal() % 997


def seeded(first: date, last: date, metrics: list[str] | None = None) -> FakePage:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return FakePage(PAGE, series={m: {d: value_of(m, d) for d in days} for m in (metrics or list(METRICS))})


@pytest.fixture
def graph(httpserver: Any) -> FakeGraph:
    return FakeGraph(httpserver)


@pytest.fixture
def raw(httpserver: Any) -> dict[str, Any]:
    return {"page_id": PAGE, "token": "${TEST_TOKEN}", "base_url": httpserver.url_for("/")}


@pytest.fixture
def account(make_config: Any, raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    return make_config({"bakery": {"plugin": "facebook", **raw}})


def stored(samples: Any, cfg: Any) -> dict[tuple[str, date], float]:
    return {(r["metric"], date.fromisoformat(str(r["day"]))): r["value"] for r in samples(cfg.database)}


def test_facebook_passes_the_conformance_kit(graph: FakeGraph, raw: dict[str, Any]) -> None:
    graph.add_page(seeded(date(2026, 11, 1), date(2026, 11, 19)))
    result = check_plugin(plugin, raw, since=date(2026, 11, 10), until=date(2026, 11, 19), env=ENV)
    assert {s.metric for s in result.samples} == set(METRICS.values())


def test_facebook_multi_week_sync_stores_every_metric_on_its_pacific_day(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    """30 days across the 2026-11-01 DST change: end_time switches from T07:00 to T08:00 UTC."""
    graph.add_page(seeded(date(2026, 10, 1), TODAY - timedelta(days=1)))
    result = run_sync(account, now=noon(TODAY))
    assert result.ok, result.outcomes
    got = stored(samples, account)
    first = TODAY - timedelta(days=29)
    expected = {
        (canonical, first + timedelta(days=i)): value_of(metric, first + timedelta(days=i))
        for metric, canonical in METRICS.items()
        for i in range(29)
    }
    assert got == expected
    assert end_time(date(2026, 10, 30)).endswith("T07:00:00+0000")
    assert end_time(date(2026, 11, 2)).endswith("T08:00:00+0000")


def test_facebook_recent_three_days_are_provisional(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    graph.add_page(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    assert run_sync(account, now=noon(TODAY)).ok
    provisional = {date.fromisoformat(str(r["day"])) for r in samples(account.database) if r["provisional"]}
    assert provisional == {TODAY - timedelta(days=2), TODAY - timedelta(days=1)}  # today itself has no data yet


def test_facebook_backfill_of_200_days_is_split_into_90_day_requests(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    since, until = date(2026, 3, 1), date(2026, 9, 16)  # 200 days
    graph.add_page(seeded(since, until))
    result = run_sync(account, since=since, until=until, now=noon(TODAY))
    assert result.ok, result.outcomes
    spans = [
        (int(r.params["until"]) - int(r.params["since"])) / 86400 for r in graph.insights_requests(PAGE)
    ]
    assert len(spans) == 3 and all(span <= 90.05 for span in spans)  # DST days are 23 or 25 hours long
    days = {day for (metric, day) in stored(samples, account) if metric == "views"}
    assert days == {since + timedelta(days=i) for i in range(200)}


def test_facebook_paging_next_is_followed_to_until_and_never_beyond(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    """Graph's paging.next always points at a later window: the plugin stops at the window's end."""
    graph.page_days = 7
    graph.add_page(seeded(date(2026, 10, 1), date(2026, 11, 30)))
    since, until = date(2026, 11, 1), date(2026, 11, 20)
    result = check_plugin(plugin, raw, since=since, until=until, today=TODAY, env=ENV)
    views = sorted(s.day for s in result.samples if s.metric == "views")
    assert views == [since + timedelta(days=i) for i in range(20)]
    requests = graph.insights_requests(PAGE)
    assert len(requests) == 3 * 3  # check_plugin fetches three times; 20 days at 7 per page = 3 pages
    assert max(int(r.params["until"]) for r in requests) == _graph.pacific_midnight(until + timedelta(days=1))


def test_facebook_retired_metric_is_reported_missing_while_valid_ones_land(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    graph.add_page(seeded(date(2026, 10, 1), TODAY - timedelta(days=1)))
    graph.retired.add("page_total_media_view_unique")
    result = run_sync(account, now=noon(TODAY))
    assert result.ok, result.outcomes
    metrics = {metric for metric, _ in stored(samples, account)}
    assert metrics == set(METRICS.values()) - {"reach"}
    engine = open_engine(account.database)
    with engine.connect() as conn:
        status = conn.execute(sa.text("SELECT platform, metric, reason FROM metric_status")).all()
    engine.dispose()
    assert [(p, m) for p, m, _ in status] == [("facebook", "reach")]
    assert "page_total_media_view_unique" in status[0][2] and "valid insights metric" in status[0][2]


def test_facebook_permission_error_with_code_100_is_not_mistaken_for_a_retired_metric(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    graph.add_page(seeded(date(2026, 11, 1), date(2026, 11, 19)))
    graph.fail_next(graph_error(100, "(#100) Object does not exist, cannot be loaded due to missing permission or "
                                     "reviewable feature, or does not support this operation."))
    error = raises_domain_error(plugin, raw, window(date(2026, 11, 10), date(2026, 11, 19)), env=ENV)
    assert isinstance(error, NotFound) and "read_insights" in str(error)


def test_facebook_day_without_data_is_missing_not_zero(graph: FakeGraph, raw: dict[str, Any]) -> None:
    page = graph.add_page(seeded(date(2026, 11, 1), date(2026, 11, 19)))
    del page.series["page_media_view"][date(2026, 11, 15)]
    result = check_plugin(plugin, raw, since=date(2026, 11, 10), until=date(2026, 11, 19), env=ENV)
    assert date(2026, 11, 15) not in {s.day for s in result.samples if s.metric == "views"}
    assert date(2026, 11, 15) in {s.day for s in result.samples if s.metric == "followers"}


def test_facebook_token_goes_in_the_authorization_header_never_in_a_url(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    graph.page_days = 5  # paging links embed the token: following them must not put it in our URLs
    graph.add_page(seeded(date(2026, 11, 1), date(2026, 11, 19)))
    check_plugin(plugin, raw, since=date(2026, 11, 5), until=date(2026, 11, 19), env=ENV)
    assert graph.requests
    assert all(r.authorization == f"Bearer {TOKEN}" for r in graph.requests)
    assert not any(TOKEN in r.url or "access_token" in r.params for r in graph.requests)


def test_facebook_throttle_code_80001_raises_rate_limited_with_the_regain_time(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    graph.add_page(seeded(date(2026, 11, 1), date(2026, 11, 19)))
    usage = {PAGE: [{"type": "pages", "call_count": 100, "total_cputime": 20, "total_time": 30,
                     "estimated_time_to_regain_access": 1}]}
    graph.fail_next(
        graph_error(80001, "(#80001) There have been too many calls to this Page account. Wait a bit and try again."),
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )
    error = raises_domain_error(plugin, raw, window(date(2026, 11, 10), date(2026, 11, 19)), env=ENV)
    assert isinstance(error, RateLimited) and error.retry_after == 60


def test_facebook_throttle_with_a_long_regain_time_stops_the_account_until_then(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    graph.add_page(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    usage = {PAGE: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 45}]}
    graph.fail_next(graph_error(32, "(#32) Page request limit reached"),
                    headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
    result = run_sync(account, now=noon(TODAY))
    (outcome,) = result.outcomes
    assert outcome.status == "failed" and "throttling" in outcome.message and "45 min" in outcome.message


def test_facebook_usage_header_above_95_percent_stops_before_the_next_call(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    graph.add_page(seeded(date(2026, 1, 1), date(2026, 11, 19)))
    graph.usage_headers = {"X-App-Usage": json.dumps({"call_count": 97, "total_time": 12, "total_cputime": 8})}
    error = raises_domain_error(plugin, raw, window(date(2026, 5, 1), date(2026, 11, 19)), env=ENV)
    assert isinstance(error, RateLimited) and error.retry_after == _graph.DEFAULT_BACKOFF
    assert len(graph.insights_requests(PAGE)) == 1  # the 90-day split needs 3 calls; it stopped after the first


def test_graph_usage_near_the_limit_slows_down_and_reads_every_usage_header() -> None:
    low = _graph.read_usage({"X-App-Usage": '{"call_count": 40, "total_time": 10, "total_cputime": 5}'})
    near = _graph.read_usage({"X-Page-Usage": '{"call_count": 10, "total_time": 90, "total_cputime": 5}'})
    buc = _graph.read_usage({"X-Business-Use-Case-Usage": '{"1":[{"type":"pages","call_count":96,'
                                                           '"estimated_time_to_regain_access":3}]}'})
    assert low.pause() == 0 and 0 < near.pause() < _graph.MAX_PAUSE
    assert buc.percent == 96 and buc.regain_seconds == 180
    assert isinstance(_graph.backoff("x", buc.regain_seconds, "busy"), QuotaExhausted)


def test_facebook_expired_token_fails_account_with_one_line(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    graph.add_page(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    graph.expired = True
    (outcome,) = run_sync(account, now=noon(TODAY)).outcomes
    assert outcome.status == "failed"
    assert "\n" not in outcome.message and "token has expired" in outcome.message
    assert TOKEN not in outcome.message


def test_facebook_expired_token_is_an_auth_error(graph: FakeGraph, raw: dict[str, Any]) -> None:
    graph.add_page(seeded(date(2026, 11, 1), date(2026, 11, 19)))
    graph.expired = True
    error = raises_domain_error(plugin, raw, window(date(2026, 11, 10), date(2026, 11, 19)), env=ENV)
    assert isinstance(error, AuthError) and "190/463" in str(error)


def test_facebook_check_names_the_page_and_its_followers(graph: FakeGraph, raw: dict[str, Any]) -> None:
    graph.add_page(FakePage(PAGE, name="Bäckerei Lindner", followers_count=1459))
    with HttpSession(timeout=5, retries=0) as http:
        assert plugin.check(make_options(plugin, raw, ENV), http) == "page Bäckerei Lindner, 1,459 followers"


def test_facebook_check_of_an_unknown_page_says_not_found(graph: FakeGraph, raw: dict[str, Any]) -> None:
    with HttpSession(timeout=5, retries=0) as http, pytest.raises(NotFound, match="does not exist"):
        plugin.check(make_options(plugin, raw, ENV), http)


def _real(name: str) -> Any:
    folder = SHARED_FIXTURES / "facebook"
    if not folder.is_dir():
        pytest.skip(f"real Facebook recordings not available ({folder} is absent)")
    return json.loads((folder / name).read_text())


def test_facebook_fake_page_node_has_the_real_keys_and_types(graph: FakeGraph) -> None:
    real = _real("page_node_fan_count.json")
    fake = graph._node(FakePage(PAGE), {"fields": "id,name,fan_count"})
    assert set(fake) == {"id", "name", "fan_count"} <= set(real)
    assert all(type(fake[k]) is type(real[k]) for k in fake)


@pytest.mark.parametrize(("name", "expected"), [
    ("error_100_missing_permission.json", NotFound),
    ("error_100_ppca_appsecret_proof.json", AuthError),
])
def test_facebook_real_error_bodies_are_classified_and_never_taken_for_retired_metrics(
    name: str, expected: type
) -> None:
    body = _real(name)
    assert set(graph_error(100, "x")["error"]) <= set(body["error"]) | {"error_subcode"}
    target = _graph.Target("Facebook page 1", "read_insights", "make a new token")
    error = _graph.classify(400, body["error"], _graph.Usage(), target)
    assert type(error) is expected


def test_facebook_parser_reads_real_pacific_midnight_end_times() -> None:
    """No real Page-insights body is published; the Instagram 2017 body has the same values/end_time shape."""
    folder = SHARED_FIXTURES / "instagram"
    if not folder.is_dir():
        pytest.skip(f"real Graph insights recordings not available ({folder} is absent)")
    body = json.loads((folder / "legacy_2017_user_insights_time_series.json").read_text())
    assert list(_graph.points(body["data"][1])) == [(date(2017, 5, 3), 3.0), (date(2017, 5, 4), 36.0)]
    fake_point = FakeGraph._values(None, {date(2017, 5, 3): 3}, date(2017, 5, 3), date(2017, 5, 4))[0]  # type: ignore
    assert set(fake_point) == set(body["data"][1]["values"][0])
    assert fake_point["end_time"] == body["data"][1]["values"][0]["end_time"]
