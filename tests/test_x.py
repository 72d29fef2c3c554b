"""The x plugin, specified against a fake of X API v2 (user lookup and user timeline)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.x import FakeX
from tracker.errors import NotFound, QuotaExhausted, RateLimited
from tracker.http import HttpSession
from tracker.testing import check_plugin, fetch_once, make_options, raises_domain_error, window
from tracker_plugins.x import XOptions, check, parse_user, plugin

TODAY = date(2026, 11, 20)
TOKEN = "x-test-bearer-91c2"
ENV = {"TEST_TOKEN": TOKEN}
SNAPSHOT = {"followers": 1843, "following": 212, "posts_total": 967, "x.listed_count": 14}


@pytest.fixture
def fake(httpserver):
    return FakeX(httpserver, token=TOKEN)


def raw(httpserver, **extra):
    return {"username": "baecker_lindner", "token": "${TEST_TOKEN}", "base_url": httpserver.url_for("/"), **extra}


@pytest.fixture
def config(httpserver, make_config, monkeypatch):
    monkeypatch.setenv("TEST_TOKEN", TOKEN)

    def make(tz="UTC", **extra):
        return make_config({"shop": {"plugin": "x", **raw(httpserver, **extra)}}, timezone=tz)

    return make


def utc(day, hour, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def stored(rows):
    return {(r["metric"], str(r["day"])): r["value"] for r in rows}


def posts_each_day(fake, since, days, per_day):
    for n in range(days):
        for i in range(per_day):
            fake.add_post(utc(since + timedelta(days=n), 8, i % 60), likes=1, reposts=0, replies=0, quotes=0)


# --- Done when 1: conformance -------------------------------------------------


def test_conformance_kit_passes_with_post_metrics_on(fake, httpserver):
    posts_each_day(fake, TODAY - timedelta(days=10), 10, 2)
    result = check_plugin(plugin, raw(httpserver, post_metrics=True), since=TODAY - timedelta(days=10), until=TODAY,
                          env=ENV)
    assert {s.metric for s in result.samples} == set(plugin.metrics)


# --- Done when 2: a normal multi-week sync through the real sync ---------------


def test_multi_week_sync_stores_snapshot_on_today_and_post_counts_on_publication_day_in_account_timezone(
    fake, config, run_sync, samples
):
    fake.add_post(utc(date(2026, 11, 10), 23, 30), likes=5, reposts=1, replies=2, quotes=0, impressions=100)
    fake.add_post(utc(date(2026, 11, 11), 8), likes=7, reposts=2, replies=0, quotes=1, impressions=250)
    fake.add_post(utc(date(2026, 11, 1), 12), likes=3, reposts=0, replies=1, quotes=0, impressions=80)
    fake.add_post(utc(date(2026, 11, 5), 9), likes=90, reposts=9, kind="retweet")
    fake.add_post(utc(date(2026, 11, 6), 9), likes=1, kind="reply")
    fake.add_post(utc(date(2026, 10, 1), 9), likes=40)  # before the first sync's 30 days
    cfg = config(tz="Europe/Berlin", post_metrics=True)
    result = run_sync(cfg, now=noon(TODAY))
    assert result.ok, result.outcomes
    expected = {(metric, str(TODAY)): value for metric, value in SNAPSHOT.items()}
    for n in range(30):
        day = str(TODAY - timedelta(days=n))
        for metric in ("posts", "post_likes", "post_reposts", "post_replies", "post_quotes", "x.post_impressions"):
            expected[(metric, day)] = 0
    # 23:30 UTC on the 10th is 00:30 on the 11th in Berlin
    expected.update({("posts", "2026-11-11"): 2, ("post_likes", "2026-11-11"): 12, ("post_reposts", "2026-11-11"): 3,
                     ("post_replies", "2026-11-11"): 2, ("post_quotes", "2026-11-11"): 1,
                     ("x.post_impressions", "2026-11-11"): 350})
    expected.update({("posts", "2026-11-01"): 1, ("post_likes", "2026-11-01"): 3, ("post_replies", "2026-11-01"): 1,
                     ("x.post_impressions", "2026-11-01"): 80})
    assert stored(samples(cfg.database)) == expected


def test_next_sync_rereads_the_last_week_so_post_counts_catch_up(fake, config, run_sync, samples):
    post = fake.add_post(utc(TODAY - timedelta(days=2), 9), likes=4)
    cfg = config(post_metrics=True)
    run_sync(cfg, now=noon(TODAY))
    post.likes = 19
    assert run_sync(cfg, now=noon(TODAY + timedelta(days=1))).ok
    likes = stored(samples(cfg.database))[("post_likes", str(TODAY - timedelta(days=2)))]
    assert likes == 19
    assert fake.calls("/tweets")[-1].args["start_time"] == f"{TODAY - timedelta(days=7)}T00:00:00Z"


def test_post_metrics_are_off_by_default_so_no_post_is_read_or_billed(fake, config, run_sync, samples):
    posts_each_day(fake, TODAY - timedelta(days=5), 5, 1)
    cfg = config()
    assert run_sync(cfg, now=noon(TODAY)).ok
    assert not fake.calls("/tweets")
    assert {r["metric"] for r in samples(cfg.database)} == set(SNAPSHOT)


# --- Done when 3 and 4: no date windows on X, so pages ------------------------


def test_backfill_with_more_than_one_page_of_posts_no_date_windows_on_x_reads_every_page(
    fake, config, run_sync, samples
):
    since, until = TODAY - timedelta(days=20), TODAY - timedelta(days=1)
    posts_each_day(fake, since, 20, 12)  # 240 posts: three pages of at most 100
    cfg = config(post_metrics=True)
    result = run_sync(cfg, since=since, until=until, now=noon(TODAY))
    assert result.ok, result.outcomes
    rows = samples(cfg.database)
    assert sum(r["value"] for r in rows if r["metric"] == "posts") == 240
    assert {str(r["day"]) for r in rows if r["metric"] == "posts" and r["value"] == 12} == {
        str(since + timedelta(days=n)) for n in range(20)
    }
    calls = fake.calls("/tweets")
    assert len(calls) == 4  # 100 + 100 + 40, then the empty page X ends with
    assert calls[0].args["end_time"] == f"{TODAY}T00:00:00Z" and calls[0].args["max_results"] == "100"
    assert "followers" not in {r["metric"] for r in rows}  # today is outside the backfill: no snapshot


def test_pagination_follows_next_token_past_short_pages_until_there_is_none(fake, httpserver):
    fake.short_page = 3  # X may answer fewer posts than max_results and still have more
    posts_each_day(fake, TODAY - timedelta(days=4), 4, 3)
    result = fetch_once(plugin, raw(httpserver, post_metrics=True), window(TODAY - timedelta(days=6), TODAY), env=ENV)
    assert sum(s.value for s in result.samples if s.metric == "posts") == 12
    calls = fake.calls("/tweets")
    assert len(calls) == 5
    assert "pagination_token" not in calls[0].args
    assert [c.args["pagination_token"] for c in calls[1:]] == list(fake.issued_tokens)


# --- Done when 5: rate limits and caps ----------------------------------------


def test_429_raises_rate_limited_with_the_wait_until_x_rate_limit_reset(fake, httpserver):
    fake.exhaust(reset_in=600)
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, RateLimited)
    assert 595 <= error.retry_after <= 601


def test_short_rate_limit_is_waited_out_by_the_sync_which_then_succeeds(fake, config, run_sync, samples):
    fake.exhaust(reset_in=1)
    cfg = config()
    result = run_sync(cfg, now=noon(TODAY))
    assert result.ok, result.outcomes
    assert [c.path for c in fake.requests] == ["/2/users/by/username/baecker_lindner"] * 2
    assert stored(samples(cfg.database))[("followers", str(TODAY))] == 1843


def test_no_call_is_made_once_x_rate_limit_remaining_is_zero(fake, httpserver):
    posts_each_day(fake, TODAY - timedelta(days=3), 3, 50)
    fake.exhaust(reset_in=600, remaining=2)  # the lookup and one page of posts
    error = raises_domain_error(plugin, raw(httpserver, post_metrics=True), window(TODAY - timedelta(days=3), TODAY),
                                env=ENV)
    assert isinstance(error, RateLimited) and 590 <= error.retry_after <= 601
    assert len(fake.requests) == 2


def test_monthly_usage_cap_429_stops_the_account_without_waiting(fake, config, run_sync):
    fake.usage_capped = True
    result = run_sync(config(), now=noon(TODAY))
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert "usage cap" in outcome.message and "billing cycle" in outcome.message
    assert len(fake.requests) == 1


def test_monthly_usage_cap_is_quota_exhausted_not_rate_limited(fake, httpserver):
    fake.usage_capped = True
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY), env=ENV)
    assert type(error) is QuotaExhausted


def test_depleted_credits_402_is_quota_exhausted_saying_to_buy_credits(fake, httpserver):
    fake.credits_depleted = True
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, QuotaExhausted) and "credits" in str(error)


# --- Done when 6: invalid token -----------------------------------------------


def test_invalid_token_fails_the_account_with_one_line_naming_it_and_never_the_token(
    fake, config, run_sync, monkeypatch
):
    cfg = config()
    monkeypatch.setenv("TEST_TOKEN", "revoked-bearer-7d1e")
    result = run_sync(cfg, now=noon(TODAY))
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert "bearer token" in outcome.message and "\n" not in outcome.message
    assert "revoked-bearer-7d1e" not in outcome.message


def test_token_goes_in_the_authorization_header_never_in_the_url(fake, httpserver):
    posts_each_day(fake, TODAY - timedelta(days=2), 2, 1)
    fetch_once(plugin, raw(httpserver, post_metrics=True), window(TODAY - timedelta(days=2), TODAY), env=ENV)
    assert len(fake.requests) == 3
    for call in fake.requests:
        assert call.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in call.full_path


# --- unknown users (HTTP 200 with errors) -------------------------------------


def test_unknown_username_answered_200_with_errors_is_not_found(fake, httpserver):
    error = raises_domain_error(plugin, raw(httpserver, username="no_such_shop"), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, NotFound) and "@no_such_shop" in str(error)


def test_user_id_option_looks_the_account_up_by_id(fake, httpserver):
    options = {k: v for k, v in raw(httpserver, user_id=fake.user_id).items() if k != "username"}
    result = fetch_once(plugin, options, window(TODAY, TODAY), env=ENV)
    assert {s.metric: s.value for s in result.samples} == SNAPSHOT
    assert fake.requests[0].path == f"/2/users/{fake.user_id}"


# --- Done when 8: real recorded bodies ----------------------------------------

REAL = SHARED_FIXTURES / "x"


def real(name):
    if not REAL.is_dir():
        pytest.skip(f"real X recordings not available ({REAL} is absent)")
    return json.loads((REAL / name).read_text())


def shape(value):
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_parser_reads_the_real_user_lookup_body_without_public_metrics():
    user = parse_user(real("users_by_username_2021-04-13.json"), "@Twitter")
    assert (user.id, user.username, user.counts) == ("783214", "Twitter", {})


def test_fake_bodies_have_the_real_keys_and_types(fake, httpserver):
    posts_each_day(fake, TODAY - timedelta(days=2), 2, 1)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    user = requests.get(httpserver.url_for("/2/users/by/username/baecker_lindner"), headers=headers)
    assert shape(user.json()) == shape(real("users_by_username_2021-04-13.json"))
    timeline = requests.get(httpserver.url_for(f"/2/users/{fake.user_id}/tweets"), headers=headers)
    assert shape(timeline.json()) == shape(real("users_id_tweets_2022-10-07.json"))
    assert user.headers["x-rate-limit-reset"].isdigit() and timeline.headers["x-rate-limit-remaining"].isdigit()


# --- check and options --------------------------------------------------------


def test_check_names_the_account_and_its_followers(fake, httpserver):
    opts = make_options(plugin, raw(httpserver), env=ENV)
    with HttpSession(timeout=5, retries=1, backoff=0.01) as http:
        assert check(opts, http) == "@baecker_lindner (Bäckerei Lindner), 1,843 followers"


def test_check_fails_for_an_unknown_user(fake, httpserver):
    opts = make_options(plugin, raw(httpserver, username="no_such_shop"), env=ENV)
    with HttpSession(timeout=5, retries=1, backoff=0.01) as http, pytest.raises(NotFound, match="no_such_shop"):
        check(opts, http)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "exactly one of `username`"),
        ({"username": "baecker_lindner", "user_id": "1"}, "not both"),
        ({"username": "@baecker_lindner"}, "without @"),
        ({"user_id": "baecker"}, "numeric id"),
    ],
)
def test_options_need_exactly_one_valid_username_or_user_id(values, message):
    with pytest.raises(ValueError, match=message):
        XOptions(token=None, **values)
