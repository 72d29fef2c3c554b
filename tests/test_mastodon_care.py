"""Customer care from Mastodon, specified against the fake server through the real sync.

The week is Mon 2026-11-16 .. Sun 2026-11-22, Berlin time (UTC+1), business hours the default Mon-Fri
09:00-18:00; the first sync runs on Mon 23 at 13:00 Berlin. The account posts P on Mon 16 09:00 and continues
its own thread (R, 09:05: its reply to itself, not inbound). Items and business minutes to the first reply:

    A anna replies to P         Mon 16 10:00, answered Mon 16 10:30            30  (reply)
    B bernd mentions it         Fri 20 17:00, answered Mon 23 10:00           120  (mention: Fri 17-18 + Mon 9-10)
    C carla replies to P        Sat 21 11:00, answered Sat 21 12:00             0  (reply: weekend)
    D dora, private mention     Wed 18 09:00, answered Thu 19 09:00           540  (message: Wed 9-18)
    E anna answers A's answer   Tue 17 12:00, no answer                            (reply; open: > 48 h)
    G gustav replies to P       Thu 19 15:00, answered Thu 19 17:00           120  (reply: the account's answer
    H helga replies to G        Thu 19 16:00, answered Thu 19 17:00            60   to H is in G's branch too)
    F erik mentions it          Wed 18 14:00, deleted before any sync              (never seen)

Inbound 7, answered 6. Minutes sorted 0, 30, 60, 120, 120, 540: median (60 + 120) / 2 = 90, 90th percentile
(nearest rank, the 6th of 6) 540. Open at the end of the week (Mon 23 00:00): E, and B (55 h old, answered
only at 10:00) = 2.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.mastodon import ACCOUNT_ID, FakeMastodon
from tracker.report import compute
from tracker.store.db import open_engine
from tracker.testing import fetch_once, window
from tracker_plugins.mastodon import plugin

TOKEN = "masto-care-token-789"
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 23)  # the day of the first sync
WEEK = compute.Period(date(2026, 11, 16), date(2026, 11, 22))
REAL = SHARED_FIXTURES / "mastodon"


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


class Week:
    """The fake seeded with the week of the module docstring; keeps the statuses a test acts on later."""

    def __init__(self, fake: FakeMastodon) -> None:
        anna = fake.person("anna_k", "Anna Kowalski")
        self.people = [anna, *(fake.person(n, d) for n, d in (
            ("bernd77", "Bernd Brotfreund"), ("carla.m", "Carla Meier"), ("dora_d", "Dora Dinkel"),
            ("gustav_g", "Gustav Gans"), ("helga_h", "Helga Hefe"), ("erik_e", "Erik Eifrig"),
        ))]
        _, bernd, carla, dora, gustav, helga, erik = self.people
        post = fake.post(berlin(16, 9), likes=4)
        fake.reply(post, berlin(16, 9, 5), text="<p>Und Mohnbrötchen gibt es auch.</p>")
        self.a = fake.reply(post, berlin(16, 10), anna, "<p>Habt ihr Roggenbrot ohne Kümmel?</p>")
        answer_a = fake.reply(self.a, berlin(16, 10, 30), text="<p>Ja, jeden Dienstag!</p>")
        self.b = fake.mention(berlin(20, 17), bernd, "<p>@baeckerei liefert ihr auch nach Pankow?</p>")
        fake.reply(self.b, berlin(23, 10), text="<p>Leider nicht, aber Abholung geht.</p>")
        c = fake.reply(post, berlin(21, 11), carla, "<p>Seid ihr morgen offen?</p>")
        fake.reply(c, berlin(21, 12), text="<p>Sonntags 8 bis 12.</p>")
        d = fake.mention(berlin(18, 9), dora, "<p>Kann ich eine Torte vorbestellen?</p>", visibility="direct")
        fake.reply(d, berlin(19, 9), text="<p>Gern, ab 3 Tagen vorher.</p>", visibility="direct")
        self.e = fake.reply(answer_a, berlin(17, 12), anna, "<p>Und wie lange ist es haltbar?</p>")
        g = fake.reply(post, berlin(19, 15), gustav, "<p>Wie viel kostet das Dinkelbrot?</p>")
        h = fake.reply(g, berlin(19, 16), helga, "<p>Das würde mich auch interessieren!</p>")
        fake.reply(h, berlin(19, 17), text="<p>4,20 Euro das Stück.</p>")
        fake.delete(fake.mention(berlin(18, 14), erik, "<p>Wo ist eure Filiale?</p>"))
        self.others = [self.a, self.b, c, d, self.e, g, h]


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeMastodon:
    return FakeMastodon(httpserver, valid_token=TOKEN)


@pytest.fixture
def week(fake: FakeMastodon) -> Week:
    return Week(fake)


def config(make_config, server: HTTPServer, token: bool = True, **extra: Any):
    options = {"plugin": "mastodon", "instance": server.url_for("/"), "acct": "baeckerei", **extra}
    if token:
        options["token"] = "${TEST_TOKEN}"
    return make_config({"masto": options}, timezone="Europe/Berlin")


def care(cfg, now: datetime) -> compute.CareFigures:
    engine = open_engine(cfg.database)
    try:
        return compute.care_figures(engine, WEEK, compute.CareRules.of(cfg), now, {"masto"})["mastodon"]
    finally:
        engine.dispose()


def utc(at: datetime) -> str:
    """A time as SQLite holds it."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def stored_items(cfg) -> list[dict[str, Any]]:
    engine = open_engine(cfg.database)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text("SELECT * FROM care_item ORDER BY created_at")).mappings()]
    finally:
        engine.dispose()


def synced(run_sync, cfg, day: date):
    result = run_sync(cfg, now=noon(day))
    assert result.ok, result.outcomes
    return result.outcomes[0]


@pytest.fixture
def with_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)


# --- with a token that reads notifications ----------------------------------------------------------------


def test_reply_rate_and_business_hour_response_times_of_a_week_of_mentions(
    week: Week, httpserver: HTTPServer, make_config, run_sync, with_token
) -> None:
    cfg = config(make_config, httpserver)
    synced(run_sync, cfg, MONDAY)
    figures = care(cfg, noon(MONDAY))
    assert (figures.inbound, figures.answered) == (7, 6)  # R, the account's reply to itself, is not inbound
    assert figures.items.minutes == (0, 30, 60, 120, 120, 540)
    assert (figures.items.median, figures.items.p90) == (90, 540)
    assert figures.items.open == 2


def test_channels_say_reply_mention_or_private_message(
    week: Week, httpserver: HTTPServer, make_config, run_sync, with_token
) -> None:
    cfg = config(make_config, httpserver)
    synced(run_sync, cfg, MONDAY)
    channels = {name: stats.inbound for name, stats in care(cfg, noon(MONDAY)).channels.items()}
    assert channels == {"reply": 4, "mention": 2, "message": 1}  # A C E G; B H; D


def test_mentions_are_read_with_the_token_and_types_filter_80_a_page(
    week: Week, fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync, with_token
) -> None:
    synced(run_sync, config(make_config, httpserver), MONDAY)
    [listing] = [r for r in fake.requests if r.path == "/api/v1/notifications"]
    assert listing.args == {"types[]": ["mention"], "limit": ["80"]}
    assert listing.headers["Authorization"] == f"Bearer {TOKEN}" and TOKEN not in listing.url
    threads = {r.path for r in fake.requests if r.path.endswith("/context")}
    assert threads == {f"/api/v1/statuses/{s['id']}/context" for s in week.others}


def test_a_long_thread_is_read_through_both_pages_of_its_notifications(
    fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync, with_token
) -> None:
    post = fake.post(berlin(16, 9))
    anna = fake.person("anna_k", "Anna Kowalski")
    last = post
    for n in range(90):  # 90 replies, one every 2 minutes from Tue 17 10:00: two pages of 80 and 10 mentions
        last = fake.reply(last, berlin(17, 10) + timedelta(minutes=2 * n), anna, f"<p>Frage {n}</p>")
    fake.reply(last, berlin(17, 13), text="<p>Alles beantwortet.</p>")
    cfg = config(make_config, httpserver)

    synced(run_sync, cfg, MONDAY)

    figures = care(cfg, noon(MONDAY))
    assert (figures.inbound, figures.answered) == (90, 90)  # every question's branch holds the 13:00 answer
    assert figures.items.minutes[0] == 2  # the last question, 12:58 -> 13:00
    assert figures.items.minutes[-1] == 180  # the first one, 10:00 -> 13:00
    first, second = [r for r in fake.requests if r.path == "/api/v1/notifications"]
    assert second.args == {"limit": ["80"], "max_id": [fake.notifications[79]["id"]], "types[]": ["mention"]}


def test_a_resync_counts_nothing_twice_picks_up_a_late_reply_and_keeps_a_deleted_status(
    week: Week, fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync, with_token
) -> None:
    cfg = config(make_config, httpserver)
    synced(run_sync, cfg, MONDAY)
    fake.reply(week.e, berlin(24, 10), text="<p>Drei Tage.</p>")
    fake.delete(week.a)  # anna deletes A: Mastodon shows nothing of it any more
    synced(run_sync, cfg, MONDAY + timedelta(days=1))

    figures = care(cfg, noon(MONDAY + timedelta(days=1)))
    # E: Tue 17 12:00 -> Tue 24 10:00 = 360 (Tue 12-18) + 3 x 540 (Wed-Fri) + 540 (Mon) + 60 (Tue 9-10) = 2580
    assert (figures.inbound, figures.answered) == (7, 7)
    assert figures.items.minutes == (0, 30, 60, 120, 120, 540, 2580)
    assert (figures.items.median, figures.items.p90) == (120, 2580)  # the 4th of 7; nearest rank ceil(6.3) = 7th
    rows = stored_items(cfg)
    assert len(rows) == 7 and not any(r["deleted"] for r in rows)


def test_the_run_reads_at_most_care_max_threads_threads_newest_first_and_says_so(
    week: Week, fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync, with_token
) -> None:
    cfg = config(make_config, httpserver, care_max_threads=2)
    outcome = synced(run_sync, cfg, MONDAY)
    assert len([r for r in fake.requests if r.path.endswith("/context")]) == 2
    assert [r["created_at"] for r in stored_items(cfg)] == [utc(berlin(20, 17)), utc(berlin(21, 11))]  # B, C: newest
    assert any("care_max_threads" in n for n in outcome.notices), outcome.notices


def test_care_stops_when_the_rate_limit_runs_low_and_the_metrics_are_stored(
    week: Week, fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync, samples, with_token
) -> None:
    fake.remaining = 12
    cfg = config(make_config, httpserver)
    outcome = synced(run_sync, cfg, MONDAY)
    assert not [r for r in fake.requests if r.path.endswith("/context")]
    assert any("only 12 requests are left" in n for n in outcome.notices), outcome.notices
    assert {(r["metric"], str(r["day"])): r["value"] for r in samples(cfg.database)}[("followers", "2026-11-23")] == 418


# --- without the permission, or without a token --------------------------------------------------------------


def test_a_token_without_read_notifications_gives_one_notice_and_counts_replies_in_own_threads(
    week: Week, fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync, samples, with_token
) -> None:
    fake.scopes = frozenset({"read:accounts", "read:statuses"})
    cfg = config(make_config, httpserver)

    outcome = synced(run_sync, cfg, MONDAY)

    [notice] = [n for n in outcome.notices if "care" in n]
    assert "read:notifications" in notice
    values = {(r["metric"], str(r["day"])): r["value"] for r in samples(cfg.database)}
    assert values[("followers", "2026-11-23")] == 418 and values[("post_likes", "2026-11-16")] == 4
    figures = care(cfg, noon(MONDAY))
    # Only the replies below P: A 30, C 0, G 120, H 60 answered, E open; B and D are not in the account's threads.
    assert (figures.inbound, figures.answered) == (5, 4)
    assert figures.items.minutes == (0, 30, 60, 120)
    assert (figures.items.median, figures.items.p90) == (45, 120)


def test_without_a_token_the_replies_in_the_accounts_own_threads_are_read_anonymously(
    week: Week, fake: FakeMastodon, httpserver: HTTPServer, make_config, run_sync
) -> None:
    cfg = config(make_config, httpserver, token=False)
    outcome = synced(run_sync, cfg, MONDAY)
    assert not [r for r in fake.requests if r.path == "/api/v1/notifications"]
    assert not any("care" in n for n in outcome.notices)
    assert (care(cfg, noon(MONDAY)).inbound, care(cfg, noon(MONDAY)).answered) == (5, 4)
    threads = [r for r in fake.requests if r.path.endswith("/context")]
    assert threads and all("Authorization" not in r.headers for r in threads)


def test_a_reply_below_a_followers_only_status_still_finds_the_accounts_answer(
    fake: FakeMastodon, httpserver: HTTPServer
) -> None:
    post = fake.post(berlin(18, 9))
    hidden = fake.reply(post, berlin(18, 10), fake.person("anna_k", "Anna K"), "<p>privat</p>", visibility="private")
    seen = fake.reply(hidden, berlin(18, 11), fake.person("bernd77", "Bernd B"), "<p>Ich auch!</p>")
    fake.reply(seen, berlin(18, 11, 45), text="<p>Gern.</p>")
    raw = {"instance": httpserver.url_for("/"), "acct": "baeckerei"}  # anonymous: the private reply is not shown
    result = fetch_once(plugin, raw, window(MONDAY - timedelta(days=6), MONDAY, MONDAY, "Europe/Berlin"))
    assert [(i.item_id, i.first_reply_at) for i in result.care] == [(seen["id"], berlin(18, 11, 45))]


def test_a_status_gone_before_its_thread_is_read_is_skipped_not_a_failure(
    week: Week, fake: FakeMastodon, httpserver: HTTPServer
) -> None:
    del fake.everything[week.b["id"]]  # deleted between the notification list and the thread read: 404
    raw = {"instance": httpserver.url_for("/"), "acct": "baeckerei", "token": "${T}"}
    result = fetch_once(plugin, raw, window(MONDAY - timedelta(days=6), MONDAY, MONDAY, "Europe/Berlin"),
                        env={"T": TOKEN})
    assert len(result.care) == 6 and week.b["id"] not in {i.item_id for i in result.care}


def test_posts_without_replies_cost_no_thread_read(fake: FakeMastodon, httpserver: HTTPServer) -> None:
    fake.post(berlin(20, 9))
    own = fake.post(berlin(21, 9))
    fake.reply(own, berlin(21, 9, 30), text="<p>Nachtrag</p>")  # the account's reply to itself: not inbound
    raw = {"instance": httpserver.url_for("/"), "acct": "baeckerei"}
    result = fetch_once(plugin, raw, window(MONDAY - timedelta(days=6), MONDAY, MONDAY, "Europe/Berlin"))
    assert result.care == []
    assert [r.path for r in fake.requests if r.path.endswith("/context")] == [f"/api/v1/statuses/{own['id']}/context"]


def test_care_max_threads_0_turns_care_off(week: Week, fake: FakeMastodon, httpserver: HTTPServer) -> None:
    raw = {"instance": httpserver.url_for("/"), "acct": "baeckerei", "care_max_threads": 0}
    result = fetch_once(plugin, raw, window(MONDAY - timedelta(days=6), MONDAY, MONDAY, "Europe/Berlin"))
    assert result.care == [] and not [r for r in fake.requests if r.path.endswith("/context")]


@pytest.mark.parametrize(("option", "value"), [("care_lookback_days", 61), ("care_max_threads", 251)])
def test_care_options_beyond_their_maximum_are_refused(option: str, value: int, httpserver: HTTPServer) -> None:
    from tracker.testing import make_options

    with pytest.raises(AssertionError, match=option):
        make_options(plugin, {"instance": httpserver.url_for("/"), "acct": "baeckerei", option: value})


# --- privacy -------------------------------------------------------------------------------------------------


def test_no_text_name_handle_or_status_id_of_others_reaches_the_database_file(
    week: Week, httpserver: HTTPServer, make_config, run_sync, with_token, db_url: str
) -> None:
    cfg = config(make_config, httpserver)
    synced(run_sync, cfg, MONDAY)
    path = Path(db_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # the file and its -wal, if any
    assert stored_items(cfg)[0]["item_hash"].encode() in raw  # the scan reads what was written
    secrets = [s["content"].removeprefix("<p>").removesuffix("</p>") for s in week.others]
    for person in week.people:
        secrets += [person["display_name"], person["username"], person["acct"], person["id"]]
    secrets += [s["id"] for s in week.others]
    for secret in secrets:
        assert secret.encode() not in raw, secret


# --- real recordings -----------------------------------------------------------------------------------------


def _real(name: str) -> Any:
    if not REAL.is_dir():
        pytest.skip(f"real Mastodon recordings not available ({REAL} is absent)")
    return json.loads((REAL / name).read_text())


def test_the_fake_notification_has_the_keys_and_types_of_a_real_one(week: Week, fake: FakeMastodon) -> None:
    [real] = _real("notifications_types_mention.json")
    mine = fake.notifications[0]
    assert set(mine) <= set(real), set(mine) - set(real)
    assert {k: type(mine[k]) for k in mine} == {k: type(real[k]) for k in mine}
    assert set(mine["status"]) <= set(real["status"]), set(mine["status"]) - set(real["status"])


def test_the_parser_reads_a_real_recorded_mention(httpserver: HTTPServer) -> None:
    [real] = _real("notifications_types_mention.json")
    fake = FakeMastodon(httpserver, valid_token=TOKEN)
    fake.notifications = [real]
    fake.everything[real["status"]["id"]] = real["status"]
    day = date(2026, 8, 1)
    result = fetch_once(plugin, {"instance": httpserver.url_for("/"), "acct": "baeckerei", "token": "${T}"},
                        window(day, day, day), env={"T": TOKEN})
    [item] = result.care
    assert (item.channel, item.item_id, item.first_reply_at) == ("mention", real["status"]["id"], None)
    assert item.created_at == datetime.fromisoformat("2026-08-01T13:51:42.823+00:00")
    assert item.from_account is False and real["status"]["account"]["id"] != ACCOUNT_ID
