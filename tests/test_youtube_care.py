"""YouTube customer care: comment threads read from a fake Data API through the real sync, figures by hand.

All times are UTC, the accounts' time zone is UTC and business hours are the default Mon-Fri 09:00-18:00.
The period is Mon 2026-11-16 .. Sun 2026-11-22; the first sync runs on Mon 23 at noon. The channel's
comment threads and the business minutes to its first reply in each:

    A comment  Mon 16 10:00 -> Mon 16 10:45        45  (inside hours)
    B comment  Fri 20 17:00 -> Mon 23 10:00       120  (Fri 17-18, the weekend skipped, Mon 9-10)
    C comment  Sat 21 11:00 -> Sat 21 13:00         0  (weekend: no business time passed)
    D comment  Tue 17 09:00 -> Wed 18 11:00       660  (Tue 9-18 = 540, Wed 9-11 = 120); a long thread of
               123 replies: the channel's FIRST reply is only on the second page of comments.list, while the
               five replies the thread itself carries include the channel's later reply (Thu 19 15:00)
    E the channel's own comment Thu 19 12:00       (not inbound), and a customer's reply to it:
      reply    Thu 19 14:00 -> Thu 19 14:30        30
    F comment  Wed 18 15:00, thread not public     (hidden: not counted)
    G comment  Thu 19 16:00, no reply              (open: 56 h old at the end of the period)
    H comment  Sun 22 10:00, no reply              (not open: 14 h old at the end of the period)
    105 comments on Mon 23 08:00..08:01:44, after the period (they make the thread list two pages long)

Inbound 7 (A, B, C, D, G, H as comments, E's reply as a reply), answered 5: reply rate 71.4 %. Minutes
sorted 0, 30, 45, 120, 660: median 45, 90th percentile (nearest rank, the 5th of 5) 660. Open at the end
of the period (Mon 23 00:00), unanswered for more than 48 hours: G (56 h) and B (55 h; its answer came at
10:00 that Monday) = 2.

The re-sync on Wed 25 sees the channel's reply to G on Tue 24 10:00: Thu 19 16-18 = 120, Fri 20 = 540,
Mon 23 = 540, Tue 24 9-10 = 60: 1260 minutes. Answered 6 of 7; minutes 0, 30, 45, 120, 660, 1260: median
(45 + 120) / 2 = 82.5, 90th percentile the 6th of 6 = 1260. G and B were still unanswered when the
period ended, so both stay open in that period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.conftest import noon
from tests.fakes.youtube import (
    BACKEND_ERROR,
    CHANNEL_ID,
    COMMENTS_DISABLED,
    COMMENTS_FORBIDDEN,
    INSUFFICIENT_SCOPE,
    QUOTA,
    FakeThread,
    FakeYouTube,
)
from tracker import options
from tracker.errors import QuotaExhausted
from tracker.report import compute
from tracker.report.period import Period
from tracker.store.db import open_engine
from tracker.testing import check_plugin, check_unreadable_answers, fetch_once, raises_domain_error, window
from tracker_plugins.youtube import MAX_REPLY_PAGES, THREAD_PAGE, plugin

KEY, TOKEN = "yt-key-abc", "yt-oauth-xyz"
ENV = {"KEY": KEY, "TOKEN": TOKEN}
FIRST_SYNC, RESYNC = date(2026, 11, 23), date(2026, 11, 25)
PERIOD = Period(date(2026, 11, 16), date(2026, 11, 22))
ME = CHANNEL_ID
ERIKA, MAX, LENA = "UCerika0000000000000000A", "UCmax00000000000000000000", "UClena0000000000000000000"


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def fake(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeYouTube:
    monkeypatch.setenv("YT_KEY", KEY)
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    return FakeYouTube(httpserver, api_key=KEY, token=TOKEN, last_complete=FIRST_SYNC - timedelta(days=2))


def account(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"yt": {"plugin": "youtube", "channel_id": CHANNEL_ID, "api_key": "${YT_KEY}", "token": "${TEST_TOKEN}",
                   "base_url": server.url_for("/"), "analytics_base_url": server.url_for("/"), **extra}}


def raw(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"channel_id": CHANNEL_ID, "api_key": "${KEY}", "base_url": server.url_for("/"),
            "analytics_base_url": server.url_for("/"), **extra}


def thread_a(fake: FakeYouTube) -> FakeThread:
    a = fake.add_thread("UgzA0000000000000000000AaABAg", ERIKA, utc(16, 10))
    fake.reply(a, ME, utc(16, 10, 45))
    return a


def thread_b(fake: FakeYouTube) -> FakeThread:
    b = fake.add_thread("UgzB0000000000000000000AaABAg", MAX, utc(20, 17), text="Habt ihr Dinkelbrot?",
                        author_name="Max Mustermann", handle="@maxmustermann")
    fake.reply(b, ME, utc(23, 10))
    return b


def thread_c(fake: FakeYouTube) -> FakeThread:
    c = fake.add_thread("UgzC0000000000000000000AaABAg", LENA, utc(21, 11))
    fake.reply(c, ME, utc(21, 13))
    return c


def thread_d(fake: FakeYouTube) -> FakeThread:
    d = fake.add_thread("UgzD0000000000000000000AaABAg", ERIKA, utc(17, 9))
    fake.reply(d, LENA, utc(17, 10))  # a viewer, not the channel
    fake.reply(d, ME, utc(18, 11))  # the channel's first reply: on the second page of comments.list
    for n in range(120):
        fake.reply(d, MAX, utc(18, 11, 1) + timedelta(minutes=n))
    fake.reply(d, ME, utc(19, 15))  # the channel's later reply: among the five the thread carries
    return d


def thread_e(fake: FakeYouTube) -> FakeThread:
    e = fake.add_thread("UgzE0000000000000000000AaABAg", ME, utc(19, 12), text="Neue Brezeln ab Montag!")
    fake.reply(e, LENA, utc(19, 14))
    fake.reply(e, ME, utc(19, 14, 30))
    return e


def seed(fake: FakeYouTube) -> dict[str, FakeThread]:
    threads = {"A": thread_a(fake), "B": thread_b(fake), "C": thread_c(fake), "D": thread_d(fake),
               "E": thread_e(fake)}
    threads["F"] = fake.add_thread("UgzF0000000000000000000AaABAg", MAX, utc(18, 15), public=False)
    threads["G"] = fake.add_thread("UgzG0000000000000000000AaABAg", LENA, utc(19, 16))
    threads["H"] = fake.add_thread("UgzH0000000000000000000AaABAg", ERIKA, utc(22, 10))
    for n in range(105):
        fake.add_thread(f"UgyFill{n:03d}000000000000AaABAg", MAX, utc(23, 8) + timedelta(seconds=n))
    return threads


def care(cfg: Any, now: datetime) -> compute.CareFigures:
    engine = open_engine(cfg.database)
    try:
        return compute.care_figures(engine, PERIOD, compute.CareRules.of(cfg), now, {"yt"})["youtube"]
    finally:
        engine.dispose()


def care_rows(url: str) -> list[dict[str, Any]]:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text("SELECT * FROM care_item")).mappings()]
    finally:
        engine.dispose()


def test_passes_the_conformance_kit_with_comment_threads(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    seed(fake)
    result = check_plugin(plugin, raw(httpserver), since=FIRST_SYNC - timedelta(days=6), until=FIRST_SYNC, env=ENV)
    assert len([i for i in result.care if not i.from_account]) == 113  # 112 comments and E's reply


def test_comment_answers_of_another_shape_fail_naming_the_data_api(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    thread_a(fake)
    thread_d(fake)
    results = check_unreadable_answers(plugin, raw(httpserver), since=FIRST_SYNC, until=FIRST_SYNC, env=ENV)
    failed = [r for r in results if r.error is not None]
    assert failed and all("YouTube" in str(r.error) for r in failed)


def test_a_time_without_a_zone_fails_the_account_in_one_line(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    fake.add_thread("UgzA0000000000000000000AaABAg", ERIKA, utc(20, 17), published="2026-11-20T17:00:00")
    error = raises_domain_error(plugin, raw(httpserver), window(FIRST_SYNC, FIRST_SYNC), env=ENV)
    assert "RFC 3339 time with a zone" in str(error) and "\n" not in str(error)


@pytest.mark.parametrize("written", ["2026-11-16T10:00:00Z", "2026-11-16T11:00:00.000+01:00"])
def test_times_with_or_without_milliseconds_and_with_an_offset_are_the_same_instant(
    fake: FakeYouTube, httpserver: HTTPServer, written: str
) -> None:
    a = fake.add_thread("UgzA0000000000000000000AaABAg", ERIKA, utc(16, 10), published=written)
    fake.reply(a, ME, utc(16, 10, 45))
    result = fetch_once(plugin, raw(httpserver), window(FIRST_SYNC, FIRST_SYNC), env=ENV)
    (item,) = result.care
    assert (item.created_at, item.first_reply_at) == (utc(16, 10), utc(16, 10, 45))


def test_reply_rate_and_first_response_times_match_the_hand_computed_figures(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync
) -> None:
    seed(fake)
    cfg = make_config(account(httpserver))

    result = run_sync(cfg, now=noon(FIRST_SYNC))

    assert result.ok, result.outcomes
    figures = care(cfg, noon(FIRST_SYNC))
    assert (figures.inbound, figures.answered) == (7, 5)  # reply rate 5 / 7 = 71.4 %
    assert figures.items.minutes == (0, 30, 45, 120, 660)
    assert (figures.items.median, figures.items.p90, figures.items.open) == (45, 660, 2)
    assert (figures.channels["comment"].inbound, figures.channels["reply"].inbound) == (6, 1)


def test_a_comment_on_friday_evening_answered_on_monday_took_two_business_hours(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync
) -> None:
    thread_b(fake)  # Fri 20 17:00 -> Mon 23 10:00: 60 + 60 minutes
    cfg = make_config(account(httpserver))
    assert run_sync(cfg, now=noon(FIRST_SYNC)).ok
    assert care(cfg, noon(FIRST_SYNC)).items.minutes == (120,)


def test_a_comment_answered_within_the_weekend_took_no_business_time(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync
) -> None:
    thread_c(fake)  # Sat 21 11:00 -> Sat 21 13:00
    cfg = make_config(account(httpserver))
    assert run_sync(cfg, now=noon(FIRST_SYNC)).ok
    figures = care(cfg, noon(FIRST_SYNC))
    assert (figures.inbound, figures.answered, figures.items.minutes) == (1, 1, (0,))


def test_the_channels_own_comment_is_not_inbound_but_a_customers_reply_to_it_is(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync
) -> None:
    thread_e(fake)  # own comment Thu 19 12:00; Lena's reply 14:00, answered 14:30
    cfg = make_config(account(httpserver))
    assert run_sync(cfg, now=noon(FIRST_SYNC)).ok
    figures = care(cfg, noon(FIRST_SYNC))
    assert figures.inbound == 1 and "comment" not in figures.channels
    assert figures.channels["reply"].minutes == (30,)


def test_a_thread_youtube_reports_not_public_is_kept_as_hidden_and_not_counted(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync
) -> None:
    fake.add_thread("UgzF0000000000000000000AaABAg", MAX, utc(18, 15), public=False)
    thread_a(fake)
    cfg = make_config(account(httpserver))
    assert run_sync(cfg, now=noon(FIRST_SYNC)).ok
    assert sorted(bool(r["deleted"]) for r in care_rows(cfg.database)) == [False, True]
    assert care(cfg, noon(FIRST_SYNC)).inbound == 1  # A only


def test_a_long_thread_is_paged_with_comments_list_to_the_channels_first_reply(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync
) -> None:
    d = thread_d(fake)
    cfg = make_config(account(httpserver))
    assert run_sync(cfg, now=noon(FIRST_SYNC)).ok
    assert care(cfg, noon(FIRST_SYNC)).items.minutes == (660,)  # Wed 18 11:00, not Thu 19 15:00
    pages = fake.comment_requests("comments")
    assert [p["parentId"] for p in pages] == [[d.top.id], [d.top.id]]
    assert [p["maxResults"] for p in pages] == [[str(THREAD_PAGE)]] * 2
    assert "pageToken" not in pages[0] and pages[1]["pageToken"]


def test_the_thread_list_is_read_page_by_page_with_the_channel_filter_and_the_key_in_a_header(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync
) -> None:
    seed(fake)  # 113 threads: two pages of 100
    cfg = make_config(account(httpserver))
    assert run_sync(cfg, now=noon(FIRST_SYNC)).ok
    pages = fake.comment_requests("commentThreads")
    assert len(pages) == 2
    assert all(p["allThreadsRelatedToChannelId"] == [CHANNEL_ID] and p["part"] == ["snippet,replies"] for p in pages)
    assert "pageToken" not in pages[0] and pages[1]["pageToken"]
    calls = [r for r in fake.requests if r.path.startswith("/youtube/v3/comment")]
    assert all(r.headers.get("X-Goog-Api-Key") == KEY and KEY not in r.url and TOKEN not in r.url for r in calls)
    assert len(fake.comment_requests("comments")) == 2  # only D has more replies than its thread carries


def test_threads_older_than_the_care_lookback_end_the_paging(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    for n in range(THREAD_PAGE):
        fake.add_thread(f"UgyNew{n:03d}000000000000AaABAg", MAX, utc(20, 9) + timedelta(minutes=n))
    for n in range(2 * THREAD_PAGE):
        fake.add_thread(f"UgyOld{n:03d}000000000000AaABAg", MAX, datetime(2026, 8, 1, 9, tzinfo=UTC))

    result = fetch_once(plugin, raw(httpserver), window(FIRST_SYNC - timedelta(days=5), FIRST_SYNC), env=ENV)

    assert len(fake.comment_requests("commentThreads")) == 2  # the second page holds only old threads: no third
    assert len(result.care) == THREAD_PAGE
    assert min(i.created_at for i in result.care) == utc(20, 9)


def test_a_thread_longer_than_the_reply_page_bound_ends_care_with_one_notice(
    fake: FakeYouTube, httpserver: HTTPServer
) -> None:
    endless = fake.add_thread("UgzZ0000000000000000000AaABAg", ERIKA, utc(20, 9))
    for n in range(MAX_REPLY_PAGES * THREAD_PAGE + 1):
        fake.reply(endless, MAX, utc(20, 10) + timedelta(seconds=n))
    result = fetch_once(plugin, raw(httpserver), window(FIRST_SYNC, FIRST_SYNC), env=ENV)
    assert len(fake.comment_requests("comments")) == MAX_REPLY_PAGES
    assert result.notices == ["a comment thread has more than 2,000 replies: care stopped reading there"]
    assert {s.metric for s in result.samples} >= {"followers"}


def test_a_resync_counts_nothing_twice_and_picks_up_a_late_reply(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync
) -> None:
    threads = seed(fake)
    cfg = make_config(account(httpserver))
    assert run_sync(cfg, now=noon(FIRST_SYNC)).ok
    stored = len(care_rows(cfg.database))
    fake.reply(threads["G"], ME, utc(24, 10))

    assert run_sync(cfg, now=noon(RESYNC)).ok

    assert len(care_rows(cfg.database)) == stored
    figures = care(cfg, noon(RESYNC))
    assert (figures.inbound, figures.answered) == (7, 6)
    assert figures.items.minutes == (0, 30, 45, 120, 660, 1260)
    assert (figures.items.median, figures.items.p90) == (82.5, 1260)
    assert figures.items.open == 2  # G and B were still waiting when the period ended


@pytest.mark.parametrize(
    "refusal", [COMMENTS_FORBIDDEN, INSUFFICIENT_SCOPE], ids=["forbidden", "insufficientPermissions"]
)
def test_comments_refused_give_one_notice_and_the_other_numbers_are_stored(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync, samples, refusal: Any
) -> None:
    seed(fake)
    fake.comments_error = refusal
    cfg = make_config(account(httpserver))

    (outcome,) = run_sync(cfg, now=noon(FIRST_SYNC)).outcomes

    assert outcome.status == "ok"
    (notice,) = outcome.notices
    assert "comment threads" in notice and "`api_key`" in notice and KEY not in notice and "\n" not in notice
    assert {r["metric"] for r in samples(cfg.database)} >= {"followers", "posts_total"}
    assert care_rows(cfg.database) == []


def test_comments_switched_off_give_one_notice_and_the_other_numbers_are_stored(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync, samples
) -> None:
    fake.comments_error = COMMENTS_DISABLED
    cfg = make_config(account(httpserver))
    (outcome,) = run_sync(cfg, now=noon(FIRST_SYNC)).outcomes
    assert outcome.status == "ok" and outcome.notices == [
        "YouTube comments are turned off for the channel, so no comment care was read"
    ]
    assert any(r["metric"] == "followers" for r in samples(cfg.database))


def test_a_server_error_on_comments_is_one_notice_and_keeps_the_snapshot(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync, samples
) -> None:
    fake.comments_error = BACKEND_ERROR
    cfg = make_config(account(httpserver))
    (outcome,) = run_sync(cfg, now=noon(FIRST_SYNC)).outcomes
    assert outcome.status == "ok"
    assert [n for n in outcome.notices if "HTTP 500 (backendError)" in n and "next sync" in n] == outcome.notices
    assert len(outcome.notices) == 1
    assert any(r["metric"] == "followers" for r in samples(cfg.database))


def test_a_spent_quota_on_comments_stops_the_account_like_any_quota(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    thread_a(fake)
    fake.comments_error = QUOTA
    error = raises_domain_error(plugin, raw(httpserver), window(FIRST_SYNC, FIRST_SYNC), env=ENV)
    assert isinstance(error, QuotaExhausted) and "midnight Pacific" in str(error)


def test_care_lookback_zero_reads_no_comments(fake: FakeYouTube, httpserver: HTTPServer) -> None:
    thread_a(fake)
    result = fetch_once(plugin, raw(httpserver, care_lookback_days=0), window(FIRST_SYNC, FIRST_SYNC), env=ENV)
    assert result.care == [] and fake.comment_requests("commentThreads") == []


def test_a_care_lookback_beyond_ninety_days_is_refused_naming_the_option() -> None:
    _, problems = options.build(plugin, {**raw_offline(), "care_lookback_days": 91}, where="test", env=ENV)
    assert len(problems) == 1 and "care_lookback_days" in problems[0]


def raw_offline() -> dict[str, Any]:
    return {"channel_id": CHANNEL_ID, "api_key": "${KEY}"}


def test_no_comment_text_author_name_handle_or_id_reaches_the_database_file(
    fake: FakeYouTube, httpserver: HTTPServer, make_config, run_sync
) -> None:
    threads = seed(fake)
    cfg = make_config(account(httpserver))
    assert run_sync(cfg, now=noon(FIRST_SYNC)).ok
    assert len(care_rows(cfg.database)) > 100  # the scan is over a database that holds the items

    path = Path(cfg.database.removeprefix("sqlite:///"))
    data = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())

    served = {c.text for t in fake.threads for c in (t.top, *t.replies)}
    served |= {c.author_name for t in fake.threads for c in (t.top, *t.replies)}
    served |= {c.handle.lstrip("@") for t in fake.threads for c in (t.top, *t.replies)}
    served |= {t.top.id for t in threads.values()} | {ERIKA, MAX, LENA}
    assert served >= {"Wann habt ihr sonntags offen?", "Max Mustermann", "maxmustermann"}
    leaked = sorted(s for s in served if s.encode() in data or s.encode("utf-16-le") in data)
    assert leaked == []
