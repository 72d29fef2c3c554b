"""Customer care (issue 20): care facts in, hashed ids and no text stored, figures computed by hand out.

The period is 2026-11-16 (Mon) .. 2026-11-29 (Sun), Berlin time (UTC+1), business hours the default
Mon-Fri 09:00-18:00, Wednesday 2026-11-25 a holiday. Instagram's items and their business minutes to the
first reply:

    A comment  Mon 16 10:00 -> Mon 16 10:30      30  (inside hours)
    B message  Fri 20 17:00 -> Mon 23 10:00     120  (Fri 17-18, weekend skipped, Mon 9-10)
    C comment  Sat 21 11:00 -> Sat 21 12:00       0  (weekend: no business time passed)
    D mention  Wed 18 09:00 -> Thu 19 09:00     540  (Wed 9-18)
    E comment  Tue 24 17:30 -> Thu 26 09:30      60  (Tue 30 min, the holiday skipped, Thu 30 min)
    F message  Tue 17 12:00, no reply                (open: older than 48 h at the period's end)
    G comment  Thu 26 12:00, no reply                (open)
    H comment  Sun 29 10:00, no reply                (not open: 38 h old at the end)
    L message  Mon 23 08:00, no reply                (open)
    I reply    Mon 16 10:30 by the account itself    (not inbound)
    J comment  Wed 18 14:00, deleted                 (not counted)
    K comment  Fri 13 10:00, no reply                (before the period: not inbound, but open)

Inbound 9 (A-H, L), answered 5 (A-E): reply rate 55.6 %, shown 56 %. Minutes sorted 0, 30, 60, 120, 540:
median 60, 90th percentile (nearest rank, the 5th of 5) 540. Open at the end of the period: F, G, K, L = 4.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from rich.console import Console

from tracker import alerts
from tracker import config as cfgmod
from tracker.cli.main import app
from tracker.collect import Fetched, collect
from tracker.errors import ConfigError, PluginError
from tracker.http import HttpSession
from tracker.plugin import CareItem, Plugin, Sample
from tracker.report import compute, render, rows
from tracker.store import forget as forget_store
from tracker.store import rename as rename_store
from tracker.store import writes
from tracker.store.db import open_engine
from tracker.store.models import CARE_ITEM, CARE_SALT
from tracker.testing import window

from .test_cli import invoke

BERLIN = ZoneInfo("Europe/Berlin")
START, END = date(2026, 11, 16), date(2026, 11, 29)
PERIOD = compute.Period(START, END)
AFTER = datetime(2026, 12, 3, 12, tzinfo=UTC)  # when the report is made: after the period
HOLIDAY = "2026-11-25"


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def item(key: str, channel: str, created: datetime, reply: datetime | None = None, **kw: Any) -> CareItem:
    return CareItem("instagram", channel, f"1789{key}00042", created, reply, **kw)


ITEMS = [
    item("A", "comment", berlin(16, 10), berlin(16, 10, 30)),
    item("B", "message", berlin(20, 17), berlin(23, 10)),
    item("C", "comment", berlin(21, 11), berlin(21, 12)),
    item("D", "mention", berlin(18, 9), berlin(19, 9)),
    item("E", "comment", berlin(24, 17, 30), berlin(26, 9, 30)),
    item("F", "message", berlin(17, 12)),
    item("G", "comment", berlin(26, 12)),
    item("H", "comment", berlin(29, 10)),
    item("L", "message", berlin(23, 8)),
    item("I", "reply", berlin(16, 10, 30), from_account=True),
    item("J", "comment", berlin(18, 14), deleted=True),
    item("K", "comment", berlin(13, 10)),
]


def desk(items: list[Any], platforms: tuple[str, ...] = ("instagram", "facebook")) -> Plugin:
    """A plugin that yields the given care items (and anything else given) as one page."""
    return Plugin(name="desk", platforms=platforms, fetch=lambda opts, win, http, state: iter([list(items)]))


def fetch(plugin: Plugin, today: date = END) -> Fetched:
    """The core's validation of one fetch, as `tracker sync` runs it."""
    with HttpSession(stop=threading.Event()) as http:
        return collect(plugin, None, window(today - timedelta(days=13), today, today, "Europe/Berlin"), http, {})


def store(engine, account: str, items: list[Any] = (), samples: list[Sample] = (), today: date = END) -> Fetched:
    """What a sync does with a fetch: validate it (tracker.collect), then commit it (tracker.store.writes)."""
    fetched = fetch(desk([*items]), today) if items else Fetched(samples=list(samples))
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(engine, run_id, account, today - timedelta(days=13), today)
    result = writes.AccountResult(
        account, "desk", "{}", "none", False, 0, samples=fetched.samples or list(samples), care=fetched.care,
        notices=fetched.notices,
    )
    writes.commit_account(engine, run_id, account_run, result)
    return fetched


def care_config(**care: Any) -> cfgmod.Config:
    accounts = {"shop": {"plugin": "demo"}}
    raw = {"timezone": "Europe/Berlin", "care": {"holidays": [HOLIDAY], **care}, "accounts": accounts}
    return cfgmod.parse(raw)


def figures(engine, cfg: cfgmod.Config | None = None, now: datetime = AFTER) -> dict[str, compute.CareFigures]:
    return compute.care_figures(engine, PERIOD, compute.CareRules.of(cfg or care_config()), now, {"shop", "page"})


def stored_rows(engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(CARE_ITEM).order_by(CARE_ITEM.c.created_at)).mappings()]


# --- business hours -------------------------------------------------------------------------------------------


def test_friday_evening_to_monday_morning_counts_two_business_hours():
    hours = care_config().care.business_hours
    assert hours.minutes_between(berlin(27, 17), berlin(30, 10), BERLIN) == 120


def test_a_holiday_has_no_business_hours():
    hours = care_config().care.business_hours
    assert hours.minutes_between(berlin(24, 17, 30), berlin(26, 9, 30), BERLIN) == 60


def test_business_hours_on_the_night_the_clocks_change_count_the_hours_that_passed():
    hours = cfgmod.parse({"care": {"business_hours": "Sun 00:00-24:00"}}).care.business_hours
    start, end = datetime(2026, 3, 28, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN)
    assert hours.minutes_between(start, end, BERLIN) == 23 * 60


def test_several_spans_and_always():
    lunch = cfgmod.parse({"care": {"business_hours": "Mon-Fri 09:00-12:00, Mon-Fri 13:00-18:00"}}).care.business_hours
    assert lunch.minutes_between(berlin(16, 11), berlin(16, 14), BERLIN) == 120
    always = cfgmod.parse({"care": {"business_hours": "always"}}).care.business_hours
    assert always.minutes_between(berlin(21, 11), berlin(23, 11), BERLIN) == 48 * 60


# --- config -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("care", "line"),
    [
        ({"business_hours": "Mon-Fry 9-18"}, 'care.business_hours: must be days and hours like "Mon-Fri 09:00-18:00"'),
        ({"business_hours": "Mon 18:00-09:00"}, "care.business_hours: must be days and hours"),
        ({"holidays": ["2026-02-30"]}, "care.holidays: '2026-02-30' is not a date like \"2026-12-25\""),
        ({"holidays": "2026-12-25"}, "care.holidays: must be a list of dates"),
        ({"unanswered_hours": 0}, "care.unanswered_hours: must be a whole number >= 1, not 0"),
        ({"response_hours": 4}, "care.response_hours: unknown setting (known: business_hours, holidays, unanswered_"),
    ],
)
def test_a_bad_care_setting_is_one_line_naming_the_key(care, line):
    with pytest.raises(ConfigError) as caught:
        cfgmod.parse({"care": care}, None)
    [problem] = str(caught.value).splitlines()
    assert problem.startswith(f"<config>: {line}")


def test_config_check_names_the_file_and_key_and_exits_2(cli, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('timezone = "UTC"\n[care]\nbusiness_hours = "9 to 5"\n', encoding="utf-8")
    result = invoke(cli, "config", "check", "--config", str(path))
    assert result.exit_code == 2
    assert f"{path}: care.business_hours: must be days and hours" in result.output
    assert "Traceback" not in result.output


def test_toml_dates_are_holidays_too():
    cfg = cfgmod.parse(__import__("tomllib").loads('[care]\nholidays = [2026-12-25, "2026-12-26"]\n'))
    assert cfg.care.business_hours.holidays == {date(2026, 12, 25), date(2026, 12, 26)}


# --- what a plugin may yield ------------------------------------------------------------------------------------


def test_care_item_has_no_field_for_text_author_or_handle():
    assert [f.name for f in fields(CareItem)] == [
        "platform", "channel", "item_id", "created_at", "first_reply_at", "from_account", "deleted",
    ]


def test_a_naive_time_fails_the_fetch_naming_the_plugin_not_the_item():
    naive = CareItem("instagram", "comment", "17890000000042", datetime(2026, 11, 16, 10))
    expected = "plugin desk yielded a comment care item on 'instagram': created_at must be a datetime with a time zone"
    with pytest.raises(PluginError, match=expected) as caught:
        fetch(desk([naive]))
    assert "17890000000042" not in str(caught.value)


def test_an_unknown_channel_fails_the_fetch():
    with pytest.raises(PluginError, match="channel must be one of comment, mention, message, reply, review"):
        fetch(desk([CareItem("instagram", "dm", "1", berlin(16, 10))]))


def test_a_platform_the_plugin_does_not_declare_fails_the_fetch():
    with pytest.raises(PluginError, match="a platform it does not declare"):
        fetch(desk([CareItem("tiktok", "comment", "1", berlin(16, 10))]))


def test_a_reply_before_the_item_drops_that_item_with_a_notice_without_its_id():
    early = CareItem("instagram", "comment", "17890000000042", berlin(16, 10), berlin(16, 9))
    fetched = fetch(desk([early, ITEMS[0]]))
    assert fetched.care == [ITEMS[0]]
    assert fetched.notices == [
        "instagram comment of 2026-11-16T10:00:00+01:00: first reply at 2026-11-16T09:00:00+01:00 is before it; "
        "that item was dropped, the rest kept"
    ]


def test_the_computed_care_figures_cannot_be_yielded_as_samples():
    with pytest.raises(PluginError, match="yielded reply_rate as a sample: the core computes it; yield CareItem"):
        fetch(desk([Sample("instagram", "reply_rate", END, 50)]))


# --- storage ------------------------------------------------------------------------------------------------------


def test_the_platform_id_is_stored_only_as_a_salted_hash(engine):
    store(engine, "shop", [ITEMS[0]])
    with engine.connect() as conn:
        salt = conn.execute(sa.select(CARE_SALT.c.salt)).scalar_one()
    [row] = stored_rows(engine)
    assert row["item_hash"] == hashlib.sha256(f"{salt}\x00instagram\x00{ITEMS[0].item_id}".encode()).hexdigest()
    assert row["item_hash"] != hashlib.sha256(ITEMS[0].item_id.encode()).hexdigest()
    assert ITEMS[0].item_id not in json.dumps(row, default=str)


def test_the_same_item_hashes_differently_in_another_database(tmp_path):
    hashes = []
    for name in ("one.db", "two.db"):
        engine = open_engine(f"sqlite:///{tmp_path / name}")
        store(engine, "shop", [ITEMS[0]])
        hashes.append(stored_rows(engine)[0]["item_hash"])
        engine.dispose()
    assert hashes[0] != hashes[1]


def test_times_are_stored_in_utc(engine):
    store(engine, "shop", [ITEMS[1]])
    [row] = stored_rows(engine)
    assert (row["created_at"], row["first_reply_at"]) == (
        datetime(2026, 11, 20, 16, tzinfo=UTC), datetime(2026, 11, 23, 9, tzinfo=UTC),
    )


def test_a_resync_records_a_reply_that_appeared_and_counts_the_item_once(engine):
    waiting = item("A", "comment", berlin(16, 10))
    store(engine, "shop", [waiting])
    store(engine, "shop", [ITEMS[0]])
    [row] = stored_rows(engine)
    assert row["first_reply_at"] == berlin(16, 10, 30).astimezone(UTC)
    care = figures(engine)["instagram"]
    assert (care.inbound, care.answered) == (1, 1)


def test_a_resync_that_no_longer_sees_the_reply_keeps_it(engine):
    store(engine, "shop", [ITEMS[0]])
    store(engine, "shop", [item("A", "comment", berlin(16, 10))])
    assert stored_rows(engine)[0]["first_reply_at"] == berlin(16, 10, 30).astimezone(UTC)


def test_a_deleted_item_is_kept_marked_and_not_counted(engine):
    store(engine, "shop", [ITEMS[0]])
    store(engine, "shop", [item("A", "comment", berlin(16, 10), berlin(16, 10, 30), deleted=True)])
    assert [r["deleted"] for r in stored_rows(engine)] == [True]
    assert figures(engine)["instagram"].inbound == 0


def test_the_accounts_own_reply_is_never_stored_and_removes_an_earlier_row(engine):
    store(engine, "shop", [item("I", "reply", berlin(16, 10, 30))])
    store(engine, "shop", [ITEMS[9]])  # the plugin now knows the author is the account itself
    assert stored_rows(engine) == []


def test_no_text_handle_or_platform_id_is_in_the_database_file_after_a_sync(tmp_path):
    """The fake service's threads carry text and handles; only hashes and times may reach the file (and its WAL)."""
    threads = [
        {"id": "17912345678901234", "text": "Habt ihr morgen Zimtschnecken?", "from": "@erika.mustermann",
         "at": berlin(23, 9), "reply": {"from": "@baeckerei.sonne", "text": "Ja, ab 7 Uhr!", "at": berlin(23, 9, 45)}},
        {"id": "aWdfZAG1faW5kZAXhfbWVzc2FnZA", "text": "Wann habt ihr Sonntag offen?", "from": "@max_power_99",
         "at": berlin(24, 20), "reply": None},
    ]

    def read_threads(opts, win, http, state):
        for t in threads:
            reply = t["reply"]
            yield CareItem("instagram", "comment", t["id"], t["at"], reply["at"] if reply else None)
            if reply:
                yield CareItem("instagram", "reply", t["id"] + "_r", reply["at"], from_account=True)

    engine = open_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    fetched = fetch(Plugin("desk", ("instagram",), read_threads))
    run_id = writes.start_run(engine, "sync")
    account_run = writes.start_account_run(engine, run_id, "shop", START, END)
    result = writes.AccountResult("shop", "desk", "{}", "none", False, 0, care=fetched.care)
    writes.commit_account(engine, run_id, account_run, result)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("tracker.db*"))
    assert stored_rows(engine)[0]["item_hash"].encode() in raw  # the scan reads what was written
    engine.dispose()
    for thread in threads:
        for secret in (thread["id"], thread["text"], thread["from"].lstrip("@")):
            assert secret.encode() not in raw, secret
    for secret in ("baeckerei.sonne", "Ja, ab 7 Uhr"):
        assert secret.encode() not in raw, secret


# tracker/sync.py builds the AccountResult from the fetch field by field and does not hand `care` on yet; the
# tests above store through tracker.collect and tracker.store.writes, the two steps the sync runs. When sync.py
# passes `care=fetched.care`, these fail as XPASS: remove the marker then.
NEEDS_SYNC = pytest.mark.xfail(strict=True, reason="tracker/sync.py does not pass Fetched.care to AccountResult yet")


def test_a_sync_stores_the_care_items_its_plugin_yields(make_config, run_sync, db_url):
    from tracker.registry import Entry, discover

    registry = discover()
    registry.add(Entry("desk", "test", desk(ITEMS[:2])))
    assert run_sync(make_config({"shop": {"plugin": "desk"}}), since=START, until=END, now=AFTER, plugins=registry).ok
    engine = open_engine(db_url)
    try:
        assert len(stored_rows(engine)) == 2
    finally:
        engine.dispose()


def test_tracker_demo_shows_instagrams_care(cli):
    result = invoke(cli, "demo", "--format", "json")
    assert result.exit_code == 0, result.output
    instagram = next(r for r in json.loads(result.stdout)["platforms"] if r["platform"] == "instagram")
    assert instagram["inbound"] > 0 and instagram["care_source"] == "care items"


# --- figures, by hand (see the module docstring) ------------------------------------------------------------------


@pytest.fixture
def desk_engine(engine):
    store(engine, "shop", ITEMS)
    return engine


def test_inbound_leaves_out_the_accounts_own_replies_and_deleted_items(desk_engine):
    assert figures(desk_engine)["instagram"].inbound == 9


def test_reply_rate_median_and_p90_are_the_hand_computed_ones(desk_engine):
    stats = figures(desk_engine)["instagram"].items
    assert (stats.inbound, stats.answered, stats.minutes) == (9, 5, (0.0, 30.0, 60.0, 120.0, 540.0))
    assert (stats.median, stats.p90) == (60.0, 540.0)


def test_unanswered_open_counts_late_items_of_the_last_30_days_at_the_periods_end(desk_engine):
    assert figures(desk_engine)["instagram"].items.open == 4


def test_the_gauge_is_read_now_when_the_period_ends_today(desk_engine):
    """On Friday the 27th at 12:00 UTC, G (Thu 12:00 Berlin) has waited 25 hours: not late yet; H has not arrived."""
    assert figures(desk_engine, now=datetime(2026, 11, 27, 12, tzinfo=UTC))["instagram"].items.open == 3


def test_figures_per_channel(desk_engine):
    channels = figures(desk_engine)["instagram"].channels
    summary = {c: (s.inbound, s.answered, s.median, s.p90, s.open) for c, s in channels.items()}
    assert summary == {
        "comment": (5, 3, 30.0, 60.0, 2),
        "message": (3, 1, 120.0, 120.0, 2),
        "mention": (1, 1, 540.0, 540.0, 0),
    }


def test_the_median_is_computed_from_the_items_not_from_days(engine):
    """Three items on one day (1, 2 and 3 minutes) and one the next (100): the median of the items is 2.5,
    the median of the two days' medians would be 51."""
    store(engine, "shop", [
        item("P1", "comment", berlin(16, 10), berlin(16, 10, 1)),
        item("P2", "comment", berlin(16, 11), berlin(16, 11, 2)),
        item("P3", "comment", berlin(16, 12), berlin(16, 12, 3)),
        item("P4", "comment", berlin(17, 10), berlin(17, 11, 40)),
    ])
    assert figures(engine)["instagram"].items.median == 2.5


def test_calendar_time_when_the_owner_says_always(desk_engine):
    """A 30 min, C 60 min, D 24 h, E 40 h, B 65 h: every hour counts."""
    stats = figures(desk_engine, care_config(business_hours="always"))["instagram"].items
    assert stats.minutes == (30.0, 60.0, 24 * 60.0, 40 * 60.0, 65 * 60.0)


def test_a_row_carries_the_care_figures_rounded_once(desk_engine):
    report = build(desk_engine)
    row = next(r for r in report.rows if r.platform == "instagram")
    assert (row.inbound, row.answered, row.reply_rate) == (9, 5, 56)
    assert (row.first_response_median_minutes, row.first_response_p90_minutes, row.unanswered_open) == (60, 540, 4)
    assert row.care_source == "care items"


def build(engine, cfg: cfgmod.Config | None = None) -> rows.Report:
    cfg = cfg or care_config()
    care = compute.care_figures(engine, PERIOD, compute.CareRules.of(cfg), AFTER, {"shop", "page"})
    figures_ = compute.compute(engine, PERIOD, None, (), {"shop", "page"})
    return rows.build(figures_, "EUR", None, AFTER.date(), [], care, compute.CareRules.of(cfg))


def test_a_platform_known_only_from_care_items_gets_a_row_with_everything_else_missing(desk_engine):
    row = next(r for r in build(desk_engine).rows if r.platform == "instagram")
    assert row.inbound == 9 and row.followers is None and row.conversions is None


def test_a_period_before_the_first_item_has_no_care_data_rather_than_zero(desk_engine):
    """K (13 November) is the first item stored: nothing says care was collected in October."""
    october = compute.Period(date(2026, 10, 1), date(2026, 10, 14))
    assert compute.care_figures(desk_engine, october, compute.CareRules.of(care_config()), AFTER, {"shop"}) == {}


def test_a_quiet_period_after_the_first_item_has_zero_questions_and_no_row_of_its_own(desk_engine):
    quiet = compute.Period(date(2027, 3, 1), date(2027, 3, 14))
    rules = compute.CareRules.of(care_config())
    care = compute.care_figures(desk_engine, quiet, rules, AFTER + timedelta(days=120), {"shop"})
    assert (care["instagram"].inbound, care["instagram"].items.open) == (0, 0)
    report = rows.build(compute.compute(desk_engine, quiet, None, (), {"shop"}), "EUR", None, None, [], care, rules)
    assert report.rows == []


# --- daily message counts (existing databases, exports) -----------------------------------------------------------


def test_daily_messages_and_replies_count_as_inbound_and_answered(engine):
    store(engine, "page", samples=[Sample("facebook", "messages", END, 20), Sample("facebook", "replies", END, 15)])
    row = next(r for r in build(engine).rows if r.platform == "facebook")
    assert (row.messages, row.replies) == (20, 15)  # nothing stored is lost
    assert (row.inbound, row.answered, row.reply_rate, row.care_source) == (20, 15, 75, "daily counts")
    assert row.first_response_median_minutes is None and row.unanswered_open is None


def test_answered_from_daily_counts_never_exceeds_inbound(engine):
    store(engine, "page", samples=[Sample("facebook", "messages", END, 4), Sample("facebook", "replies", END, 6)])
    row = next(r for r in build(engine).rows if r.platform == "facebook")
    assert (row.inbound, row.answered, row.reply_rate) == (4, 4, 100)


def test_an_account_with_care_items_in_the_period_is_not_counted_twice_by_its_daily_counts(engine):
    store(engine, "shop", [ITEMS[0]])
    store(engine, "shop", samples=[Sample("instagram", "messages", END, 7), Sample("instagram", "replies", END, 7)])
    store(engine, "page", samples=[Sample("instagram", "messages", END, 2)])
    care = figures(engine)["instagram"]
    assert (care.inbound, care.answered, care.source) == (3, 1, "care items, daily counts")


def test_the_old_sentence_stays_for_daily_counts(engine):
    store(engine, "page", samples=[Sample("facebook", "messages", END, 20), Sample("facebook", "replies", END, 15)])
    assert "  care: 20 customer messages, 15 replies (75% answered)" in render.notes(build(engine))


# --- the report -----------------------------------------------------------------------------------------------


def test_the_care_sentence_gives_questions_answers_and_times_in_business_hours(desk_engine):
    lines = render.notes(build(desk_engine))
    assert (
        "  care: 9 questions, 5 answered (56%), median reply after 1.0 h, 90% within 9.0 h (business hours); "
        "4 unanswered for more than 48 hours"
    ) in lines
    basis = "Response times count business hours (Mon-Fri 09:00-18:00, holidays excepted), in each account's time zone."
    assert basis in lines


def test_the_care_column_is_compact(desk_engine):
    row = next(r for r in build(desk_engine).rows if r.platform == "instagram")
    assert render.CARE_COLUMN.cell(row, True) == "9 in, 56% ans., 1.0 h"


@pytest.fixture
def care_cli(tmp_path, desk_engine, db_url):
    """A config file over the database the items were stored in."""
    counts = [Sample("facebook", "messages", END, 20), Sample("facebook", "replies", END, 15)]
    store(desk_engine, "page", samples=counts)
    path = tmp_path / "config.toml"
    path.write_text(
        f'database = "{db_url.removeprefix("sqlite:///")}"\ntimezone = "Europe/Berlin"\n'
        f'[care]\nholidays = ["{HOLIDAY}"]\n[accounts.shop]\nplugin = "demo"\n[accounts.page]\nplugin = "demo"\n',
        encoding="utf-8",
    )
    return path


def report_args(config, *more: str) -> list[str]:
    return ["report", "--days", "14", "--until", END.isoformat(), "--config", str(config), *more]


def test_json_rows_carry_the_care_fields(cli, care_cli):
    result = invoke(cli, *report_args(care_cli, "--format", "json"))
    assert result.exit_code == 0, result.output
    rows_ = {r["platform"]: r for r in json.loads(result.stdout)["platforms"]}
    names = ("inbound", "answered", "reply_rate", "first_response_median_minutes", "first_response_p90_minutes")
    assert [rows_["instagram"][k] for k in names] == [9, 5, 56, 60, 540]


def test_csv_has_the_care_columns(cli, care_cli):
    result = invoke(cli, *report_args(care_cli, "--format", "csv"))
    facebook = next(r for r in csv.DictReader(io.StringIO(result.stdout)) if r["platform"] == "facebook")
    assert (facebook["inbound"], facebook["answered"], facebook["reply_rate"], facebook["care_source"]) == (
        "20", "15", "75", "daily counts",
    )
    instagram = next(r for r in csv.DictReader(io.StringIO(result.stdout)) if r["platform"] == "instagram")
    assert (instagram["first_response_median_minutes"], instagram["unanswered_open"]) == ("60", "4")


def test_report_care_shows_a_row_per_platform_and_channel(cli, care_cli):
    result = invoke(cli, *report_args(care_cli, "--care"))
    assert result.exit_code == 0, result.output
    table = [re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines()]
    assert ["instagram", "comment", "5", "3", "60%", "30 min", "1.0 h", "2"] in table
    assert ["instagram", "all", "9", "5", "56%", "1.0 h", "9.0 h", "4"] in table
    assert ["facebook", "daily counts", "20", "15", "75%", "–", "–", "–"] in table


def test_report_care_as_json_lists_the_channels(cli, care_cli):
    result = invoke(cli, *report_args(care_cli, "--care", "--format", "json"))
    data = json.loads(result.stdout)
    assert data["response_times"] == "business hours (Mon-Fri 09:00-18:00, holidays excepted)"
    mention = next(r for r in data["care"] if r["channel"] == "mention")
    assert (mention["inbound"], mention["first_response_median_minutes"]) == (1, 540)


def test_report_care_refuses_html_in_one_line(cli, care_cli):
    result = invoke(cli, *report_args(care_cli, "--care", "--format", "html"))
    assert result.exit_code == 2
    assert "--care prints a table, json or csv" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("care", [False, True], ids=["report", "report --care"])
def test_80_columns_cut_nothing(cli, care_cli, care):
    args = report_args(care_cli, *(["--care"] if care else []))
    result = cli.invoke(app, args, env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_a_wide_table_shows_the_care_column(desk_engine):
    console = Console(record=True, width=200, no_color=True)
    render.table(build(desk_engine), console)
    assert "9 in, 56% ans., 1.0 h" in console.export_text()


# --- alerts -----------------------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def waiting_since(engine, age: timedelta) -> None:
    store(engine, "shop", [CareItem("instagram", "message", "t_1", NOW - age)], today=date(2026, 11, 27))


def unanswered_alerts(engine) -> list[alerts.Alert]:
    cfg = cfgmod.parse({"timezone": "UTC", "accounts": {"shop": {"plugin": "demo"}}})
    return [a for a in alerts.evaluate(cfg, engine, NOW) if a.kind == alerts.Kind.UNANSWERED.value]


def test_a_question_waiting_47_hours_59_minutes_raises_no_alert(engine):
    waiting_since(engine, timedelta(hours=47, minutes=59))
    assert unanswered_alerts(engine) == []


def test_a_question_waiting_48_hours_1_minute_raises_the_alert_with_its_figures(engine):
    waiting_since(engine, timedelta(hours=48, minutes=1))
    [found] = unanswered_alerts(engine)
    assert found.message == "1 question on instagram unanswered for more than 48 hours"
    assert {f.name: f.value for f in found.evidence} == {
        "unanswered": 1, "unanswered_hours": 48, "period_start": "2026-10-29", "period_end": "2026-11-27",
        "inbound": 1, "answered": 0,
    }


def test_an_answered_question_raises_no_alert(engine):
    answered = CareItem("instagram", "message", "t_1", NOW - timedelta(days=3), NOW - timedelta(hours=1))
    store(engine, "shop", [answered], today=date(2026, 11, 27))
    assert unanswered_alerts(engine) == []


# --- forget and rename --------------------------------------------------------------------------------------------


def test_forget_deletes_the_accounts_care_items(desk_engine):
    assert forget_store.forget(desk_engine, "shop").care_items == 11  # all but the own reply I
    assert stored_rows(desk_engine) == []


def test_a_renamed_account_keeps_its_items_and_a_later_sync_recognises_them(desk_engine):
    rename_store.rename(desk_engine, "shop", "bakery")
    store(desk_engine, "bakery", [item("F", "message", berlin(17, 12), berlin(17, 13))])
    rows_ = stored_rows(desk_engine)
    assert len(rows_) == 11 and {r["account"] for r in rows_} == {"bakery"}
    assert sum(r["first_reply_at"] is not None for r in rows_) == 6


# --- the demo -------------------------------------------------------------------------------------------------------


def test_the_demo_yields_the_same_care_items_for_the_same_day():
    from tracker_plugins import demo

    win = window(date(2026, 11, 1), date(2026, 11, 27), date(2026, 11, 27), "Europe/Berlin")
    first = [i for d in win.days() for i in demo.day_care(7, "instagram", d, win)]
    again = [i for d in win.days() for i in demo.day_care(7, "instagram", d, win)]
    assert first == again and len([i for i in first if not i.from_account]) >= 5
    assert all(i.first_reply_at is None or i.first_reply_at < datetime(2026, 11, 27, tzinfo=BERLIN) for i in first)


def test_the_demo_reports_its_care_items(engine):
    from tracker.registry import discover

    plugin = discover().get("demo")
    with HttpSession(stop=threading.Event()) as http:
        fetched = collect(plugin, plugin.options(), window(START, END, END, "Europe/Berlin"), http, {})
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(engine, run_id, "shop", START, END)
    writes.commit_account(engine, run_id, account_run, writes.AccountResult(
        "shop", "demo", "{}", "analytics", False, 0, samples=fetched.samples, care=fetched.care,
    ))
    row = next(r for r in build(engine).rows if r.platform == "instagram")
    inbound = [i for i in fetched.care if not i.from_account]
    assert row.inbound == len(inbound) and row.answered == sum(i.first_reply_at is not None for i in inbound)
    assert next(r for r in build(engine).rows if r.platform == "facebook").care_source == "daily counts"


def test_a_plugin_that_yields_only_care_items_passes_the_conformance_kit():
    from dataclasses import dataclass as _dataclass

    from tracker.plugin import CareItem, Plugin
    from tracker.testing import check_plugin

    @_dataclass(frozen=True)
    class NoOptions:
        pass

    def fetch(opts, window, http, state):
        at = datetime.combine(window.until, datetime.min.time(), UTC).replace(hour=9)
        yield [CareItem("forum", "comment", "c-1", at, at + timedelta(hours=2))]

    fetched = check_plugin(Plugin(name="forum", platforms=("forum",), fetch=fetch, options=NoOptions),
                           {}, since=date(2026, 11, 1), until=date(2026, 11, 2))
    assert len(fetched.care) == 1
