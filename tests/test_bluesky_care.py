"""Bluesky customer care: replies to the account, read from the fake AppView's getPostThread (tests/fakes/bluesky.py)
through the real sync, and the figures computed by hand.

The period is 2026-11-16 (Mon) .. 2026-11-24 (Tue), Berlin time (UTC+1), business hours the default
Mon-Fri 09:00-18:00; the sync runs on Tue 24. The AppView serves 3 reply levels a read (its maxThreadDepth).
The account's threads and the business minutes to its first reply below each reply:

    P1 own post Fri 20 10:00
      B  Max    Fri 20 11:00 -> account Fri 20 11:30          30
      R0 the account's own reply to P1, Fri 20 12:00              (the account replying to itself: not inbound)
      A  Erika  Fri 20 17:00 -> account RA Mon 23 10:00      120  (Fri 17-18, the weekend skipped, Mon 9-10)
         C  Erika under RA, Mon 23 10:30, no reply                (unanswered)
    P2 own post Sat 21 09:00
      D  Max    Sat 21 11:00 -> account Sat 21 12:00           0  (weekend: no business time passed)
      E  Erika  Sat 21 13:00, hidden by the account (threadgate)   (deleted: not counted)
      F  Lotte  Sun 22 10:00, deleted, served as notFoundPost      (deleted; its time from the TID record key)
      H  Lotte  Sun 22 11:00, served as blockedPost                (deleted)
    P3 own post Mon 23 08:00, a chain deeper than one read: G3 is where the first read is cut
      G1 Erika 09:00 < G2 Max 09:30 < G3 Lotte 10:00 < G4 Erika 10:30 < account Mon 23 11:00
                                                     G1 120, G2 90, G3 60, G4 30

Inbound 8 (A, B, C, D, G1-G4), answered 7: reply rate 87.5 %. Minutes sorted 0, 30, 30, 60, 90, 120, 120: median
the 4th, 60; 90th percentile (nearest rank, ceil(0.9 * 7) = the 7th of 7) 120.

A re-sync on Wed 25 after the account answered C on Tue 24 09:30 (Mon 10:30-18:00 = 450, Tue 9:00-9:30 = 30: 480):
inbound still 8, answered 8, minutes 0, 30, 30, 60, 90, 120, 120, 480: median (60 + 90) / 2 = 75, 90th percentile
(ceil(0.9 * 8) = the 8th of 8) 480.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES
from tests.fakes.bluesky import DID, HANDLE, OTHER_DID, FakeBluesky
from tracker.report import compute
from tracker.store.care import item_hash
from tracker.store.db import open_engine
from tracker.store.models import CARE_ITEM, CARE_SALT
from tracker.testing import check_plugin, fetch_once, make_options, window
from tracker_plugins.bluesky import plugin

BERLIN = ZoneInfo("Europe/Berlin")
PERIOD = compute.Period(date(2026, 11, 16), date(2026, 11, 24))
SYNC = datetime(2026, 11, 24, 12, tzinfo=UTC)
RESYNC = datetime(2026, 11, 25, 12, tzinfo=UTC)
MAX_DID, LOTTE_DID = "did:plc:m4xp0w3r99aaaaaaaaaaaaaa", "did:plc:l0tt3kr4us3aaaaaaaaaaaaa"
PEOPLE = {
    "erika": (OTHER_DID, "erika-mustermann.bsky.social", "Erika Mustermann", "Habt ihr morgen Zimtschnecken?"),
    "max": (MAX_DID, "max-power-99.bsky.social", "Max Power", "Wann habt ihr Sonntag offen?"),
    "lotte": (LOTTE_DID, "lotte-krause.bsky.social", "Lotte Krause", "Gibt es die Brezeln auch vegan?"),
}
INBOUND = ("A", "B", "C", "D", "G1", "G2", "G3", "G4")
GONE = ("E", "F", "H")


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def said(fake: FakeBluesky, who: str, parent: dict[str, Any], at: datetime) -> dict[str, Any]:
    did, handle, name, text = PEOPLE[who]
    return fake.reply(parent, at, by=did, handle=handle, name=name, text=text)


def answered(fake: FakeBluesky, parent: dict[str, Any], at: datetime) -> dict[str, Any]:
    return fake.reply(parent, at, by=DID, handle=HANDLE, name="Bäckerei Lindner", text="Ja, ab 7 Uhr!")


def seed(fake: FakeBluesky) -> dict[str, dict[str, Any]]:
    """The threads of the module docstring; returns the post views by their letter."""
    v: dict[str, dict[str, Any]] = {}
    v["P1"] = fake.post(berlin(20, 10))
    v["B"] = said(fake, "max", v["P1"], berlin(20, 11))
    v["RB"] = answered(fake, v["B"], berlin(20, 11, 30))
    v["R0"] = answered(fake, v["P1"], berlin(20, 12))
    v["A"] = said(fake, "erika", v["P1"], berlin(20, 17))
    v["RA"] = answered(fake, v["A"], berlin(23, 10))
    v["C"] = said(fake, "erika", v["RA"], berlin(23, 10, 30))
    v["P2"] = fake.post(berlin(21, 9))
    v["D"] = said(fake, "max", v["P2"], berlin(21, 11))
    v["RD"] = answered(fake, v["D"], berlin(21, 12))
    v["E"] = said(fake, "erika", v["P2"], berlin(21, 13))
    v["F"] = said(fake, "lotte", v["P2"], berlin(22, 10))
    v["H"] = said(fake, "lotte", v["P2"], berlin(22, 11))
    fake.hide(v["E"])
    fake.delete(v["F"], placeholder="notFound")
    fake.delete(v["H"], placeholder="blocked")
    v["P3"] = fake.post(berlin(23, 8))
    parent = v["P3"]
    for name, who, minute in (("G1", "erika", 0), ("G2", "max", 30), ("G3", "lotte", 60), ("G4", "erika", 90)):
        v[name] = parent = said(fake, who, parent, berlin(23, 9) + timedelta(minutes=minute))
    v["RG"] = answered(fake, v["G4"], berlin(23, 11))
    fake.max_thread_depth = 3
    return v


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeBluesky:
    return FakeBluesky(httpserver)


@pytest.fixture
def views(fake: FakeBluesky) -> dict[str, dict[str, Any]]:
    return seed(fake)


def raw(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"handle": HANDLE, "base_url": server.url_for("/"), **extra}


@pytest.fixture
def cfg(make_config: Any, httpserver: HTTPServer) -> Any:
    return make_config({"sky": {"plugin": "bluesky", **raw(httpserver)}}, timezone="Europe/Berlin")


def synced(run_sync: Any, cfg: Any, now: datetime = SYNC) -> Any:
    result = run_sync(cfg, now=now)
    assert result.ok, result.outcomes
    return result.outcomes[0]


def stats(cfg: Any, now: datetime = RESYNC) -> compute.CareStats:
    engine = open_engine(cfg.database)
    try:
        return compute.care_figures(engine, PERIOD, compute.CareRules.of(cfg), now, {"sky"})["bluesky"].items
    finally:
        engine.dispose()


def rows(cfg: Any) -> dict[str, dict[str, Any]]:
    """The stored care items by item hash."""
    engine = open_engine(cfg.database)
    try:
        with engine.connect() as conn:
            return {r["item_hash"]: dict(r) for r in conn.execute(sa.select(CARE_ITEM)).mappings()}
    finally:
        engine.dispose()


def hashes(cfg: Any, views: dict[str, dict[str, Any]], *names: str) -> dict[str, str]:
    """The hash the core stores for each named reply, by name."""
    engine = open_engine(cfg.database)
    try:
        with engine.connect() as conn:
            salt = conn.execute(sa.select(CARE_SALT.c.salt)).scalar_one()
    finally:
        engine.dispose()
    return {name: item_hash(salt, "bluesky", views[name]["uri"]) for name in names}


def thread_calls(fake: FakeBluesky) -> list[dict[str, list[str]]]:
    return [r.args for r in fake.requests if r.path.endswith("getPostThread")]


def test_reply_rate_median_and_p90_are_the_hand_computed_ones(
    fake: FakeBluesky, views: dict[str, Any], cfg: Any, run_sync: Any, httpserver: HTTPServer
) -> None:
    synced(run_sync, cfg)
    care = stats(cfg)
    assert (care.inbound, care.answered) == (8, 7)
    assert round(100 * care.answered / care.inbound, 1) == 87.5
    assert care.minutes == (0, 30, 30, 60, 90, 120, 120)
    assert (care.median, care.p90) == (60, 120)
    httpserver.check()


def test_a_reply_from_friday_evening_answered_monday_counts_only_business_hours(
    fake: FakeBluesky, httpserver: HTTPServer, make_config: Any, run_sync: Any
) -> None:
    post = fake.post(berlin(20, 10))
    answered(fake, said(fake, "erika", post, berlin(20, 17)), berlin(23, 10))
    cfg = make_config({"sky": {"plugin": "bluesky", **raw(httpserver)}}, timezone="Europe/Berlin")
    synced(run_sync, cfg)
    assert stats(cfg).minutes == (120,)  # Fri 17:00-18:00 and Mon 09:00-10:00


def test_the_accounts_own_replies_are_not_inbound_and_each_reply_is_stored_once(
    fake: FakeBluesky, views: dict[str, Any], cfg: Any, run_sync: Any
) -> None:
    synced(run_sync, cfg)
    stored = rows(cfg)
    expected = hashes(cfg, views, *INBOUND, *GONE)
    assert set(stored) == set(expected.values())  # no row for P1-P3, R0, RA, RB, RD, RG: the account's own
    assert {r["channel"] for r in stored.values()} == {"reply"}


def test_the_first_reply_is_the_accounts_earliest_post_anywhere_below_the_reply(
    fake: FakeBluesky, views: dict[str, Any], cfg: Any, run_sync: Any
) -> None:
    synced(run_sync, cfg)
    stored, key = rows(cfg), hashes(cfg, views, "A", "C", "G1", "G4")
    assert stored[key["A"]]["first_reply_at"] == berlin(23, 10)
    assert stored[key["C"]]["first_reply_at"] is None  # RA is above C, not below it
    assert stored[key["G1"]]["first_reply_at"] == stored[key["G4"]]["first_reply_at"] == berlin(23, 11)


def test_hidden_and_placeholder_replies_are_stored_as_deleted_and_not_counted(
    fake: FakeBluesky, views: dict[str, Any], cfg: Any, run_sync: Any
) -> None:
    synced(run_sync, cfg)
    stored, key = rows(cfg), hashes(cfg, views, *INBOUND, *GONE)
    assert {name for name, h in key.items() if stored[h]["deleted"]} == set(GONE)
    assert stored[key["E"]]["created_at"] == berlin(21, 13)
    assert stored[key["F"]]["created_at"] == berlin(22, 10)  # read back from the reply's TID record key
    assert stats(cfg).inbound == 8


def test_a_thread_deeper_than_one_read_is_read_again_from_the_cut(
    fake: FakeBluesky, views: dict[str, Any], cfg: Any, run_sync: Any
) -> None:
    synced(run_sync, cfg)
    calls = thread_calls(fake)
    assert [c["uri"] for c in calls] == [[views[n]["uri"]] for n in ("P3", "G3", "P2", "P1")]
    assert all(c["depth"] == ["10"] and c["parentHeight"] == ["0"] for c in calls)
    assert rows(cfg)[hashes(cfg, views, "G4")["G4"]]["first_reply_at"] == berlin(23, 11)


def test_a_resync_counts_nothing_twice_and_picks_up_a_late_reply(
    fake: FakeBluesky, views: dict[str, Any], cfg: Any, run_sync: Any
) -> None:
    synced(run_sync, cfg)
    answered(fake, views["C"], berlin(24, 9, 30))
    synced(run_sync, cfg, now=RESYNC)
    care = stats(cfg)
    assert (care.inbound, care.answered) == (8, 8)
    assert care.minutes == (0, 30, 30, 60, 90, 120, 120, 480)
    assert (care.median, care.p90) == (75, 480)
    assert len(rows(cfg)) == 11


def test_thread_reads_stop_at_care_thread_reads_with_one_notice_and_an_unfinished_thread_yields_nothing(
    fake: FakeBluesky, views: dict[str, Any], httpserver: HTTPServer
) -> None:
    result = fetch_once(plugin, raw(httpserver, care_thread_reads=1), window(date(2026, 11, 18), date(2026, 11, 24),
                                                                             tz="Europe/Berlin"))
    assert len(thread_calls(fake)) == 1
    assert result.care == []  # G1-G3 wait for their cut part, G4 was not seen
    assert result.notices == [
        "Bluesky care: this run's 1 thread reads (care_thread_reads) were used up; the threads of 2 older posts and "
        "the rest of threads holding 3 replies were not read and are left for the next run"
    ]


def test_the_newest_thread_is_read_whole_before_older_ones_within_the_bound(
    fake: FakeBluesky, views: dict[str, Any], httpserver: HTTPServer
) -> None:
    result = fetch_once(plugin, raw(httpserver, care_thread_reads=2), window(date(2026, 11, 18), date(2026, 11, 24),
                                                                             tz="Europe/Berlin"))
    assert sorted(i.item_id for i in result.care) == sorted(views[n]["uri"] for n in ("G1", "G2", "G3", "G4"))
    assert len(result.notices) == 1 and "the threads of 2 older posts" in result.notices[0]


def test_a_host_that_wants_a_login_for_threads_gives_one_notice_and_the_other_metrics_sync(
    fake: FakeBluesky, views: dict[str, Any], cfg: Any, run_sync: Any, samples: Any
) -> None:
    fake.threads_need_login = True
    outcome = synced(run_sync, cfg)
    assert outcome.notices == [
        "Bluesky answered HTTP 401 (AuthenticationRequired) to app.bsky.feed.getPostThread: reading reply threads "
        "there needs a login, which this plugin does not have, so no replies were collected (customer care); the "
        "other metrics were synced. The public AppView needs none: check base_url"
    ]
    assert len(thread_calls(fake)) == 1
    stored = {(r["metric"], str(r["day"])): r["value"] for r in samples(cfg.database)}
    assert stored[("followers", "2026-11-24")] == 612
    assert stored[("posts", "2026-11-23")] == 3  # P3 and the account's replies RA and RG
    assert rows(cfg) == {}


def test_replies_below_the_accounts_reply_in_someone_elses_thread_are_inbound(
    fake: FakeBluesky, httpserver: HTTPServer
) -> None:
    theirs = fake.foreign_post(berlin(23, 8))
    mine = answered(fake, theirs, berlin(23, 9))
    question = said(fake, "max", mine, berlin(23, 9, 15))
    answered(fake, question, berlin(23, 9, 45))
    said(fake, "lotte", theirs, berlin(23, 9, 20))  # beside the account's reply, not below it: not to the account
    result = fetch_once(plugin, raw(httpserver), window(date(2026, 11, 23), date(2026, 11, 24), tz="Europe/Berlin"))
    assert [(i.item_id, i.created_at, i.first_reply_at) for i in result.care] == [
        (question["uri"], berlin(23, 9, 15), berlin(23, 9, 45))
    ]
    assert [c["uri"] for c in thread_calls(fake)] == [[mine["uri"]]]


def test_a_post_without_replies_costs_no_thread_read(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    fake.post(berlin(23, 8))
    result = fetch_once(plugin, raw(httpserver), window(date(2026, 11, 23), date(2026, 11, 24), tz="Europe/Berlin"))
    assert thread_calls(fake) == [] and result.care == []


def test_a_post_deleted_before_its_thread_is_read_is_skipped(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    post = fake.post(berlin(23, 8))
    said(fake, "erika", post, berlin(23, 9))
    fake.placeholders[post["uri"]] = "notFound"  # getPostThread now answers 400 NotFound for it
    result = fetch_once(plugin, raw(httpserver), window(date(2026, 11, 23), date(2026, 11, 24), tz="Europe/Berlin"))
    assert len(thread_calls(fake)) == 1 and result.care == [] and result.notices == []


def test_a_reply_dated_before_its_post_by_the_clients_clock_counts_as_answered_at_once(
    fake: FakeBluesky, httpserver: HTTPServer
) -> None:
    post = fake.post(berlin(23, 8))
    question = said(fake, "erika", post, berlin(23, 10))
    answered(fake, question, berlin(23, 9, 58))  # a phone two minutes behind
    result = fetch_once(plugin, raw(httpserver), window(date(2026, 11, 23), date(2026, 11, 24), tz="Europe/Berlin"))
    assert [(i.created_at, i.first_reply_at) for i in result.care] == [(berlin(23, 10), berlin(23, 10))]


def test_care_thread_reads_zero_turns_care_off(
    fake: FakeBluesky, views: dict[str, Any], httpserver: HTTPServer
) -> None:
    result = fetch_once(plugin, raw(httpserver, care_thread_reads=0), window(date(2026, 11, 18), date(2026, 11, 24),
                                                                             tz="Europe/Berlin"))
    assert thread_calls(fake) == [] and result.care == []


@pytest.mark.parametrize("option, value", [("care_thread_reads", 1001), ("care_thread_reads", -1),
                                           ("care_lookback_days", 0), ("care_lookback_days", 91)])
def test_care_bounds_out_of_range_are_refused_as_a_config_problem(
    httpserver: HTTPServer, option: str, value: int
) -> None:
    with pytest.raises(AssertionError, match=f"{option} {value} must be between"):
        make_options(plugin, raw(httpserver, **{option: value}))


def test_no_reply_text_name_handle_or_reply_id_reaches_the_database_file(
    fake: FakeBluesky, views: dict[str, Any], cfg: Any, run_sync: Any, tmp_path: Any
) -> None:
    synced(run_sync, cfg)
    raw_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("tracker.db*"))
    assert next(iter(rows(cfg))).encode() in raw_bytes  # the scan reads what was written
    secrets = [s for did, handle, name, text in PEOPLE.values() for s in (did, handle, name, text)]
    secrets += [views[n]["uri"].rsplit("/", 1)[1] for n in (*INBOUND, *GONE)]
    for secret in secrets:
        assert secret.encode() not in raw_bytes, secret


def test_bluesky_with_care_passes_the_conformance_kit(
    fake: FakeBluesky, views: dict[str, Any], httpserver: HTTPServer
) -> None:
    result = check_plugin(plugin, raw(httpserver), since=date(2026, 11, 18), until=date(2026, 11, 24))
    assert len(result.care) == 11


def _real_thread() -> dict[str, Any]:
    path = SHARED_FIXTURES / "bluesky" / "getPostThread_postView_2024-07.json"
    if not path.exists():
        pytest.skip(f"real Bluesky recording not available ({path} is absent)")
    return json.loads(path.read_text().replace("did:plc:kvwvcn5iqfooopmyzvb4qzba", DID))


def test_the_fake_thread_node_has_the_keys_and_types_of_a_real_one(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    real = _real_thread()["thread"]
    post = fake.post(berlin(23, 8))
    said(fake, "erika", post, berlin(23, 9))
    result = fetch_once(plugin, raw(httpserver), window(date(2026, 11, 23), date(2026, 11, 24), tz="Europe/Berlin"))
    assert len(result.care) == 1
    ours = fake._node(post, 6)
    assert {k: type(v) for k, v in ours.items() if k in real} == {k: type(real[k]) for k in ours if k in real}
    assert set(ours) - set(real) == {"threadContext"}  # added to the AppView's thread views after the recording
    assert real["$type"] == ours["$type"] == ours["replies"][0]["$type"]


def test_the_parser_reads_a_real_thread_answer(fake: FakeBluesky, httpserver: HTTPServer) -> None:
    body = _real_thread()
    post = {**body["thread"]["post"], "replyCount": 1}  # so the plugin asks for its thread
    fake.items = [(datetime.fromisoformat(post["indexedAt"].replace("Z", "+00:00")), {"post": post})]
    fake.recorded_threads[post["uri"]] = body
    day = date.fromisoformat(post["record"]["createdAt"][:10])
    result = fetch_once(plugin, raw(httpserver), window(day, day, today=day))
    assert [c["uri"] for c in thread_calls(fake)] == [[post["uri"]]]
    assert result.care == [] and result.notices == []  # the recording has no replies ("replies": [])


def test_a_late_answer_on_a_post_older_than_the_care_lookback_is_picked_up_from_a_remembered_thread(
    fake: FakeBluesky, views: dict[str, Any], httpserver: HTTPServer
) -> None:
    first = fetch_once(plugin, raw(httpserver), window(date(2026, 11, 18), date(2026, 11, 24), tz="Europe/Berlin"))
    answered(fake, views["C"], datetime(2026, 12, 2, 10, tzinfo=BERLIN))
    fake.requests.clear()
    later = window(date(2026, 12, 1), date(2026, 12, 3), tz="Europe/Berlin")  # the care lookback starts Fri 27 Nov
    result = fetch_once(plugin, raw(httpserver), later, state=first.state)
    # P2's and P3's replies were all answered; C now has a reply, so the depth cap cuts P1's thread at C
    assert [c["uri"] for c in thread_calls(fake)] == [[views["P1"]["uri"]], [views["C"]["uri"]]]
    got = {i.item_id: i.first_reply_at for i in result.care}
    assert got[views["C"]["uri"]] == datetime(2026, 12, 2, 10, tzinfo=BERLIN)


@pytest.mark.parametrize("today, reads", [(date(2026, 12, 19), 1), (date(2026, 12, 20), 0)])
def test_a_thread_with_an_unanswered_reply_is_re_read_for_30_days(
    fake: FakeBluesky, views: dict[str, Any], httpserver: HTTPServer, today: date, reads: int
) -> None:
    first = fetch_once(plugin, raw(httpserver), window(date(2026, 11, 18), date(2026, 11, 24), tz="Europe/Berlin"))
    fake.requests.clear()
    result = fetch_once(plugin, raw(httpserver), window(today, today, tz="Europe/Berlin"), state=first.state)
    assert len(thread_calls(fake)) == reads  # P1 (Fri 20 Nov): the 30 days from 20 Nov end on 19 Dec
    state = first.state if result.state is None else result.state  # no State yielded: nothing changed
    assert len(state["care_open"]) == reads  # still unanswered, or forgotten
