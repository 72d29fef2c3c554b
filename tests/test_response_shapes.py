"""An answer a plugin cannot read fails the account; it is never read as "no data" (issue 17, item 6).

Before, Graph answering `{"data": "not a list"}` gave status ok, 0 rows, exit 0, and moved the cursor to
today: the days in between were never fetched again. For every built-in HTTP plugin, against its fake:
the conformance kit's reshaped answers (every one ends in a domain error naming the service, or changes
nothing), a wrongly shaped 200 through the real `tracker sync` (exit 1, the cursor where it was, nothing
stored), and a body that is not JSON (named as such, with the service, never the decoder's own text).

The syncs run on the wall clock (the CLI cannot pin time), so the fakes are seeded around today.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.fakes.bluesky import HANDLE, FakeBluesky
from tests.fakes.ga4 import FakeGa4, write_key_file
from tests.fakes.graph import FakeGraph, FakeIgUser, FakePage
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.matomo import FakeMatomo
from tests.fakes.plausible import FakePlausible
from tests.fakes.x import FakeX
from tests.fakes.youtube import CHANNEL_ID, FakeYouTube
from tracker.cli.main import app
from tracker.errors import UnexpectedResponse
from tracker.registry import discover
from tracker.store.db import open_engine
from tracker.testing import check_unreadable_answers, raises_domain_error, window
from tracker.windows import account_today

PACIFIC, UTC = ZoneInfo("America/Los_Angeles"), ZoneInfo("UTC")
PAGE, IG_USER = "1234567890", "17841405822304914"
SECRETS = {"SHAPE_TOKEN": "EAAB-shape-test-zq8w7v6u", "LI_TOKEN": "li-test-token-5f8a", "X_TOKEN": "x-test-bearer-91c2",
           "YT_KEY": "yt-key-abc", "YT_TOKEN": "yt-oauth-xyz", "MATOMO_TOKEN": "0123456789abcdef0123456789abcdef",
           "PLAUSIBLE_KEY": "pk-5d1c9e7a3b"}
Options = dict[str, Any]


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), UTC)


# --- one fake per plugin, seeded around `today` (UTC: the configs below use it) -----------------------------


def graph_page(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeGraph(server, token=SECRETS["SHAPE_TOKEN"], today=datetime.now(PACIFIC).date())
    span = days(today - timedelta(days=30), today)
    fake.add_page(FakePage(PAGE, series={"page_follows": {d: 1400 + i for i, d in enumerate(span)},
                                         "page_media_view": {d: 90 + i for i, d in enumerate(span)}}))
    return {"page_id": PAGE, "token": "${SHAPE_TOKEN}", "base_url": server.url_for("/")}


def graph_ig(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeGraph(server, token=SECRETS["SHAPE_TOKEN"], today=datetime.now(PACIFIC).date())
    span = days(today - timedelta(days=30), today)
    fake.add_ig_user(FakeIgUser(IG_USER, series={"reach": {d: 300 + i for i, d in enumerate(span)},
                                                 "likes": {d: 7 + i for i, d in enumerate(span)}}))
    return {"user_id": IG_USER, "token": "${SHAPE_TOKEN}", "base_url": server.url_for("/")}


def ga4(server: HTTPServer, tmp: Path, today: date) -> Options:
    key_file, public_key = write_key_file(tmp, server.url_for("/token"))
    fake = FakeGa4(server, public_key)
    for d in days(today - timedelta(days=10), today):
        fake.add_sessions(d, "l.facebook.com", 12, 10, revenue=20.0)
        fake.add_events(d, "l.facebook.com", "purchase", 1)
    return {"property_id": fake.property_id, "credentials_file": str(key_file), "base_url": server.url_for("/")}


def matomo(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeMatomo(server, token=SECRETS["MATOMO_TOKEN"])
    for d in days(today - timedelta(days=10), today):
        fake.add(d, "social", "Facebook", 12, 11, goals={"1": (2, 0), "ecommerceOrder": (1, 79.8)})
        fake.add(d, "direct", "", 20, 18)
    return {"base_url": server.url_for("/"), "site_id": fake.site_id, "token": "${MATOMO_TOKEN}"}


def plausible(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakePlausible(server, key=SECRETS["PLAUSIBLE_KEY"])
    for d in days(today - timedelta(days=10), today):
        fake.add_visits(d, "Facebook", 10, 8)
        fake.add_conversions(d, "Facebook", "Purchase", 1, revenue=39.5)
    return {"site_id": fake.site_id, "token": "${PLAUSIBLE_KEY}", "base_url": server.url_for("/")}


def linkedin(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeLinkedIn(server, token=SECRETS["LI_TOKEN"], today=today)
    fake.seed_days(today - timedelta(days=40), today - timedelta(days=1))
    return {"organization_id": fake.organization_id, "token": "${LI_TOKEN}", "base_url": server.url_for("/")}


def mastodon(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeMastodon(server)
    for ago, likes in ((1, 5), (3, 7), (9, 2)):
        fake.post(at(today - timedelta(days=ago), 9), likes=likes, boosts=1, replies=2, quotes=0)
    return {"instance": server.url_for("/").rstrip("/"), "acct": fake.acct}


def bluesky(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeBluesky(server)
    for ago, likes in ((1, 5), (3, 7), (9, 2)):
        fake.post(at(today - timedelta(days=ago), 9), likes=likes, reposts=1, replies=2, quotes=0)
    return {"handle": HANDLE, "base_url": server.url_for("/")}


def x(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeX(server)
    for ago, likes in ((1, 5), (3, 7), (9, 2)):
        fake.add_post(at(today - timedelta(days=ago), 9), likes=likes, reposts=1, replies=2, quotes=0,
                      impressions=100)
    return {"username": fake.username, "token": "${X_TOKEN}", "base_url": server.url_for("/"), "post_metrics": True}


def youtube(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeYouTube(server, last_complete=today - timedelta(days=2))
    for d in days(today - timedelta(days=30), today):
        fake.seed(d, views=100 + d.day, likes=d.day % 7, subscribersGained=2)
    return {"channel_id": CHANNEL_ID, "api_key": "${YT_KEY}", "token": "${YT_TOKEN}",
            "base_url": server.url_for("/"), "analytics_base_url": server.url_for("/")}


@dataclass(frozen=True)
class Case:
    """A built-in plugin, its seeded fake, and the endpoint whose answer a test breaks."""

    plugin: str
    start: Callable[[HTTPServer, Path, date], Options]
    service: str  # a regex: what every unreadable-answer message names
    path: re.Pattern[str]  # the endpoint that carries the data
    wrong: Callable[[date], Any]  # a 200 body in a shape the plugin cannot read
    says: str  # what the message says was wrong

    def __str__(self) -> str:
        return self.plugin


INSIGHTS = re.compile(r"^/v\d+\.\d+/\d+/insights$")
CASES = [
    Case("facebook", graph_page, "Graph", INSIGHTS, lambda t: {"data": "not a list"},
         'expected a list under "data", got text'),
    Case("instagram", graph_ig, "Graph", INSIGHTS, lambda t: {"data": "not a list"},
         'expected a list under "data", got text'),
    Case("ga4", ga4, "GA4|Google", re.compile(r"^/v1beta/properties/\d+:runReport$"),
         lambda t: {"rows": "not a list", "rowCount": 3},
         'expected a list under "rows", got text'),
    Case("matomo", matomo, "Matomo", re.compile(r"^/index\.php$"), lambda t: {t.isoformat(): "not a list"},
         'expected objects under "{today}", got text'),
    Case("plausible", plausible, "Plausible", re.compile(r"^/api/v2/query$"),
         lambda t: {"results": "not a list", "meta": {}}, 'expected a list under "results", got text'),
    Case("linkedin", linkedin, "LinkedIn", re.compile(r"^/rest/organizationalEntityFollowerStatistics$"),
         lambda t: {"elements": "not a list", "paging": {"count": 10, "start": 0, "links": []}},
         'expected a list under "elements", got text'),
    Case("mastodon", mastodon, "Mastodon", re.compile(r"^/api/v1/accounts/[^/]+/statuses$"),
         lambda t: {"statuses": []}, "expected a list of posts as the answer, got an object"),
    Case("bluesky", bluesky, "Bluesky", re.compile(r"^/xrpc/app\.bsky\.feed\.getAuthorFeed$"),
         lambda t: {"feed": "not a list"}, 'expected a list under "feed", got text'),
    Case("x", x, "X", re.compile(r"^/2/users/\d+/tweets$"), lambda t: {"data": "not a list", "meta": {}},
         'expected a list under "data", got text'),
    Case("youtube", youtube, "YouTube", re.compile(r"^/v2/reports$"),
         lambda t: {"columnHeaders": [{"name": "day"}], "rows": {"day": t.isoformat()}},
         'expected a list under "rows", got an object'),
]


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def write_config(path: Path, database: str, name: str, plugin: str, options: Options) -> Path:
    lines = [f"database = {json.dumps(database)}", 'timezone = "UTC"', f"[accounts.{name}]",
             f"plugin = {json.dumps(plugin)}"] + [f"{k} = {json.dumps(v)}" for k, v in options.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sync(cli: Any, config: Path) -> Any:
    return cli.invoke(app, ["sync", "--config", str(config)], env={"COLUMNS": "160", "NO_COLOR": "1"})


def query(url: str, sql: str, **params: Any) -> list[Any]:
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


# --- the conformance kit, strictest form ------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_reshaped_answer_fails_with_one_line_naming_the_service_or_changes_nothing(
    case: Case, httpserver: HTTPServer, tmp_path: Path
) -> None:
    today = account_today(UTC)
    options = case.start(httpserver, tmp_path, today)
    plugin = discover().get(case.plugin)
    results = check_unreadable_answers(plugin, options, since=today - timedelta(days=6), until=today, today=today,
                                       env=SECRETS)
    failures = [r for r in results if r.error is not None]
    assert failures
    for result in failures:
        assert isinstance(result.error, UnexpectedResponse), f"{result.change}: {result.error!r}"
        message = str(result.error)
        assert re.search(case.service, message) and "\n" not in message, f"{result.change}: {message}"


# --- a wrongly shaped 200 through the real sync -----------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_wrongly_shaped_200_fails_the_account_with_exit_1_and_leaves_the_cursor_where_it_was(
    case: Case, cli: Any, httpserver: HTTPServer, tmp_path: Path, db_url: str
) -> None:
    today = account_today(UTC)
    options = case.start(httpserver, tmp_path, today)
    config = write_config(tmp_path / "config.toml", db_url, "acct", case.plugin, options)
    first = sync(cli, config)
    assert first.exit_code == 0, first.output
    cursor = today - timedelta(days=5)  # as if the last good sync was five days ago
    query(db_url, "UPDATE account SET last_good_day = :day WHERE name = 'acct'", day=cursor)
    before = query(db_url, "SELECT platform, metric, day, value FROM sample ORDER BY platform, metric, day")

    httpserver.expect_oneshot_request(case.path).respond_with_json(case.wrong(today))
    broken = sync(cli, config)

    if account_today(UTC) != today:
        pytest.skip("the run crossed midnight UTC; the cursor the sync plans from moved with it")
    assert broken.exit_code == 1, broken.output
    assert "FAILED" in broken.output
    ((status, error),) = query(db_url, "SELECT status, error FROM account_run ORDER BY id DESC LIMIT 1")
    assert status == "failed"
    assert re.search(case.service, error), error
    assert case.says.format(today=today.isoformat()) in error, error
    assert query(db_url, "SELECT last_good_day FROM account WHERE name = 'acct'") == [(cursor.isoformat(),)]
    assert query(db_url, "SELECT platform, metric, day, value FROM sample ORDER BY platform, metric, day") == before


def test_the_graph_answer_from_the_issue_is_named_with_its_endpoint_path_and_no_token(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    today = account_today(UTC)
    options = graph_page(httpserver, tmp_path, today)
    httpserver.expect_oneshot_request(INSIGHTS).respond_with_json({"data": "not a list"})
    error = raises_domain_error(discover().get("facebook"), options, window(today - timedelta(days=3), today),
                                env=SECRETS)
    assert isinstance(error, UnexpectedResponse)
    assert str(error) == (f"Facebook page {PAGE}: Graph answered /v25.0/{PAGE}/insights in a shape tracker cannot "
                          'read: expected a list under "data", got text')


# --- a body that is not JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_body_that_is_not_json_is_named_with_the_service_not_the_decoders_text(
    case: Case, httpserver: HTTPServer, tmp_path: Path
) -> None:
    today = account_today(UTC)
    options = case.start(httpserver, tmp_path, today)
    httpserver.expect_oneshot_request(case.path).respond_with_data(
        "<html><body>Service Unavailable</body></html>", status=200, content_type="text/html; charset=utf-8"
    )
    error = raises_domain_error(discover().get(case.plugin), options, window(today - timedelta(days=6), today, today),
                                env=SECRETS)
    message = str(error)
    assert isinstance(error, UnexpectedResponse), message
    assert re.search(case.service, message), message
    assert "with something that is not JSON (HTTP 200, text/html)" in message
    assert "Expecting value" not in message and "line 1 column 1" not in message


def test_an_empty_200_body_is_called_empty(httpserver: HTTPServer, tmp_path: Path) -> None:
    today = account_today(UTC)
    options = plausible(httpserver, tmp_path, today)
    httpserver.expect_oneshot_request("/api/v2/query").respond_with_data("", status=200, content_type="text/plain")
    error = raises_domain_error(discover().get("plausible"), options, window(today, today), env=SECRETS)
    assert str(error) == "Plausible answered /api/v2/query with an empty body (HTTP 200, text/plain)"

