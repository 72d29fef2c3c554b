"""The linkedin plugin, specified against a fake of LinkedIn's Community Management API."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.linkedin import FakeLinkedIn
from tracker.errors import ApiError, AuthError, QuotaExhausted
from tracker.http import HttpSession
from tracker.plugin import next_midnight
from tracker.testing import check_plugin, fetch_once, make_options, raises_domain_error, window
from tracker_plugins.linkedin import LinkedInOptions, check, follower_count, plugin, share_metrics, time_intervals

TODAY = date(2026, 11, 20)
TOKEN = "li-test-token-5f8a"
ENV = {"TEST_TOKEN": TOKEN}


@pytest.fixture
def fake(httpserver):
    fake = FakeLinkedIn(httpserver, token=TOKEN, today=TODAY)
    fake.seed_days(TODAY - timedelta(days=600), TODAY)
    return fake


def raw(httpserver, **extra):
    return {"organization_id": "2414183", "token": "${TEST_TOKEN}", "base_url": httpserver.url_for("/"), **extra}


@pytest.fixture
def config(httpserver, make_config, monkeypatch):
    monkeypatch.setenv("TEST_TOKEN", TOKEN)

    def make(**extra):
        return make_config({"page": {"plugin": "linkedin", **raw(httpserver, **extra)}})

    return make


def stored(rows):
    """{(metric, day): value} of stored samples."""
    return {(r["metric"], str(r["day"])): r["value"] for r in rows}


def expected_day(fake, day):
    organic, paid = fake.follower_gains[day]
    desktop, mobile = fake.page_views[day]
    s = fake.shares[day]
    return {
        "followers_gained": organic + paid,
        "linkedin.organic_followers_gained": organic,
        "linkedin.paid_followers_gained": paid,
        "profile_views": desktop + mobile,
        "impressions": s["impressionCount"],
        "reach": s["uniqueImpressionsCount"],
        "likes": s["likeCount"],
        "comments": s["commentCount"],
        "shares": s["shareCount"],
        "linkedin.clicks": s["clickCount"],
        "linkedin.engagement_rate": s["engagement"],
    }


# --- Done when 1: conformance -------------------------------------------------


def test_conformance_kit_passes(fake, httpserver):
    result = check_plugin(plugin, raw(httpserver), since=TODAY - timedelta(days=20), until=TODAY, env=ENV)
    assert {s.metric for s in result.samples} == set(plugin.metrics)


# --- Done when 2: a normal multi-week sync through the real sync ---------------


def test_multi_week_sync_stores_every_metric_on_its_utc_day_and_followers_on_today(fake, config, run_sync, samples):
    cfg = config()
    result = run_sync(cfg, now=noon(TODAY))
    assert result.ok, result.outcomes
    got = stored(samples(cfg.database))
    assert got.pop(("followers", str(TODAY))) == fake.followers
    expected = {}
    for n in range(1, 30):  # the first sync covers 30 days; LinkedIn's today is not complete yet
        day = TODAY - timedelta(days=n)
        expected.update({(metric, str(day)): value for metric, value in expected_day(fake, day).items()})
    assert got == pytest.approx(expected)


def test_last_days_are_marked_provisional_because_linkedin_still_revises_them(fake, config, run_sync, samples):
    cfg = config()
    run_sync(cfg, now=noon(TODAY))
    provisional = {str(r["day"]) for r in samples(cfg.database) if r["metric"] == "likes" and r["provisional"]}
    assert provisional == {str(TODAY - timedelta(days=1)), str(TODAY - timedelta(days=2))}


def test_todays_incomplete_utc_day_is_never_requested(fake, config, run_sync):
    run_sync(config(), now=noon(TODAY))
    end = int(datetime.combine(TODAY, time(), tzinfo=UTC).timestamp() * 1000)
    calls = fake.calls("organizationalEntityFollowerStatistics") + fake.calls("organizationalEntityShareStatistics")
    for call in calls:
        assert f"end:{end})" in call.query


# --- Done when 3: a backfill longer than one request window -------------------


def test_backfill_longer_than_14_months_is_split_into_requests_under_the_limit(fake, config, run_sync, samples):
    cfg = config()
    since, until = TODAY - timedelta(days=500), TODAY - timedelta(days=1)
    result = run_sync(cfg, since=since, until=until, now=noon(TODAY))
    assert result.ok, result.outcomes  # the fake answers 400 to any span of 14 months or more
    assert len(fake.calls("organizationalEntityFollowerStatistics")) == 2
    assert len(fake.calls("organizationPageStatistics")) == 2
    gained = {r["day"] for r in samples(cfg.database) if r["metric"] == "followers_gained"}
    assert len(gained) == 500 and min(gained) == str(since) and max(gained) == str(until)


def test_backfill_asks_share_statistics_only_for_the_last_12_months(fake, config, run_sync, samples):
    cfg = config()
    run_sync(cfg, since=TODAY - timedelta(days=500), until=TODAY - timedelta(days=1), now=noon(TODAY))
    (call,) = fake.calls("organizationalEntityShareStatistics")
    oldest = TODAY - timedelta(days=364)
    assert f"start:{int(datetime.combine(oldest, time(), tzinfo=UTC).timestamp() * 1000)}," in call.query
    impressions = {r["day"] for r in samples(cfg.database) if r["metric"] == "impressions"}
    assert min(impressions) == str(oldest)


# --- Done when 4: pagination --------------------------------------------------


def test_pagination_none_statistics_buckets_all_come_in_one_response_despite_paging_count(fake, httpserver):
    since = TODAY - timedelta(days=31)
    result = check_plugin(plugin, raw(httpserver), since=since, until=TODAY - timedelta(days=1), today=TODAY, env=ENV)
    assert len({s.day for s in result.samples if s.metric == "likes"}) == 31  # the fake says paging.count 10
    assert all("start=" not in c.query and "count=" not in c.query for c in fake.requests)


# --- Done when 5: LinkedIn's headerless daily 429 -----------------------------


def test_daily_quota_429_stops_the_account_until_next_midnight_utc_without_retrying(fake, httpserver):
    fake.quota["organizationalEntityShareStatistics"] = 0
    before = datetime.now(UTC)
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY - timedelta(days=7), TODAY), env=ENV)
    assert isinstance(error, QuotaExhausted)
    assert error.until in (next_midnight(ZoneInfo("UTC"), before), next_midnight(ZoneInfo("UTC")))
    assert "00:00 UTC" in str(error)
    assert len(fake.calls("organizationalEntityShareStatistics")) == 1


def test_daily_quota_fails_the_sync_of_that_account_with_a_clear_line(fake, config, run_sync):
    fake.quota["organizationalEntityFollowerStatistics"] = 0
    result = run_sync(config(), now=noon(TODAY))
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert "daily API quota" in outcome.message and "\n" not in outcome.message
    assert len(fake.calls("organizationalEntityFollowerStatistics")) == 1


# --- Done when 6: bad tokens and other refusals -------------------------------


def test_expired_token_fails_the_account_with_one_line_naming_the_problem_and_never_the_token(fake, config, run_sync):
    fake.token_error = "EXPIRED_ACCESS_TOKEN"
    result = run_sync(config(), now=noon(TODAY))
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert "expired" in outcome.message and "rw_organization_admin" in outcome.message
    assert TOKEN not in outcome.message and "\n" not in outcome.message


def test_invalid_token_is_an_auth_error(fake, httpserver):
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY), env={"TEST_TOKEN": "wrong-token"})
    assert isinstance(error, AuthError) and "invalid" in str(error)


def test_sunset_version_426_tells_the_user_to_update_linkedin_version(fake, httpserver):
    error = raises_domain_error(plugin, raw(httpserver, linkedin_version="202508"), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, ApiError)
    assert "202508" in str(error) and "linkedin_version" in str(error)


def test_missing_admin_permission_is_an_auth_error_naming_scope_and_role(fake, httpserver):
    fake.forbidden = True
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY), env=ENV)
    assert isinstance(error, AuthError) and "ADMINISTRATOR" in str(error)


# --- the wire format ----------------------------------------------------------


def test_every_call_sends_version_and_protocol_headers_and_the_token_only_in_a_header(fake, httpserver):
    check_plugin(plugin, raw(httpserver), since=TODAY - timedelta(days=10), until=TODAY, env=ENV)
    assert fake.requests
    for call in fake.requests:
        assert call.headers["Linkedin-Version"] == "202608"
        assert call.headers["X-Restli-Protocol-Version"] == "2.0.0"
        assert call.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in call.query and TOKEN not in call.raw_path


def test_query_uses_encoded_urns_and_literal_restli_time_intervals(fake, httpserver):
    since, until = date(2026, 11, 1), date(2026, 11, 2)
    fetch_once(plugin, raw(httpserver), window(since, until, TODAY), env=ENV)
    (call,) = fake.calls("organizationalEntityShareStatistics")
    assert call.query == (
        "q=organizationalEntity&organizationalEntity=urn%3Ali%3Aorganization%3A2414183"
        "&timeIntervals=(timeRange:(start:1793491200000,end:1793664000000),timeGranularityType:DAY)"
    )
    assert time_intervals(since, until) in call.query
    assert not fake.calls("networkSizes")  # today is outside the window: no snapshot


def test_fake_refuses_calls_without_the_version_or_protocol_header_like_linkedin(fake, httpserver):
    import requests

    url = httpserver.url_for("/rest/networkSizes/urn%3Ali%3Aorganization%3A2414183?edgeType=COMPANY_FOLLOWED_BY_MEMBER")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    missing_version = requests.get(url, headers={**auth, "X-Restli-Protocol-Version": "2.0.0"})
    assert missing_version.status_code == 400 and missing_version.json()["code"] == "VERSION_MISSING"
    missing_protocol = requests.get(url, headers={**auth, "LinkedIn-Version": "202608"})
    assert missing_protocol.status_code == 400
    encoded = httpserver.url_for("/rest/organizationalEntityShareStatistics") + (
        "?q=organizationalEntity&organizationalEntity=urn%3Ali%3Aorganization%3A2414183"
        "&timeIntervals=%28timeRange:%28start:1793491200000,end:1793664000000%29,timeGranularityType:DAY%29"
    )
    headers = {**auth, "LinkedIn-Version": "202608", "X-Restli-Protocol-Version": "2.0.0"}
    assert requests.get(encoded, headers=headers).json()["message"] == "Parameter 'timeIntervals' is invalid"


# --- Done when 8: real recorded bodies ----------------------------------------

REAL = SHARED_FIXTURES / "linkedin"


def real(name):
    if not REAL.is_dir():
        pytest.skip(f"real LinkedIn recordings not available ({REAL} is absent)")
    return json.loads((REAL / name).read_text())


def shape(value):
    """Keys and value types, recursively: what must match between real and fake bodies."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_parser_reads_the_real_network_sizes_and_share_statistics_bodies():
    assert follower_count(real("network_sizes_body.json")) == 0
    metrics = share_metrics(real("share_statistics_lifetime_element.json")["totalShareStatistics"])
    assert set(metrics) == set(plugin.metrics) - {
        "followers", "followers_gained", "linkedin.organic_followers_gained", "linkedin.paid_followers_gained",
        "profile_views",
    }
    assert isinstance(metrics["linkedin.engagement_rate"], float)


def test_fake_bodies_have_the_real_keys_and_types(fake, httpserver):
    import requests

    headers = {"Authorization": f"Bearer {TOKEN}", "LinkedIn-Version": "202608", "X-Restli-Protocol-Version": "2.0.0"}
    base = httpserver.url_for("/rest/")
    urn = "urn%3Ali%3Aorganization%3A2414183"
    size = requests.get(f"{base}networkSizes/{urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER", headers=headers).json()
    assert shape(size) == shape(real("network_sizes_body.json"))
    for resource, name in (
        ("organizationalEntityShareStatistics", "share_statistics_lifetime_element.json"),
        ("organizationalEntityFollowerStatistics", "follower_statistics_lifetime_element.json"),
    ):
        url = f"{base}{resource}?q=organizationalEntity&organizationalEntity={urn}"
        body = requests.get(url, headers=headers).json()
        (element,) = body["elements"]
        assert shape(element) == shape(real(name))
    org = requests.get(f"{base}organizations/2414183", headers=headers).json()
    recorded = real("organizations_get_body.json")
    assert {k: type(v) for k, v in org.items()} == {k: type(recorded[k]) for k in org}


# --- check --------------------------------------------------------------------


def http_session():
    return HttpSession(timeout=5, retries=1, backoff=0.01)


def test_check_names_the_page_and_its_followers(fake, httpserver):
    opts = make_options(plugin, raw(httpserver), env=ENV)
    with http_session() as http:
        assert check(opts, http) == "page Bäckerei Lindner, 1,873 followers (API version 202608)"


def test_check_fails_with_the_missing_permission(fake, httpserver):
    fake.forbidden = True
    opts = make_options(plugin, raw(httpserver), env=ENV)
    with http_session() as http, pytest.raises(AuthError, match="rw_organization_admin"):
        check(opts, http)


# --- options ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"organization_id": "urn:li:organization:1"}, "numeric id"), ({"linkedin_version": "2026-08"}, "YYYYMM")],
)
def test_options_reject_an_urn_as_id_and_a_malformed_version(changes, message):
    values = {"organization_id": "2414183", "token": None, **changes}
    with pytest.raises(ValueError, match=message):
        LinkedInOptions(**values)
