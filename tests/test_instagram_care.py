"""Instagram customer care: comments and replies on the account's media, read from the fake Graph API
(tests/fakes/graph.py) through the real sync, and the figures computed by hand.

The period is 2026-11-16 (Mon) .. 2026-11-29 (Sun), Berlin time (UTC+1), business hours the default
Mon-Fri 09:00-18:00. The account's threads and the business minutes to its first reply:

    media M1 (Mon 16 08:00)
      A  comment  Mon 16 10:00 -> account Mon 16 10:20        20
      B  comment  Fri 20 16:00 -> account Mon 23 09:15       135  (Fri 16-18 = 120, the weekend skipped, Mon 15)
      C  the account's own comment Tue 17 12:00 and its own reply Tue 17 12:01   (not inbound)
         C1 reply under C  Wed 18 10:00 -> account Wed 18 10:50   50  (the 12:01 reply came before it)
      D  comment  Thu 19 14:00, hidden                           (deleted: not counted)
      E  comment  Tue 24 12:00, no reply                         (unanswered)
    media M2 (Wed 25 08:00)
      F  comment  Wed 25 09:00, 60 replies by other people, then the account Wed 25 13:00   240
         (25 replies come nested in the comment, the rest from /{comment-id}/replies: the answer is on page two)

Inbound 5 (A, B, C1, E, F), answered 4: reply rate 80 %. Minutes sorted 20, 50, 135, 240: median
(50 + 135) / 2 = 92.5, 90th percentile (nearest rank, the 4th of 4) 240.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.conftest import noon
from tests.fakes.graph import TOKEN, FakeComment, FakeGraph, FakeIgUser, FakePost
from tracker.report import compute
from tracker.store.db import open_engine
from tracker.store.models import CARE_ITEM
from tracker.testing import check_plugin, make_options
from tracker_plugins.instagram import plugin

BERLIN = ZoneInfo("Europe/Berlin")
USER = "17841405822304914"
PERIOD = compute.Period(date(2026, 11, 16), date(2026, 11, 29))
SYNC_DAY = date(2026, 11, 30)
AFTER = datetime(2026, 12, 3, 12, tzinfo=UTC)
ENV = {"TEST_TOKEN": TOKEN}
HANDLES = ("erika.mustermann", "max_power_99", "lotte.krause")
TEXTS = ("Habt ihr morgen Zimtschnecken?", "Wie lange habt ihr offen?", "Sieht lecker aus!")


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def customer(cid: str, at: datetime, parent: str | None = None, **kw: Any) -> FakeComment:
    return FakeComment(cid, at, "6120000000001", HANDLES[0], TEXTS[0], parent, **kw)


def account_says(cid: str, at: datetime, parent: str | None = None) -> FakeComment:
    return FakeComment(cid, at, USER, "baeckerei.lindner", "Ja, ab 7 Uhr!", parent)


def seeded() -> FakeIgUser:
    m1 = FakePost("17900000000000001", berlin(16, 8), [
        customer("17850000000000001", berlin(16, 10)), account_says("17850000000000002", berlin(16, 10, 20),
                                                                    "17850000000000001"),
        customer("17850000000000003", berlin(20, 16)), account_says("17850000000000004", berlin(23, 9, 15),
                                                                    "17850000000000003"),
        account_says("17850000000000005", berlin(17, 12)),
        account_says("17850000000000006", berlin(17, 12, 1), "17850000000000005"),
        customer("17850000000000007", berlin(18, 10), "17850000000000005"),
        account_says("17850000000000008", berlin(18, 10, 50), "17850000000000005"),
        customer("17850000000000009", berlin(19, 14), hidden=True),
        customer("17850000000000010", berlin(24, 12)),
    ])
    fans = [FakeComment(f"178510000000{i:05d}", berlin(25, 9, 1) + timedelta(minutes=i), f"61300000{i:05d}",
                        HANDLES[2], TEXTS[2], "17860000000000001") for i in range(60)]
    m2 = FakePost("17900000000000002", berlin(25, 8), [
        customer("17860000000000001", berlin(25, 9)), *fans,
        account_says("17860000000000002", berlin(25, 13), "17860000000000001"),
    ])
    return FakeIgUser(USER, media=[m1, m2])


@pytest.fixture
def graph(httpserver: Any) -> FakeGraph:
    fake = FakeGraph(httpserver, today=SYNC_DAY)
    fake.add_ig_user(seeded())
    return fake


@pytest.fixture
def raw(httpserver: Any) -> dict[str, Any]:
    return {"user_id": USER, "token": "${TEST_TOKEN}", "base_url": httpserver.url_for("/")}


@pytest.fixture
def account(make_config: Any, raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    return make_config({"insta": {"plugin": "instagram", **raw}}, timezone="Europe/Berlin")


def figures(cfg: Any) -> compute.CareFigures:
    engine = open_engine(cfg.database)
    try:
        return compute.care_figures(engine, PERIOD, compute.CareRules.of(cfg), AFTER, {"insta"})["instagram"]
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


def only(graph: FakeGraph, *comments: FakeComment) -> None:
    graph.ig_users[USER].media = [FakePost("17900000000000001", berlin(16, 8), list(comments))]


def test_instagram_reply_rate_median_and_p90_are_the_hand_computed_ones(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    synced(run_sync, account)
    stats = figures(account).items
    assert (stats.inbound, stats.answered) == (5, 4)
    assert stats.minutes == (20.0, 50.0, 135.0, 240.0)
    assert (stats.median, stats.p90) == (92.5, 240.0)


def test_instagram_care_splits_comments_and_replies_under_the_accounts_comment(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    synced(run_sync, account)
    channels = {c: (s.inbound, s.answered, s.minutes) for c, s in figures(account).channels.items()}
    assert channels == {"comment": (4, 3, (20.0, 135.0, 240.0)), "reply": (1, 1, (50.0,))}


def test_an_instagram_comment_from_friday_afternoon_answered_monday_counts_only_business_hours(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    """B: Fri 16:00 -> Mon 09:15 is 65 h 15 min on the clock and 135 business minutes."""
    only(graph, customer("17850000000000003", berlin(20, 16)),
         account_says("17850000000000004", berlin(23, 9, 15), "17850000000000003"))
    synced(run_sync, account)
    assert figures(account).items.minutes == (135.0,)


def test_the_accounts_own_comment_and_its_reply_to_itself_are_not_inbound(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    only(graph, account_says("17850000000000005", berlin(17, 12)),
         account_says("17850000000000006", berlin(17, 12, 1), "17850000000000005"))
    synced(run_sync, account)
    assert graph.edge_requests("comments") and care_rows(account) == []


def test_the_accounts_replies_are_known_by_user_when_from_carries_an_instagram_scoped_id(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    """Meta documents from.id as an Instagram-scoped id; `user` comes only with the account's own comments."""
    graph.scoped_from = True
    synced(run_sync, account)
    stats = figures(account).items
    assert (stats.inbound, stats.answered, stats.minutes) == (5, 4, (20.0, 50.0, 135.0, 240.0))


def test_a_hidden_instagram_comment_is_stored_as_deleted_and_not_counted(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    only(graph, customer("17850000000000009", berlin(19, 14), hidden=True))
    synced(run_sync, account)
    assert [(r["channel"], r["deleted"]) for r in care_rows(account)] == [("comment", True)]
    assert figures(account).items.inbound == 0


def test_a_long_reply_thread_is_read_past_the_nested_page_to_find_the_accounts_answer(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    """F's answer is its 61st reply: the comment carries the first 25, /{comment-id}/replies the rest."""
    synced(run_sync, account)
    calls = graph.edge_requests("replies")
    assert [r.path.rsplit("/", 2)[-2] for r in calls] == ["17860000000000001"]
    assert calls[0].params["after"] and calls[0].params["fields"] == "id,timestamp,from,user,hidden"
    assert calls[0].authorization == f"Bearer {TOKEN}" and "access_token" not in calls[0].params
    assert 240.0 in figures(account).channels["comment"].minutes


def test_an_instagram_resync_counts_nothing_twice_and_picks_up_a_late_reply(
    graph: FakeGraph, account: Any, run_sync: Any
) -> None:
    """E: Tue 24 12:00 -> Wed 25 10:00 = Tue 6 h + Wed 1 h = 420 business minutes."""
    synced(run_sync, account)
    first = len(care_rows(account))
    graph.ig_users[USER].media[0].comments.append(account_says("17850000000000011", berlin(25, 10),
                                                               "17850000000000010"))
    synced(run_sync, account, SYNC_DAY + timedelta(days=1))
    assert len(care_rows(account)) == first
    stats = figures(account).items
    assert (stats.inbound, stats.answered) == (5, 5)
    assert stats.minutes == (20.0, 50.0, 135.0, 240.0, 420.0)


def test_without_instagram_manage_comments_care_is_skipped_with_one_notice_and_the_rest_syncs(
    graph: FakeGraph, account: Any, run_sync: Any, samples: Any
) -> None:
    graph.ig_users[USER].permissions.discard("instagram_manage_comments")
    (outcome,) = synced(run_sync, account).outcomes
    notices = [n for n in outcome.notices if "instagram_manage_comments" in n]
    assert len(notices) == 1 and "Graph error 10" in notices[0]
    assert {r["metric"] for r in samples(account.database)} >= {"followers", "following", "posts_total"}
    assert care_rows(account) == []


def test_media_without_comments_or_older_than_the_care_lookback_are_not_read(
    graph: FakeGraph, raw: dict[str, Any]
) -> None:
    """Media come newest first; reading stops at the first one published before the care start."""
    media = graph.ig_users[USER].media
    media.append(FakePost("17900000000000003", berlin(20, 8)))  # no comments: comments_count 0
    media.append(FakePost("17900000000000000", berlin(1, 8) - timedelta(days=40), [customer("1785", berlin(16, 9))]))
    check_plugin(plugin, {**raw, "care_lookback_days": 7}, since=date(2026, 11, 16), until=date(2026, 11, 29),
                 today=SYNC_DAY, env=ENV)
    read = {r.path.rsplit("/", 2)[-2] for r in graph.edge_requests("comments")}
    assert read == {"17900000000000001", "17900000000000002"}


def test_an_instagram_care_lookback_beyond_a_year_is_refused_as_a_config_problem(raw: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match="care_lookback_days 366 must be between 0 and 365"):
        make_options(plugin, {**raw, "care_lookback_days": 366}, ENV)


def test_no_comment_text_handle_or_platform_id_reaches_the_database_file(
    graph: FakeGraph, account: Any, run_sync: Any, tmp_path: Any
) -> None:
    synced(run_sync, account)
    raw_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("tracker.db*"))
    assert care_rows(account)[0]["item_hash"].encode() in raw_bytes  # the scan reads what was written
    served = [*HANDLES, *TEXTS, "Ja, ab 7 Uhr", "6120000000001"]
    served += [c.id for m in graph.ig_users[USER].media for c in m.comments]
    for secret in served:
        assert secret.encode() not in raw_bytes, secret


def test_instagram_with_care_passes_the_conformance_kit(graph: FakeGraph, raw: dict[str, Any]) -> None:
    result = check_plugin(plugin, raw, since=date(2026, 11, 16), until=date(2026, 11, 29), today=SYNC_DAY, env=ENV)
    assert len([i for i in result.care if not i.from_account]) == 6  # the 5 inbound and the hidden D
