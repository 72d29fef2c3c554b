"""The youtube plugin, specified against a fake Data API + Analytics API."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.youtube import CHANNEL_ID, QUOTA, RATE, FakeYouTube
from tracker.errors import AuthError, NotFound, QuotaExhausted, RateLimited
from tracker.http import HttpSession
from tracker.plugin import next_midnight
from tracker.testing import check_plugin, fetch_once, make_options, raises_domain_error, window
from tracker_plugins.youtube import PACIFIC, PAGE_ROWS, plugin

KEY, TOKEN = "yt-key-abc", "yt-oauth-xyz"
TODAY = date(2026, 11, 23)
REAL = SHARED_FIXTURES / "youtube"
ENV = {"KEY": KEY, "TOKEN": TOKEN}


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeYouTube:
    yt = FakeYouTube(httpserver, api_key=KEY, token=TOKEN, last_complete=TODAY - timedelta(days=2))
    return yt


def seed_days(fake: FakeYouTube, first: date, last: date) -> None:
    """Distinct numbers per day: views = 100 + day index, likes = day-of-month, ..."""
    day, n = first, 0
    while day <= last:
        fake.seed(day, views=100 + n, likes=day.day, comments=n % 5, shares=n % 3, subscribersGained=n % 4,
                  subscribersLost=n % 2)
        day, n = day + timedelta(days=1), n + 1


def raw(server: HTTPServer, token: bool = True, **extra: Any) -> dict[str, Any]:
    opts = {"channel_id": CHANNEL_ID, "api_key": "${KEY}", "base_url": server.url_for("/"),
            "analytics_base_url": server.url_for("/"), **extra}
    if token:
        opts["token"] = "${TOKEN}"
    return opts


def account(server: HTTPServer) -> dict[str, Any]:
    return {"yt": {"plugin": "youtube", **raw(server), "api_key": "${YT_KEY}", "token": "${TEST_TOKEN}"}}


def stored(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[float, bool]]:
    return {(r["metric"], str(r["day"])): (r["value"], bool(r["provisional"])) for r in rows}


def reports(fake: FakeYouTube) -> list[dict[str, list[str]]]:
    return [r.args for r in fake.requests if r.path == "/v2/reports"]


def test_passes_the_conformance_kit(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    seed_days(fake, TODAY - timedelta(days=10), TODAY)
    result = check_plugin(plugin, raw(httpserver), since=TODAY - timedelta(days=6), until=TODAY, env=ENV)
    assert {s.metric for s in result.samples} >= {"followers", "views", "followers_gained"}


def test_multi_week_sync_stores_snapshots_today_and_analytics_on_their_pacific_days(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync, samples, monkeypatch
) -> None:
    monkeypatch.setenv("YT_KEY", KEY)
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    seed_days(fake, date(2026, 10, 1), TODAY)
    cfg = make_config(account(httpserver))

    result = run_sync(cfg, now=noon(TODAY))

    assert result.ok, result.outcomes
    values = stored(samples(cfg.database))
    assert values[("followers", "2026-11-23")] == (2340, True)  # 2,345 as YouTube shows it
    assert values[("posts_total", "2026-11-23")][0] == 87
    assert values[("youtube.views_total", "2026-11-23")][0] == 184223
    assert ("followers", "2026-11-22") not in values
    n = (date(2026, 11, 2) - date(2026, 10, 1)).days
    assert values[("views", "2026-11-02")] == (100 + n, False)
    assert values[("likes", "2026-11-02")][0] == 2
    assert values[("comments", "2026-11-02")][0] == n % 5
    assert values[("shares", "2026-11-02")][0] == n % 3
    assert values[("followers_gained", "2026-11-02")][0] == n % 4
    assert values[("followers_lost", "2026-11-02")][0] == n % 2
    assert values[("views", "2026-11-21")][1] is True  # still being processed: provisional
    assert ("views", "2026-11-22") not in values  # not processed yet: missing, never zero
    assert ("views", "2026-10-25") in values and ("views", "2026-10-24") not in values  # first run: 30 days
    (report,) = reports(fake)
    assert report["ids"] == [f"channel=={CHANNEL_ID}"] and report["dimensions"] == ["day"]
    assert (report["startDate"], report["endDate"]) == (["2026-10-25"], ["2026-11-23"])


def test_backfill_longer_than_one_report_window_is_split_into_yearly_reports(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync, samples, monkeypatch
) -> None:
    monkeypatch.setenv("YT_KEY", KEY)
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    seed_days(fake, date(2025, 1, 1), date(2026, 3, 31))
    cfg = make_config(account(httpserver))

    result = run_sync(cfg, since=date(2025, 1, 1), until=date(2026, 2, 15), now=noon(TODAY))

    assert result.ok, result.outcomes
    spans = sorted({(r["startDate"][0], r["endDate"][0]) for r in reports(fake)})
    assert spans == [("2025-01-01", "2025-12-31"), ("2026-01-01", "2026-02-15")]
    values = stored(samples(cfg.database))
    assert values[("views", "2025-01-01")][0] == 100
    assert values[("views", "2026-02-15")][0] == 100 + (date(2026, 2, 15) - date(2025, 1, 1)).days
    assert len([k for k in values if k[0] == "views"]) == (date(2026, 2, 15) - date(2025, 1, 1)).days + 1
    assert ("followers", TODAY.isoformat()) not in values  # today is outside the backfill


def test_pagination_reads_report_pages_with_start_index_to_the_end(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    since = TODAY - timedelta(days=299)
    seed_days(fake, since, TODAY)
    result = fetch_once(plugin, raw(httpserver), window(since, TODAY), env=ENV)
    pages = reports(fake)
    assert [(p["startIndex"], p["maxResults"]) for p in pages] == [
        (["1"], [str(PAGE_ROWS)]), ([str(PAGE_ROWS + 1)], [str(PAGE_ROWS)]),
    ]
    assert len([s for s in result.samples if s.metric == "views"]) == 298  # up to the last processed day


def test_daily_quota_exhausted_stops_until_pacific_midnight(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    fake.data_error = QUOTA
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, QuotaExhausted)
    assert error.until == next_midnight(PACIFIC)
    assert error.until.tzinfo == PACIFIC and error.until.hour == 0
    assert "quota" in str(error) and "<a" not in str(error)



def test_quota_exhausted_fails_the_account_with_one_clear_line(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync, monkeypatch
) -> None:
    monkeypatch.setenv("YT_KEY", KEY)
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    fake.analytics_error = QUOTA
    (outcome,) = run_sync(make_config(account(httpserver)), now=noon(TODAY)).outcomes
    assert outcome.status == "failed"
    assert "daily quota" in outcome.message and "midnight Pacific" in outcome.message


def test_rate_limit_exceeded_is_a_short_wait(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    fake.analytics_error = RATE
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, RateLimited) and error.retry_after == 30


def test_expired_token_fails_the_account_naming_the_token_but_not_its_value(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync, monkeypatch
) -> None:
    monkeypatch.setenv("YT_KEY", KEY)
    monkeypatch.setenv("TEST_TOKEN", "ya29.expired-token-789")
    (outcome,) = run_sync(make_config(account(httpserver)), now=noon(TODAY)).outcomes
    assert outcome.status == "failed"
    assert "OAuth token (option `token`) is invalid or expired" in outcome.message
    assert "expired-token-789" not in outcome.message and "\n" not in outcome.message


def test_an_invalid_api_key_is_an_auth_error_naming_api_key(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY), env={**ENV, "KEY": "wrong-key"})
    assert isinstance(error, AuthError) and "`api_key`" in str(error) and "wrong-key" not in str(error)


def test_a_token_of_someone_who_does_not_own_the_channel_is_an_auth_error(
    fake: FakeYouTube, httpserver: HTTPServer
) -> None:
    fake.token_owns_channel = False
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY - timedelta(days=3), TODAY), env=ENV)
    assert isinstance(error, AuthError) and "channel's owner" in str(error)


def test_hidden_subscriber_count_is_unavailable_while_the_rest_lands(httpserver: HTTPServer) -> None:
    fake = FakeYouTube(httpserver, api_key=KEY, token=TOKEN, hidden=True, last_complete=TODAY - timedelta(days=2))
    seed_days(fake, TODAY - timedelta(days=5), TODAY)
    result = fetch_once(plugin, raw(httpserver), window(TODAY - timedelta(days=5), TODAY), env=ENV)
    metrics = {s.metric for s in result.samples}
    assert "followers" not in metrics and {"posts_total", "views", "followers_gained"} <= metrics
    assert [u.metric for u in result.unavailable] == ["followers"]


def test_without_a_token_only_the_public_snapshot_is_read(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    result = fetch_once(plugin, raw(httpserver, token=False), window(TODAY - timedelta(days=3), TODAY), env=ENV)
    assert {s.metric for s in result.samples} == {"followers", "posts_total", "youtube.views_total"}
    assert reports(fake) == []


def test_the_key_and_token_go_in_headers_never_in_urls(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    seed_days(fake, TODAY - timedelta(days=3), TODAY)
    fetch_once(plugin, raw(httpserver), window(TODAY - timedelta(days=3), TODAY), env=ENV)
    (data,) = [r for r in fake.requests if r.path == "/youtube/v3/channels"]
    (report,) = [r for r in fake.requests if r.path == "/v2/reports"]
    assert data.headers.get("X-Goog-Api-Key") == KEY and report.headers.get("Authorization") == f"Bearer {TOKEN}"
    assert all(KEY not in r.url and TOKEN not in r.url for r in fake.requests)


def test_unknown_channel_is_not_found(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    error = raises_domain_error(plugin, raw(httpserver, channel_id="UCnobody"), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, NotFound) and "UCnobody" in str(error)


def _check(server: HTTPServer, env: dict[str, str] = ENV, **extra: Any) -> str:
    opts = make_options(plugin, raw(server, **extra), env=env)
    with HttpSession(timeout=5, retries=0, stop=threading.Event()) as http:
        return plugin.check(opts, http)


def test_check_describes_the_channel_and_the_token(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    assert _check(httpserver) == "channel Bäckerei Lindner, about 2,340 subscribers; Analytics token works"


def test_check_names_an_expired_token(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    with pytest.raises(AuthError, match="option `token`"):
        _check(httpserver, env={**ENV, "TOKEN": "stale"})


def _real() -> dict[str, Any]:
    path = REAL / "channels_list_id_two_channels_2022-11.json"
    if not path.exists():
        pytest.skip(f"real YouTube recording not available ({path} is absent)")
    return json.loads(path.read_text())


def test_the_fake_channel_has_the_keys_and_types_of_a_real_one(fake: FakeYouTube) -> None:
    real = _real()
    ours = fake._channel(["snippet", "statistics"])
    real_item = real["items"][0]
    assert set(ours) <= set(real_item)
    assert set(ours["statistics"]) == set(real_item["statistics"])
    assert {k: type(v) for k, v in ours["statistics"].items()} == {
        k: type(v) for k, v in real_item["statistics"].items()
    }
    assert set(real) >= {"kind", "etag", "pageInfo", "items"}


def test_the_parser_reads_a_real_channel_response(httpserver: HTTPServer) -> None:
    real = _real()
    httpserver.expect_request("/youtube/v3/channels").respond_with_json({**real, "items": real["items"][:1]})
    care_off = raw(httpserver, token=False, care_lookback_days=0)  # only channels.list is served here
    result = fetch_once(plugin, care_off, window(TODAY, TODAY), env=ENV)
    got = {s.metric: s.value for s in result.samples}
    stats = real["items"][0]["statistics"]
    assert got == {
        "followers": int(stats["subscriberCount"]),
        "posts_total": int(stats["videoCount"]),
        "youtube.views_total": int(stats["viewCount"]),
    }
