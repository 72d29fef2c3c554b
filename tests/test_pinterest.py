"""The pinterest plugin, specified against a fake Pinterest API v5 (tests/fakes/pinterest.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.pinterest import METRICS, NOT_AUTHORIZED, TOKEN, FakePinterest
from tracker import config as cfgmod
from tracker.attribution import Attribution
from tracker.cli.main import app
from tracker.errors import AuthError, RateLimited
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
from tracker_plugins.pinterest import PAGE_SIZE, plugin

TODAY = date(2026, 11, 23)
ENV = {"PIN_TOKEN": TOKEN}
REAL = SHARED_FIXTURES / "pinterest"
ANALYTICS, PINS = "/v5/user_account/analytics", "/v5/pins"
BERLIN = ZoneInfo("Europe/Berlin")
OURS = {"IMPRESSION": "impressions", "SAVE": "pinterest.saves", "PIN_CLICK": "pinterest.pin_clicks",
        "OUTBOUND_CLICK": "link_clicks", "ENGAGEMENT": "engagements"}


def numbers(day: date) -> dict[str, int]:
    """A different number for every metric and day, so a value stored on the wrong day cannot pass."""
    n = day.toordinal()
    return {"IMPRESSION": 500 + n % 97, "SAVE": n % 7, "PIN_CLICK": 20 + n % 13, "OUTBOUND_CLICK": n % 11,
            "ENGAGEMENT": 30 + n % 17}


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakePinterest:
    fake = FakePinterest(httpserver, today=TODAY)
    for day in days(TODAY - timedelta(days=120), TODAY):
        fake.seed(day, **numbers(day))
    return fake


def raw(fake: FakePinterest, **extra: Any) -> dict[str, Any]:
    return {"token": "${PIN_TOKEN}", "base_url": fake.url(), **extra}


@pytest.fixture
def config(fake: FakePinterest, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """A config file with one pinterest account on the fake, as a user would write it."""
    monkeypatch.setenv("PIN_TOKEN", TOKEN)

    def write(timezone: str = "UTC", **account: Any) -> Path:
        lines = [f"database = {json.dumps(db_url)}", f"timezone = {json.dumps(timezone)}", "[accounts.pins]",
                 'plugin = "pinterest"', 'token = "${PIN_TOKEN}"', f"base_url = {json.dumps(fake.url())}"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in account.items()]
        path = tmp_path / "config.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


def sync(run_sync: Callable[..., Any], path: Path, now: date, **kw: Any) -> Any:
    return run_sync(cfgmod.load(path), now=noon(now), **kw)


def stored(rows: list[dict[str, Any]]) -> dict[tuple[str, date], tuple[float, bool]]:
    return {(r["metric"], date.fromisoformat(str(r["day"]))): (r["value"], bool(r["provisional"])) for r in rows}


def report(cli: Any, path: Path, until: date, period: int) -> dict[str, Any]:
    result = cli.invoke(app, ["report", "--config", str(path), "--format", "json", "--until", until.isoformat(),
                              "--days", str(period)], env={"COLUMNS": "160", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return next(r for r in json.loads(result.stdout)["platforms"] if r["platform"] == "pinterest")


# --- conformance ---------------------------------------------------------------------------------------------


def test_passes_the_conformance_kit(fake: FakePinterest) -> None:
    fake.pin("1", datetime(2026, 11, 20, 9, tzinfo=UTC), reactions=4, comments=1)
    result = check_plugin(plugin, raw(fake), since=TODAY - timedelta(days=10), until=TODAY, env=ENV)
    assert {s.metric for s in result.samples} == set(plugin.metrics)


def test_every_unreadable_answer_fails_with_one_line_naming_pinterest(fake: FakePinterest) -> None:
    fake.pin("1", datetime(2026, 11, 20, 9, tzinfo=UTC), reactions=4)
    results = check_unreadable_answers(plugin, raw(fake), since=TODAY - timedelta(days=10), until=TODAY, env=ENV)
    assert all("Pinterest answered /v5/" in str(r.error) for r in results if r.error)


# --- a multi-week sync, through `tracker sync` and `tracker report` ---------------------------------------


def test_multi_week_sync_lands_ready_days_on_their_utc_days_and_in_the_report(
    fake: FakePinterest, config: Callable[..., Path], run_sync: Any, samples: Any, cli: Any, db_url: str
) -> None:
    fake.pin("1", datetime(2026, 11, 3, 9, tzinfo=UTC), reactions=6, comments=2)
    fake.pin("2", datetime(2026, 11, 17, 18, tzinfo=UTC), reactions=4)
    path = config()
    result = sync(run_sync, path, TODAY)

    assert result.ok, result.outcomes
    got = stored(samples(db_url))
    assert got[("posts", date(2026, 11, 3))][0] == 1 and got[("post_likes", date(2026, 11, 17))][0] == 4
    ready = days(TODAY - timedelta(days=29), TODAY - timedelta(days=2))  # the first sync's 30 days, READY ones
    for day in ready:
        assert {OURS[k]: got[(OURS[k], day)] for k in METRICS} == {OURS[k]: (v, False) for k, v in numbers(day).items()}
    assert {m for m, d in got if m in OURS.values()} == set(OURS.values())
    assert {d for m, d in got if m == "impressions"} == set(ready)  # yesterday is PROCESSING: nothing, not 0
    assert got[("followers", TODAY)] == (312, True) and got[("following", TODAY)] == (40, True)
    assert got[("pinterest.pin_count", TODAY)][0] == 339 and got[("pinterest.monthly_views", TODAY)][0] == 5163
    (asked,) = fake.asked(ANALYTICS)
    assert (asked["start_date"], asked["end_date"]) == ("2026-10-25", "2026-11-22")
    assert asked["metric_types"] == "IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK,ENGAGEMENT"

    row = report(cli, path, TODAY, 28)
    period = [d for d in days(TODAY - timedelta(days=27), TODAY) if d in ready]
    assert row["followers"] == 312
    assert row["impressions"] == sum(numbers(d)["IMPRESSION"] for d in period)
    assert row["link_clicks"] == sum(numbers(d)["OUTBOUND_CLICK"] for d in period)
    assert row["engagement"] == sum(numbers(d)["ENGAGEMENT"] for d in period)  # the pins' reactions not added again
    assert row["likes"] == 6 + 4  # lifetime reactions of the pins published in the period


def test_a_day_still_processing_is_read_again_and_stored_once_ready(
    fake: FakePinterest, config: Callable[..., Path], run_sync: Any, samples: Any, db_url: str
) -> None:
    path = config()
    yesterday = TODAY - timedelta(days=1)
    sync(run_sync, path, TODAY)
    assert ("impressions", yesterday) not in stored(samples(db_url))

    fake.today = TODAY + timedelta(days=1)  # a day later Pinterest has finished it
    result = sync(run_sync, path, TODAY + timedelta(days=1))

    assert result.ok, result.outcomes
    assert stored(samples(db_url))[("impressions", yesterday)] == (numbers(yesterday)["IMPRESSION"], False)
    assert fake.asked(ANALYTICS)[-1]["start_date"] == (TODAY - timedelta(days=7)).isoformat()  # the lookback


def test_estimate_days_are_stored_as_provisional(
    fake: FakePinterest, config: Callable[..., Path], run_sync: Any, samples: Any, db_url: str
) -> None:
    estimated = TODAY - timedelta(days=3)
    fake.status[estimated] = "ESTIMATE"
    path = config()
    sync(run_sync, path, TODAY)
    got = stored(samples(db_url))
    assert got[("impressions", estimated)] == (numbers(estimated)["IMPRESSION"], True)
    assert got[("impressions", estimated - timedelta(days=1))][1] is False


def test_days_without_data_store_nothing_not_the_placeholder_zeros(fake: FakePinterest) -> None:
    fake.status[TODAY - timedelta(days=5)] = "BEFORE_BUSINESS_CREATED"
    fake.status[TODAY - timedelta(days=4)] = "IN_BAD_TAG_DATE"
    result = fetch_once(plugin, raw(fake), window(TODAY - timedelta(days=6), TODAY), env=ENV)
    with_numbers = {s.day for s in result.samples if s.metric == "impressions"}
    assert with_numbers == {TODAY - timedelta(days=6), TODAY - timedelta(days=3), TODAY - timedelta(days=2)}


def test_a_metric_pinterest_adds_is_kept_as_an_extra_and_rates_are_not_stored(fake: FakePinterest) -> None:
    fake.extra_metrics = {"PROFILE_VISIT": 9, "PROFILE_VISIT_RATE": 0.01}
    result = fetch_once(plugin, raw(fake), window(TODAY - timedelta(days=3), TODAY), env=ENV)
    extras = {(s.metric, s.value) for s in result.samples if s.metric.startswith("pinterest.profile")}
    assert extras == {("pinterest.profile_visit", 9)}


def test_days_left_unfinished_that_a_later_window_misses_are_named_with_the_command_to_read_them(
    fake: FakePinterest,
) -> None:
    first = fetch_once(plugin, raw(fake), window(TODAY - timedelta(days=4), TODAY), env=ENV)
    assert first.state == {"not_ready": ["2026-11-22"]}  # today itself is never asked

    fake.today = TODAY + timedelta(days=3)
    later = fetch_once(plugin, raw(fake), window(TODAY + timedelta(days=2), TODAY + timedelta(days=3)),
                       state=first.state, env=ENV)

    (notice,) = later.notices
    assert "2026-11-22" in notice and "`tracker sync --since 2026-11-22`" in notice
    assert later.state == {"not_ready": ["2026-11-22", "2026-11-25"]}  # kept until a sync reads it again


# --- history: the 90-day wall ----------------------------------------------------------------------------------


def test_backfill_beyond_the_90_day_wall_is_one_request_inside_it_and_names_the_days_lost(
    fake: FakePinterest, config: Callable[..., Path], run_sync: Any, samples: Any, db_url: str
) -> None:
    """Pinterest serves at most 90 days of history and 90 days per request, so the longest backfill it can
    answer fits one request: what this test checks instead is that older days are named, not silently empty."""
    path = config()
    (outcome,) = sync(run_sync, path, TODAY, since=date(2026, 5, 1), until=TODAY).outcomes

    assert outcome.status == "ok", outcome.message
    (notice,) = outcome.notices
    assert "90 days only" in notice and "2026-05-01..2026-08-25" in notice and "from 2026-08-26" in notice
    (asked,) = fake.asked(ANALYTICS)
    assert (asked["start_date"], asked["end_date"]) == ("2026-08-26", "2026-11-22")
    analytics_days = {d for m, d in stored(samples(db_url)) if m == "impressions"}
    assert min(analytics_days) == date(2026, 8, 26) and len(analytics_days) == 89 - 1  # up to TODAY - 2
    posts_days = {d for m, d in stored(samples(db_url)) if m == "posts"}
    assert min(posts_days) == date(2026, 5, 1)  # pins have no wall


def test_a_backfill_entirely_older_than_90_days_asks_no_analytics_and_says_so(fake: FakePinterest) -> None:
    result = fetch_once(plugin, raw(fake), window(date(2026, 3, 1), date(2026, 3, 31), today=TODAY), env=ENV)
    assert fake.asked(ANALYTICS) == []
    (notice,) = result.notices
    assert "2026-03-01..2026-03-31 can no longer be read" in notice and "no day of it is that recent" in notice


# --- pins ------------------------------------------------------------------------------------------------------


def test_pins_are_read_page_by_page_with_the_bookmark_to_the_end(fake: FakePinterest) -> None:
    first = TODAY - timedelta(days=5)
    for i in range(2 * PAGE_SIZE + 10):  # 510 pins, the newest ones in the window
        fake.pin(str(i), datetime(2026, 11, 18, 12, tzinfo=UTC) - timedelta(hours=i), reactions=1)
    result = fetch_once(plugin, raw(fake), window(first, TODAY), env=ENV)

    pages = fake.asked(PINS)
    assert [p.get("bookmark") is None for p in pages] == [True, False, False]
    assert all(p["page_size"] == "250" and p["pin_filter"] == "exclude_repins" for p in pages)
    posts = {s.day: s.value for s in result.samples if s.metric == "posts"}
    assert posts == {first: 13, first + timedelta(days=1): 0, first + timedelta(days=2): 0,
                     first + timedelta(days=3): 0, first + timedelta(days=4): 0, TODAY: 0}


def test_pins_count_on_the_day_published_in_the_account_timezone_and_repins_do_not(fake: FakePinterest) -> None:
    day = TODAY - timedelta(days=3)
    fake.pin("a", datetime(day.year, day.month, day.day, 10, tzinfo=BERLIN), reactions=5, comments=2)
    fake.pin("b", datetime(day.year, day.month, day.day, 0, 30, tzinfo=BERLIN), reactions=3)  # 23:30 UTC the day before
    fake.pin("c", datetime(day.year, day.month, day.day, 11, tzinfo=BERLIN), reactions=50, repin=True)
    result = fetch_once(plugin, raw(fake), window(day - timedelta(days=1), TODAY, tz="Europe/Berlin"), env=ENV)

    got = {(s.metric, s.day): s.value for s in result.samples if s.metric in ("posts", "post_likes", "post_replies")}
    assert [got[(m, day)] for m in ("posts", "post_likes", "post_replies")] == [2, 8, 2]
    assert got[("posts", day - timedelta(days=1))] == 0


def test_old_image_pins_without_lifetime_counts_leave_their_day_unknown_not_zero(fake: FakePinterest) -> None:
    fake.today = date(2023, 3, 25)
    old, video = date(2023, 3, 10), date(2023, 3, 11)
    fake.pin("old", datetime(2023, 3, 10, 9, tzinfo=UTC), reactions=7)  # image pin before 2023-03-20
    fake.pin("vid", datetime(2023, 3, 11, 9, tzinfo=UTC), reactions=7, video=True)
    result = fetch_once(plugin, raw(fake), window(old, video, today=date(2023, 3, 25)), env=ENV)

    got = {(s.metric, s.day): s.value for s in result.samples}
    assert got[("posts", old)] == 1 and ("post_likes", old) not in got and ("post_replies", old) not in got
    assert got[("post_likes", video)] == 7


# --- rate limits, tokens, wrong shapes -----------------------------------------------------------------------


def test_a_rate_limit_stops_the_account_with_one_line_and_the_next_sync_reads_the_same_days(
    fake: FakePinterest, config: Callable[..., Path], run_sync: Any
) -> None:
    path = config()
    sync(run_sync, path, TODAY)
    fake.calls_left = 1  # the user account is read, then Pinterest says stop
    (outcome,) = sync(run_sync, path, TODAY + timedelta(days=4)).outcomes
    assert outcome.status == "failed" and "rate limit" in outcome.message and "\n" not in outcome.message

    fake.calls_left = None
    sync(run_sync, path, TODAY + timedelta(days=4))
    assert fake.asked(ANALYTICS)[-1]["start_date"] == (TODAY - timedelta(days=7)).isoformat()  # cursor kept


def test_a_rate_limit_without_retry_after_is_rate_limited_with_no_wait(fake: FakePinterest) -> None:
    fake.calls_left = 0
    error = raises_domain_error(plugin, raw(fake), window(TODAY - timedelta(days=2), TODAY), env=ENV)
    assert isinstance(error, RateLimited) and error.retry_after is None
    assert "1,000 requests a day" in str(error)


def test_an_answer_of_the_wrong_shape_fails_the_account_and_keeps_the_cursor(
    fake: FakePinterest, config: Callable[..., Path], run_sync: Any, samples: Any, db_url: str
) -> None:
    path = config()
    sync(run_sync, path, TODAY)
    before = stored(samples(db_url))
    fake.forced[ANALYTICS] = (200, {"all": {"daily_metrics": {"date": "2026-11-25"}}})
    (outcome,) = sync(run_sync, path, TODAY + timedelta(days=3)).outcomes

    assert outcome.status == "failed"
    assert "Pinterest answered /v5/user_account/analytics in a shape tracker cannot read" in outcome.message
    assert stored(samples(db_url)) == before  # not even the snapshot of that day
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            cursor = conn.execute(sa.text("SELECT last_good_day FROM account WHERE name = 'pins'")).scalar()
    finally:
        engine.dispose()
    assert str(cursor) == TODAY.isoformat()


def test_an_expired_token_fails_the_sync_naming_the_option_not_the_value(
    fake: FakePinterest, config: Callable[..., Path], run_sync: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIN_TOKEN", "pina_expired-0123456789")
    (outcome,) = sync(run_sync, config(), TODAY).outcomes
    assert outcome.status == "failed" and "(option `token`)" in outcome.message
    assert "0123456789" not in outcome.message and "\n" not in outcome.message


def test_accounts_check_gives_a_one_line_fix_for_an_expired_token(
    fake: FakePinterest, config: Callable[..., Path], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config()
    monkeypatch.setenv("PIN_TOKEN", "pina_expired-0123456789")
    result = cli.invoke(app, ["accounts", "check", "--config", str(path), "--format", "json"],
                        env={"COLUMNS": "160", "NO_COLOR": "1"})
    (entry,) = json.loads(result.stdout)
    assert result.exit_code != 0 and entry["status"] == "failed"
    assert "expired" in entry["message"] and "authorize the app again" in entry["message"]
    assert "\n" not in entry["message"] and "0123456789" not in result.output


def test_missing_scope_or_a_personal_account_is_an_auth_error_naming_scopes_and_business(
    fake: FakePinterest,
) -> None:
    fake.forced[ANALYTICS] = NOT_AUTHORIZED
    error = raises_domain_error(plugin, raw(fake), window(TODAY - timedelta(days=3), TODAY), env=ENV)
    assert isinstance(error, AuthError)
    assert "user_accounts:read" in str(error) and "business account" in str(error)


def test_the_token_goes_only_in_the_authorization_header(fake: FakePinterest) -> None:
    fetch_once(plugin, raw(fake), window(TODAY - timedelta(days=3), TODAY), env=ENV)
    assert {r.headers.get("Authorization") for r in fake.requests} == {f"Bearer {TOKEN}"}
    assert not any(TOKEN in r.url for r in fake.requests)


def test_a_null_follower_count_is_unavailable_never_zero(fake: FakePinterest) -> None:
    fake.account["follower_count"] = None
    result = fetch_once(plugin, raw(fake), window(TODAY - timedelta(days=3), TODAY), env=ENV)
    assert "followers" not in {s.metric for s in result.samples}
    assert [u.metric for u in result.unavailable] == ["followers"]


def _check(fake: FakePinterest, env: dict[str, str] = ENV) -> str:
    opts = make_options(plugin, raw(fake), env=env)
    with HttpSession(timeout=5, retries=0, stop=threading.Event()) as http:
        return plugin.check(opts, http)


def test_check_names_the_account_its_followers_and_that_analytics_work(httpserver: HTTPServer) -> None:
    fake = FakePinterest(httpserver)  # the check asks for Pinterest's real yesterday
    assert _check(fake) == "@baeckerei_lindner (Bäckerei Lindner), 312 followers, business account; analytics readable"


def test_check_says_when_the_account_is_not_a_business_account(httpserver: HTTPServer) -> None:
    fake = FakePinterest(httpserver)
    fake.account["account_type"] = "PINNER"
    assert "not a business account (convert it for free" in _check(fake)


# --- attribution -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["pinterest.com", "de.pinterest.com", "www.pinterest.de", "pinterest.at",
                                  "pinterest.ch", "pinterest.co.uk", "pin.it"])
def test_pinterest_referrers_of_every_country_domain_count_for_pinterest(host: str) -> None:
    assert Attribution().platform_for_source(host) == "pinterest"


# --- the real recorded answers --------------------------------------------------------------------------------------


def _real(name: str) -> Any:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real Pinterest recording not available ({path} is absent)")
    return json.loads(path.read_text())


def test_the_parser_reads_a_real_analytics_answer_ready_day_only(fake: FakePinterest, httpserver: HTTPServer) -> None:
    real = _real("user_account_analytics_2022-08.json")
    fake.today = date(2022, 8, 11)
    fake.forced[ANALYTICS] = (200, real)
    result = fetch_once(plugin, raw(fake), window(date(2022, 8, 9), date(2022, 8, 12), today=date(2022, 8, 12)),
                        env=ENV)
    daily = {(s.metric, s.day): s.value for s in result.samples if s.metric in OURS.values()}
    assert daily == {("impressions", date(2022, 8, 9)): 4, ("pinterest.saves", date(2022, 8, 9)): 0,
                     ("pinterest.pin_clicks", date(2022, 8, 9)): 0, ("link_clicks", date(2022, 8, 9)): 0,
                     ("engagements", date(2022, 8, 9)): 0}
    assert result.state == {"not_ready": ["2022-08-10", "2022-08-11"]}


def test_the_fake_answers_analytics_in_the_shape_of_the_real_one(fake: FakePinterest) -> None:
    real = _real("user_account_analytics_2022-08.json")
    fake.today = date(2022, 8, 11)
    fake.seed(date(2022, 8, 9), IMPRESSION=4)
    answer = fake._row(date(2022, 8, 9), [*METRICS, *(f"{m}_RATE" for m in METRICS[1:])])
    real_row = real["all"]["daily_metrics"][0]
    assert set(answer) == set(real_row)
    assert {k: type(v) for k, v in answer["metrics"].items()} == {k: type(v) for k, v in real_row["metrics"].items()}
    processing = fake._row(date(2022, 8, 11), list(real["all"]["daily_metrics"][2]["metrics"]))
    assert processing == real["all"]["daily_metrics"][2]
