"""Absent is unknown, never zero: fields a service leaves out, and statuses only real samples clear.

Issue 15, finding 8: a Matomo row without `nb_uniq_visitors` stored `visitors = 0`
beside its visits, and a Mastodon server that does not count quotes got
`post_quotes = 0` for every day while its "missing" status came and went.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.bluesky import DID, HANDLE, FakeBluesky
from tests.fakes.ga4 import FakeGa4, new_key, write_key_file
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.matomo import FakeMatomo
from tests.fakes.plausible import FakePlausible
from tests.fakes.x import FakeX
from tests.fakes.youtube import CHANNEL_ID, FakeYouTube
from tracker.http import HttpSession
from tracker.plugin import Sample, Unavailable
from tracker.store import writes
from tracker.store.db import open_engine
from tracker.testing import fetch_once, make_options, window
from tracker_plugins import bluesky, ga4, linkedin, mastodon, plausible, x, youtube

TODAY = date(2026, 11, 23)
BERLIN = ZoneInfo("Europe/Berlin")
MATOMO_TOKEN = "0123456789abcdef0123456789abcdef"
MASTODON_TOKEN = "masto-secret-token-123"
NOV20, NOV21 = date(2026, 11, 20), date(2026, 11, 21)


def at(day: date, hour: int, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz)


def rows_of(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def stored(url: str, metric: str) -> dict[tuple[str, str], float]:
    """{(platform, day): value} of one metric's stored samples."""
    found = rows_of(url, f"SELECT platform, day, value FROM sample WHERE metric = '{metric}'")
    return {(p, str(d)): v for p, d, v in found}


def statuses(url: str) -> dict[tuple[str, str], tuple[str, str]]:
    """{(platform, metric): (reason, since)} of the stored metric statuses."""
    found = rows_of(url, "SELECT platform, metric, reason, since FROM metric_status")
    return {(p, m): (r, str(s)) for p, m, r, s in found}


# --- Matomo ------------------------------------------------------------------------------------------------


@pytest.fixture
def matomo_fake(httpserver: HTTPServer) -> FakeMatomo:
    return FakeMatomo(httpserver, token=MATOMO_TOKEN)


@pytest.fixture
def matomo_sync(matomo_fake: FakeMatomo, make_config, run_sync, monkeypatch) -> Callable[[], str]:
    """Sync a Matomo account over Nov 20-21; returns the database URL."""
    monkeypatch.setenv("TEST_TOKEN", MATOMO_TOKEN)
    raw = {"base_url": matomo_fake.server.url_for("/"), "site_id": 3, "token": "${TEST_TOKEN}"}
    cfg = make_config({"stats": {"plugin": "matomo", **raw}})

    def sync() -> str:
        result = run_sync(cfg, since=NOV20, until=NOV21, now=noon(TODAY))
        assert result.ok, result.outcomes
        return cfg.database

    return sync


def test_matomo_row_without_nb_uniq_visitors_stores_its_visits_and_no_visitors(matomo_fake, matomo_sync) -> None:
    matomo_fake.add(NOV21, "social", "Facebook", 71, uniques=False)
    url = matomo_sync()
    assert stored(url, "visits")[("facebook", "2026-11-21")] == 71
    assert ("facebook", "2026-11-21") not in stored(url, "visitors")


def test_matomo_row_without_nb_uniq_visitors_marks_visitors_missing_for_that_platform(
    matomo_fake, matomo_sync
) -> None:
    matomo_fake.add(NOV21, "social", "Facebook", 71, uniques=False)
    matomo_fake.add(NOV21, "social", "Twitter", 4)
    found = statuses(matomo_sync())
    assert list(found) == [("facebook", "visitors")]
    assert "nb_uniq_visitors" in found[("facebook", "visitors")][0]


def test_matomo_visitors_of_a_platform_are_unknown_when_one_of_its_rows_lacks_them(matomo_fake, matomo_sync) -> None:
    """Two referrers of one platform: a sum without the row that left uniques out would be too small."""
    matomo_fake.add(NOV21, "social", "Facebook", 71, uniques=False)
    matomo_fake.add(NOV21, "website", "l.facebook.com", 9, 8)
    url = matomo_sync()
    assert stored(url, "visits")[("facebook", "2026-11-21")] == 80
    assert ("facebook", "2026-11-21") not in stored(url, "visitors")


def test_matomo_quiet_day_beside_a_row_without_uniques_keeps_its_true_zero(matomo_fake, matomo_sync) -> None:
    """No row at all means no visits, hence no visitors: that zero is known."""
    matomo_fake.add(NOV21, "social", "Facebook", 71, uniques=False)
    assert stored(matomo_sync(), "visitors")[("facebook", "2026-11-20")] == 0


def test_matomo_goal_without_revenue_stores_its_conversions_and_no_revenue(matomo_fake, matomo_sync) -> None:
    matomo_fake.add(NOV21, "social", "Facebook", 12, 11, goals={"ecommerceOrder": (2, None)})
    url = matomo_sync()
    assert stored(url, "orders")[("facebook", "2026-11-21")] == 2
    assert ("facebook", "2026-11-21") not in stored(url, "revenue")


# --- Mastodon: a server before 4.5 has no quotes_count ---------------------------------------------------


@pytest.fixture
def old_mastodon(httpserver: HTTPServer) -> FakeMastodon:
    return FakeMastodon(httpserver, valid_token=MASTODON_TOKEN, quotes=False)


@pytest.fixture
def mastodon_sync(httpserver: HTTPServer, make_config, run_sync, monkeypatch) -> Callable[[date], str]:
    """Sync the Mastodon account with the default lookback as if it were noon on `today`."""
    monkeypatch.setenv("TEST_TOKEN", MASTODON_TOKEN)
    raw = {"instance": httpserver.url_for("/"), "acct": "baeckerei", "token": "${TEST_TOKEN}"}
    cfg = make_config({"masto": {"plugin": "mastodon", **raw}}, timezone="Europe/Berlin")

    def sync(today: date) -> str:
        result = run_sync(cfg, now=noon(today))
        assert result.ok, result.outcomes
        return cfg.database

    return sync


def test_mastodon_before_4_5_stores_no_post_quotes_on_any_day(old_mastodon, mastodon_sync) -> None:
    old_mastodon.post(at(TODAY - timedelta(days=1), 9), likes=5)
    url = mastodon_sync(TODAY)
    assert stored(url, "post_quotes") == {}
    assert stored(url, "post_likes")[("mastodon", str(TODAY - timedelta(days=1)))] == 5
    assert stored(url, "post_likes")[("mastodon", str(TODAY - timedelta(days=2)))] == 0


def test_mastodon_before_4_5_keeps_post_quotes_missing_after_a_sync_whose_window_has_no_post(
    old_mastodon, mastodon_sync
) -> None:
    old_mastodon.post(at(TODAY - timedelta(days=1), 9), likes=5)
    mastodon_sync(TODAY)
    url = mastodon_sync(TODAY + timedelta(days=30))  # the post is long out of the window
    assert stored(url, "posts")[("mastodon", str(TODAY + timedelta(days=30)))] == 0
    assert ("mastodon", "post_quotes") in statuses(url)
    assert stored(url, "post_quotes") == {}


def test_mastodon_post_quotes_status_keeps_the_day_it_began(old_mastodon, mastodon_sync) -> None:
    """A sync that reports the metric missing again must not restart its "since" (the note's date)."""
    old_mastodon.post(at(TODAY - timedelta(days=1), 9), likes=5)
    first = statuses(mastodon_sync(TODAY))[("mastodon", "post_quotes")]
    again = statuses(mastodon_sync(TODAY + timedelta(days=1)))[("mastodon", "post_quotes")]
    assert again[1] == first[1]


def test_mastodon_upgraded_to_count_quotes_clears_the_status_with_real_samples(old_mastodon, mastodon_sync) -> None:
    """The other side of the rule: a real sample of the metric does clear its status."""
    old_mastodon.post(at(TODAY - timedelta(days=1), 9), likes=5)
    mastodon_sync(TODAY)
    old_mastodon.quotes = True  # upgraded to 4.5: every status, old ones included, now carries the count
    for status in old_mastodon.statuses:
        status["quotes_count"] = 0
    old_mastodon.post(at(TODAY + timedelta(days=1), 9), likes=2, quotes=3)
    url = mastodon_sync(TODAY + timedelta(days=1))
    assert statuses(url) == {}
    assert stored(url, "post_quotes")[("mastodon", str(TODAY + timedelta(days=1)))] == 3


def test_mastodon_with_no_status_to_read_reports_what_the_last_run_learnt(
    httpserver: HTTPServer, old_mastodon
) -> None:
    raw = {"instance": httpserver.url_for("/"), "acct": "baeckerei"}
    state = {"counted": {"post_likes": True, "post_reposts": True, "post_replies": True, "post_quotes": False}}
    result = fetch_once(mastodon.plugin, raw, window(TODAY - timedelta(days=2), TODAY, tz="Europe/Berlin"), state)
    assert [u.metric for u in result.unavailable] == ["post_quotes"]
    assert {s.metric for s in result.samples} >= {"posts", "post_likes"}
    assert "post_quotes" not in {s.metric for s in result.samples}


def test_mastodon_check_without_followers_count_does_not_say_zero(httpserver: HTTPServer) -> None:
    FakeMastodon(httpserver, followers=None)
    opts = make_options(mastodon.plugin, {"instance": httpserver.url_for("/"), "acct": "baeckerei"})
    with HttpSession(retries=0) as http:
        line = mastodon.plugin.check(opts, http)
    assert "follower count not shown" in line and "0 followers" not in line


# --- The core rule (tracker/store/writes.py) ---------------------------------------------------------------


def _commit(engine, samples: list[Sample], unavailable: list[Unavailable]) -> None:
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(engine, run_id, "page", NOV20, NOV21)
    result = writes.AccountResult(
        account="page", plugin="demo", options_json="{}", conversion_source="none", covers_all_platforms=False,
        position=0, samples=samples, unavailable=unavailable,
    )
    writes.commit_account(engine, run_id, account_run, result)


def test_a_status_reported_again_beside_samples_of_its_metric_is_kept_with_its_since(engine, db_url) -> None:
    """Samples of other days (a day whose posts had the count) are no evidence the metric is back."""
    missing = Unavailable("bluesky", "post_quotes", "posts without quoteCount")
    _commit(engine, [], [missing])
    before = statuses(db_url)[("bluesky", "post_quotes")]
    _commit(engine, [Sample("bluesky", "post_quotes", NOV20, 2)], [missing])
    assert statuses(db_url)[("bluesky", "post_quotes")] == before


# --- Bluesky -------------------------------------------------------------------------------------------------


def _real_bluesky_post() -> dict[str, Any]:
    path = SHARED_FIXTURES / "bluesky" / "getPostThread_postView_2024-07.json"
    if not path.exists():
        pytest.skip(f"real Bluesky recording not available ({path} is absent)")
    post = json.loads(path.read_text())["thread"]["post"]
    return {**post, "author": {**post["author"], "did": DID}}


def _serve(fake: FakeBluesky, post: dict[str, Any]) -> None:
    fake.items = [(datetime.fromisoformat(post["indexedAt"].replace("Z", "+00:00")), {"post": post})]


def test_bluesky_real_post_without_quote_count_leaves_post_quotes_out_of_every_day(httpserver: HTTPServer) -> None:
    """Recorded before quoteCount existed: days around it must not get a made-up zero either."""
    post = _real_bluesky_post()
    _serve(FakeBluesky(httpserver), post)
    day = date.fromisoformat(post["record"]["createdAt"][:10])
    raw = {"handle": HANDLE, "base_url": httpserver.url_for("/")}
    result = fetch_once(bluesky.plugin, raw, window(day - timedelta(days=1), day + timedelta(days=1), today=day))
    assert "post_quotes" not in {s.metric for s in result.samples}
    assert {s.day for s in result.samples if s.metric == "post_likes"} == {day - timedelta(days=1), day}


def test_bluesky_window_without_posts_still_reports_a_count_the_older_post_lacked(httpserver: HTTPServer) -> None:
    post = _real_bluesky_post()
    _serve(FakeBluesky(httpserver), post)
    later = date.fromisoformat(post["record"]["createdAt"][:10]) + timedelta(days=30)
    raw = {"handle": HANDLE, "base_url": httpserver.url_for("/")}
    result = fetch_once(bluesky.plugin, raw, window(later - timedelta(days=2), later))
    assert [u.metric for u in result.unavailable] == ["post_quotes"]
    assert "post_quotes" not in {s.metric for s in result.samples}


# --- X -------------------------------------------------------------------------------------------------------


def test_x_post_without_quote_count_stores_no_post_quotes_and_reports_it_missing(httpserver: HTTPServer) -> None:
    fake = FakeX(httpserver, token="x-test-bearer-91c2")
    fake.add_post(datetime(2026, 11, 21, 9, tzinfo=UTC), likes=4, quotes=None)
    raw = {"username": "baecker_lindner", "token": "${T}", "base_url": httpserver.url_for("/"), "post_metrics": True}
    result = fetch_once(x.plugin, raw, window(NOV20, TODAY), env={"T": "x-test-bearer-91c2"})
    assert "post_quotes" not in {s.metric for s in result.samples}
    assert {(s.metric, s.day): s.value for s in result.samples}[("post_likes", NOV21)] == 4
    assert [u.metric for u in result.unavailable] == ["post_quotes"]


# --- GA4 -----------------------------------------------------------------------------------------------------


def test_ga4_metric_value_without_value_is_unknown_not_zero(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    key: rsa.RSAPrivateKey = new_key()
    key_file, public_key = write_key_file(tmp_path, httpserver.url_for("/token"), key=key)
    fake = FakeGa4(httpserver, public_key, valueless={"totalUsers"})
    fake.add_sessions(NOV21, "l.facebook.com", 41, 38)
    raw = {"property_id": "312345678", "credentials_file": str(key_file), "base_url": httpserver.url_for("/")}
    result = fetch_once(ga4.plugin, raw, window(NOV20, NOV21))
    got = {(s.platform, s.metric, s.day): s.value for s in result.samples}
    assert got[("facebook", "visits", NOV21)] == 41
    assert ("facebook", "visitors", NOV21) not in got
    assert [(u.platform, u.metric) for u in result.unavailable] == [("facebook", "visitors")]


# --- Plausible -----------------------------------------------------------------------------------------------


def test_plausible_without_total_rows_reads_every_page(httpserver: HTTPServer, monkeypatch) -> None:
    """A missing total_rows is no total of 0: the first page would be all there is."""
    monkeypatch.setattr(plausible, "PAGE_SIZE", 2)
    fake = FakePlausible(httpserver, key="plausible-test-key", total_rows=False)
    for n in range(1, 6):
        fake.add_visits(date(2026, 11, n), "Facebook", n, n)
    raw = {"site_id": "example.com", "token": "${T}", "base_url": httpserver.url_for("/")}
    result = fetch_once(plausible.plugin, raw, window(date(2026, 11, 1), date(2026, 11, 5)), env={"T": fake.key})
    assert sorted((s.day.day, s.value) for s in result.samples if s.metric == "visits") == [(n, n) for n in range(1, 6)]


# --- LinkedIn ------------------------------------------------------------------------------------------------


def test_linkedin_day_without_paid_gain_stores_no_followers_gained(httpserver: HTTPServer) -> None:
    fake = FakeLinkedIn(httpserver, token="li-test-token-5f8a", today=TODAY)
    fake.seed_days(NOV20, NOV21)
    fake.follower_gains[NOV21] = (5, None)
    raw = {"organization_id": "2414183", "token": "${T}", "base_url": httpserver.url_for("/")}
    result = fetch_once(linkedin.plugin, raw, window(NOV20, NOV21, today=TODAY), env={"T": fake.token})
    got = {(s.metric, s.day): s.value for s in result.samples}
    assert got[("linkedin.organic_followers_gained", NOV21)] == 5
    assert ("followers_gained", NOV21) not in got and ("followers_gained", NOV20) in got
    assert [u.metric for u in result.unavailable] == ["followers_gained"]


# --- YouTube -------------------------------------------------------------------------------------------------


def test_youtube_check_without_subscriber_count_does_not_say_zero(httpserver: HTTPServer) -> None:
    FakeYouTube(httpserver, api_key="yt-key-abc", token=None, subscribers=None)
    raw = {"channel_id": CHANNEL_ID, "api_key": "${KEY}", "base_url": httpserver.url_for("/")}
    opts = make_options(youtube.plugin, raw, env={"KEY": "yt-key-abc"})
    with HttpSession(retries=0) as http:
        line = youtube.plugin.check(opts, http)
    assert "subscriber count not returned" in line and "0 subscribers" not in line


def test_youtube_snapshot_without_subscriber_count_reports_followers_missing(httpserver: HTTPServer) -> None:
    FakeYouTube(httpserver, api_key="yt-key-abc", token=None, subscribers=None)
    raw = {"channel_id": CHANNEL_ID, "api_key": "${KEY}", "base_url": httpserver.url_for("/")}
    result = fetch_once(youtube.plugin, raw, window(TODAY, TODAY), env={"KEY": "yt-key-abc"})
    assert [u.reason for u in result.unavailable] == ["the Data API returned no subscriberCount for the channel"]
    assert "followers" not in {s.metric for s in result.samples}
