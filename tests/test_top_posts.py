"""Top posts: each day's best and worst posts of X, Mastodon and Bluesky accounts, stored through the real
sync against the fakes, and the period's top 3 per platform in `tracker report --posts` and the HTML report."""

from __future__ import annotations

import csv
import inspect
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.conftest import noon
from tests.fakes.bluesky import DID, HANDLE, OTHER_DID, FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.x import FakeX
from tracker import sync
from tracker.errors import PluginError
from tracker.plugin import Plugin, PostStat
from tracker.report import posts as report_posts
from tracker.store import forget, rename
from tracker.store import posts as store_posts
from tracker.store.db import open_engine
from tracker.testing import fetch_once, window

from .test_cli import invoke

TODAY = date(2026, 11, 20)
TOKEN = "x-test-bearer-91c2"
PLATFORMS = ("x", "mastodon", "bluesky")
ACCOUNT = {"x": "shop_x", "mastodon": "shop_masto", "bluesky": "shop_sky"}
# A day of eight posts as (likes, reposts, replies); interactions 6, 1, 14, 2, 5, 10, 3, 4.
EIGHT = [(5, 1, 0), (0, 0, 1), (9, 2, 3), (2, 0, 0), (4, 0, 1), (7, 3, 0), (3, 0, 0), (1, 0, 3)]
KEPT_OF_EIGHT = {0, 1, 2, 3, 5, 6}  # best 14, 10, 6 and worst 1, 2, 3; 5 and 4 interactions are dropped
# The sync hands a fetch's posts to the store in tracker/sync.py (`posts=fetched.posts` in its AccountResult), a
# file this change could not edit. Until that line is there these tests are expected to fail, strictly: the
# day it lands they run as plain tests.
through_sync = pytest.mark.xfail(
    "fetched.posts" not in inspect.getsource(sync), strict=True,
    reason="tracker/sync.py does not pass posts=fetched.posts to writes.AccountResult yet",
)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class Seeded:
    """A post put on a fake, as the store should hold it."""

    post_id: str
    url: str
    day: date
    likes: int | None
    reposts: int | None
    replies: int | None
    raw: Any  # the fake's own record, to change its counts

    def stored(self) -> tuple[Any, ...]:
        return (self.post_id, self.url, self.day, self.likes, self.reposts, self.replies)


class Source:
    """One platform's fake and how to publish on it; `texts` and `others` must never reach the database."""

    platform: str
    texts: tuple[str, ...]
    others: tuple[str, ...]

    def account(self) -> dict[str, Any]:
        raise NotImplementedError

    def add(self, when: datetime, likes: int, reposts: int, replies: int) -> Seeded:
        raise NotImplementedError

    def recount(self, post: Seeded, likes: int) -> None:
        raise NotImplementedError

    def someone_elses(self, when: datetime) -> None:
        """A post by someone else in the account's timeline (a repost or boost)."""
        raise NotImplementedError


class XSource(Source):
    platform, texts, others = "x", ("Neue Dinkelbr\u00f6tchen ab Samstag!",), ("@zeitung",)

    def __init__(self, server: HTTPServer) -> None:
        self.fake, self.server = FakeX(server, token=TOKEN), server

    def account(self) -> dict[str, Any]:
        return {"plugin": "x", "username": "baecker_lindner", "token": "${TEST_TOKEN}",
                "base_url": self.server.url_for("/"), "post_metrics": True}

    def add(self, when: datetime, likes: int, reposts: int, replies: int) -> Seeded:
        post = self.fake.add_post(when, likes=likes, reposts=reposts, replies=replies, quotes=0, impressions=0)
        url = f"https://x.com/baecker_lindner/status/{post.id}"
        return Seeded(post.id, url, when.date(), likes, reposts, replies, post)

    def recount(self, post: Seeded, likes: int) -> None:
        post.raw.likes = post.likes = likes

    def someone_elses(self, when: datetime) -> None:
        self.fake.add_post(when, likes=300, reposts=40, kind="retweet")


class MastodonSource(Source):
    platform, texts, others = "mastodon", ("Frische Br\u00f6tchen",), ("other@example.net",)

    def __init__(self, server: HTTPServer) -> None:
        self.fake, self.server = FakeMastodon(server), server

    def account(self) -> dict[str, Any]:
        return {"plugin": "mastodon", "instance": self.server.url_for("/"), "acct": "baeckerei"}

    def add(self, when: datetime, likes: int, reposts: int, replies: int) -> Seeded:
        status = self.fake.post(when, likes=likes, boosts=reposts, replies=replies)
        return Seeded(status["id"], status["url"], when.date(), likes, reposts, replies, status)

    def recount(self, post: Seeded, likes: int) -> None:
        post.raw["favourites_count"] = post.likes = likes

    def someone_elses(self, when: datetime) -> None:
        self.fake.boost(when, likes=300)


class BlueskySource(Source):
    platform, texts = "bluesky", ("Neue Dinkelbr\u00f6tchen ab Samstag!",)
    others = ("wochenmarkt-ost", OTHER_DID)

    def __init__(self, server: HTTPServer) -> None:
        self.fake, self.server = FakeBluesky(server), server

    def account(self) -> dict[str, Any]:
        return {"plugin": "bluesky", "handle": HANDLE, "base_url": self.server.url_for("/")}

    def add(self, when: datetime, likes: int, reposts: int, replies: int) -> Seeded:
        post = self.fake.post(when, likes=likes, reposts=reposts, replies=replies)
        rkey = post["uri"].rsplit("/", 1)[1]
        return Seeded(post["uri"], f"https://bsky.app/profile/{DID}/post/{rkey}", when.date(), likes, reposts, replies,
                      post)

    def recount(self, post: Seeded, likes: int) -> None:
        post.raw["likeCount"] = post.likes = likes

    def someone_elses(self, when: datetime) -> None:
        self.fake.repost(when, likes=300)


SOURCES = {"x": XSource, "mastodon": MastodonSource, "bluesky": BlueskySource}


def interactions(post: Seeded) -> int:
    return (post.likes or 0) + (post.reposts or 0) + (post.replies or 0)


@pytest.fixture(autouse=True)
def x_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)


@pytest.fixture(params=PLATFORMS)
def source(request: pytest.FixtureRequest, httpserver: HTTPServer) -> Source:
    return SOURCES[request.param](httpserver)


@pytest.fixture
def all_sources(httpserver: HTTPServer) -> dict[str, Source]:
    """The three fakes on one server: their paths (/2/, /api/v1/, /xrpc/) do not overlap."""
    return {platform: SOURCES[platform](httpserver) for platform in PLATFORMS}


def stored_posts(db_url: str, account: str | None = None) -> dict[str, tuple[Any, ...]]:
    """post id -> (post id, url, day, likes, reposts, replies) as the database holds them."""
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            query = "SELECT post_id, url, day, likes, reposts, replies FROM top_post"
            rows = conn.execute(sa.text(query + (" WHERE account = :a" if account else "")), {"a": account}).all()
    finally:
        engine.dispose()
    return {r[0]: (r[0], r[1], date.fromisoformat(str(r[2])), r[3], r[4], r[5]) for r in rows}


def sync_one(source: Source, make_config, run_sync) -> Any:
    cfg = make_config({ACCOUNT[source.platform]: source.account()})
    result = run_sync(cfg, now=noon(TODAY))
    assert result.ok, result.outcomes
    return cfg


# --- what the sync stores -------------------------------------------------------------------------


@through_sync
def test_sync_stores_each_posts_id_link_day_and_counts_as_read(source, make_config, run_sync):
    seeded = [
        source.add(at(TODAY - timedelta(days=3), 9), 12, 3, 1),
        source.add(at(TODAY - timedelta(days=3), 17), 4, 0, 2),
        source.add(at(TODAY - timedelta(days=1), 8), 30, 6, 5),
    ]
    cfg = sync_one(source, make_config, run_sync)
    assert stored_posts(cfg.database) == {p.post_id: p.stored() for p in seeded}


@through_sync
def test_a_day_keeps_only_its_best_and_worst_posts(source, make_config, run_sync):
    day = TODAY - timedelta(days=2)
    seeded = [source.add(at(day, 8 + n), *counts) for n, counts in enumerate(EIGHT)]
    cfg = sync_one(source, make_config, run_sync)
    assert store_posts.KEEP == 3
    assert set(stored_posts(cfg.database)) == {seeded[n].post_id for n in KEPT_OF_EIGHT}


@through_sync
def test_a_resync_stores_counts_as_last_read_and_ranks_the_day_again(source, make_config, run_sync):
    day = TODAY - timedelta(days=2)
    seeded = [source.add(at(day, 8 + n), *counts) for n, counts in enumerate(EIGHT)]
    cfg = sync_one(source, make_config, run_sync)
    source.recount(seeded[4], 40)  # 5 interactions -> 41: now the day's best
    source.recount(seeded[2], 12)  # 14 -> 17, still among the best

    assert run_sync(cfg, now=noon(TODAY + timedelta(days=1))).ok

    found = stored_posts(cfg.database)
    assert set(found) == {seeded[n].post_id for n in (1, 2, 3, 4, 5, 6)}  # 6 interactions fell out of the best
    assert found[seeded[4].post_id] == seeded[4].stored()
    assert found[seeded[2].post_id][3] == 12


@through_sync
def test_no_post_text_and_nothing_about_other_people_reach_the_database(source, make_config, run_sync, tmp_path):
    mine = source.add(at(TODAY - timedelta(days=2), 9), 7, 1, 1)
    source.someone_elses(at(TODAY - timedelta(days=2), 12))
    cfg = sync_one(source, make_config, run_sync)
    files = [p for p in (tmp_path / "tracker.db", tmp_path / "tracker.db-wal") if p.exists()]
    data = b"".join(p.read_bytes() for p in files)
    assert mine.post_id.encode() in data  # the scan reads what the sync wrote
    for text in (*source.texts, *source.others):
        assert text.encode() not in data, text
    assert set(stored_posts(cfg.database)) == {mine.post_id}


@through_sync
def test_a_count_the_platform_did_not_give_is_stored_missing_not_zero(httpserver, make_config, run_sync):
    source = XSource(httpserver)
    post = source.fake.add_post(at(TODAY - timedelta(days=1), 9), likes=None, reposts=2, replies=1)
    cfg = sync_one(source, make_config, run_sync)
    assert stored_posts(cfg.database)[post.id][3:] == (None, 2, 1)


def test_x_stores_no_post_while_post_metrics_is_off(httpserver, make_config, run_sync):
    source = XSource(httpserver)
    source.add(at(TODAY - timedelta(days=1), 9), 5, 0, 0)
    cfg = make_config({"shop_x": {**source.account(), "post_metrics": False}})
    assert run_sync(cfg, now=noon(TODAY)).ok
    assert stored_posts(cfg.database) == {}


# --- the core refuses what it could misread ---------------------------------------------------------


def one_post_plugin(post: PostStat) -> Plugin:
    return Plugin(name="poster", platforms=("x",), fetch=lambda opts, win, http, state: iter([[post]]))


@pytest.mark.parametrize(
    ("post_id", "url"),
    [("Neue Dinkelbr\u00f6tchen ab Samstag!", ""), ("1", "Neue Dinkelbr\u00f6tchen ab Samstag!")],
    ids=["text as the id", "text as the link"],
)
def test_a_plugin_that_passes_text_for_an_id_or_a_link_fails_naming_the_plugin(post_id, url):
    plugin = one_post_plugin(PostStat("x", post_id, url, TODAY, 1, 0, 0))
    with pytest.raises(PluginError, match="plugin poster") as raised:
        fetch_once(plugin, {}, window(TODAY - timedelta(days=3), TODAY))
    assert "Dinkel" not in str(raised.value)


def test_a_post_with_a_negative_count_is_dropped_with_a_notice():
    plugin = one_post_plugin(PostStat("x", "1", "https://x.com/i/web/status/1", TODAY, -4, 0, 0))
    fetched = fetch_once(plugin, {}, window(TODAY - timedelta(days=3), TODAY))
    assert fetched.posts == []
    assert any("post 1 likes = -4" in n for n in fetched.notices)


# --- forget and rename ----------------------------------------------------------------------------


@through_sync
def test_forget_deletes_the_accounts_top_posts_and_rename_moves_them(httpserver, make_config, run_sync):
    source = MastodonSource(httpserver)
    source.add(at(TODAY - timedelta(days=1), 9), 3, 0, 0)
    cfg = sync_one(source, make_config, run_sync)
    engine = open_engine(cfg.database)
    try:
        assert rename.rename(engine, "shop_masto", "bakery").top_posts == 1
        assert forget.forget(engine, "bakery").top_posts == 1
    finally:
        engine.dispose()
    assert stored_posts(cfg.database) == {}


# --- the report -----------------------------------------------------------------------------------


@pytest.fixture
def three_platforms(all_sources, make_config, run_sync, tmp_path) -> tuple[Path, dict[str, list[Seeded]]]:
    """Each platform with five posts over the period, synced; returns a config file and each platform's top 3."""
    counts = [(3, 0, 0), (40, 5, 2), (12, 1, 1), (0, 0, 0), (25, 9, 4)]
    top: dict[str, list[Seeded]] = {}
    for platform, source in all_sources.items():
        seeded = [source.add(at(TODAY - timedelta(days=2 + 3 * n), 10), *c) for n, c in enumerate(counts)]
        top[platform] = [seeded[1], seeded[4], seeded[2]]  # 47, 38 and 14 interactions
    cfg = make_config({ACCOUNT[p]: s.account() for p, s in all_sources.items()})
    assert run_sync(cfg, now=noon(TODAY)).ok
    return config_file(tmp_path, cfg.database, all_sources), top


def config_file(tmp_path: Path, database: str, sources: dict[str, Source]) -> Path:
    tables = ""
    for platform, source in sources.items():
        options = "".join(f"{k} = {json.dumps(v)}\n" for k, v in source.account().items())
        tables += f"[accounts.{ACCOUNT[platform]}]\n{options}"
    path = tmp_path / "tracker.toml"
    path.write_text(f'database = "{database.removeprefix("sqlite:///")}"\ntimezone = "UTC"\n{tables}', encoding="utf-8")
    return path


def report(cli, config: Path, *args: str, columns: int = 160) -> Any:
    from tracker.cli.main import app

    argv = ["report", "--config", str(config), "--until", str(TODAY), "--days", "30", *args]
    result = cli.invoke(app, argv, env={"COLUMNS": str(columns), "NO_COLOR": "1", "TEST_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    return result


@through_sync
def test_report_posts_prints_each_platforms_top_3_at_80_columns_without_cutting(cli, three_platforms):
    config, top = three_platforms
    out = report(cli, config, "--posts", columns=80).stdout
    lines = [line.rstrip() for line in out.splitlines()]  # Rich pads a table's title to the table's width
    assert "\u2026" not in out
    assert max(len(line) for line in lines) <= 80
    for platform, best in top.items():
        start = lines.index(f"Top posts: {platform}")
        numbers = [line.split() for line in lines[start + 3 : start + 6]]
        assert numbers == [
            [str(rank), p.day.isoformat(), str(p.likes), str(p.reposts), str(p.replies), str(interactions(p))]
            for rank, p in enumerate(best, 1)
        ]
        assert lines[start + 6 : start + 9] == [f"{rank}  {p.url}" for rank, p in enumerate(best, 1)]


def test_report_without_posts_shows_no_top_posts(cli, three_platforms):
    config, _ = three_platforms
    assert "Top posts" not in report(cli, config).stdout


@through_sync
def test_report_posts_json_puts_the_top_posts_beside_the_platform_rows(cli, three_platforms):
    config, top = three_platforms
    data = json.loads(report(cli, config, "--posts", "--format", "json").stdout)
    plain = json.loads(report(cli, config, "--format", "json").stdout)
    assert {k: v for k, v in data.items() if k not in ("top_posts", "generated_at")} == {
        k: v for k, v in plain.items() if k != "generated_at"
    }
    assert {group["platform"] for group in data["top_posts"]} == set(PLATFORMS)
    for group in data["top_posts"]:
        assert [list(post) for post in group["posts"]] == [report_posts.COLUMNS] * 3
        assert [(p["rank"], p["account"], p["post_id"], p["url"], p["published"], p["likes"], p["reposts"],
                 p["replies"], p["interactions"]) for p in group["posts"]] == [
            (rank, ACCOUNT[group["platform"]], s.post_id, s.url, s.day.isoformat(), s.likes, s.reposts, s.replies,
             interactions(s))
            for rank, s in enumerate(top[group["platform"]], 1)
        ]


@through_sync
def test_report_posts_csv_holds_only_the_post_records_under_the_json_keys(cli, three_platforms):
    config, top = three_platforms
    rows = list(csv.DictReader(io.StringIO(report(cli, config, "--posts", "--format", "csv").stdout)))
    assert list(rows[0]) == report_posts.COLUMNS
    expected = [(platform, str(rank), s.post_id) for platform in PLATFORMS for rank, s in enumerate(top[platform], 1)]
    assert sorted((r["platform"], r["rank"], r["post_id"]) for r in rows) == sorted(expected)


@through_sync
def test_report_posts_leaves_out_the_posts_of_an_account_no_longer_configured(cli, three_platforms, tmp_path):
    config, _ = three_platforms
    text = config.read_text(encoding="utf-8")
    config.write_text(text[: text.index("[accounts.shop_masto]")], encoding="utf-8")  # only shop_x is left
    data = json.loads(report(cli, config, "--posts", "--format", "json").stdout)
    assert [group["platform"] for group in data["top_posts"]] == ["x"]


def test_report_posts_says_so_when_no_post_is_stored(cli, tmp_path):
    config = tmp_path / "tracker.toml"
    config.write_text(f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\n[accounts.bakery]\nplugin = "demo"\n',
                      encoding="utf-8")
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    out = report(cli, config, "--posts").stdout
    assert report_posts.NOTHING.split(".")[0] in " ".join(out.split())


def test_report_posts_refuses_markdown_in_one_line(cli, three_platforms):
    from tracker.cli.main import app

    config, _ = three_platforms
    result = cli.invoke(app, ["report", "--config", str(config), "--posts", "--format", "markdown"],
                        env={"TEST_TOKEN": TOKEN})
    assert result.exit_code != 0
    assert "--posts" in result.output and "Traceback" not in result.output


class PostTables(HTMLParser):
    """Each platform section's top-post rows: cell texts, and the link of the row."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, list[list[str]]] = {}
        self.links: dict[str, list[str]] = {}
        self._section: str | None = None
        self._in_posts = False
        self._in_body = False
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and (a.get("id") or "").startswith("p-"):
            self._section = (a["id"] or "")[2:]
        elif tag == "table":
            self._in_posts = "posts" in (a.get("class") or "").split()
        elif tag == "tbody" and self._in_posts:
            self._in_body = True
        elif tag == "tr" and self._in_body and self._section:
            self.rows.setdefault(self._section, []).append([])
        elif tag in ("td", "th") and self._in_body:
            self._cell = []
        elif tag == "a" and self._in_body and self._section:
            self.links.setdefault(self._section, []).append(a.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._section:
            self.rows[self._section][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._in_posts = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@through_sync
def test_html_report_shows_each_platforms_top_posts_with_links(cli, three_platforms, tmp_path):
    config, top = three_platforms
    out = tmp_path / "report.html"
    report(cli, config, "--format", "html", "--output", str(out))
    page = PostTables(out.read_text(encoding="utf-8"))
    for platform, best in top.items():
        assert page.rows[platform] == [
            [str(rank), p.day.isoformat(), str(p.likes), str(p.reposts), str(p.replies), str(interactions(p)),
             f"open post {rank}"]
            for rank, p in enumerate(best, 1)
        ]
        assert page.links[platform] == [p.url for p in best]
