"""The bluesky plugin, specified against a fake public AppView."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.bluesky import DID, HANDLE, FakeBluesky
from tracker.errors import NotFound, RateLimited
from tracker.http import HttpSession
from tracker.testing import check_plugin, fetch_once, make_options, raises_domain_error, window
from tracker_plugins.bluesky import plugin

TODAY = date(2026, 11, 23)
BERLIN = ZoneInfo("Europe/Berlin")
REAL = SHARED_FIXTURES / "bluesky"
PER_POST = ("posts", "post_likes", "post_reposts", "post_replies", "post_quotes")


def at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeBluesky:
    return FakeBluesky(httpserver)


def raw(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"handle": HANDLE, "base_url": server.url_for("/"), **extra}


def account(server: HTTPServer) -> dict[str, Any]:
    return {"sky": {"plugin": "bluesky", **raw(server)}}


def stored(rows: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    return {(r["metric"], str(r["day"])): r["value"] for r in rows}


def feed_calls(fake: FakeBluesky) -> list[dict[str, list[str]]]:
    return [r.args for r in fake.requests if r.path.endswith("getAuthorFeed")]


def test_passes_the_conformance_kit(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    fake.post(at(TODAY - timedelta(days=2), 9), likes=3)
    result = check_plugin(plugin, raw(httpserver), since=TODAY - timedelta(days=6), until=TODAY)
    assert {s.metric for s in result.samples} >= {"followers", "posts", "post_likes"}


def test_multi_week_sync_stores_snapshots_today_and_post_counts_on_the_day_published(
    fake: FakeBluesky, httpserver: HTTPServer, make_config, run_sync, samples
) -> None:
    fake.post(at(date(2026, 11, 2), 10), likes=37, reposts=4, replies=2, quotes=1)
    fake.post(at(date(2026, 11, 2), 19), likes=3, reposts=0, replies=1, quotes=0)
    fake.post(at(date(2026, 11, 16), 0, 30), likes=12, reposts=2, replies=3, quotes=2)  # 23:30 UTC on the 15th
    fake.post(at(date(2026, 11, 22), 8), likes=7, reply_to_other=True)
    fake.repost(at(date(2026, 11, 20), 16), likes=52)
    cfg = make_config(account(httpserver), timezone="Europe/Berlin")

    result = run_sync(cfg, now=noon(TODAY))

    assert result.ok, result.outcomes
    values = stored(samples(cfg.database))
    assert values[("followers", "2026-11-23")] == 612
    assert values[("following", "2026-11-23")] == 140
    assert values[("posts_total", "2026-11-23")] == 233
    assert ("followers", "2026-11-22") not in values
    assert [values[(m, "2026-11-02")] for m in PER_POST] == [2, 40, 4, 3, 1]
    assert [values[(m, "2026-11-16")] for m in PER_POST] == [1, 12, 2, 3, 2]
    assert values[("posts", "2026-11-15")] == 0
    assert values[("post_likes", "2026-11-22")] == 7  # the account's own reply counts as its post
    assert values[("post_likes", "2026-11-20")] == 0  # a repost of someone else's post is not ours
    assert feed_calls(fake)[0] == {"actor": [DID], "limit": ["100"], "filter": ["posts_with_replies"]}


def test_a_backdated_post_counts_on_the_day_the_server_indexed_it(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    imported = at(TODAY - timedelta(days=1), 10)
    fake.post(datetime(2019, 5, 1, 12, tzinfo=timezone(timedelta(hours=9))), likes=4, indexed=imported)
    result = fetch_once(plugin, raw(httpserver), window(TODAY - timedelta(days=3), TODAY, tz="Europe/Berlin"))
    likes = {s.day: s.value for s in result.samples if s.metric == "post_likes"}
    assert likes[TODAY - timedelta(days=1)] == 0  # min(createdAt, indexedAt) is 2019: before the window


def test_a_future_dated_post_counts_on_the_day_the_server_indexed_it(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    fake.post(datetime(2030, 1, 1, tzinfo=UTC), likes=4, indexed=at(TODAY - timedelta(days=1), 10))
    result = fetch_once(plugin, raw(httpserver), window(TODAY - timedelta(days=3), TODAY, tz="Europe/Berlin"))
    assert {s.day: s.value for s in result.samples if s.metric == "post_likes"}[TODAY - timedelta(days=1)] == 4


def test_backfill_has_no_date_windows_so_it_reads_more_than_one_page(
    fake: FakeBluesky, httpserver: HTTPServer, make_config, run_sync, samples
) -> None:
    first = date(2026, 6, 1)
    for n in range(150):
        fake.post(at(first + timedelta(days=n), 12), likes=n)
    fake.cursor_on_last_page = False
    cfg = make_config(account(httpserver), timezone="Europe/Berlin")

    result = run_sync(cfg, since=first, until=date(2026, 7, 10), now=noon(TODAY))

    assert result.ok, result.outcomes
    values = stored(samples(cfg.database))
    assert values[("post_likes", "2026-06-01")] == 0
    assert values[("post_likes", "2026-07-10")] == 39
    assert sum(v for (m, _), v in values.items() if m == "posts") == 40
    assert ("followers", TODAY.isoformat()) not in values
    assert len(feed_calls(fake)) == 2


def test_pagination_passes_the_cursor_back_and_stops_at_an_empty_feed(
    fake: FakeBluesky, httpserver: HTTPServer
) -> None:
    for n in range(200):  # two full pages; the real AppView may still send a cursor with the empty third
        fake.post(at(TODAY - timedelta(days=1), 0) + timedelta(minutes=5 * n), likes=1)
    result = fetch_once(plugin, raw(httpserver), window(TODAY - timedelta(days=3), TODAY, tz="Europe/Berlin"))

    assert {s.value for s in result.samples if s.metric == "posts" and s.day == TODAY - timedelta(days=1)} == {200}
    calls = feed_calls(fake)
    assert len(calls) == 3
    assert "cursor" not in calls[0]
    assert [c.get("cursor") for c in calls] == [None, [fake.cursors[0]], [fake.cursors[1]]]


def test_stops_reading_once_posts_are_older_than_the_window(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    for n in range(400):
        fake.post(at(TODAY, 6) - timedelta(hours=2 * n), likes=1)
    fetch_once(plugin, raw(httpserver), window(TODAY - timedelta(days=6), TODAY, tz="Europe/Berlin"))
    assert len(feed_calls(fake)) == 1


def test_rate_limit_raises_rate_limited_until_ratelimit_reset(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    fake.rate_limited, fake.reset_in = True, 75
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY))
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None and 70 <= error.retry_after <= 76


def test_a_headerless_429_from_the_edge_still_backs_off(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    fake.rate_limited, fake.rate_headers = True, False
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY))
    assert isinstance(error, RateLimited) and error.retry_after == 60


def test_bluesky_has_no_token_so_a_suspended_account_fails_the_sync_with_one_clear_line(
    httpserver: HTTPServer, make_config, run_sync
) -> None:
    FakeBluesky(httpserver, status="AccountTakedown")
    result = run_sync(make_config(account(httpserver)), now=noon(TODAY))
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert outcome.message == f"the Bluesky account '{HANDLE}' has been suspended by Bluesky"


def test_a_deactivated_account_is_not_found(httpserver: HTTPServer) -> None:
    FakeBluesky(httpserver, status="AccountDeactivated")
    error = raises_domain_error(plugin, raw(httpserver), window(TODAY, TODAY))
    assert isinstance(error, NotFound) and "deactivated" in str(error)


def test_unknown_handle_is_not_found(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    error = raises_domain_error(plugin, raw(httpserver, handle="nobody.bsky.social"), window(TODAY, TODAY))
    assert isinstance(error, NotFound) and "nobody.bsky.social" in str(error)


def test_a_profile_without_a_count_reports_it_unavailable_not_zero(httpserver: HTTPServer) -> None:
    FakeBluesky(httpserver, followers=None)
    result = fetch_once(plugin, raw(httpserver), window(TODAY, TODAY))
    assert "followers" not in {s.metric for s in result.samples}
    assert [u.metric for u in result.unavailable] == ["followers"]


def test_posts_without_quote_counts_report_post_quotes_unavailable(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    fake.post(at(TODAY - timedelta(days=1), 9), likes=5, quotes=None)
    result = fetch_once(plugin, raw(httpserver), window(TODAY - timedelta(days=2), TODAY, tz="Europe/Berlin"))
    assert (TODAY - timedelta(days=1)) not in {s.day for s in result.samples if s.metric == "post_quotes"}
    assert [u.metric for u in result.unavailable] == ["post_quotes"]


def _check(server: HTTPServer, **extra: Any) -> str:
    opts = make_options(plugin, raw(server, **extra))
    with HttpSession(timeout=5, retries=0, stop=threading.Event()) as http:
        return plugin.check(opts, http)


def test_check_describes_the_account(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    assert _check(httpserver) == f"@{HANDLE} (Bäckerei Lindner, {DID}), 612 followers"


def test_check_names_an_unknown_handle(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    with pytest.raises(NotFound, match="ghost.bsky.social"):
        _check(httpserver, handle="ghost.bsky.social")


def _real_post() -> dict[str, Any]:
    path = REAL / "getPostThread_postView_2024-07.json"
    if not path.exists():
        pytest.skip(f"real Bluesky recording not available ({path} is absent)")
    return json.loads(path.read_text())["thread"]["post"]


def test_the_fake_post_view_has_the_keys_and_types_of_a_real_one(fake: FakeBluesky) -> None:
    real = _real_post()
    ours = fake.post(at(TODAY, 9))
    shared = set(real) & set(ours)
    assert {"uri", "cid", "author", "record", "replyCount", "repostCount", "likeCount", "indexedAt"} <= shared
    assert {k: type(ours[k]) for k in shared} == {k: type(real[k]) for k in shared}
    assert set(ours) - set(real) <= {"quoteCount", "bookmarkCount"}  # added after the recording (2024-07)
    assert {k: type(v) for k, v in ours["author"].items() if k in real["author"]} == {
        k: type(real["author"][k]) for k in ours["author"] if k in real["author"]
    }


def test_the_parser_reads_a_real_post_view(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    real = _real_post()
    fake.items = [(datetime.fromisoformat(real["indexedAt"].replace("Z", "+00:00")), {"post": {**real, "author": {
        **real["author"], "did": DID}}})]
    day = date.fromisoformat(real["record"]["createdAt"][:10])
    result = fetch_once(plugin, raw(httpserver), window(day, day, today=day))
    got = {s.metric: s.value for s in result.samples}
    assert got["posts"] == 1
    assert (got["post_likes"], got["post_reposts"], got["post_replies"]) == (
        real["likeCount"], real["repostCount"], real["replyCount"],
    )
    assert [u.metric for u in result.unavailable] == ["post_quotes"]  # recorded before quoteCount existed


def test_a_negative_post_lookback_is_refused_as_a_config_problem(httpserver: HTTPServer) -> None:
    with pytest.raises(AssertionError, match="post_lookback_days -1 must be between 0 and 365"):
        make_options(plugin, raw(httpserver, post_lookback_days=-1))
