"""All seven social plugins at once, through the real CLI: `tracker sync` against fakes that answer like
the real APIs (each on its own server, reached only through the account's `base_url`), then `tracker report`.

The sync runs on the wall clock (the CLI cannot pin time), so the fakes are seeded relative to the
account's today (Europe/Berlin) and Graph's Pacific today; a run that straddles midnight is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.fakes.bluesky import HANDLE, FakeBluesky
from tests.fakes.graph import TOKEN as GRAPH_TOKEN
from tests.fakes.graph import FakeGraph, FakeIgUser, FakePage
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.x import FakeX
from tests.fakes.youtube import CHANNEL_ID, FakeYouTube
from tracker.cli.main import app
from tracker.store.db import open_engine
from tracker.windows import account_today

BERLIN, PACIFIC = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles")
PAGE, IG_USER = "1234567890", "17841405822304914"
PERIOD = 7  # report days, ending on the account's today
SECRETS = {"FB_TOKEN": GRAPH_TOKEN, "IG_TOKEN": GRAPH_TOKEN, "LI_TOKEN": "li-test-token-5f8a",
           "X_TOKEN": "x-test-bearer-91c2", "YT_KEY": "yt-key-abc", "YT_TOKEN": "yt-oauth-xyz",
           "MASTO_TOKEN": "masto-secret-token-123"}
# API name -> stored metric, written out here rather than taken from the plugins.
FACEBOOK = {"page_follows": "followers", "page_daily_follows_unique": "followers_gained",
            "page_daily_unfollows_unique": "followers_lost", "page_media_view": "views",
            "page_total_media_view_unique": "reach", "page_post_engagements": "engagements",
            "page_views_total": "profile_views", "page_total_actions": "facebook.page_total_actions"}
INSTAGRAM = {"reach": "reach", "follower_count": "followers_gained", "views": "views",
             "total_interactions": "engagements", "likes": "likes", "comments": "comments", "shares": "shares",
             "saves": "instagram.saves", "profile_views": "profile_views", "website_clicks": "link_clicks"}
YOUTUBE = {"views": "views", "likes": "likes", "comments": "comments", "shares": "shares",
           "subscribersGained": "followers_gained", "subscribersLost": "followers_lost"}
# (days before today, Berlin hour, minute, likes, reposts, replies, quotes); 00:30 Berlin is 23:30 UTC the day before.
POSTS = [(3, 0, 30, 5, 1, 2, 1), (3, 18, 0, 7, 2, 0, 0), (5, 9, 0, 11, 3, 1, 2), (12, 9, 0, 40, 9, 9, 9)]
PER_POST = ("posts", "post_likes", "post_reposts", "post_replies", "post_quotes")


def val(k: int, day: date) -> int:
    """A different number for every metric and day, so a value stored on the wrong day cannot pass."""
    return 1000 * k + day.toordinal() % 997


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def invoke(cli: Any, *args: str) -> Any:
    return cli.invoke(app, list(args), env={"COLUMNS": "160", "NO_COLOR": "1"})


@pytest.fixture
def new_server() -> Iterator[Callable[[], HTTPServer]]:
    """One HTTP server per API host, as in real life; stopped after the test."""
    started: list[HTTPServer] = []

    def new() -> HTTPServer:
        server = HTTPServer()
        server.start()
        started.append(server)
        return server

    yield new
    # requests no handler matched and errors in a fake's handler, as conftest's httpserver checks them
    unmatched = [a for server in started for a in (*server.assertions, *server.handler_errors)]
    for server in started:
        server.clear()
        server.stop()
    assert not unmatched, unmatched[0]


def seed(new_server: Callable[[], HTTPServer], today: date) -> tuple[FakeLinkedIn, dict[str, dict[str, Any]]]:
    """Start and seed the fakes; return the LinkedIn one (its own seeding) and the accounts pointing at them."""
    graph = FakeGraph(new_server(), today=datetime.now(PACIFIC).date())
    span = days(today - timedelta(days=29), today - timedelta(days=1))
    graph.add_page(FakePage(PAGE, series={m: {d: val(k, d) for d in span} for k, m in enumerate(FACEBOOK, 1)}))
    graph.add_ig_user(FakeIgUser(IG_USER, series={m: {d: val(k, d) for d in span} for k, m in enumerate(INSTAGRAM, 1)}))
    linkedin = FakeLinkedIn(new_server(), token=SECRETS["LI_TOKEN"], today=today)
    linkedin.seed_days(today - timedelta(days=40), today - timedelta(days=1))
    youtube = FakeYouTube(new_server(), last_complete=today - timedelta(days=3))  # Analytics lags three days
    for d in days(today - timedelta(days=29), today):
        youtube.seed(d, **{m: val(k, d) for k, m in enumerate(YOUTUBE, 1)})
    x, bluesky = FakeX(new_server()), FakeBluesky(new_server())
    mastodon = FakeMastodon(new_server(), valid_token=SECRETS["MASTO_TOKEN"])
    for ago, hour, minute, likes, reposts, replies, quotes in POSTS:
        d = today - timedelta(days=ago)
        at = datetime(d.year, d.month, d.day, hour, minute, tzinfo=BERLIN)
        x.add_post(at.astimezone(ZoneInfo("UTC")), likes=likes, reposts=reposts, replies=replies, quotes=quotes,
                   impressions=100 * likes)
        mastodon.post(at, likes=likes, boosts=reposts, replies=replies, quotes=quotes)
        bluesky.post(at, likes=likes, reposts=reposts, replies=replies, quotes=quotes)
    url = {name: fake.server.url_for("/") for name, fake in
           {"graph": graph, "linkedin": linkedin, "youtube": youtube, "x": x, "mastodon": mastodon,
            "bluesky": bluesky}.items()}
    accounts = {
        "fb": {"plugin": "facebook", "page_id": PAGE, "token": "${FB_TOKEN}", "base_url": url["graph"]},
        "ig": {"plugin": "instagram", "user_id": IG_USER, "token": "${IG_TOKEN}", "base_url": url["graph"]},
        "li": {"plugin": "linkedin", "organization_id": linkedin.organization_id, "token": "${LI_TOKEN}",
               "base_url": url["linkedin"]},
        "tw": {"plugin": "x", "username": x.username, "token": "${X_TOKEN}", "base_url": url["x"],
               "post_metrics": True},
        "yt": {"plugin": "youtube", "channel_id": CHANNEL_ID, "api_key": "${YT_KEY}", "token": "${YT_TOKEN}",
               "base_url": url["youtube"], "analytics_base_url": url["youtube"]},
        "masto": {"plugin": "mastodon", "instance": url["mastodon"], "acct": mastodon.acct, "token": "${MASTO_TOKEN}"},
        "sky": {"plugin": "bluesky", "handle": HANDLE, "base_url": url["bluesky"]},
    }
    return linkedin, accounts


def write_config(path: Path, database: str, accounts: dict[str, dict[str, Any]]) -> Path:
    lines = [f"database = {json.dumps(database)}", 'timezone = "Europe/Berlin"']
    for name, options in accounts.items():
        lines += [f"[accounts.{name}]"] + [f"{k} = {json.dumps(v)}" for k, v in options.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def expected_days(linkedin: FakeLinkedIn, today: date) -> dict[tuple[str, str, date], float]:
    """What the store must hold for the checked day D (three days ago) and for today's snapshots."""
    d = today - timedelta(days=3)
    want: dict[tuple[str, str, date], float] = {}
    want.update({("fb", metric, d): val(k, d) for k, metric in enumerate(FACEBOOK.values(), 1)})
    want.update({("ig", metric, d): val(k, d) for k, metric in enumerate(INSTAGRAM.values(), 1)})
    want.update({("ig", "followers", today): 2480, ("ig", "following", today): 311, ("ig", "posts_total", today): 412})
    organic, paid = linkedin.follower_gains[d]
    desktop, mobile = linkedin.page_views[d]
    s = linkedin.shares[d]
    want.update({("li", m, d): v for m, v in {
        "followers_gained": organic + paid, "linkedin.organic_followers_gained": organic,
        "linkedin.paid_followers_gained": paid, "profile_views": desktop + mobile,
        "impressions": s["impressionCount"], "reach": s["uniqueImpressionsCount"], "likes": s["likeCount"],
        "comments": s["commentCount"], "shares": s["shareCount"], "linkedin.clicks": s["clickCount"],
        "linkedin.engagement_rate": s["engagement"]}.items()})
    want[("li", "followers", today)] = 1873
    want.update({("yt", metric, d): val(k, d) for k, metric in enumerate(YOUTUBE.values(), 1)})
    want.update(
        {
            ("yt", "followers", today): 2340,
            ("yt", "posts_total", today): 87,  # 2,345 rounded as YouTube shows it
            ("yt", "youtube.views_total", today): 184223,
        }
    )
    on_d = [2, 5 + 7, 1 + 2, 2 + 0, 1 + 0]  # the two posts of D, the 00:30 one included
    for account, snapshot in {"tw": (1843, 212, 967), "masto": (418, 97, 356), "sky": (612, 140, 233)}.items():
        want.update(
            {(account, m, today): v for m, v in zip(("followers", "following", "posts_total"), snapshot, strict=True)}
        )
        want.update({(account, m, d): v for m, v in zip(PER_POST, on_d, strict=True)})
        want[(account, "posts", d - timedelta(days=1))] = 0  # the 00:30 post is not on the UTC day
    want[("tw", "x.listed_count", today)] = 14
    want[("tw", "x.post_impressions", d)] = 100 * (5 + 7)
    return want


def test_sync_of_seven_platforms_stores_each_metric_on_its_day_and_report_shows_them_per_platform(
    cli: Any, new_server: Callable[[], HTTPServer], tmp_path: Path, db_url: str, samples: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, secret in SECRETS.items():
        monkeypatch.setenv(name, secret)
    today = account_today(BERLIN)
    li, accounts = seed(new_server, today)
    config = str(write_config(tmp_path / "config.toml", db_url, accounts))

    synced = invoke(cli, "sync", "--config", config)
    reported = invoke(cli, "report", "--config", config, "--format", "json", "--until", today.isoformat(),
                      "--days", str(PERIOD))
    if account_today(BERLIN) != today:
        pytest.skip("the run crossed midnight in Europe/Berlin; the seeded days no longer match the sync's today")

    assert synced.exit_code == 0, synced.output
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            runs = dict(conn.execute(sa.text("SELECT account, status FROM account_run")).all())
            unavailable = conn.execute(sa.text("SELECT account, metric, reason FROM metric_status")).all()
    finally:
        engine.dispose()
    assert runs == dict.fromkeys(accounts, "ok")
    assert unavailable == []

    stored = {(r["account"], r["metric"], date.fromisoformat(str(r["day"]))): r["value"] for r in samples(db_url)}
    want = expected_days(li, today)
    assert {k: stored.get(k) for k in want} == want
    assert {(a, m) for a, m, _ in stored} == {(a, m) for a, m, _ in want}  # no metric stored that is not checked
    assert not any(day > today for _, _, day in stored)

    assert reported.exit_code == 0, reported.output
    report = json.loads(reported.stdout)
    assert report["period"] == {
        "start": (today - timedelta(days=PERIOD - 1)).isoformat(), "end": today.isoformat(), "days": PERIOD,
        "previous_start": (today - timedelta(days=2 * PERIOD - 1)).isoformat(),
        "previous_end": (today - timedelta(days=PERIOD)).isoformat(), "days_without_data_yet": 0,
    }
    rows = {r["platform"]: r for r in report["platforms"]}
    assert sorted(rows) == ["bluesky", "facebook", "instagram", "linkedin", "mastodon", "x", "youtube"]
    period = days(today - timedelta(days=PERIOD - 1), today)
    seeded = [d for d in period if d < today]  # Graph and LinkedIn have no numbers for today yet
    li_likes = sum(li.shares[d]["likeCount"] for d in seeded)
    post_likes, post_all = 5 + 7 + 11, (5 + 1 + 2 + 1) + (7 + 2) + (11 + 3 + 1 + 2)  # the posts of 3 and 5 days ago
    yt_days = [d for d in period if d <= today - timedelta(days=3)]

    def fb(name: str) -> list[int]:
        return [val(list(FACEBOOK).index(name) + 1, d) for d in seeded]

    def ig(name: str) -> list[int]:
        return [val(list(INSTAGRAM).index(name) + 1, d) for d in seeded]

    def yt(name: str) -> int:
        return sum(val(list(YOUTUBE).index(name) + 1, d) for d in yt_days)

    vanity = {  # platform: (followers, engagement, likes, reach_daily_avg)
        "facebook": (fb("page_follows")[-1], sum(fb("page_post_engagements")), None,
                     round(mean(fb("page_total_media_view_unique")))),
        "instagram": (2480, sum(ig("total_interactions")), sum(ig("likes")), round(mean(ig("reach")))),
        "linkedin": (1873, li_likes + sum(li.shares[d]["commentCount"] + li.shares[d]["shareCount"] for d in seeded),
                     li_likes, round(mean(li.shares[d]["uniqueImpressionsCount"] for d in seeded))),
        "x": (1843, post_all, post_likes, None),
        "youtube": (2340, yt("likes") + yt("comments") + yt("shares"), yt("likes"), None),
        "mastodon": (418, post_all, post_likes, None),
        "bluesky": (612, post_all, post_likes, None),
    }
    got = {p: (r["followers"], r["engagement"], r["likes"], r["reach_daily_avg"]) for p, r in rows.items()}
    assert got == vanity
    assert {p: (r["tracked"], r["verdict"], r["conversions"]) for p, r in rows.items()} == dict.fromkeys(
        rows, (False, "not_tracked", None))
