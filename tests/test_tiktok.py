"""The tiktok plugin, specified against a fake of TikTok's Accounts API and Display API."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.tiktok import BUSINESS_ID, BUSINESS_TOKEN, DISPLAY_TOKEN, FakeTikTok, utc
from tracker import config as cfgmod
from tracker.cli.main import app
from tracker.errors import ApiError, AuthError, RateLimited, TrackerError
from tracker.http import HttpSession
from tracker.store.db import open_engine
from tracker.testing import (
    check_plugin,
    check_unreadable_answers,
    fetch_once,
    make_options,
    raises_domain_error,
    window,
)
from tracker_plugins.tiktok import HISTORY_DAYS, MAX_DAYS, plugin

TODAY = date(2026, 11, 23)
BERLIN = ZoneInfo("Europe/Berlin")
REAL = SHARED_FIXTURES / "tiktok"
ENV = {"BIZ": BUSINESS_TOKEN, "DISP": DISPLAY_TOKEN}


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def day_values(day: date) -> dict[str, int]:
    """Different numbers for every field and day, so a number stored on the wrong day cannot pass."""
    n = day.toordinal() % 97
    return {
        "video_views": 1000 + n, "unique_video_views": 700 + n, "profile_views": 40 + n % 9, "likes": 90 + n,
        "comments": n % 7, "shares": n % 5, "daily_new_followers": 5 + n % 4, "daily_lost_followers": n % 3,
        "daily_total_followers": 5 + n % 4 - n % 3, "engaged_audience": 60 + n, "bio_link_clicks": n % 6,
        "phone_number_clicks": n % 2, "email_clicks": 1, "address_clicks": n % 3, "lead_submissions": n % 2,
        "app_download_clicks": 0,
    }


def seed_days(fake: FakeTikTok, first: date, last: date) -> None:
    day = first
    while day <= last:
        fake.seed(day, **day_values(day))
        day += timedelta(days=1)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeTikTok:
    return FakeTikTok(httpserver, today=TODAY, last_complete=TODAY - timedelta(days=2))


def business(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"token": "${BIZ}", "business_id": BUSINESS_ID, "base_url": server.url_for("/"), **extra}


def display(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"token": "${DISP}", "base_url": server.url_for("/"), **extra}


def write_config(tmp_path: Path, db_url: str, options: dict[str, Any]) -> Path:
    """A real config file, so the sync and `tracker report` read the same thing."""
    path = tmp_path / "config.toml"
    lines = [f"database = {json.dumps(db_url)}", 'timezone = "Europe/Berlin"', "[accounts.tt]", 'plugin = "tiktok"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in options.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sync(run_sync: Any, path: Path, now: date = TODAY, **kwargs: Any) -> Any:
    return run_sync(cfgmod.load(path, required=True), now=noon(now), **kwargs)


def report(cli: Any, path: Path, until: date, days: int) -> dict[str, Any]:
    result = cli.invoke(app, ["report", "--config", str(path), "--format", "json", "--until", until.isoformat(),
                              "--days", str(days)])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["platforms"]
    return row


def stored(rows: list[dict[str, Any]]) -> dict[tuple[str, date], tuple[float, bool]]:
    return {(r["metric"], date.fromisoformat(str(r["day"]))): (r["value"], bool(r["provisional"])) for r in rows}


def business_gets(fake: FakeTikTok) -> list[dict[str, list[str]]]:
    return [r.args for r in fake.requests if r.path.endswith("/business/get/") and "start_date" in r.args]


def last_good_day(db_url: str) -> str | None:
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT last_good_day FROM account WHERE name = 'tt'")).scalar()
    finally:
        engine.dispose()


# --- conformance ---------------------------------------------------------------------------------------


def test_passes_the_conformance_kit_on_the_accounts_api(fake: FakeTikTok, httpserver: HTTPServer) -> None:
    seed_days(fake, TODAY - timedelta(days=20), TODAY)
    fake.post(utc(TODAY - timedelta(days=3)), likes=12, views=300)
    result = check_plugin(plugin, business(httpserver), since=TODAY - timedelta(days=9), until=TODAY, env=ENV)
    assert {s.metric for s in result.samples} >= {"followers", "views", "reach", "posts", "tiktok.post_likes"}


def test_passes_the_conformance_kit_on_the_display_api(fake: FakeTikTok, httpserver: HTTPServer) -> None:
    fake.post(utc(TODAY - timedelta(days=3)), likes=12, views=300)
    result = check_plugin(plugin, display(httpserver), since=TODAY - timedelta(days=9), until=TODAY, env=ENV)
    assert {s.metric for s in result.samples} >= {"followers", "tiktok.total_likes", "posts", "post_likes"}


@pytest.mark.parametrize("mode", ["business", "display"])
def test_every_reshaped_answer_fails_with_one_line_naming_tiktok(
    fake: FakeTikTok, httpserver: HTTPServer, mode: str
) -> None:
    seed_days(fake, TODAY - timedelta(days=9), TODAY)
    fake.post(utc(TODAY - timedelta(days=3)), likes=12)
    raw = business(httpserver) if mode == "business" else display(httpserver)
    results = check_unreadable_answers(plugin, raw, since=TODAY - timedelta(days=9), until=TODAY, env=ENV)
    errors = [r.error for r in results if r.error is not None]
    assert errors and all(isinstance(e, TrackerError) and "TikTok" in str(e) for e in errors)


# --- Accounts API: daily history -----------------------------------------------------------------------


def test_multi_week_accounts_api_sync_lands_each_number_on_its_utc_day_in_the_report(
    fake: FakeTikTok, httpserver: HTTPServer, tmp_path: Path, db_url: str, run_sync: Any, samples: Any,
    cli: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIZ", BUSINESS_TOKEN)
    seed_days(fake, TODAY - timedelta(days=40), TODAY)  # TikTok has processed up to TODAY - 2
    path = write_config(tmp_path, db_url, business(httpserver))

    result = sync(run_sync, path)

    assert result.ok, result.outcomes
    values = stored(samples(db_url))
    d = TODAY - timedelta(days=10)
    want = day_values(d)
    assert values[("views", d)] == (want["video_views"], False)
    assert values[("reach", d)][0] == want["unique_video_views"]
    assert values[("followers_gained", d)][0] == want["daily_new_followers"]
    assert values[("link_clicks", d)][0] == want["bio_link_clicks"]
    assert values[("tiktok.followers_net", d)][0] == want["daily_total_followers"]
    assert values[("views", TODAY - timedelta(days=2))][1] is True  # TikTok may still revise it
    assert ("views", TODAY - timedelta(days=1)) not in values  # not processed yet: missing, never 0
    assert values[("followers", TODAY)] == (2480, True)
    assert ("followers", TODAY - timedelta(days=1)) not in values  # a snapshot is never back-dated

    row = report(cli, path, TODAY, 14)
    period = [TODAY - timedelta(days=i) for i in range(14)]
    seen = [day_values(p) for p in period if p <= TODAY - timedelta(days=2)]
    assert row["followers"] == 2480
    assert row["views"] == sum(v["video_views"] for v in seen)
    assert row["profile_views"] == sum(v["profile_views"] for v in seen)
    assert (row["likes"], row["comments"], row["shares"]) == tuple(
        sum(v[k] for v in seen) for k in ("likes", "comments", "shares"))
    assert row["reach_daily_avg"] == round(mean(v["unique_video_views"] for v in seen))
    assert row["link_clicks"] == sum(v["bio_link_clicks"] for v in seen)
    assert row["engagement"] == row["likes"] + row["comments"] + row["shares"]  # video counts not added again


def test_video_counts_on_the_accounts_api_are_extras_so_engagement_counts_each_like_once(
    fake: FakeTikTok, httpserver: HTTPServer
) -> None:
    seed_days(fake, TODAY - timedelta(days=6), TODAY)
    fake.post(berlin(TODAY - timedelta(days=3), 9), likes=40, comments=4, shares=2, views=900, favorites=7)
    result = fetch_once(plugin, business(httpserver), window(TODAY - timedelta(days=6), TODAY, tz="Europe/Berlin"),
                        env=ENV)
    day = {s.metric: s.value for s in result.samples if s.day == TODAY - timedelta(days=3)}
    assert (day["posts"], day["tiktok.post_likes"], day["tiktok.post_comments"], day["tiktok.post_shares"],
            day["tiktok.post_views"], day["tiktok.post_favorites"]) == (1, 40, 4, 2, 900, 7)
    assert not {"post_likes", "post_replies", "post_reposts"} & {s.metric for s in result.samples}


def test_the_last_four_days_are_re_read_and_provisional(fake: FakeTikTok, httpserver: HTTPServer) -> None:
    seed_days(fake, TODAY - timedelta(days=12), TODAY)
    result = fetch_once(plugin, business(httpserver), window(TODAY - timedelta(days=12), TODAY), env=ENV)
    provisional = {s.day: s.provisional for s in result.samples if s.metric == "views"}
    assert provisional[TODAY - timedelta(days=4)] is False
    assert provisional[TODAY - timedelta(days=3)] is True
    assert plugin.lookback_days == 7 and plugin.lookback_option == "post_lookback_days"


def test_todays_utc_day_is_never_requested(fake: FakeTikTok, httpserver: HTTPServer) -> None:
    fetch_once(plugin, business(httpserver), window(TODAY - timedelta(days=5), TODAY), env=ENV)
    (request,) = business_gets(fake)
    assert (request["start_date"], request["end_date"]) == ([str(TODAY - timedelta(days=5))],
                                                             [str(TODAY - timedelta(days=1))])


def test_fields_go_as_a_json_array_in_the_query_and_the_token_only_in_the_access_token_header(
    fake: FakeTikTok, httpserver: HTTPServer
) -> None:
    fake.post(utc(TODAY - timedelta(days=1)))
    fetch_once(plugin, business(httpserver), window(TODAY - timedelta(days=3), TODAY), env=ENV)
    (daily,) = business_gets(fake)
    fields = json.loads(daily["fields"][0])
    assert {"video_views", "profile_views", "likes", "comments", "shares", "daily_new_followers"} <= set(fields)
    assert daily["business_id"] == [BUSINESS_ID]
    assert all(r.headers.get("Access-Token") == BUSINESS_TOKEN for r in fake.requests)
    assert all(BUSINESS_TOKEN not in r.url and "Authorization" not in r.headers for r in fake.requests)


def test_backfill_longer_than_one_request_window_is_split_into_requests_of_30_days(
    fake: FakeTikTok, httpserver: HTTPServer, tmp_path: Path, db_url: str, run_sync: Any, samples: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIZ", BUSINESS_TOKEN)
    first, last = TODAY - timedelta(days=55), TODAY - timedelta(days=5)
    seed_days(fake, first - timedelta(days=3), TODAY)
    path = write_config(tmp_path, db_url, business(httpserver))

    result = sync(run_sync, path, since=first, until=last)

    assert result.ok, result.outcomes
    spans = [(r["start_date"][0], r["end_date"][0]) for r in business_gets(fake)]
    middle = first + timedelta(days=MAX_DAYS)
    assert spans == [(str(first), str(middle - timedelta(days=1))), (str(middle), str(last))]
    views = {d: v for (m, d), (v, _) in stored(samples(db_url)).items() if m == "views"}
    assert sorted(views) == [first + timedelta(days=i) for i in range(51)]
    assert views[middle] == day_values(middle)["video_views"]
    assert ("followers", TODAY) not in stored(samples(db_url))  # today is outside the backfill


def test_a_backfill_older_than_60_days_asks_only_for_what_tiktok_keeps_and_says_so(
    fake: FakeTikTok, httpserver: HTTPServer, tmp_path: Path, db_url: str, run_sync: Any, samples: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIZ", BUSINESS_TOKEN)
    seed_days(fake, TODAY - timedelta(days=90), TODAY)
    path = write_config(tmp_path, db_url, business(httpserver))

    result = sync(run_sync, path, since=TODAY - timedelta(days=80), until=TODAY - timedelta(days=50))

    assert result.ok, result.outcomes
    earliest = TODAY - timedelta(days=HISTORY_DAYS - 1)
    assert business_gets(fake)[0]["start_date"] == [str(earliest)]
    (outcome,) = result.outcomes
    assert any("60 days only" in n and str(earliest - timedelta(days=1)) in n for n in outcome.notices)
    views = {d for (m, d) in stored(samples(db_url)) if m == "views"}
    assert min(views) == earliest


def test_fields_a_personal_account_does_not_get_are_missing_not_zero(httpserver: HTTPServer) -> None:
    fake = FakeTikTok(httpserver, today=TODAY, business_account=False, last_complete=TODAY - timedelta(days=2))
    seed_days(fake, TODAY - timedelta(days=6), TODAY)
    result = fetch_once(plugin, business(httpserver), window(TODAY - timedelta(days=6), TODAY), env=ENV)
    metrics = {s.metric for s in result.samples}
    assert {"views", "likes", "profile_views"} <= metrics
    assert not {"reach", "followers_gained", "followers_lost", "link_clicks"} & metrics
    reasons = {u.metric: u.reason for u in result.unavailable}
    assert set(reasons) == {"reach", "followers_gained", "followers_lost", "link_clicks"}
    assert "Business Accounts only" in reasons["followers_gained"]


def test_no_permission_40001_names_business_id_the_scopes_and_analytics(
    fake: FakeTikTok, httpserver: HTTPServer
) -> None:
    fake.analytics_off = True
    error = raises_domain_error(plugin, business(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, AuthError)
    assert BUSINESS_ID in str(error) and "user.insights" in str(error) and "Analytics" in str(error)


def test_throttle_code_40100_in_an_http_200_is_a_one_minute_rate_limit(
    fake: FakeTikTok, httpserver: HTTPServer
) -> None:
    fake.throttled_calls = 99
    error = raises_domain_error(plugin, business(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, RateLimited) and error.retry_after == 60
    assert "40100" in str(error)


def test_an_unknown_error_code_fails_with_the_code_and_request_id(fake: FakeTikTok, httpserver: HTTPServer) -> None:
    httpserver.clear()
    httpserver.expect_request("/open_api/v1.3/business/get/").respond_with_json(
        {"code": 50000, "message": "System error", "request_id": "2026112307RID", "data": {}})
    error = raises_domain_error(plugin, business(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, ApiError) and "50000" in str(error) and "2026112307RID" in str(error)


def test_a_wrongly_shaped_answer_fails_the_account_and_keeps_its_cursor(
    fake: FakeTikTok, httpserver: HTTPServer, tmp_path: Path, db_url: str, run_sync: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIZ", BUSINESS_TOKEN)
    seed_days(fake, TODAY - timedelta(days=40), TODAY)
    path = write_config(tmp_path, db_url, business(httpserver))
    assert sync(run_sync, path, now=TODAY - timedelta(days=3)).ok
    httpserver.clear()
    httpserver.expect_request("/open_api/v1.3/business/get/").respond_with_json(
        {"code": 0, "message": "OK", "request_id": "r", "data": {"followers_count": 1, "metrics": "not a list"}})

    (outcome,) = sync(run_sync, path).outcomes

    assert outcome.status == "failed" and "shape" in outcome.message and "metrics" in outcome.message
    assert last_good_day(db_url) == str(TODAY - timedelta(days=3))


# --- Display API: lifetime counts only -----------------------------------------------------------------


def test_display_api_stores_lifetime_totals_as_a_level_each_day_never_summed(
    fake: FakeTikTok, httpserver: HTTPServer, tmp_path: Path, db_url: str, run_sync: Any, samples: Any,
    cli: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISP", DISPLAY_TOKEN)
    path = write_config(tmp_path, db_url, display(httpserver))
    assert sync(run_sync, path, now=TODAY - timedelta(days=1)).ok
    fake.followers, fake.total_likes = 2500, 15400
    assert sync(run_sync, path).ok

    values = stored(samples(db_url))
    assert values[("followers", TODAY - timedelta(days=1))][0] == 2480
    assert values[("tiktok.total_likes", TODAY - timedelta(days=1))][0] == 15320
    assert values[("tiktok.total_likes", TODAY)][0] == 15400
    assert values[("posts_total", TODAY)][0] == 87 and values[("following", TODAY)][0] == 31
    assert not {"views", "likes", "comments", "shares", "profile_views"} & {m for m, _ in values}  # no days
    row = report(cli, path, TODAY, 2)
    assert (row["followers"], row["likes"], row["views"]) == (2500, None, None)
    assert business_gets(fake) == []


def test_display_api_video_counts_land_on_the_day_published_in_the_account_timezone(
    fake: FakeTikTok, httpserver: HTTPServer, tmp_path: Path, db_url: str, run_sync: Any, samples: Any,
    cli: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISP", DISPLAY_TOKEN)
    d = TODAY - timedelta(days=5)
    fake.post(berlin(d, 0, 30), likes=11, comments=3, shares=1, views=400)  # 23:30 UTC the day before
    fake.post(berlin(d, 18), likes=7, comments=0, shares=2, views=250)
    fake.post(berlin(TODAY - timedelta(days=20), 9), likes=90, comments=9, shares=9, views=5000)
    path = write_config(tmp_path, db_url, display(httpserver))

    assert sync(run_sync, path).ok

    values = stored(samples(db_url))
    per_day = ("posts", "post_likes", "post_replies", "post_reposts", "tiktok.post_views")
    assert [values[(m, d)][0] for m in per_day] == [2, 18, 3, 3, 650]
    assert values[("posts", d - timedelta(days=1))][0] == 0
    assert values[("post_likes", TODAY - timedelta(days=20))] == (90, False)
    assert values[("post_likes", d)][1] is True  # younger than post_lookback_days: still growing
    row = report(cli, path, TODAY, 7)
    assert row["engagement"] == 18 + 3 + 3 and row["followers"] == 2480


def test_display_api_pages_are_followed_on_has_more_past_short_pages(
    fake: FakeTikTok, httpserver: HTTPServer
) -> None:
    for n in range(45):  # three pages of 20, 20, 5; one video per page hidden, so pages come back short
        fake.post(utc(TODAY - timedelta(days=2), 10) - timedelta(minutes=10 * n), likes=1, hidden=n % 20 == 3)
    result = fetch_once(plugin, display(httpserver), window(TODAY - timedelta(days=3), TODAY), env=ENV)

    pages = [r for r in fake.requests if r.path == "/v2/video/list/"]
    assert [p.body.get("cursor") for p in pages][0] is None and len(pages) == 3
    assert pages[1].body["cursor"] == int(fake.videos[19].created.timestamp() * 1000)
    assert all(p.body["max_count"] == 20 for p in pages)
    assert {s.value for s in result.samples if s.metric == "posts" and s.day == TODAY - timedelta(days=2)} == {42}


def test_the_video_walk_stops_at_the_first_page_reaching_before_the_window(
    fake: FakeTikTok, httpserver: HTTPServer
) -> None:
    for n in range(100):
        fake.post(utc(TODAY, 6) - timedelta(hours=12 * n), likes=1)
    fetch_once(plugin, display(httpserver), window(TODAY - timedelta(days=6), TODAY), env=ENV)
    assert len([r for r in fake.requests if r.path == "/v2/video/list/"]) == 1


def test_a_count_tiktok_leaves_out_of_videos_is_missing_not_zero(fake: FakeTikTok, httpserver: HTTPServer) -> None:
    fake.post(utc(TODAY - timedelta(days=2)), likes=5, shares=None)
    result = fetch_once(plugin, display(httpserver), window(TODAY - timedelta(days=4), TODAY), env=ENV)
    assert "post_reposts" not in {s.metric for s in result.samples}
    assert {s.metric for s in result.samples if s.day == TODAY - timedelta(days=4)} >= {"posts", "post_likes"}
    assert [u.metric for u in result.unavailable] == ["post_reposts"]


def test_a_window_without_videos_uses_what_the_last_run_learnt_about_the_counts(
    fake: FakeTikTok, httpserver: HTTPServer
) -> None:
    state = {"counted": {"post_likes": True, "post_replies": True, "post_reposts": False, "tiktok.post_views": True}}
    result = fetch_once(plugin, display(httpserver), window(TODAY - timedelta(days=2), TODAY), state=state, env=ENV)
    day = {s.metric: s.value for s in result.samples if s.day == TODAY - timedelta(days=1)}
    assert day == {"posts": 0, "post_likes": 0, "post_replies": 0, "tiktok.post_views": 0}


def test_display_api_429_is_a_one_minute_rate_limit(fake: FakeTikTok, httpserver: HTTPServer) -> None:
    fake.display_rate_limited = True
    error = raises_domain_error(plugin, display(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, RateLimited) and error.retry_after == 60 and "rate_limit_exceeded" in str(error)


def test_a_token_without_video_list_says_which_scopes_to_grant(fake: FakeTikTok, httpserver: HTTPServer) -> None:
    fake.display_scopes = {"user.info.basic", "user.info.stats"}
    error = raises_domain_error(plugin, display(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, AuthError) and "video.list" in str(error) and "authorize" in str(error)


def test_display_api_token_goes_in_the_authorization_header_never_in_the_url(
    fake: FakeTikTok, httpserver: HTTPServer
) -> None:
    fetch_once(plugin, display(httpserver), window(TODAY - timedelta(days=1), TODAY), env=ENV)
    assert fake.requests and all(r.headers.get("Authorization") == f"Bearer {DISPLAY_TOKEN}" for r in fake.requests)
    assert all(DISPLAY_TOKEN not in r.url for r in fake.requests)


# --- tokens: expired, refused, and `accounts check` --------------------------------------------------------


@pytest.mark.parametrize(("mode", "lifetime"), [("business", "24 hours"), ("display", "2 hours")])
def test_an_expired_token_fails_the_sync_with_one_line_saying_what_to_do_and_not_the_token(
    fake: FakeTikTok, httpserver: HTTPServer, tmp_path: Path, db_url: str, run_sync: Any,
    monkeypatch: pytest.MonkeyPatch, mode: str, lifetime: str,
) -> None:
    monkeypatch.setenv("BIZ", "act.expired-4711")
    monkeypatch.setenv("DISP", "act.expired-4711")
    raw = business(httpserver) if mode == "business" else display(httpserver)
    (outcome,) = sync(run_sync, write_config(tmp_path, db_url, raw)).outcomes
    assert outcome.status == "failed"
    assert "option `token`" in outcome.message and lifetime in outcome.message
    assert "does not renew" in outcome.message and "refresh" in outcome.message
    assert "expired-4711" not in outcome.message and "\n" not in outcome.message


@pytest.mark.parametrize("mode", ["business", "display"])
def test_accounts_check_gives_a_one_line_fix_for_a_bad_token(
    fake: FakeTikTok, httpserver: HTTPServer, tmp_path: Path, db_url: str, cli: Any,
    monkeypatch: pytest.MonkeyPatch, mode: str,
) -> None:
    monkeypatch.setenv("BIZ", "act.revoked-0815")
    monkeypatch.setenv("DISP", "act.revoked-0815")
    raw = business(httpserver) if mode == "business" else display(httpserver)
    path = write_config(tmp_path, db_url, raw)
    result = cli.invoke(app, ["accounts", "check", "--config", str(path), "--format", "json"])
    assert result.exit_code == 1
    (checked,) = json.loads(result.stdout)
    assert checked["status"] == "failed" and "Traceback" not in result.output
    assert "option `token`" in checked["message"] and "new access token" in checked["message"]
    assert "revoked-0815" not in result.output and "\n" not in checked["message"]


def _check(raw: dict[str, Any]) -> str:
    opts = make_options(plugin, raw, env=ENV)
    with HttpSession(timeout=5, retries=0, stop=threading.Event()) as http:
        return plugin.check(opts, http)


def test_check_names_the_account_and_says_tiktok_does_not_tell_the_tokens_expiry(
    fake: FakeTikTok, httpserver: HTTPServer
) -> None:
    assert _check(business(httpserver)) == (
        "acme.bakery, 2,480 followers (Accounts API, daily history); token works, but TikTok does not say when it "
        "expires (access tokens last 24 h, refresh tokens 365 days from the first consent; tracker does not renew "
        "them)"
    )
    assert "Display API: lifetime counts only, set business_id" in _check(display(httpserver))
    assert "2 h, refresh tokens 180 days and rotate" in _check(display(httpserver))


def test_a_refresh_token_in_the_token_option_is_a_config_problem_without_its_value(httpserver: HTTPServer) -> None:
    with pytest.raises(AssertionError, match=r"refresh token \(rft\.…\)") as caught:
        make_options(plugin, display(httpserver), env={"DISP": "rft.secret-refresh-99"})
    assert "secret-refresh-99" not in str(caught.value)


def test_a_post_lookback_shorter_than_tiktoks_revisions_is_refused(httpserver: HTTPServer) -> None:
    with pytest.raises(AssertionError, match="post_lookback_days 2 must be between 4 and 365"):
        make_options(plugin, display(httpserver, post_lookback_days=2), env=ENV)


# --- the real recorded bodies ----------------------------------------------------------------------------


def _real(name: str) -> dict[str, Any]:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real TikTok recording not available ({path} is absent)")
    return json.loads(path.read_text())


def test_the_fake_user_info_has_the_keys_and_types_of_a_real_one(fake: FakeTikTok, httpserver: HTTPServer) -> None:
    real = _real("display_v2_user_info_stats_fields_2023-02.json")
    fetch_once(plugin, display(httpserver), window(TODAY, TODAY), env=ENV)
    ours = fake.requests[0]
    assert ours.path == "/v2/user/info/"
    fields = ours.args["fields"][0].split(",")
    body = fake.user_info(fields)
    assert set(body) == set(real) and set(body["error"]) == set(real["error"])
    shared = set(body["data"]["user"]) & set(real["data"]["user"])
    assert {"follower_count", "following_count", "likes_count", "display_name", "open_id"} <= shared
    assert {k: type(body["data"]["user"][k]) for k in shared} == {k: type(real["data"]["user"][k]) for k in shared}


def test_the_parser_reads_a_real_user_info_body(httpserver: HTTPServer) -> None:
    real = _real("display_v2_user_info_stats_fields_2023-02.json")
    httpserver.expect_request("/v2/user/info/").respond_with_json(real)
    httpserver.expect_request("/v2/video/list/", method="POST").respond_with_json(
        {"data": {"videos": [], "cursor": 0, "has_more": False}, "error": {"code": "ok", "message": "", "log_id": "l"}})
    result = fetch_once(plugin, display(httpserver), window(TODAY, TODAY), env=ENV)
    user = real["data"]["user"]
    got = {s.metric: s.value for s in result.samples if s.metric in ("followers", "following", "tiktok.total_likes")}
    assert got == {"followers": user["follower_count"], "following": user["following_count"],
                   "tiktok.total_likes": user["likes_count"]}
    assert "posts_total" not in {s.metric for s in result.samples}  # video_count was not in that answer


def test_the_real_access_token_invalid_body_is_an_auth_error_saying_to_refresh(httpserver: HTTPServer) -> None:
    real = _real("display_v2_user_info_error_access_token_invalid_2023-02.json")
    httpserver.expect_request("/v2/user/info/").respond_with_json(real, status=401)
    error = raises_domain_error(plugin, display(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, AuthError) and "2 hours" in str(error) and "refresh" in str(error)
