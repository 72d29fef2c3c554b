"""The mastodon plugin, specified against a fake Mastodon server."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.mastodon import ACCOUNT_ID, FakeMastodon
from tracker.errors import AuthError, NotFound, RateLimited
from tracker.http import HttpSession
from tracker.testing import check_plugin, fetch_once, make_options, raises_domain_error, window
from tracker_plugins.mastodon import plugin

TOKEN = "masto-secret-token-123"
TODAY = date(2026, 11, 23)
BERLIN = ZoneInfo("Europe/Berlin")
REAL = SHARED_FIXTURES / "mastodon"


def at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeMastodon:
    return FakeMastodon(httpserver, valid_token=TOKEN)


def raw(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"instance": server.url_for("/"), "acct": "baeckerei", **extra}


def account(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"masto": {"plugin": "mastodon", **raw(server), "token": "${TEST_TOKEN}", **extra}}


def stored(rows: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    return {(r["metric"], str(r["day"])): r["value"] for r in rows}


def test_passes_the_conformance_kit(fake: FakeMastodon, httpserver: HTTPServer) -> None:
    fake.post(at(TODAY - timedelta(days=2), 9), likes=3)
    result = check_plugin(plugin, raw(httpserver), since=TODAY - timedelta(days=6), until=TODAY)
    assert {s.metric for s in result.samples} >= {"followers", "posts", "post_likes"}


def test_multi_week_sync_stores_snapshots_today_and_post_counts_on_the_day_published(
    fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync, samples, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    fake.post(at(date(2026, 11, 2), 10), likes=31, boosts=5, replies=2, quotes=1)
    fake.post(at(date(2026, 11, 2), 18), likes=4, boosts=1, replies=0, quotes=0)
    fake.post(at(date(2026, 11, 16), 0, 30), likes=12, boosts=2, replies=3, quotes=2)  # 23:30 UTC on the 15th
    fake.post(at(date(2026, 11, 22), 8), likes=7)
    cfg = make_config(account(httpserver), timezone="Europe/Berlin")

    result = run_sync(cfg, now=noon(TODAY))

    assert result.ok, result.outcomes
    values = stored(samples(cfg.database))
    assert values[("followers", "2026-11-23")] == 418
    assert values[("following", "2026-11-23")] == 97
    assert values[("posts_total", "2026-11-23")] == 356
    assert ("followers", "2026-11-22") not in values  # a snapshot is never back-dated
    per_post = ("posts", "post_likes", "post_reposts", "post_replies", "post_quotes")
    assert [values[(m, "2026-11-02")] for m in per_post] == [2, 35, 6, 2, 1]
    assert [values[(m, "2026-11-16")] for m in per_post] == [1, 12, 2, 3, 2]
    assert values[("posts", "2026-11-15")] == 0
    assert values[("post_likes", "2026-11-22")] == 7
    assert values[("posts", "2026-11-10")] == 0


def test_recent_post_counts_are_provisional_for_post_lookback_days(fake: FakeMastodon, httpserver: HTTPServer) -> None:
    fake.post(at(TODAY - timedelta(days=10), 9), likes=1)
    fake.post(at(TODAY - timedelta(days=2), 9), likes=1)
    win = window(TODAY - timedelta(days=12), TODAY, tz="Europe/Berlin")
    result = fetch_once(plugin, raw(httpserver, post_lookback_days=5), win)
    provisional = {s.day: s.provisional for s in result.samples if s.metric == "post_likes"}
    assert provisional[TODAY - timedelta(days=10)] is False
    assert provisional[TODAY - timedelta(days=2)] is True


def test_backfill_has_no_date_windows_so_it_reads_more_than_one_page(
    fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync, samples, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    first = date(2026, 9, 1)
    for n in range(90):  # 90 posts, one a day: three pages of 40
        fake.post(at(first + timedelta(days=n), 12), likes=n)
    cfg = make_config(account(httpserver), timezone="Europe/Berlin")

    result = run_sync(cfg, since=first, until=date(2026, 10, 15), now=noon(TODAY))

    assert result.ok, result.outcomes
    values = stored(samples(cfg.database))
    assert values[("post_likes", "2026-09-01")] == 0
    assert values[("post_likes", "2026-10-15")] == 44
    assert sum(v for (m, _), v in values.items() if m == "posts") == 45
    assert ("followers", TODAY.isoformat()) not in values  # today is outside the backfill
    assert len([r for r in fake.requests if r.path.endswith("/statuses")]) == 3


def test_pagination_follows_link_next_exactly_until_the_last_page(fake: FakeMastodon, httpserver: HTTPServer) -> None:
    for n in range(80):  # exactly two full pages: the server still offers a third, empty one
        fake.post(at(TODAY - timedelta(days=1), 0) + timedelta(minutes=10 * n), likes=1)
    result = fetch_once(plugin, raw(httpserver), window(TODAY - timedelta(days=3), TODAY, tz="Europe/Berlin"))

    assert {s.value for s in result.samples if s.metric == "posts" and s.day == TODAY - timedelta(days=1)} == {80}
    pages = [r for r in fake.requests if r.path.endswith("/statuses")]
    assert len(pages) == 3
    assert pages[0].args == {"limit": ["40"], "exclude_reblogs": ["true"]}
    assert pages[1].args["max_id"] == [fake.statuses[39]["id"]]
    assert pages[1].args["exclude_reblogs"] == ["true"]  # the Link URL, followed as given


def test_stops_reading_once_posts_are_older_than_the_window(fake: FakeMastodon, httpserver: HTTPServer) -> None:
    for n in range(200):
        fake.post(at(TODAY, 6) - timedelta(hours=6 * n), likes=1)
    fetch_once(plugin, raw(httpserver), window(TODAY - timedelta(days=6), TODAY, tz="Europe/Berlin"))
    assert len([r for r in fake.requests if r.path.endswith("/statuses")]) == 1


def test_boosts_of_other_posts_are_not_counted(fake: FakeMastodon, httpserver: HTTPServer) -> None:
    day = TODAY - timedelta(days=1)
    fake.post(at(day, 9), likes=5)
    fake.boost(at(day, 11), likes=99)
    result = fetch_once(plugin, raw(httpserver), window(day, TODAY, tz="Europe/Berlin"))
    got = {s.metric: s.value for s in result.samples if s.day == day}
    assert got["posts"] == 1 and got["post_likes"] == 5


def test_a_server_without_quotes_reports_post_quotes_unavailable_not_zero(httpserver: HTTPServer) -> None:
    fake = FakeMastodon(httpserver, quotes=False)
    fake.post(at(TODAY - timedelta(days=1), 9), likes=5)
    result = fetch_once(plugin, raw(httpserver), window(TODAY - timedelta(days=2), TODAY, tz="Europe/Berlin"))
    quotes = {s.day for s in result.samples if s.metric == "post_quotes"}
    assert TODAY - timedelta(days=1) not in quotes
    assert [u.metric for u in result.unavailable] == ["post_quotes"]
    assert {s.metric for s in result.samples if s.day == TODAY - timedelta(days=1)} >= {"posts", "post_likes"}


def test_rate_limit_raises_rate_limited_until_x_ratelimit_reset(fake: FakeMastodon, httpserver: HTTPServer) -> None:
    fake.rate_limited = True
    fake.reset_in = timedelta(seconds=90)
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY - timedelta(days=1), TODAY))
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None and 80 <= error.retry_after <= 90


def test_rate_limited_sync_fails_with_a_clear_message_when_the_wait_is_too_long(
    fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    fake.rate_limited = True
    fake.reset_in = timedelta(minutes=4)  # longer than the core waits
    result = run_sync(make_config(account(httpserver)), now=noon(TODAY))
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert "rate limit" in outcome.message


def test_invalid_token_fails_the_account_with_one_line_naming_the_token_but_not_its_value(
    fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_TOKEN", "revoked-token-456")
    result = run_sync(make_config(account(httpserver)), now=noon(TODAY))
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert "token" in outcome.message and "invalid or revoked" in outcome.message
    assert "revoked-token-456" not in outcome.message and "\n" not in outcome.message


def test_a_server_that_requires_a_token_says_to_set_the_token_option(httpserver: HTTPServer) -> None:
    FakeMastodon(httpserver, require_token=True)
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY))
    assert isinstance(error, AuthError)
    assert "requires a token" in str(error) and "`token`" in str(error)


def test_the_token_goes_in_the_authorization_header_never_in_the_url(
    fake: FakeMastodon, httpserver: HTTPServer
) -> None:
    fake.require_token = True
    fake.post(at(TODAY, 8))
    fetch_once(plugin, raw(httpserver, token="${T}"), window(TODAY, TODAY), env={"T": TOKEN})
    assert fake.requests and all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in fake.requests)
    assert all(TOKEN not in r.url for r in fake.requests)


def test_unknown_account_is_not_found(fake: FakeMastodon, httpserver: HTTPServer) -> None:
    error = raises_domain_error(plugin, {**raw(httpserver), "acct": "nobody"}, window(TODAY, TODAY))
    assert isinstance(error, NotFound) and "nobody" in str(error)


def test_a_suspended_account_is_not_found(httpserver: HTTPServer) -> None:
    FakeMastodon(httpserver, suspended=True)
    assert isinstance(raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY)), NotFound)


def _check(server: HTTPServer, **extra: Any) -> str:
    opts = make_options(plugin, raw(server, **extra))
    with HttpSession(timeout=5, retries=0, stop=threading.Event()) as http:
        return plugin.check(opts, http)


def test_check_describes_the_account(fake: FakeMastodon, httpserver: HTTPServer) -> None:
    server = httpserver.url_for("/").rstrip("/")
    assert _check(httpserver) == f"@baeckerei (Bäckerei Lindner) on {server}, 418 followers"


def test_check_names_an_unknown_account(fake: FakeMastodon, httpserver: HTTPServer) -> None:
    with pytest.raises(NotFound, match="no account 'ghost'"):
        _check(httpserver, acct="ghost")


def _real(name: str) -> Any:
    if not REAL.is_dir():
        pytest.skip(f"real Mastodon recordings not available ({REAL} is absent)")
    return json.loads((REAL / name).read_text())


def test_the_fake_answers_with_the_keys_and_types_of_real_responses(fake: FakeMastodon) -> None:
    real_account, real_status = _real("accounts_lookup_200.json"), _real("accounts_statuses_limit5.json")[0]
    ours = fake.post(at(TODAY, 9))
    for real, mine in ((real_account, fake._account()), (real_status, ours)):
        assert set(mine) <= set(real), set(mine) - set(real)
        typed = [k for k in mine if real[k] is not None]
        assert {k: type(mine[k]) for k in typed} == {k: type(real[k]) for k in typed}
    read_by_plugin = {"id", "created_at", "favourites_count", "reblogs_count", "replies_count", "quotes_count"}
    assert read_by_plugin <= set(real_status)
    assert {"id", "acct", "followers_count", "following_count", "statuses_count"} <= set(real_account)


def test_the_parser_reads_real_recorded_statuses(httpserver: HTTPServer) -> None:
    real = _real("accounts_statuses_limit5.json")
    fake = FakeMastodon(httpserver)
    fake.statuses = [{**s, "account": {**s["account"], "id": ACCOUNT_ID}} for s in real]
    day = datetime.fromisoformat(real[0]["created_at"].replace("Z", "+00:00")).date()
    result = fetch_once(plugin, raw(httpserver), window(day, day, today=day))
    got = {s.metric: s.value for s in result.samples if s.day == day}
    assert got["posts"] == sum(1 for s in real if s["reblog"] is None and s["created_at"].startswith(day.isoformat()))
    assert got["post_likes"] == sum(s["favourites_count"] for s in real if s["reblog"] is None)


def test_real_error_bodies_are_classified(httpserver: HTTPServer) -> None:
    not_found, invalid = _real("accounts_lookup_404.json"), _real("error_401_invalid_token.json")
    httpserver.expect_request("/api/v1/accounts/lookup").respond_with_json(not_found, status=404)
    assert isinstance(raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY)), NotFound)
    httpserver.clear()
    httpserver.expect_request("/api/v1/accounts/lookup").respond_with_json(invalid, status=401)
    error = raises_domain_error(plugin, raw(httpserver, token="${T}"), window(TODAY, TODAY), env={"T": TOKEN})
    assert isinstance(error, AuthError) and "invalid or revoked" in str(error)


def test_a_negative_post_lookback_is_refused_as_a_config_problem(httpserver: HTTPServer) -> None:
    with pytest.raises(AssertionError, match="post_lookback_days -1 must be between 0 and 365"):
        make_options(plugin, raw(httpserver, post_lookback_days=-1))
