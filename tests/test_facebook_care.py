"""Facebook customer care: comments on the Page's posts and Messenger conversations, read from the fake Graph API
(tests/fakes/graph.py) through the real sync, and the figures computed by hand.

The period is 2026-11-16 (Mon) .. 2026-11-29 (Sun), Berlin time (UTC+1), business hours the default
Mon-Fri 09:00-18:00. The Page's threads and the business minutes to its first reply:

    post P1 (Mon 16 08:00)
      A  comment  Mon 16 10:00 -> Page Mon 16 10:30          30  (a follow-up by someone else at 11:00: same thread)
      B  comment  Fri 20 17:00 -> Page Mon 23 10:00         120  (Fri 17-18, the weekend skipped, Mon 9-10)
      C  the Page's own comment Tue 17 12:00, its own reply Tue 17 12:05   (not inbound)
         C1 reply under C  Wed 18 09:00 -> Page Wed 18 11:00   120  (the Page's 12:05 reply came before it)
      D  comment  Thu 19 14:00, hidden                             (deleted: not counted)
      E  comment  Tue 24 12:00, no reply                           (unanswered)
    post P2 (Wed 25 08:00), a thread of 106 comments (two pages of 100)
      F  comment  Wed 25 09:00, 104 replies by other people 09:01-10:44, Page Wed 25 16:00 on page two   420
    Messenger
      T1 messages Sat 21 11:00 and 11:05 -> Page Mon 23 09:30    30  (one run of two messages; weekend skipped)
      T1 message  Mon 23 10:00 -> Page Mon 23 10:45              45  (a new run after the Page's answer)
      T2 message  Thu 26 17:00, no reply                           (unanswered)

Inbound 8 (A, B, C1, E, F, two T1 runs, T2), answered 6: reply rate 75 %. Minutes sorted 30, 30, 45, 120, 120,
420: median (45 + 120) / 2 = 82.5, 90th percentile (nearest rank, the 6th of 6) 420.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.conftest import noon
from tests.fakes.graph import (
    TOKEN,
    FakeComment,
    FakeConversation,
    FakeGraph,
    FakeMessage,
    FakePage,
    FakePost,
    graph_error,
    graph_stamp,
)
from tracker.report import compute
from tracker.store.db import open_engine
from tracker.store.models import CARE_ITEM
from tracker.testing import check_plugin, make_options
from tracker_plugins.facebook import plugin

BERLIN = ZoneInfo("Europe/Berlin")
PAGE = "1234567890"
PERIOD = compute.Period(date(2026, 11, 16), date(2026, 11, 29))
SYNC_DAY = date(2026, 11, 30)
AFTER = datetime(2026, 12, 3, 12, tzinfo=UTC)
ENV = {"TEST_TOKEN": TOKEN}
NAMES = ("Erika Mustermann", "Max Power", "Lotte Krause")
TEXTS = ("Habt ihr morgen Zimtschnecken?", "Wann habt ihr Sonntag offen?", "Gibt es die Brezeln auch vegan?")


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def customer(cid: str, at: datetime, parent: str | None = None, **kw: Any) -> FakeComment:
    return FakeComment(cid, at, "100004711", NAMES[0], TEXTS[0], parent, **kw)


def page_says(cid: str, at: datetime, parent: str | None = None) -> FakeComment:
    return FakeComment(cid, at, PAGE, "Bäckerei Lindner", "Ja, ab 7 Uhr!", parent)


def long_thread() -> list[FakeComment]:
    fans = [FakeComment(f"{PAGE}_2_9{i:03d}", berlin(25, 9, 1) + timedelta(minutes=i), f"10000{i:04d}",
                        NAMES[2], TEXTS[2], "F") for i in range(104)]
    return [customer("F", berlin(25, 9)), *fans, page_says("F-page", berlin(25, 16), "F")]


def seeded() -> FakePage:
    p1 = FakePost(f"{PAGE}_1", berlin(16, 8), [
        customer("A", berlin(16, 10)), page_says("A-page", berlin(16, 10, 30), "A"),
        FakeComment("A-more", berlin(16, 11), "100009999", NAMES[2], TEXTS[2], "A"),
        customer("B", berlin(20, 17)), page_says("B-page", berlin(23, 10), "B"),
        page_says("C", berlin(17, 12)), page_says("C-self", berlin(17, 12, 5), "C"),
        customer("C1", berlin(18, 9), "C"), page_says("C1-page", berlin(18, 11), "C"),
        customer("D", berlin(19, 14), hidden=True),
        customer("E", berlin(24, 12)),
    ])
    p2 = FakePost(f"{PAGE}_2", berlin(25, 8), long_thread())
    t1 = FakeConversation("t_1001", [
        FakeMessage("m_T1a", berlin(21, 11), "2690001", NAMES[1], TEXTS[1]),
        FakeMessage("m_T1b", berlin(21, 11, 5), "2690001", NAMES[1], TEXTS[1]),
        FakeMessage("m_T1c", berlin(23, 9, 30), PAGE, "", "Montag ab 7"),
        FakeMessage("m_T1d", berlin(23, 10), "2690001", NAMES[1], TEXTS[1]),
        FakeMessage("m_T1e", berlin(23, 10, 45), PAGE, "", "Gern!"),
    ])
    t2 = FakeConversation("t_1002", [FakeMessage("m_T2a", berlin(26, 17), "2690002", NAMES[1], TEXTS[1])])
    return FakePage(PAGE, series={"page_follows": {SYNC_DAY - timedelta(days=i): 1400 for i in range(1, 31)}},
                    posts=[p1, p2], conversations=[t1, t2])


@pytest.fixture
def graph(httpserver: Any) -> FakeGraph:
    fake = FakeGraph(httpserver, today=SYNC_DAY)
    fake.add_page(seeded())
    return fake


@pytest.fixture
def raw(httpserver: Any) -> dict[str, Any]:
    return {"page_id": PAGE, "token": "${TEST_TOKEN}", "base_url": httpserver.url_for("/")}


@pytest.fixture
def account(make_config: Any, raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    return make_config({"bakery": {"plugin": "facebook", **raw}}, timezone="Europe/Berlin")


def figures(cfg: Any) -> compute.CareFigures:
    engine = open_engine(cfg.database)
    try:
        return compute.care_figures(engine, PERIOD, compute.CareRules.of(cfg), AFTER, {"bakery"})["facebook"]
    finally:
        engine.dispose()


def care_rows(cfg: Any) -> list[dict[str, Any]]:
    engine = open_engine(cfg.database)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(CARE_ITEM)).mappings()]
    finally:
        engine.dispose()


def synced(run_sync: Any, cfg: Any, day: date = SYNC_DAY) -> Any:
    result = run_sync(cfg, now=noon(day))
    assert result.ok, result.outcomes
    return result


def test_facebook_reply_rate_median_and_p90_are_the_hand_computed_ones(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    synced(run_sync, account)
    stats = figures(account).items
    assert (stats.inbound, stats.answered) == (8, 6)
    assert stats.minutes == (30.0, 30.0, 45.0, 120.0, 120.0, 420.0)
    assert (stats.median, stats.p90) == (82.5, 420.0)


def test_facebook_care_splits_comments_replies_and_messages(graph: FakeGraph, account: Any, run_sync: Any) -> None:
    synced(run_sync, account)
    channels = {c: (s.inbound, s.answered, s.minutes) for c, s in figures(account).channels.items()}
    assert channels == {
        "comment": (4, 3, (30.0, 120.0, 420.0)),  # A, B, E, F
        "reply": (1, 1, (120.0,)),  # C1 under the Page's own comment
        "message": (3, 2, (30.0, 45.0)),  # T1's two runs, T2
    }


def test_a_comment_from_friday_evening_answered_monday_counts_only_business_hours(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    """B: Fri 17:00 -> Mon 10:00 is 65 hours on the clock and 120 business minutes."""
    graph.pages[PAGE].posts = [FakePost(f"{PAGE}_1", berlin(16, 8), [
        customer("B", berlin(20, 17)), page_says("B-page", berlin(23, 10), "B")])]
    graph.pages[PAGE].conversations = []
    synced(run_sync, account)
    assert figures(account).items.minutes == (120.0,)


def test_the_pages_own_comments_and_replies_are_not_inbound(graph: FakeGraph, account: Any, run_sync: Any) -> None:
    graph.pages[PAGE].posts = [FakePost(f"{PAGE}_1", berlin(16, 8), [
        page_says("C", berlin(17, 12)), page_says("C-self", berlin(17, 12, 5), "C")])]
    graph.pages[PAGE].conversations = []
    synced(run_sync, account)
    assert graph.edge_requests("comments") and care_rows(account) == []


def test_a_hidden_comment_is_stored_as_deleted_and_not_counted(graph: FakeGraph, account: Any, run_sync: Any) -> None:
    graph.pages[PAGE].posts = [FakePost(f"{PAGE}_1", berlin(16, 8), [customer("D", berlin(19, 14), hidden=True)])]
    graph.pages[PAGE].conversations = []
    synced(run_sync, account)
    assert [(r["channel"], r["deleted"]) for r in care_rows(account)] == [("comment", True)]
    assert figures(account).items.inbound == 0


def test_a_long_thread_is_read_page_by_page_to_find_the_pages_reply(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    """F's answer is the 106th comment: only the second page of 100 holds it."""
    synced(run_sync, account)
    calls = [r for r in graph.edge_requests("comments") if r.path.endswith(f"/{PAGE}_2/comments")]
    assert len(calls) == 2 and "after" not in calls[0].params and calls[1].params["after"]
    assert all(r.params["filter"] == "stream" and r.params["order"] == "chronological" for r in calls)
    assert all(r.params["limit"] == "100" and "access_token" not in r.params for r in calls)
    assert all(r.authorization == f"Bearer {TOKEN}" for r in calls)
    comments = figures(account).channels["comment"]
    assert 420.0 in comments.minutes


def test_a_resync_counts_nothing_twice_and_picks_up_a_late_reply(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    """E: Tue 24 12:00 -> Thu 26 10:00 = Tue 6 h + Wed 9 h + Thu 1 h = 960 business minutes."""
    synced(run_sync, account)
    first = len(care_rows(account))
    graph.pages[PAGE].posts[0].comments.append(page_says("E-page", berlin(26, 10), "E"))
    synced(run_sync, account, SYNC_DAY + timedelta(days=1))
    assert len(care_rows(account)) == first
    stats = figures(account).items
    assert (stats.inbound, stats.answered) == (8, 7)
    assert stats.minutes == (30.0, 30.0, 45.0, 120.0, 120.0, 420.0, 960.0)


def test_without_pages_messaging_messenger_is_skipped_with_one_notice_and_the_rest_syncs(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    graph.pages[PAGE].permissions.discard("pages_messaging")
    (outcome,) = synced(run_sync, account).outcomes
    notices = [n for n in outcome.notices if "pages_messaging" in n]
    assert len(notices) == 1 and "Graph error 230" in notices[0]
    assert {r["metric"] for r in samples(account.database)} == {"followers"}
    channels = figures(account).channels
    assert "message" not in channels and channels["comment"].inbound == 4


def test_without_pages_read_engagement_comments_are_skipped_with_one_notice(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    graph.pages[PAGE].permissions.discard("pages_read_engagement")
    result = check_plugin(plugin, raw, since=date(2026, 11, 16), until=date(2026, 11, 29), today=SYNC_DAY, env=ENV)
    assert len([n for n in result.notices if "pages_read_engagement" in n]) == 1
    assert {i.channel for i in result.care} == {"message"}


def test_a_graph_failure_while_reading_comments_stops_care_with_a_notice_and_keeps_the_insights(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    graph.fail_on("/posts", graph_error(2, "An unexpected error has occurred. Please retry your request later.",
                                        is_transient=True))
    (outcome,) = synced(run_sync, account).outcomes
    assert [n for n in outcome.notices if "not read this time" in n and "Graph error 2" in n]
    assert {r["metric"] for r in samples(account.database)} == {"followers"}
    assert set(figures(account).channels) == {"message"}


def test_comments_of_posts_older_than_the_care_lookback_are_not_read(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    """Posts come newest first; reading stops at the first post published before the care start."""
    old = FakePost(f"{PAGE}_0", berlin(1, 8) - timedelta(days=40), [customer("Z", berlin(16, 10))])
    graph.pages[PAGE].posts.append(old)
    check_plugin(plugin, {**raw, "care_lookback_days": 7}, since=date(2026, 11, 16), until=date(2026, 11, 29),
                 today=SYNC_DAY, env=ENV)
    assert not any(r.path.endswith(f"/{PAGE}_0/comments") for r in graph.edge_requests("comments"))
    assert {r.path.rsplit("/", 2)[-2] for r in graph.edge_requests("comments")} == {f"{PAGE}_1", f"{PAGE}_2"}


def test_a_message_run_begun_before_the_care_start_gets_its_late_reply_under_its_first_messages_id(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    """Care start Nov 9 (Nov 16 minus 7 days). The run began Nov 2, after the Page's answer of Oct 30; the
    customer wrote again Nov 20 and the Page answered at 11:00: one item, from Nov 2, answered Nov 20."""
    graph.pages[PAGE].conversations = [FakeConversation("t_1003", [
        FakeMessage("m_T3a", datetime(2026, 10, 30, 9, tzinfo=BERLIN), PAGE, "", "Hallo"),
        FakeMessage("m_T3b", berlin(2, 10), "2690003", NAMES[1], TEXTS[1]),
        FakeMessage("m_T3c", berlin(20, 10), "2690003", NAMES[1], TEXTS[1]),
        FakeMessage("m_T3d", berlin(20, 11), PAGE, "", "Entschuldigung!"),
    ])]
    result = check_plugin(plugin, {**raw, "care_lookback_days": 7}, since=date(2026, 11, 16),
                          until=date(2026, 11, 29), today=SYNC_DAY, env=ENV)
    messages = [(i.item_id, i.created_at, i.first_reply_at) for i in result.care if i.channel == "message"]
    assert messages == [("m_T3b", berlin(2, 10), berlin(20, 11))]


def test_a_care_lookback_beyond_a_year_is_refused_as_a_config_problem(raw: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match="care_lookback_days 400 must be between 0 and 365"):
        make_options(plugin, {**raw, "care_lookback_days": 400}, ENV)


def test_no_comment_text_name_email_or_platform_id_reaches_the_database_file(
    graph: FakeGraph, account: Any, run_sync: Any, tmp_path: Any
) -> None:
    synced(run_sync, account)
    raw_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("tracker.db*"))
    assert care_rows(account)[0]["item_hash"].encode() in raw_bytes  # the scan reads what was written
    page = graph.pages[PAGE]
    served = [*NAMES, *TEXTS, "Ja, ab 7 Uhr", "Montag ab 7", "2690001@facebook.com", "100004711"]
    served += [c.id for p in page.posts for c in p.comments if len(c.id) > 3]
    served += [m.id for t in page.conversations for m in t.messages] + [t.id for t in page.conversations]
    for secret in served:
        assert secret.encode() not in raw_bytes, secret


def test_facebook_with_care_passes_the_conformance_kit(graph: FakeGraph, raw: dict[str, Any]) -> None:
    result = check_plugin(plugin, raw, since=date(2026, 11, 16), until=date(2026, 11, 29), today=SYNC_DAY, env=ENV)
    assert len([i for i in result.care if not i.from_account]) == 9  # the 8 inbound and the hidden D
    assert graph_stamp(berlin(16, 10)) == "2026-11-16T09:00:00+0000"
