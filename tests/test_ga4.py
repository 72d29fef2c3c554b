"""The GA4 plugin against a fake Google token endpoint and Data API."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.ga4 import FakeGa4, new_key, write_key_file
from tracker.errors import ApiError, AuthError, NotFound, QuotaExhausted, RateLimited
from tracker.http import HttpSession
from tracker.testing import check_plugin, fetch_once, make_options, raises_domain_error, window
from tracker_plugins import ga4 as module
from tracker_plugins.ga4 import plugin

TODAY = date(2026, 11, 23)
NOV2, NOV9 = date(2026, 11, 2), date(2026, 11, 9)
EMAIL = "tracker@bakery-123.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def fake(httpserver: HTTPServer, tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> FakeGa4:
    key_file, public_key = write_key_file(tmp_path, httpserver.url_for("/token"), EMAIL, rsa_key)
    fake = FakeGa4(httpserver, public_key, email=EMAIL)
    fake.key_file = key_file  # type: ignore[attr-defined]
    return fake


def options(fake: FakeGa4, **extra: object) -> dict[str, object]:
    return {
        "property_id": "312345678",
        "credentials_file": str(fake.key_file),
        "base_url": fake.server.url_for("/"),
        **extra,
    }


def seed(fake: FakeGa4) -> None:
    fake.add_sessions(NOV2, "l.facebook.com", 41, 38, revenue=87.5)
    fake.add_sessions(NOV2, "m.facebook.com", 17, 15)
    fake.add_sessions(NOV2, "ig", 6, 6)
    fake.add_sessions(NOV2, "(direct)", 30, 25, revenue=20)
    fake.add_sessions(NOV2, "google", 12, 11)
    fake.add_sessions(NOV2, "(not set)", 2, 2)
    fake.add_sessions(NOV9, "t.co", 4, 4)
    fake.add_events(NOV2, "l.facebook.com", "generate_lead", 2)
    fake.add_events(NOV2, "l.facebook.com", "purchase", 1)
    fake.add_events(NOV2, "m.facebook.com", "generate_lead", 1)
    fake.add_events(NOV2, "l.facebook.com", "page_view", 90, key_event=False)
    fake.add_events(NOV2, "(direct)", "purchase", 1)


def stored(rows: list[dict], platform: str, metric: str, day: date) -> float | None:
    match = [r["value"] for r in rows if (r["platform"], r["metric"], r["day"]) == (platform, metric, day.isoformat())]
    return match[0] if match else None


def test_conformance_kit_passes(fake: FakeGa4) -> None:
    seed(fake)
    result = check_plugin(plugin, options(fake), since=date(2026, 11, 1), until=date(2026, 11, 10))
    assert {s.platform for s in result.samples} == {"facebook", "instagram", "direct", "other", "unattributed", "x"}


def test_a_measurement_id_is_refused_as_property_id(fake: FakeGa4) -> None:
    from tracker import options as config_options

    _, problems = config_options.build(plugin, options(fake, property_id="G-ABC123"), where="test", env={})
    assert any("numeric GA4 property ID" in p for p in problems)


def test_sync_stores_visits_and_conversions_per_day_per_platform(fake, make_config, run_sync, samples) -> None:
    seed(fake)
    cfg = make_config({"ga": {"plugin": "ga4", **options(fake)}})
    result = run_sync(cfg, now=noon(TODAY))
    assert result.ok, result.outcomes
    rows = samples(cfg.database)
    expected = {
        ("facebook", "visits", NOV2): 58,
        ("facebook", "visitors", NOV2): 53,  # l.facebook.com + m.facebook.com
        ("facebook", "conversions", NOV2): 4,
        ("facebook", "leads", NOV2): 3,
        ("facebook", "orders", NOV2): 1,
        ("facebook", "revenue", NOV2): 87.5,
        ("facebook", "visits", NOV9): 0,
        ("instagram", "visits", NOV2): 6,
        ("x", "visits", NOV9): 4,
        ("direct", "visits", NOV2): 30,
        ("direct", "orders", NOV2): 1,
        ("direct", "revenue", NOV2): 20,
        ("other", "visits", NOV2): 12,  # a search engine: kept, as other
        ("unattributed", "visits", NOV2): 2,  # GA4 could not name the source
    }
    assert {key: stored(rows, *key) for key in expected} == expected


def test_the_jwt_is_really_signed_with_the_key_files_private_key(fake: FakeGa4) -> None:
    seed(fake)
    fetch_once(plugin, options(fake), window(NOV2, NOV2))
    assertion = fake.token_requests[0]["assertion"]
    header = json.loads(base64.urlsafe_b64decode(assertion.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=" * (-len(assertion.split(".")[1]) % 4)))
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
    assert claims["iss"] == EMAIL and claims["aud"] == fake.token_uri and claims["exp"] - claims["iat"] == 3600
    assert fake._jwt_problem(assertion) is None  # verified with the public key
    tampered = assertion[:-6] + ("AAAAAA" if not assertion.endswith("AAAAAA") else "BBBBBB")
    assert fake._jwt_problem(tampered) == "Invalid JWT Signature."


def test_a_key_google_does_not_know_fails_with_one_line_naming_the_account(fake: FakeGa4, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    wrong_key, _ = write_key_file(other, fake.token_uri, EMAIL)  # same account, a key Google never saw
    error = raises_domain_error(plugin, options(fake, credentials_file=str(wrong_key)), window(NOV2, NOV2))
    assert isinstance(error, AuthError)
    assert EMAIL in str(error) and "Invalid JWT Signature." in str(error) and "\n" not in str(error)
    assert "PRIVATE KEY" not in str(error)


def test_one_access_token_serves_every_request_of_a_fetch(fake: FakeGa4) -> None:
    seed(fake)
    fetch_once(plugin, options(fake), window(NOV2, NOV9))
    assert len(fake.reports) == 2 and len(fake.token_requests) == 1
    for report in fake.reports:
        assert report["headers"]["Authorization"].startswith("Bearer ya29.")
        assert "ya29." not in report["url"]


def test_a_token_about_to_expire_is_renewed_before_use(fake: FakeGa4, monkeypatch) -> None:
    clock = [1_800_000_000.0]
    monkeypatch.setattr(module.time, "time", lambda: clock[0])
    monkeypatch.setattr(fake, "_jwt_problem", lambda assertion: None)  # the fake's clock is real time
    opts = make_options(plugin, options(fake))
    with HttpSession(retries=0) as http:
        token = module.AccessToken(module.load_key(opts.credentials_file), http)
        first = token.header()
        clock[0] += 3599 - module.RENEW_EARLY - 1
        assert token.header() == first
        clock[0] += 2
        assert token.header() != first
    assert len(fake.token_requests) == 2


def test_an_access_token_refused_with_401_is_renewed_once(fake: FakeGa4) -> None:
    seed(fake)
    fake.fail_next(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
    result = fetch_once(plugin, options(fake), window(NOV2, NOV2))
    assert any(s.metric == "visits" and s.value == 58 for s in result.samples)
    assert len(fake.token_requests) == 2


def test_a_property_the_service_account_cannot_read_names_the_account_and_the_fix(fake, make_config, run_sync) -> None:
    cfg = make_config({"ga": {"plugin": "ga4", **options(fake, property_id="999")}})
    outcome = run_sync(cfg, now=noon(TODAY)).outcomes[0]
    assert outcome.status == "failed"
    assert outcome.message == (
        f"GA4 property 999 does not let {EMAIL} read it: add this service account as a Viewer under "
        "Admin -> Property access management"
    )


def test_a_disabled_data_api_says_to_enable_it(fake: FakeGa4) -> None:
    fake.fail_next(
        403, "PERMISSION_DENIED", "Google Analytics Data API has not been used in project 123 before or it is disabled."
    )
    error = raises_domain_error(plugin, options(fake), window(NOV2, NOV2))
    assert isinstance(error, AuthError) and "enable it" in str(error)


def test_key_events_fall_back_once_to_conversions_when_the_api_refuses_the_new_name(fake: FakeGa4) -> None:
    seed(fake)
    fake.key_events_known, fake.conversions_known = False, True
    result = fetch_once(plugin, options(fake), window(NOV2, NOV2))
    assert [s.value for s in result.samples if (s.platform, s.metric) == ("facebook", "conversions")] == [4]
    metrics = [[m["name"] for m in r["body"]["metrics"]] for r in fake.reports]
    assert metrics[1:] == [["keyEvents"], ["conversions"]]


def test_when_neither_name_is_known_the_error_is_one_line(fake: FakeGa4) -> None:
    fake.key_events_known = False
    error = raises_domain_error(plugin, options(fake), window(NOV2, NOV2))
    assert isinstance(error, ApiError) and "conversions is not a valid metric" in str(error) and "\n" not in str(error)


def test_conversion_events_count_only_the_named_events(fake: FakeGa4) -> None:
    seed(fake)
    fake.add_events(NOV2, "l.facebook.com", "newsletter_signup", 5, key_event=False)
    raw = options(fake, conversion_events=["newsletter_signup", "purchase"])
    result = fetch_once(plugin, raw, window(NOV2, NOV2))
    facebook = {s.metric: s.value for s in result.samples if s.platform == "facebook"}
    assert (facebook["conversions"], facebook["leads"], facebook["orders"]) == (6, 5, 1)


def test_multi_page_results_are_read_to_the_end(fake: FakeGa4, monkeypatch) -> None:
    monkeypatch.setattr(module, "PAGE_SIZE", 3)
    for n in range(1, 8):
        fake.add_sessions(date(2026, 11, n), "l.instagram.com", n, n)
    result = fetch_once(plugin, options(fake), window(date(2026, 11, 1), date(2026, 11, 7)))
    assert sorted((s.day.day, s.value) for s in result.samples if s.metric == "visits") == [(n, n) for n in range(1, 8)]
    pages = [
        (r["body"]["offset"], r["body"]["limit"]) for r in fake.reports if r["body"]["metrics"][0]["name"] == "sessions"
    ]
    assert pages == [("0", "3"), ("3", "3"), ("6", "3")]


def test_backfill_has_no_date_window_to_split_so_a_long_one_reads_more_than_one_page(
    fake, make_config, run_sync, samples, monkeypatch
) -> None:
    monkeypatch.setattr(module, "PAGE_SIZE", 40)
    for n in range(100):
        fake.add_sessions(date.fromordinal(date(2026, 1, 1).toordinal() + n), "facebook", 1 + n % 3, 1)
    cfg = make_config({"ga": {"plugin": "ga4", **options(fake)}})
    result = run_sync(cfg, since=date(2026, 1, 1), until=date(2026, 4, 10), now=noon(TODAY))
    assert result.ok, result.outcomes
    visits = [r for r in samples(cfg.database) if r["metric"] == "visits"]
    assert len(visits) == 100 and stored(visits, "facebook", "visits", date(2026, 4, 10)) == 1 + 99 % 3
    sessions = [r["body"] for r in fake.reports if r["body"]["metrics"][0]["name"] == "sessions"]
    assert [b["offset"] for b in sessions] == ["0", "40", "80"]
    assert {json.dumps(b["dateRanges"]) for b in sessions} == {'[{"startDate": "2026-01-01", "endDate": "2026-04-10"}]'}


def test_concurrent_requests_quota_waits_about_30_seconds(fake: FakeGa4) -> None:
    fake.fail_next(429, "RESOURCE_EXHAUSTED", "Exhausted concurrent requests quota.")
    error = raises_domain_error(plugin, options(fake), window(NOV2, NOV2))
    assert isinstance(error, RateLimited) and error.retry_after == 30


def test_hourly_token_quota_stops_the_account_until_the_next_hour(fake: FakeGa4) -> None:
    fake.fail_next(429, "RESOURCE_EXHAUSTED", "Exhausted property tokens for a project per hour.")
    error = raises_domain_error(plugin, options(fake), window(NOV2, NOV2))
    assert isinstance(error, QuotaExhausted)
    assert error.until is not None and error.until.minute == 0 and error.until > datetime.now(UTC)


def test_daily_token_quota_stops_the_account_until_pacific_midnight(fake: FakeGa4) -> None:
    fake.fail_next(
        429,
        "RESOURCE_EXHAUSTED",
        "Exhausted property tokens per day. These quota tokens will return in under 24 hours.",
    )
    error = raises_domain_error(plugin, options(fake), window(NOV2, NOV2))
    assert isinstance(error, QuotaExhausted)
    assert (
        error.until is not None
        and (error.until.hour, error.until.minute) == (0, 0)
        and str(error.until.tzinfo) == "America/Los_Angeles"
    )


def test_a_spent_quota_fails_the_sync_with_a_clear_line(fake, make_config, run_sync) -> None:
    fake.fail_next(429, "RESOURCE_EXHAUSTED", "Exhausted property tokens per day.")
    cfg = make_config({"ga": {"plugin": "ga4", **options(fake)}})
    outcome = run_sync(cfg, now=noon(TODAY)).outcomes[0]
    assert outcome.status == "failed" and "daily quota" in outcome.message and "\n" not in outcome.message


def test_a_missing_key_file_is_an_auth_error_naming_the_path(fake: FakeGa4, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    error = raises_domain_error(plugin, options(fake, credentials_file=str(missing)), window(NOV2, NOV2))
    assert isinstance(error, AuthError) and str(missing) in str(error)


def test_last_two_days_are_provisional(fake: FakeGa4) -> None:
    fake.add_sessions(TODAY, "(direct)", 1, 1)
    result = fetch_once(plugin, options(fake), window(date(2026, 11, 20), TODAY))
    assert {s.day for s in result.samples if s.provisional} == {date(2026, 11, 22), TODAY}


def test_check_names_the_property_its_time_zone_and_the_account(fake: FakeGa4) -> None:
    seed(fake)
    opts = make_options(plugin, options(fake))
    with HttpSession(retries=0) as http:
        assert plugin.check(opts, http) == (
            f"property 312345678 (Europe/Berlin, EUR): 112 sessions in the last 7 days, read as {EMAIL}"
        )


def test_check_of_an_unknown_property_fails(fake: FakeGa4) -> None:
    fake.fail_next(404, "NOT_FOUND", "Requested entity was not found.")
    opts = make_options(plugin, options(fake))
    with HttpSession(retries=0) as http, pytest.raises(NotFound, match="312345678"):
        plugin.check(opts, http)


def test_fake_and_parser_agree_with_the_recorded_runreport_response(fake: FakeGa4) -> None:
    """Real GA4 recordings when shared/fixtures/real/ga4 exists, else the response recorded in the API note."""
    folder, note = SHARED_FIXTURES / "ga4", SHARED_FIXTURES.parent.parent / "apis" / "ga4.md"
    if folder.is_dir():
        real = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
        real = [r for r in real if isinstance(r, dict) and "rows" in r]
    elif note.is_file():
        blocks = re.findall(r"```json\n(.*?)```", note.read_text(), re.S)
        real = [json.loads(b) for b in blocks if '"rows"' in b]
    else:
        pytest.skip(f"no recorded GA4 response: neither {folder} nor {note} exists")
    assert real, "no recorded runReport response with rows found"
    fake.add_sessions(NOV2, "l.instagram.com", 41, 30, revenue=87.5)
    mine = fake._answer(
        {
            "dateRanges": [{"startDate": "2026-11-01", "endDate": "2026-11-03"}],
            "dimensions": [{"name": "date"}, {"name": "sessionSource"}],
            "metrics": [{"name": "sessions"}, {"name": "keyEvents"}, {"name": "purchaseRevenue"}],
        }
    )
    for recorded in real:
        assert set(mine) <= set(recorded) | {"dimensionHeaders"}
        assert set(recorded["rows"][0]) == set(mine["rows"][0])
        assert all(
            isinstance(v["value"], str) for r in recorded["rows"] for v in r["metricValues"] + r["dimensionValues"]
        )
        assert isinstance(recorded["rowCount"], int) and isinstance(mine["rowCount"], int)
        days = [module._day(r["dimensionValues"][0]["value"]) for r in recorded["rows"]]
        assert all(isinstance(d, date) for d in days)
        attribution = make_options(plugin, options(fake)).attribution
        sources = {module.platform_of(r["dimensionValues"][1]["value"], attribution) for r in recorded["rows"]}
        assert sources <= {"instagram", "facebook", "x", "direct", "other", "unattributed"}
