"""The google_business plugin against a fake Google token endpoint, Performance API and reviews list."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.ga4 import new_key, write_key_file
from tests.fakes.google_business import (
    ACCOUNT,
    LOCATION,
    SERVICE_DISABLED,
    FakeGoogleBusiness,
    FakeReview,
    quota_error,
    status,
    write_token_file,
)
from tests.test_cli import invoke
from tracker.errors import ApiError, AuthError, NotFound, QuotaExhausted, RateLimited, UnexpectedResponse
from tracker.http import HttpSession
from tracker.plugin import Endpoint
from tracker.store.db import open_engine
from tracker.testing import (
    check_plugin,
    check_unreadable_answers,
    fetch_once,
    make_options,
    raises_domain_error,
    window,
)
from tracker_plugins import google_business as module
from tracker_plugins.google_business import plugin

TODAY = date(2026, 11, 23)
BERLIN = ZoneInfo("Europe/Berlin")
# DailyMetric -> k, so every metric has its own numbers (and its own zero days) in val()
K = {
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS": 1,
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH": 2,
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS": 3,
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH": 4,
    "CALL_CLICKS": 5,
    "MESSAGING_CLICKS": 6,
    "BUSINESS_BOOKINGS": 7,
    "BUSINESS_DIRECTION_REQUESTS": 8,
    "WEBSITE_CLICKS": 9,
    "BUSINESS_FOOD_MENU_CLICKS": 10,
    "BUSINESS_FOOD_ORDERS": 11,
}
IMPRESSIONS = [m for m in K if m.startswith("BUSINESS_IMPRESSIONS_")]
LEAD_PARTS = ["CALL_CLICKS", "MESSAGING_CLICKS", "BUSINESS_BOOKINGS", "BUSINESS_DIRECTION_REQUESTS"]


def val(metric: str, day: date) -> int:
    """A number per metric and day, 0 on some days (which Google answers without `value`)."""
    return (K[metric] * 5 + day.toordinal()) % 9


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture
def fake(httpserver: HTTPServer, tmp_path: Path) -> FakeGoogleBusiness:
    fake = FakeGoogleBusiness(httpserver)
    fake.token_file = write_token_file(tmp_path, fake.token_uri)  # type: ignore[attr-defined]
    return fake


def options(fake: FakeGoogleBusiness, **extra: object) -> dict[str, object]:
    return {
        "location_id": LOCATION,
        "account_id": ACCOUNT,
        "credentials_file": str(fake.token_file),  # type: ignore[attr-defined]
        "base_url": fake.server.url_for("/"),
        "reviews_base_url": fake.server.url_for("/"),
        **extra,
    }


def seed(fake: FakeGoogleBusiness, first: date, last: date) -> None:
    for day in days(first, last):
        fake.seed(day, **{m: val(m, day) for m in K})


def at(day: date, hour: int, minute: int = 0, tz: Any = UTC) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


REVIEWS = [
    FakeReview("r-old", 5, at(date(2026, 10, 1), 9)),
    FakeReview("r-nov2", 5, at(date(2026, 11, 2), 10), reply_at=at(date(2026, 11, 3), 8, 15)),
    FakeReview("r-nov12", 3, at(date(2026, 11, 12), 9)),
    FakeReview("r-late", 4, at(date(2026, 11, 12), 23, 30), reply_at=at(date(2026, 11, 14), 7)),  # Nov 13 in Berlin
]


def by_key(samples: list[Any]) -> dict[tuple[str, date], float]:
    return {(s.metric, s.day): s.value for s in samples}


def write_config(path: Path, database: str, accounts: dict[str, dict[str, Any]]) -> Path:
    lines = [f"database = {json.dumps(database)}", 'timezone = "UTC"']
    for name, opts in accounts.items():
        lines += [f"[accounts.{name}]"] + [f"{k} = {json.dumps(v)}" for k, v in opts.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def query(url: str, sql: str, **params: Any) -> list[Any]:
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


# --- conformance and the real sync ----------------------------------------------------------------------------


def test_conformance_kit_passes(fake: FakeGoogleBusiness) -> None:
    seed(fake, date(2026, 11, 1), TODAY)
    fake.reviews = list(REVIEWS)
    result = check_plugin(plugin, options(fake), since=date(2026, 11, 1), until=TODAY, today=TODAY)
    assert {s.platform for s in result.samples} == {"google_business"}
    assert {"leads", "link_clicks", "profile_views", "rating", "reviews_total"} <= {s.metric for s in result.samples}


def test_every_reshaped_answer_fails_with_a_domain_error_or_changes_nothing(fake: FakeGoogleBusiness) -> None:
    seed(fake, date(2026, 11, 1), TODAY)
    fake.reviews = list(REVIEWS)
    results = check_unreadable_answers(plugin, options(fake), since=date(2026, 11, 10), until=TODAY, today=TODAY)
    failures = [r.error for r in results if r.error is not None]
    assert failures and all(isinstance(e, UnexpectedResponse) and "\n" not in str(e) for e in failures)


def test_multi_week_sync_lands_on_gbp_days_and_the_report_counts_leads_as_first_party(
    fake: FakeGoogleBusiness, make_config, run_sync, samples, cli, tmp_path: Path, db_url: str
) -> None:
    seed(fake, date(2026, 10, 20), TODAY)
    fake.last_processed = TODAY - timedelta(days=3)  # Nov 21-23 are listed without values: not processed yet
    fake.reviews = list(REVIEWS)
    accounts = {"gbp": {"plugin": "google_business", "timezone": "Europe/Berlin", **options(fake)}}
    result = run_sync(make_config(accounts), since=date(2026, 10, 27), until=TODAY, now=noon(TODAY))
    assert result.ok, result.outcomes

    stored = {(r["metric"], date.fromisoformat(str(r["day"]))): r["value"] for r in samples(db_url)}
    nov12 = date(2026, 11, 12)
    assert {m: stored[(m, nov12)] for m in ("leads", "conversions", "link_clicks", "profile_views")} == {
        "leads": 4 + 0 + 5 + 1,  # calls, messaging, bookings, directions: val() worked out by hand for Nov 12
        "conversions": 10 + 7,  # plus food orders
        "link_clicks": 6,
        "profile_views": 2 + 7 + 3 + 8,
    }
    assert stored[("google_business.calls", nov12)] == 4
    assert stored[("google_business.messaging_clicks", nov12)] == 0  # listed without `value`: a real zero
    assert not any(day > TODAY - timedelta(days=3) for metric, day in stored if metric == "leads")
    assert stored[("reviews_total", TODAY)] == 4 and stored[("rating", TODAY)] == 4.2
    new_reviews = [stored[("google_business.reviews_new", nov12 + timedelta(days=n))] for n in (0, 1)]
    assert new_reviews == [1, 1]  # 09:00 UTC on Nov 12, and 23:30 UTC, which is Nov 13 in Berlin

    config = write_config(tmp_path / "config.toml", db_url, accounts)
    reported = invoke(cli, "report", "--config", str(config), "--format", "json", "--until", TODAY.isoformat(),
                      "--days", "14")
    assert reported.exit_code == 0, reported.output
    (row,) = [r for r in json.loads(reported.stdout)["platforms"] if r["platform"] == "google_business"]
    counted = days(TODAY - timedelta(days=13), TODAY - timedelta(days=3))  # Nov 10-20: the processed days

    def total(metrics: list[str]) -> int:
        return sum(val(m, d) for m in metrics for d in counted)

    assert (row["leads"], row["orders"], row["conversions"]) == (
        total(LEAD_PARTS), total(["BUSINESS_FOOD_ORDERS"]), total(LEAD_PARTS + ["BUSINESS_FOOD_ORDERS"]))
    assert (row["link_clicks"], row["profile_views"]) == (total(["WEBSITE_CLICKS"]), total(IMPRESSIONS))
    assert row["tracked"] is True and row["conversions_source"] == "gbp" and row["visits"] is None
    assert "intents, not sales" in row["attribution"]


def test_backfill_longer_than_31_days_is_read_in_windows_of_at_most_31_days(
    fake: FakeGoogleBusiness, make_config, run_sync, samples
) -> None:
    seed(fake, date(2026, 8, 1), TODAY)
    cfg = make_config({"gbp": {"plugin": "google_business", **options(fake, account_id=None)}})
    result = run_sync(cfg, since=date(2026, 9, 1), until=TODAY, now=noon(TODAY))
    assert result.ok, result.outcomes
    ranges = [
        tuple(date(*(int(r.args[f"dailyRange.{end}_date.{p}"][0]) for p in ("year", "month", "day")))
              for end in ("start", "end"))
        for r in fake.performance_calls()
    ]
    assert ranges == [(date(2026, 9, 1), date(2026, 10, 1)), (date(2026, 10, 2), date(2026, 11, 1)),
                      (date(2026, 11, 2), TODAY)]
    leads = {date.fromisoformat(str(r["day"])): r["value"] for r in samples(cfg.database) if r["metric"] == "leads"}
    assert sorted(leads) == days(date(2026, 9, 1), TODAY)
    assert leads[date(2026, 10, 1)] == sum(val(m, date(2026, 10, 1)) for m in LEAD_PARTS)


def test_every_metric_is_asked_once_per_request_with_the_documented_snake_case_range(fake: FakeGoogleBusiness) -> None:
    seed(fake, date(2026, 11, 1), TODAY)
    fetch_once(plugin, options(fake, account_id=None), window(date(2026, 11, 20), TODAY))
    (call,) = fake.performance_calls()
    assert sorted(call.args["dailyMetrics"]) == sorted(K)
    assert {k: v[0] for k, v in call.args.items() if k.startswith("dailyRange")} == {
        "dailyRange.start_date.year": "2026", "dailyRange.start_date.month": "11", "dailyRange.start_date.day": "20",
        "dailyRange.end_date.year": "2026", "dailyRange.end_date.month": "11", "dailyRange.end_date.day": "23",
    }
    assert call.headers["Authorization"].startswith("Bearer ya29.") and "ya29." not in call.url


# --- days: zero, unknown, provisional ------------------------------------------------------------------------


@pytest.mark.parametrize("omitted", [False, True], ids=["listed-without-value", "left-out"])
def test_unprocessed_recent_days_are_unknown_not_zero(fake: FakeGoogleBusiness, omitted: bool) -> None:
    seed(fake, date(2026, 11, 1), TODAY)
    fake.last_processed, fake.unprocessed_omitted = TODAY - timedelta(days=2), omitted
    result = fetch_once(plugin, options(fake, account_id=None), window(date(2026, 11, 15), TODAY))
    assert max(s.day for s in result.samples) == TODAY - timedelta(days=2)


def test_a_valueless_day_before_a_day_with_values_is_zero_even_when_recent(fake: FakeGoogleBusiness) -> None:
    fake.seed(TODAY - timedelta(days=1))  # every metric 0: listed without `value`
    fake.seed(TODAY, CALL_CLICKS=2)
    result = fetch_once(plugin, options(fake, account_id=None), window(TODAY - timedelta(days=1), TODAY))
    values = by_key(result.samples)
    assert values[("leads", TODAY - timedelta(days=1))] == 0 and values[("leads", TODAY)] == 2


def test_old_valueless_days_at_the_end_of_a_window_are_zero(fake: FakeGoogleBusiness) -> None:
    first, last = TODAY - timedelta(days=20), TODAY - timedelta(days=10)
    for day in days(first, last):
        fake.seed(day)  # a quiet listing: every metric 0
    result = fetch_once(plugin, options(fake, account_id=None), window(first, last, today=TODAY))
    assert {(s.day, s.value) for s in result.samples if s.metric == "leads"} == {(d, 0) for d in days(first, last)}


def test_the_last_five_days_are_provisional(fake: FakeGoogleBusiness) -> None:
    seed(fake, date(2026, 11, 1), TODAY)
    result = fetch_once(plugin, options(fake, account_id=None), window(date(2026, 11, 15), TODAY))
    assert {s.day for s in result.samples if s.provisional} == set(days(TODAY - timedelta(days=4), TODAY))


def test_a_metric_google_refuses_is_reported_missing_and_asked_no_more_while_the_rest_lands(
    fake: FakeGoogleBusiness,
) -> None:
    seed(fake, date(2026, 9, 1), TODAY)
    fake.removed = {"BUSINESS_FOOD_ORDERS"}
    result = fetch_once(plugin, options(fake, account_id=None), window(date(2026, 10, 1), TODAY))
    assert [(u.metric, u.reason.split(":")[0]) for u in result.unavailable] == [
        ("orders", "Google refused BUSINESS_FOOD_ORDERS")]
    values = by_key(result.samples)
    nov12 = date(2026, 11, 12)
    assert values[("conversions", nov12)] == values[("leads", nov12)] == 10
    assert not any(s.metric == "orders" for s in result.samples)
    asked = [sorted(r.args["dailyMetrics"]) for r in fake.performance_calls()]
    assert len(asked) == 3 and "BUSINESS_FOOD_ORDERS" in asked[0]  # refused, then two windows without it
    assert all("BUSINESS_FOOD_ORDERS" not in a for a in asked[1:])


# --- reviews --------------------------------------------------------------------------------------------------


def many_reviews(count: int, newest: datetime) -> list[FakeReview]:
    return [FakeReview(f"r{i}", 1 + i % 5, newest - timedelta(hours=7 * i)) for i in range(count)]


def test_reviews_are_read_page_by_page_to_the_end(fake: FakeGoogleBusiness) -> None:
    fake.seed(TODAY)
    fake.reviews = many_reviews(120, at(TODAY, 9))  # 120 reviews over 35 days
    result = fetch_once(plugin, options(fake), window(TODAY - timedelta(days=40), TODAY))
    tokens = [r.args.get("pageToken") for r in fake.review_calls()]
    assert len(tokens) == 3 and tokens[0] is None and None not in tokens[1:]
    new = {s.day: s.value for s in result.samples if s.metric == "google_business.reviews_new"}
    assert sum(new.values()) == 120 and by_key(result.samples)[("reviews_total", TODAY)] == 120


def test_reviews_paging_stops_at_the_first_review_changed_before_the_window(fake: FakeGoogleBusiness) -> None:
    fake.seed(TODAY)
    fake.reviews = many_reviews(120, at(TODAY, 9))
    no_care_lookback = options(fake, care_lookback_days=0)  # else reviews of the last 30 days are read for care
    result = fetch_once(plugin, no_care_lookback, window(TODAY - timedelta(days=3), TODAY))
    assert len(fake.review_calls()) == 1
    since = at(TODAY - timedelta(days=3), 0)
    expected = sum(1 for r in fake.reviews if r.created >= since)
    assert sum(s.value for s in result.samples if s.metric == "google_business.reviews_new") == expected == 12


def test_new_reviews_fall_on_the_accounts_days(fake: FakeGoogleBusiness) -> None:
    fake.seed(TODAY)
    fake.reviews = list(REVIEWS)
    result = fetch_once(plugin, options(fake), window(date(2026, 11, 10), TODAY, tz="Europe/Berlin"))
    new = {s.day: s.value for s in result.samples if s.metric == "google_business.reviews_new"}
    assert (new[date(2026, 11, 12)], new[date(2026, 11, 13)], sum(new.values())) == (1, 1, 2)


def test_a_listing_without_reviews_has_zero_reviews_and_no_rating(fake: FakeGoogleBusiness) -> None:
    fake.seed(TODAY)
    result = fetch_once(plugin, options(fake), window(TODAY, TODAY))
    values = by_key(result.samples)
    assert values[("reviews_total", TODAY)] == 0 and ("rating", TODAY) not in values and not result.unavailable


def test_without_account_id_no_review_is_read_and_nothing_of_them_is_stored(fake: FakeGoogleBusiness) -> None:
    fake.seed(TODAY, CALL_CLICKS=1)
    fake.reviews = list(REVIEWS)
    result = fetch_once(plugin, options(fake, account_id=None), window(TODAY, TODAY))
    assert fake.review_calls() == []
    assert {s.metric for s in result.samples} & {"rating", "reviews_total", "google_business.reviews_new"} == set()


def test_no_review_text_or_reviewer_name_reaches_the_database(
    fake: FakeGoogleBusiness, make_config, run_sync, db_url: str, tmp_path: Path
) -> None:
    seed(fake, date(2026, 11, 1), TODAY)
    fake.reviews = list(REVIEWS)
    cfg = make_config({"gbp": {"plugin": "google_business", **options(fake)}})
    assert run_sync(cfg, since=date(2026, 11, 1), until=TODAY, now=noon(TODAY)).ok
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("tracker.db*"))
    for personal in ("Franzbr", "Erika", "Mustermann", "Danke", "r-nov2", "lh3.googleusercontent"):
        assert personal.encode() not in raw, personal


# --- credentials ----------------------------------------------------------------------------------------------


def test_a_service_account_key_signs_in_with_the_business_manage_scope(
    fake: FakeGoogleBusiness, tmp_path: Path
) -> None:
    key_file, public_key = write_key_file(tmp_path, fake.token_uri, fake.email, new_key())
    fake.public_key = public_key
    fake.seed(TODAY, CALL_CLICKS=3)
    result = fetch_once(plugin, options(fake, credentials_file=str(key_file), account_id=None), window(TODAY, TODAY))
    assert by_key(result.samples)[("google_business.calls", TODAY)] == 3
    claims = fake.token_requests[0]["assertion"].split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["scope"] == module.SCOPE


def test_an_access_token_refused_with_401_is_renewed_once(fake: FakeGoogleBusiness) -> None:
    fake.seed(TODAY, CALL_CLICKS=3)
    fake.fail_next(401, status(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."))
    result = fetch_once(plugin, options(fake, account_id=None), window(TODAY, TODAY))
    assert by_key(result.samples)[("google_business.calls", TODAY)] == 3
    assert [r["grant_type"] for r in fake.token_requests] == ["refresh_token", "refresh_token"]


def test_a_revoked_refresh_token_gives_accounts_check_one_line_saying_to_sign_in_again(
    fake: FakeGoogleBusiness, cli, tmp_path: Path, db_url: str
) -> None:
    fake.refresh_revoked = True
    config = write_config(tmp_path / "config.toml", db_url, {"gbp": {"plugin": "google_business", **options(fake)}})
    result = invoke(cli, "accounts", "check", "--config", str(config), "--format", "json")
    assert result.exit_code == 1
    (entry,) = json.loads(result.stdout)
    assert entry["status"] == "failed" and "\n" not in entry["message"]
    assert entry["message"] == (
        f"Google refused the OAuth token in {fake.token_file} (Token has been expired or revoked.); the refresh "  # type: ignore[attr-defined]
        "token expired or was revoked: sign in again and write a new token file (an OAuth app still in 'Testing' "
        "gets tokens that last 7 days: publish it 'In production')"
    )
    assert "1//0g" not in result.output and "GOCSPX" not in result.output


def test_a_deleted_oauth_client_names_the_client(fake: FakeGoogleBusiness) -> None:
    fake.client_deleted = True
    error = raises_domain_error(plugin, options(fake), window(TODAY, TODAY))
    assert isinstance(error, AuthError) and "client_id/client_secret" in str(error) and "GOCSPX" not in str(error)


def test_a_file_that_is_no_credentials_file_names_the_path(fake: FakeGoogleBusiness, tmp_path: Path) -> None:
    wrong = tmp_path / "notes.json"
    wrong.write_text('{"hello": "world"}')
    error = raises_domain_error(plugin, options(fake, credentials_file=str(wrong)), window(TODAY, TODAY))
    assert isinstance(error, AuthError) and str(wrong) in str(error) and "refresh_token" in str(error)


# --- errors, quotas, rate limits ------------------------------------------------------------------------------


def test_a_project_without_approved_access_says_it_waits_for_google(fake: FakeGoogleBusiness) -> None:
    fake.fail_next(429, quota_error("0"))
    error = raises_domain_error(plugin, options(fake), window(TODAY, TODAY))
    assert isinstance(error, AuthError) and str(error).startswith("waiting for Google access:")
    assert "businessprofileperformance.googleapis.com" in str(error) and "\n" not in str(error)


def test_a_spent_per_minute_quota_without_retry_after_waits_a_minute(fake: FakeGoogleBusiness) -> None:
    fake.fail_next(429, quota_error("300"))
    error = raises_domain_error(plugin, options(fake), window(TODAY, TODAY))
    assert isinstance(error, RateLimited) and error.retry_after == 60


def test_a_429_with_retry_after_is_waited_out_by_the_session(fake: FakeGoogleBusiness) -> None:
    fake.seed(TODAY, CALL_CLICKS=4)
    fake.fail_next(429, quota_error("300"), {"Retry-After": "0"})
    result = fetch_once(plugin, options(fake, account_id=None), window(TODAY, TODAY))
    assert by_key(result.samples)[("google_business.calls", TODAY)] == 4 and len(fake.performance_calls()) == 2


def test_a_spent_daily_quota_stops_the_account_until_pacific_midnight(fake: FakeGoogleBusiness) -> None:
    fake.fail_next(429, quota_error("5000", per="day"))
    error = raises_domain_error(plugin, options(fake), window(TODAY, TODAY))
    assert isinstance(error, QuotaExhausted) and error.until is not None
    assert (error.until.hour, str(error.until.tzinfo)) == (0, "America/Los_Angeles")


def test_a_disabled_api_says_to_enable_it(fake: FakeGoogleBusiness) -> None:
    fake.fail_next(403, SERVICE_DISABLED)
    error = raises_domain_error(plugin, options(fake), window(TODAY, TODAY))
    assert isinstance(error, AuthError)
    assert str(error).startswith("businessprofileperformance.googleapis.com is not enabled")
    assert "enable it in the Google Cloud console" in str(error)


def test_a_person_who_does_not_manage_the_location_is_told_who_may(fake: FakeGoogleBusiness) -> None:
    fake.may_read = False
    error = raises_domain_error(plugin, options(fake), window(TODAY, TODAY))
    assert isinstance(error, AuthError) and f"may not read location {LOCATION}" in str(error)
    assert "owner or manager" in str(error)


def test_an_unknown_location_is_not_found_naming_location_id(fake: FakeGoogleBusiness) -> None:
    error = raises_domain_error(plugin, options(fake, location_id="999"), window(TODAY, TODAY))
    assert isinstance(error, NotFound) and "location 999" in str(error) and "check location_id" in str(error)


def test_an_unknown_account_id_is_not_found_naming_both_ids(fake: FakeGoogleBusiness) -> None:
    fake.seed(TODAY)
    error = raises_domain_error(plugin, options(fake, account_id="accounts/42"), window(TODAY, TODAY))
    assert isinstance(error, NotFound) and "in account 42" in str(error) and "account_id" in str(error)


def test_an_other_bad_request_is_one_line_naming_the_api(fake: FakeGoogleBusiness) -> None:
    for _ in range(2):  # the first refusal names no metric: the new and retiring ones are left out once
        fake.fail_next(400, status(400, "INVALID_ARGUMENT", "Request contains an invalid argument."))
    error = raises_domain_error(plugin, options(fake), window(TODAY, TODAY))
    assert isinstance(error, ApiError) and str(error).startswith("the Business Profile Performance API refused")


def test_a_wrongly_shaped_answer_fails_the_account_and_keeps_its_cursor_and_data(
    fake: FakeGoogleBusiness, make_config, run_sync, samples, db_url: str
) -> None:
    seed(fake, date(2026, 11, 1), TODAY)
    cfg = make_config({"gbp": {"plugin": "google_business", **options(fake, account_id=None)}})
    assert run_sync(cfg, since=date(2026, 11, 1), until=TODAY, now=noon(TODAY)).ok
    cursor = TODAY - timedelta(days=5)
    query(db_url, "UPDATE account SET last_good_day = :day WHERE name = 'gbp'", day=cursor)
    before = samples(db_url)
    fake.fail_next(200, {"multiDailyMetricTimeSeries": {"dailyMetricTimeSeries": []}})
    (outcome,) = run_sync(cfg, now=noon(TODAY)).outcomes
    assert outcome.status == "failed" and "Performance API answered" in outcome.message
    assert query(db_url, "SELECT last_good_day FROM account WHERE name = 'gbp'") == [(cursor.isoformat(),)]
    assert samples(db_url) == before


# --- options and check ----------------------------------------------------------------------------------------


def test_location_id_must_be_the_locations_number(fake: FakeGoogleBusiness) -> None:
    from tracker import options as config_options

    _, problems = config_options.build(plugin, options(fake, location_id="Bäckerei Lindner"), where="test", env={})
    assert any("location_id 'Bäckerei Lindner' must be the location's number" in p for p in problems)
    assert make_options(plugin, options(fake, location_id=f"locations/{LOCATION}")).location == LOCATION


def test_check_names_the_locations_leads_its_rating_and_who_read_them(fake: FakeGoogleBusiness) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    for day in days(yesterday - timedelta(days=6), yesterday):
        fake.seed(day, CALL_CLICKS=2, BUSINESS_DIRECTION_REQUESTS=1, WEBSITE_CLICKS=5)
    fake.reviews = list(REVIEWS)
    opts = make_options(plugin, options(fake))
    with HttpSession(retries=0) as http:
        said = plugin.check(opts, http)
    assert said == (
        f"location {LOCATION}: 14 calls, 7 direction requests, 35 website clicks in the 7 days to {yesterday}; "
        f"4.2 stars from 4 reviews; read with the OAuth token in {fake.token_file}"  # type: ignore[attr-defined]
    )


def test_check_without_account_id_says_rating_and_reviews_are_not_read(fake: FakeGoogleBusiness) -> None:
    opts = make_options(plugin, options(fake, account_id=None))
    with HttpSession(retries=0) as http:
        assert "no account_id, so no rating or reviews" in plugin.check(opts, http)


# --- the documented answer ------------------------------------------------------------------------------------


def api_note_examples() -> list[dict[str, Any]]:
    """The Performance answer recorded in shared/apis (no genuine body exists: see fixtures' SOURCE.md)."""
    folder = SHARED_FIXTURES / "google-business-profile"
    note = SHARED_FIXTURES.parent.parent / "apis" / "google-business-profile.md"
    real = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    if not real and note.is_file():
        blocks = re.findall(r"```json\n(.*?)```", note.read_text(), re.S)
        real = [json.loads(b) for b in blocks if "multiDailyMetricTimeSeries" in b]
    if not real:
        pytest.skip(f"no recorded Performance API answer: neither {folder} holds one nor {note} exists")
    return real


def test_the_parser_reads_the_documented_answer_and_the_fake_answers_in_its_shape(fake: FakeGoogleBusiness) -> None:
    (recorded,) = api_note_examples()
    series = module._series(Endpoint("test"), recorded)
    nov = {d: date(2026, 11, d) for d in (27, 28, 29)}
    assert series["CALL_CLICKS"] == {nov[27]: 3, nov[28]: None, nov[29]: 1}
    assert series["WEBSITE_CLICKS"][nov[29]] is None and series["BUSINESS_DIRECTION_REQUESTS"][nov[28]] == 2
    samples = by_key(module.day_samples(series, ["CALL_CLICKS", "BUSINESS_DIRECTION_REQUESTS"], nov[28], False))
    assert samples[("google_business.calls", nov[28])] == 0 and samples[("leads", nov[28])] == 2
    for day in nov.values():
        fake.seed(day, CALL_CLICKS=recorded_value(recorded, "CALL_CLICKS", day))
    mine = fake._dated("CALL_CLICKS", nov[27], nov[29])
    theirs = recorded["multiDailyMetricTimeSeries"][0]["dailyMetricTimeSeries"][0]["timeSeries"]["datedValues"]
    assert mine == theirs


def recorded_value(recorded: dict[str, Any], metric: str, day: date) -> int:
    listed = recorded["multiDailyMetricTimeSeries"][0]["dailyMetricTimeSeries"]
    (series,) = [s for s in listed if s["dailyMetric"] == metric]
    when = {"year": day.year, "month": day.month, "day": day.day}
    point = next(p for p in series["timeSeries"]["datedValues"] if p["date"] == when)
    return int(point.get("value", 0))
