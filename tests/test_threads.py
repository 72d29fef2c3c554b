"""The threads plugin, specified against the fake Threads API (tests/fakes/threads.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.graph import PACIFIC, pacific_seconds
from tests.fakes.threads import TOKEN, FakePost, FakeThreads, FakeThreadsUser, threads_error
from tracker import options
from tracker.cli.main import app
from tracker.errors import AuthError, NotFound, QuotaExhausted, UnexpectedResponse
from tracker.http import HttpSession
from tracker.store.db import open_engine
from tracker.testing import check_plugin, check_unreadable_answers, make_options, raises_domain_error, window
from tracker_plugins import threads
from tracker_plugins.threads import plugin

USER = "17841400000000001"
TODAY = date(2026, 11, 20)  # Pacific days up to TODAY - 1 have data
ENV = {"TEST_TOKEN": TOKEN}
DAILY = {"views": "profile_views", "likes": "likes", "replies": "comments", "reposts": "shares",
         "quotes": "threads.quotes"}
LINKS = ("https://acme.example/menu", "https://acme.example/order")


def val(metric: str, day: date) -> int:
    """A different number for every metric and day, so a value on the wrong day cannot pass."""
    return 100 * (list(DAILY).index(metric) + 1) + day.toordinal() % 97


def clicks(url: str, day: date) -> int:
    return (LINKS.index(url) + 1) * 3 + day.toordinal() % 5


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def seeded(first: date, last: date, posts: list[FakePost] | None = None) -> FakeThreadsUser:
    span = days(first, last)
    return FakeThreadsUser(
        USER,
        daily={m: {d: val(m, d) for d in span} for m in DAILY},
        clicks={url: {d: clicks(url, d) for d in span} for url in LINKS},
        posts=posts or [],
    )


def post(pid: str, day: date, hour: int, views: int | None = 50, shares: int | None = 2, tz: str = "UTC",
         kind: str = "TEXT_POST", minute: int = 0) -> FakePost:
    insights = {k: v for k, v in {"views": views, "shares": shares, "likes": 9}.items() if v is not None}
    return FakePost(pid, datetime.combine(day, time(hour, minute), ZoneInfo(tz)), kind, insights)


@pytest.fixture
def fake(httpserver: Any) -> FakeThreads:
    return FakeThreads(httpserver, today=TODAY)


@pytest.fixture
def raw(httpserver: Any) -> dict[str, Any]:
    return {"user_id": USER, "token": "${TEST_TOKEN}", "base_url": httpserver.url_for("/")}


@pytest.fixture
def account(make_config: Any, raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    return make_config({"thr": {"plugin": "threads", **raw}})


def stored(samples: Any, cfg: Any) -> dict[tuple[str, date], float]:
    return {(r["metric"], date.fromisoformat(str(r["day"]))): r["value"] for r in samples(cfg.database)}


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return [tuple(r) for r in result.all()] if result.returns_rows else []
    finally:
        engine.dispose()


def write_config(path: Path, database: str, raw: dict[str, Any]) -> Path:
    lines = [f"database = {json.dumps(database)}", 'timezone = "UTC"', "[accounts.thr]", 'plugin = "threads"']
    path.write_text("\n".join(lines + [f"{k} = {json.dumps(v)}" for k, v in raw.items()]) + "\n", encoding="utf-8")
    return path


def invoke(cli: Any, *args: str) -> Any:
    return cli.invoke(app, list(args), env={"COLUMNS": "160", "NO_COLOR": "1"})


# --- the conformance kit ----------------------------------------------------------------------------------


def test_threads_passes_the_conformance_kit(fake: FakeThreads, raw: dict[str, Any]) -> None:
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1),
                         [post("m1", TODAY - timedelta(days=3), 9), post("m2", TODAY - timedelta(days=2), 15)]))
    result = check_plugin(plugin, raw, since=date(2026, 11, 10), until=TODAY, today=TODAY, env=ENV)
    assert {s.metric for s in result.samples} == set(threads.DEFINITIONS)


def test_threads_reshaped_answers_fail_in_one_line_naming_the_threads_account(
    fake: FakeThreads, raw: dict[str, Any]
) -> None:
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1), [post("m1", TODAY - timedelta(days=2), 9)]))
    results = check_unreadable_answers(plugin, raw, since=TODAY - timedelta(days=4), until=TODAY, today=TODAY, env=ENV)
    failures = [r.error for r in results if r.error is not None]
    assert failures and all(isinstance(e, UnexpectedResponse) for e in failures)
    assert all(f"Threads account {USER}" in str(e) and "\n" not in str(e) for e in failures)


# --- days and numbers -------------------------------------------------------------------------------------


def test_threads_multi_week_sync_lands_on_pacific_days_and_report_json_shows_the_sums(
    fake: FakeThreads, account: Any, raw: dict[str, Any], run_sync: Any, samples: Any, cli: Any, tmp_path: Path
) -> None:
    first = date(2026, 10, 20)  # across the end of daylight saving time (2026-11-01): end_time T07 then T08
    fake.add_user(seeded(first, TODAY - timedelta(days=1)))
    result = run_sync(account, since=first, until=TODAY, now=noon(TODAY))
    assert result.ok, result.outcomes

    got = stored(samples, account)
    span = days(first, TODAY - timedelta(days=1))
    assert {k: got[k] for k in got if k[0] in DAILY.values()} == {(DAILY[m], d): val(m, d) for m in DAILY for d in span}
    assert {d: v for (m, d), v in got.items() if m == "link_clicks"} == {d: sum(clicks(u, d) for u in LINKS)
                                                                         for d in span}
    assert got[("followers", TODAY)] == 458

    config = write_config(tmp_path / "config.toml", account.database, {**raw, "token": "${TEST_TOKEN}"})
    report = invoke(cli, "report", "--config", str(config), "--format", "json", "--until", TODAY.isoformat(),
                    "--days", "7")
    assert report.exit_code == 0, report.output
    (row,) = [r for r in json.loads(report.stdout)["platforms"] if r["platform"] == "threads"]
    period, before = days(TODAY - timedelta(days=6), TODAY - timedelta(days=1)), days(TODAY - timedelta(days=13),
                                                                                       TODAY - timedelta(days=7))

    def total(metric: str, which: list[date]) -> int:
        return sum(val(metric, d) for d in which)

    assert (row["followers"], row["likes"], row["comments"], row["shares"]) == (
        458, total("likes", period), total("replies", period), total("reposts", period))
    assert row["engagement"] == total("likes", period) + total("replies", period) + total("reposts", period)
    assert row["engagement_previous"] == total("likes", before) + total("replies", before) + total("reposts", before)
    assert row["profile_views"] == total("views", period) and row["views"] is None  # profile views are not views
    assert row["link_clicks"] == sum(clicks(u, d) for u in LINKS for d in period)


def test_threads_backfill_asks_one_pacific_day_per_insights_call_and_stores_every_day(
    fake: FakeThreads, account: Any, run_sync: Any, samples: Any
) -> None:
    since, until = date(2026, 9, 1), date(2026, 10, 15)  # 45 days, one request window each
    fake.add_user(seeded(since, until))
    assert run_sync(account, since=since, until=until, now=noon(TODAY)).ok
    calls = [r.params for r in fake.calls("/threads_insights") if "since" in r.params]
    assert [(int(c["since"]), int(c["until"])) for c in calls] == [
        (pacific_seconds(d), pacific_seconds(d + timedelta(days=1))) for d in days(since, until)]
    assert {d for m, d in stored(samples, account) if m == "likes"} == set(days(since, until))


def test_threads_stray_views_point_before_since_is_keyed_by_its_end_time_not_the_day_asked(
    fake: FakeThreads, raw: dict[str, Any]
) -> None:
    fake.stray_points = True
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    result = check_plugin(plugin, raw, since=date(2026, 11, 10), until=date(2026, 11, 15), today=TODAY, env=ENV)
    views = {s.day: s.value for s in result.samples if s.metric == "profile_views"}
    assert views == {d: val("views", d) for d in days(date(2026, 11, 10), date(2026, 11, 15))}


def test_threads_day_without_data_gives_no_sample_rather_than_zero(fake: FakeThreads, raw: dict[str, Any]) -> None:
    user = fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    gap = date(2026, 11, 12)
    del user.daily["likes"][gap]
    for per_day in user.clicks.values():
        del per_day[gap]
    result = check_plugin(plugin, raw, since=date(2026, 11, 10), until=date(2026, 11, 14), today=TODAY, env=ENV)
    got = {(s.metric, s.day) for s in result.samples}
    assert ("likes", gap) not in got and ("link_clicks", gap) not in got
    assert ("comments", gap) in got and ("likes", gap + timedelta(days=1)) in got


def test_threads_recent_three_days_of_insights_are_provisional(fake: FakeThreads, raw: dict[str, Any]) -> None:
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    result = check_plugin(plugin, raw, since=date(2026, 11, 10), until=TODAY, today=TODAY, env=ENV)
    provisional = {s.day for s in result.samples if s.provisional and s.metric == "likes"}
    assert provisional == {TODAY - timedelta(days=2), TODAY - timedelta(days=1)}  # TODAY has no data yet


def test_threads_days_before_april_13_2024_are_never_asked_and_a_notice_says_so(
    fake: FakeThreads, raw: dict[str, Any]
) -> None:
    fake.add_user(seeded(date(2024, 4, 1), date(2024, 4, 20)))
    result = check_plugin(plugin, raw, since=date(2024, 4, 10), until=date(2024, 4, 15), today=TODAY, env=ENV)
    asked = {int(r.params["since"]) for r in fake.calls("/threads_insights") if "since" in r.params}
    assert min(asked) == 1712991600
    assert {s.day for s in result.samples if s.metric == "likes"} == set(days(date(2024, 4, 13), date(2024, 4, 15)))
    assert any("2024-04-13" in n for n in result.notices)



def test_threads_pacific_days_that_have_not_begun_are_not_asked_for_an_account_east_of_pacific(
    fake: FakeThreads, raw: dict[str, Any]
) -> None:
    """Kiritimati (UTC+14) reaches a day up to 22 hours before Los Angeles does: Threads has nothing for it yet."""
    pacific_today = datetime.now(PACIFIC).date()
    fake.add_user(seeded(pacific_today - timedelta(days=5), pacific_today))
    ahead = pacific_today + timedelta(days=1)
    result = check_plugin(plugin, raw, since=pacific_today - timedelta(days=2), until=ahead, today=ahead, env=ENV,
                          tz="Pacific/Kiritimati")
    if datetime.now(PACIFIC).date() != pacific_today:
        pytest.skip("the test ran across midnight in Los Angeles")
    asked = {int(r.params["since"]) for r in fake.calls("/threads_insights") if "since" in r.params}
    assert max(asked) == pacific_seconds(pacific_today)
    assert ahead not in {s.day for s in result.samples if s.metric == "likes"}

# --- posts ------------------------------------------------------------------------------------------------


def test_threads_posts_are_counted_per_day_of_the_accounts_timezone_without_reposts_of_others(
    fake: FakeThreads, raw: dict[str, Any]
) -> None:
    d = date(2026, 11, 16)
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1), [
        post("late", d, 23, minute=30, tz="UTC"),  # 00:30 on the next day in Berlin
        post("noon", d, 12, tz="Europe/Berlin"),
        post("theirs", d, 13, tz="Europe/Berlin", kind="REPOST_FACADE"),
    ]))
    result = check_plugin(plugin, raw, since=d - timedelta(days=1), until=d + timedelta(days=2), today=TODAY, env=ENV,
                          tz="Europe/Berlin")
    posts = {s.day: s.value for s in result.samples if s.metric == "posts"}
    assert posts == {d - timedelta(days=1): 0, d: 1, d + timedelta(days=1): 1, d + timedelta(days=2): 0}
    assert not fake.calls("/theirs/insights")


def test_threads_media_list_is_followed_page_by_page_to_the_last_one(fake: FakeThreads, raw: dict[str, Any]) -> None:
    fake.page_size = 3
    first = date(2026, 11, 10)
    fake.add_user(seeded(first, TODAY - timedelta(days=1),
                         [post(f"m{i}", first + timedelta(days=i // 2), 8 + i) for i in range(8)]))
    result = check_plugin(plugin, raw, since=first, until=first + timedelta(days=5), today=TODAY, env=ENV)
    pages = [r.params.get("after") for r in fake.calls(f"/{USER}/threads")][:3]
    assert pages == [None, "c3", "c6"]
    posts = {s.day: s.value for s in result.samples if s.metric == "posts"}
    assert posts == {first + timedelta(days=i): (2 if i < 4 else 0) for i in range(6)}


def test_threads_post_views_are_summed_on_the_publish_day_and_missing_when_a_post_lacks_them(
    fake: FakeThreads, raw: dict[str, Any]
) -> None:
    d = date(2026, 11, 15)
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1), [
        post("a", d, 9, views=120, shares=3), post("b", d, 15, views=80, shares=1),
        post("c", d + timedelta(days=1), 10, views=None, shares=4), post("e", d + timedelta(days=1), 11, views=30),
    ]))
    result = check_plugin(plugin, raw, since=d, until=d + timedelta(days=2), today=TODAY, env=ENV)
    got = {(s.metric, s.day): s.value for s in result.samples if s.metric.startswith("threads.post_")}
    assert got == {("threads.post_views", d): 200, ("threads.post_shares", d): 4,
                   ("threads.post_shares", d + timedelta(days=1)): 6}


# --- refusals, limits, tokens -----------------------------------------------------------------------------


def test_threads_refused_user_metric_is_reported_missing_while_the_others_land(
    fake: FakeThreads, account: Any, run_sync: Any, samples: Any
) -> None:
    fake.refused_metrics.add("clicks")
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    assert run_sync(account, since=date(2026, 11, 10), until=date(2026, 11, 14), now=noon(TODAY)).ok
    assert "link_clicks" not in {m for m, _ in stored(samples, account)}
    assert ("likes", date(2026, 11, 14)) in stored(samples, account)
    ((metric, reason),) = query(account.database, "SELECT metric, reason FROM metric_status")
    assert metric == "link_clicks" and "Param metric must be one of" in reason


def test_threads_media_metric_answered_with_code_1_is_reported_missing_while_views_land(
    fake: FakeThreads, raw: dict[str, Any]
) -> None:
    fake.unserved_media.add("shares")
    d = date(2026, 11, 15)
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1), [post("a", d, 9, views=120)]))
    result = check_plugin(plugin, raw, since=d, until=d, today=TODAY, env=ENV)
    assert [(u.metric, "unknown error" in u.reason) for u in result.unavailable] == [("threads.post_shares", True)]
    assert {(s.metric, s.value) for s in result.samples if s.metric.startswith("threads.post_")} == {
        ("threads.post_views", 120)}


def test_threads_code_1_on_every_metric_fails_the_account_as_a_temporary_problem(
    fake: FakeThreads, raw: dict[str, Any]
) -> None:
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    fake.fail_next(threads_error(1, "An unknown error has occurred.", kind="OAuthException"))
    error = raises_domain_error(plugin, raw, window(date(2026, 11, 10), TODAY), env=ENV)
    assert type(error) is threads.NothingServed and "next sync tries again" in str(error)


def test_threads_throttle_code_stops_the_account_until_the_usage_header_says(
    fake: FakeThreads, raw: dict[str, Any]
) -> None:
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    usage = {USER: [{"type": "threads", "call_count": 100, "total_cputime": 20, "total_time": 30,
                     "estimated_time_to_regain_access": 45}]}
    fake.fail_next(threads_error(613, "Calls to this api have exceeded the rate limit.", kind="OAuthException"),
                   headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
    before = datetime.now(UTC)
    error = raises_domain_error(plugin, raw, window(date(2026, 11, 10), TODAY), env=ENV)
    assert isinstance(error, QuotaExhausted) and error.until is not None
    assert timedelta(minutes=44) < error.until - before < timedelta(minutes=46)


def test_threads_throttle_without_usage_header_fails_this_run_only(fake: FakeThreads, raw: dict[str, Any]) -> None:
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    fake.fail_next(threads_error(4, "Application request limit reached", kind="OAuthException"))
    error = raises_domain_error(plugin, raw, window(date(2026, 11, 10), TODAY), env=ENV)
    assert isinstance(error, QuotaExhausted) and error.until is None and "on the next run" in str(error)


def test_threads_expired_token_fails_the_account_in_one_line_saying_to_authorize_again(
    fake: FakeThreads, account: Any, run_sync: Any
) -> None:
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    fake.expired = True
    (outcome,) = run_sync(account, now=noon(TODAY)).outcomes
    assert outcome.status == "failed"
    assert "\n" not in outcome.message and "token has expired" in outcome.message
    assert "authorize tracker's app again" in outcome.message and TOKEN not in outcome.message


def test_threads_wrongly_shaped_answer_fails_the_account_and_keeps_the_cursor(
    fake: FakeThreads, account: Any, run_sync: Any, samples: Any, httpserver: Any
) -> None:
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1)))
    assert run_sync(account, now=noon(TODAY)).ok
    cursor = TODAY - timedelta(days=5)
    query(account.database, "UPDATE account SET last_good_day = :day WHERE name = 'thr'", day=cursor)
    before = samples(account.database)
    httpserver.expect_oneshot_request(f"/v1.0/{USER}/threads_insights").respond_with_json({"data": "not a list"})
    (outcome,) = run_sync(account, now=noon(TODAY)).outcomes
    assert outcome.status == "failed" and 'expected a list under "data", got text' in outcome.message
    assert query(account.database, "SELECT last_good_day FROM account WHERE name = 'thr'") == [(cursor.isoformat(),)]
    assert samples(account.database) == before


def test_threads_token_goes_in_the_authorization_header_never_in_a_url(fake: FakeThreads, raw: dict[str, Any]) -> None:
    fake.page_size = 1
    d = date(2026, 11, 15)
    fake.add_user(seeded(date(2026, 11, 1), TODAY - timedelta(days=1), [post("a", d, 9), post("b", d, 10)]))
    check_plugin(plugin, raw, since=d, until=d + timedelta(days=1), today=TODAY, env=ENV)
    assert any("after" in r.params for r in fake.requests)  # a page link holding the token was there to follow
    assert fake.requests and all(r.authorization == f"Bearer {TOKEN}" for r in fake.requests)
    assert not any(TOKEN in r.url or "access_token" in r.params for r in fake.requests)


# --- accounts check ---------------------------------------------------------------------------------------


def checked(cli: Any, tmp_path: Path, db_url: str, raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
            token: str = TOKEN) -> dict[str, Any]:
    monkeypatch.setenv("TEST_TOKEN", token)
    config = write_config(tmp_path / "config.toml", db_url, raw)
    result = invoke(cli, "accounts", "check", "--config", str(config), "--format", "json")
    (entry,) = json.loads(result.stdout)
    return entry


def test_threads_accounts_check_names_the_profile_and_its_followers(
    fake: FakeThreads, raw: dict[str, Any], cli: Any, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_user(FakeThreadsUser(USER, username="acme.bakery", followers_count=1458))
    entry = checked(cli, tmp_path, db_url, raw, monkeypatch)
    assert (entry["status"], entry["message"]) == ("ok", "@acme.bakery, 1,458 followers")


def test_threads_accounts_check_with_an_expired_token_says_in_one_line_what_to_do(
    fake: FakeThreads, raw: dict[str, Any], cli: Any, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_user(FakeThreadsUser(USER))
    fake.expired = True
    entry = checked(cli, tmp_path, db_url, raw, monkeypatch)
    assert entry["status"] == "failed" and "\n" not in entry["message"]
    assert "token has expired" in entry["message"] and "long-lived token" in entry["message"]
    assert TOKEN[-12:] not in entry["message"]


def test_threads_check_without_the_insights_permission_names_it(fake: FakeThreads, raw: dict[str, Any]) -> None:
    fake.add_user(FakeThreadsUser(USER))
    fake.insights_permission = False
    with HttpSession(timeout=5, retries=0) as http, pytest.raises(AuthError, match="threads_manage_insights"):
        plugin.check(make_options(plugin, raw, ENV), http)


def test_threads_user_id_that_is_not_numeric_is_a_one_line_config_error(raw: dict[str, Any]) -> None:
    _, problems = options.build(plugin, {**raw, "user_id": "@acme.bakery"}, where="config.toml: accounts.thr", env=ENV)
    (problem,) = problems
    assert "user_id must be the numeric Threads user id" in problem and "'@acme.bakery'" in problem


# --- the real recordings ----------------------------------------------------------------------------------


def _real(name: str) -> Any:
    folder = SHARED_FIXTURES / "threads"
    if not folder.is_dir():
        pytest.skip(f"real Threads recordings not available ({folder} is absent)")
    return json.loads((folder / name).read_text())


def test_threads_real_unknown_object_error_names_the_id_and_the_permissions(httpserver: Any) -> None:
    body = _real("error_100_subcode_33_THApiException.json")
    assert set(body["error"]) == set(threads_error(100, "x", 33)["error"])
    with HttpSession(timeout=5, retries=0) as http:
        graph = threads._graph(make_options(plugin, {"user_id": "1234567", "token": "${TEST_TOKEN}"}, ENV), http)
        error = graph.error_for(400, body["error"])
    assert isinstance(error, NotFound) and "Threads account 1234567" in str(error)
    assert "threads_manage_insights" in str(error) and "\n" not in str(error)

