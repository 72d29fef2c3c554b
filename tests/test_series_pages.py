"""A plugin may yield a metric's days and values as one `Series`: the same rules, the same store, no object per day.

A Series stands for one Sample per day. Whatever the core refuses, drops or keeps of those Samples, and the words
it uses, it does the same for the Series; what is stored is the same rows. The store writes on SQLite and, with
TRACKER_TEST_POSTGRES_URL set, on the real PostgreSQL server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.fakes.youtube import CHANNEL_ID, FakeYouTube
from tracker.columns import SampleColumns
from tracker.errors import PluginError
from tracker.plugin import Endpoint, Plugin, Sample, Series, Window
from tracker.registry import Entry, discover
from tracker.store import writes
from tracker.store.db import open_engine
from tracker.testing import check_plugin, fetch_once, window

from .conftest import noon

SINCE, UNTIL = date(2026, 1, 1), date(2026, 1, 9)
DAYS = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]


def fetched(*items: Any, platforms: tuple[str, ...] = ("nums",)) -> Any:
    """One fetch of a plugin yielding `items`, through the core's checks (the conformance kit's fetch)."""

    def fetch(opts, win, http, state):
        yield from items

    return fetch_once(Plugin(name="nums", platforms=platforms, fetch=fetch), {}, window(SINCE, UNTIL))


def outcome(*items: Any) -> tuple[Any, ...]:
    """What the core made of a fetch: the error's words, or the samples kept and the notices."""
    try:
        out = fetched(*items)
    except PluginError as exc:
        return ("refused", str(exc))
    return ("kept", list(out.samples), out.notices)


# --- the checks: a Series is held to a Sample's rules, reported in a Sample's words ---------------------------------

CASES = {
    "good numbers": ("nums", "likes", DAYS, [1, 2.5, 3]),
    "a negative follower count": ("nums", "followers", DAYS, [10, 11, -5]),
    "a rating above its range": ("nums", "rating", DAYS, [4.5, 5.5, 3]),
    "an infinity": ("nums", "likes", DAYS, [1.0, float("inf"), 2.0]),
    "not a number": ("nums", "likes", DAYS, [1.0, 2.0, float("nan")]),
    "an integer too large for a float": ("nums", "likes", DAYS, [1, 10**400, 2]),
    "a bool": ("nums", "likes", DAYS, [1, True, 2]),
    "a string": ("nums", "likes", DAYS, [1, "2", 3]),
    "None": ("nums", "likes", DAYS, [1, None, 3]),
    "a day after the window": ("nums", "likes", [date(2026, 1, 8), date(2026, 1, 10)], [1, 2]),
    "a day before the window": ("nums", "likes", [date(2025, 12, 31), date(2026, 1, 1)], [1, 2]),
    "a datetime for a day": ("nums", "likes", [date(2026, 1, 1), datetime(2026, 1, 2, 5)], [1, 2]),
    "a string for a day": ("nums", "likes", [date(2026, 1, 1), "2026-01-02"], [1, 2]),
    "an undeclared platform": ("elsewhere", "likes", DAYS, [1, 2, 3]),
    "an unknown metric": ("nums", "clicks_total", DAYS, [1, 2, 3]),
    "a metric the core computes": ("nums", "answered", DAYS, [1, 2, 3]),
    "the plugin's own metric, of either sign": ("nums", "nums.balance", DAYS, [-4, 0, 4]),
    "a day twice": ("nums", "likes", [date(2026, 1, 1), date(2026, 1, 1)], [1, 2]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_series_is_refused_dropped_or_kept_exactly_as_its_samples_would_be(case):
    platform, metric, days, values = case
    as_samples = outcome([Sample(platform, metric, d, v) for d, v in zip(days, values, strict=True)])
    assert outcome(Series(platform, metric, days, values)) == as_samples
    assert outcome([Series(platform, metric, days, values)]) == as_samples


def test_an_implausible_value_in_a_series_is_dropped_with_the_samples_notice_and_the_rest_kept():
    out = fetched(Series("nums", "followers", DAYS, [10, 11, -5]))
    assert [(s.day, s.value) for s in out.samples] == [(date(2026, 1, 1), 10), (date(2026, 1, 2), 11)]
    assert out.notices == [
        "nums followers on 2026-01-03 = -5: followers cannot be negative; that number was dropped, the rest kept"
    ]


def test_a_day_of_a_series_outside_the_window_fails_the_fetch_naming_the_day_and_the_window():
    with pytest.raises(PluginError) as refused:
        fetched(Series("nums", "likes", [date(2026, 1, 8), date(2026, 1, 10)], [1, 2]))
    assert str(refused.value) == (
        "plugin nums yielded likes for 2026-01-10, outside the window 2026-01-01..2026-01-09"
    )


def test_a_value_of_a_series_that_is_no_number_fails_the_fetch_naming_it():
    with pytest.raises(PluginError, match=r"yielded likes=True for 2026-01-02: not a number"):
        fetched(Series("nums", "likes", DAYS, [1, True, 2]))


def test_a_series_of_an_undeclared_platform_fails_the_fetch_even_without_days():
    with pytest.raises(PluginError, match="yielded platform 'elsewhere', which it does not declare"):
        fetched(Series("elsewhere", "likes", [], []))


def test_a_series_with_more_days_than_values_fails_the_fetch():
    with pytest.raises(PluginError) as refused:
        fetched(Series("nums", "likes", DAYS, [1, 2]))
    assert str(refused.value) == "plugin nums yielded a nums likes series of 3 days with 2 values"


def test_a_series_with_a_provisional_flag_per_day_of_another_length_fails_the_fetch():
    with pytest.raises(PluginError) as refused:
        fetched(Series("nums", "likes", DAYS, [1, 2, 3], provisional=[False, True]))
    assert str(refused.value) == "plugin nums yielded a nums likes series of 3 days with 2 provisional flags"


def test_a_series_whose_days_are_not_a_sequence_fails_the_fetch():
    with pytest.raises(PluginError, match="series whose days or values are not sequences"):
        fetched(Series("nums", "likes", date(2026, 1, 1), [1]))  # type: ignore[arg-type]


# --- what a fetch gives: the samples a series stands for --------------------------------------------------------------


def test_a_fetchs_samples_read_a_series_as_one_sample_per_day_in_order():
    out = fetched(Series("nums", "likes", DAYS, [1, 2, 3], provisional=[False, False, True]))
    assert out.samples == [
        Sample("nums", "likes", DAYS[0], 1), Sample("nums", "likes", DAYS[1], 2),
        Sample("nums", "likes", DAYS[2], 3, provisional=True),
    ]
    assert len(out.samples) == 3
    assert out.samples[-1] == Sample("nums", "likes", DAYS[2], 3, provisional=True)


def test_a_page_may_mix_samples_and_series_and_keeps_their_order():
    out = fetched([
        Sample("nums", "views", DAYS[0], 7),
        Series("nums", "likes", DAYS[:2], [1, 2]),
        Sample("nums", "views", DAYS[1], 8),
    ])
    assert [(s.metric, s.day, s.value) for s in out.samples] == [
        ("views", DAYS[0], 7), ("likes", DAYS[0], 1), ("likes", DAYS[1], 2), ("views", DAYS[1], 8),
    ]


def test_a_series_keeps_what_it_held_when_yielded_though_the_plugin_reuses_its_lists():
    def fetch(opts, win, http, state):
        days, values = list(DAYS), [1, 2, 3]
        yield Series("nums", "likes", days, values)
        days[:], values[:] = [date(2026, 1, 5)], [9]
        yield Series("nums", "views", days, values)

    out = fetch_once(Plugin(name="nums", platforms=("nums",), fetch=fetch), {}, window(SINCE, UNTIL))
    assert [(s.metric, s.day, s.value) for s in out.samples] == [
        ("likes", DAYS[0], 1), ("likes", DAYS[1], 2), ("likes", DAYS[2], 3), ("views", date(2026, 1, 5), 9),
    ]


# --- the store: the same rows as the samples, written column by column ------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, db_url) -> Iterator[sa.Engine]:
    url = db_url if request.param == "sqlite" else request.getfixturevalue("pg_url")
    engine = open_engine(url)
    yield engine
    engine.dispose()


def commit(engine: sa.Engine, account: str, batch: Any) -> int:
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(engine, run_id, account, SINCE, UNTIL)
    return writes.commit_account(engine, run_id, account_run, writes.AccountResult(account, "demo", "{}", "none",
                                                                                   False, 0, samples=batch))


def stored(engine: sa.Engine, account: str | None = None) -> list[tuple[Any, ...]]:
    where = "" if account is None else f" WHERE account = '{account}'"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT platform, metric, day, value, provisional FROM sample{where} ORDER BY platform, metric, day"
        ))
        return [(p, m, str(d), float(v), bool(f)) for p, m, d, v, f in rows]


def checked(*items: Any) -> SampleColumns:
    return fetched(*items, platforms=("facebook", "x")).samples


SERIES = [
    Series("facebook", "likes", DAYS, [1, 2.5, 3]),
    Series("facebook", "followers", DAYS, [100, 101, 103], provisional=[False, True, True]),
    Series("x", "views", DAYS[1:], [7, 8], provisional=True),
]


def test_series_are_stored_as_the_same_rows_as_their_samples(store):
    written = commit(store, "columns", checked(SERIES))
    assert commit(store, "objects", [s for series in SERIES for s in series.samples()]) == written == 8
    assert stored(store, "columns") == stored(store, "objects")
    assert ("facebook", "followers", "2026-01-02", 101.0, True) in stored(store, "columns")
    assert ("facebook", "followers", "2026-01-01", 100.0, False) in stored(store, "columns")


def test_a_series_flagged_provisional_stores_every_day_provisional(store):
    commit(store, "page", checked(Series("x", "views", DAYS, [1, 2, 3], provisional=True)))
    assert [row[4] for row in stored(store)] == [True, True, True]


def test_syncing_the_same_series_again_changes_nothing_and_a_revision_overwrites(store):
    commit(store, "page", checked(SERIES))
    first = stored(store)
    assert commit(store, "page", checked(SERIES)) == 8
    assert stored(store) == first
    commit(store, "page", checked(Series("facebook", "likes", DAYS[2:], [30], provisional=False)))
    assert ("facebook", "likes", "2026-01-03", 30.0, False) in stored(store)
    assert len(stored(store)) == 8


def test_a_day_given_twice_in_a_commit_ends_with_its_last_value_and_counts_once(store):
    written = commit(store, "page", checked(
        [Sample("facebook", "likes", DAYS[0], 5), Series("facebook", "likes", DAYS[:2], [6, 7])],
        Series("facebook", "likes", DAYS[1:2], [8]),
    ))
    assert written == 2
    assert stored(store) == [("facebook", "likes", "2026-01-01", 6.0, False), ("facebook", "likes", "2026-01-02", 8.0,
                                                                                 False)]


# --- through the sync ------------------------------------------------------------------------------------------------


def test_a_sync_stores_a_plugins_series_and_a_second_sync_adds_nothing(make_config, run_sync, samples):
    def fetch(opts, win, http, state):
        days = list(win.days())
        yield [Series("nums", m, days, [d.day * k for d in days]) for k, m in enumerate(("likes", "views"), 1)]

    registry = discover()
    registry.add(Entry("nums", "test", Plugin(name="nums", platforms=("nums",), fetch=fetch)))
    cfg = make_config({"page": {"plugin": "nums"}})
    first = run_sync(cfg, since=SINCE, until=UNTIL, now=noon(UNTIL), plugins=registry)
    assert [o.rows for o in first.outcomes] == [18]
    rows = [(r["metric"], str(r["day"]), r["value"]) for r in samples(cfg.database)]
    assert {("likes", "2026-01-09", 9.0), ("views", "2026-01-09", 18.0)} <= set(rows)
    again = run_sync(cfg, since=SINCE, until=UNTIL, now=noon(UNTIL), plugins=registry)
    assert again.ok
    assert [(r["metric"], str(r["day"]), r["value"]) for r in samples(cfg.database)] == rows


def test_a_series_breaching_the_window_fails_its_account_and_stores_none_of_its_rows(make_config, run_sync, samples):
    def fetch(opts, win, http, state):
        yield Series("nums", "likes", list(win.days()), [1] * 9)
        yield Series("nums", "views", [win.until, win.until + timedelta(days=1)], [1, 2])

    registry = discover()
    registry.add(Entry("nums", "test", Plugin(name="nums", platforms=("nums",), fetch=fetch)))
    cfg = make_config({"page": {"plugin": "nums"}})
    result = run_sync(cfg, since=SINCE, until=UNTIL, now=noon(UNTIL), plugins=registry)
    (outcome_,) = result.outcomes
    assert outcome_.status == "failed"
    assert "yielded views for 2026-01-10, outside the window 2026-01-01..2026-01-09" in outcome_.message
    assert samples(cfg.database) == []


# --- the conformance kit: a plugin reading a service's rows per day and yielding their columns ------------------------

METRICS = {"views": "views", "likes": "likes"}


def youtube_rows(opts: Any, win: Window, http: Any, state: dict[str, Any]) -> Iterator[Any]:
    """YouTube Analytics answers a row per day (the day, then a number per metric): yield each metric's column."""
    url = f"{opts['base_url'].rstrip('/')}/v2/reports"
    answer = Endpoint.of("the YouTube Analytics API", url)
    response = http.get(url, params={
        "ids": f"channel=={CHANNEL_ID}", "startDate": win.since.isoformat(), "endDate": win.until.isoformat(),
        "metrics": ",".join(METRICS), "dimensions": "day",
    }, headers={"Authorization": "Bearer yt-oauth-xyz"})
    body = answer.object(answer.json(response))
    rows = [answer.array(row, 'in "rows"') for row in answer.get_list(body, "rows")]
    if not rows:
        return
    first, *columns = zip(*rows, strict=True)
    days = [date.fromisoformat(day) for day in answer.each_text(list(first), 'in "rows"')]
    yield [
        Series("youtube", metric, days, [answer.number(v, f'in "{name}"') for v in column])
        for (name, metric), column in zip(METRICS.items(), columns, strict=True)
    ]


@pytest.fixture
def rows_plugin() -> Plugin:
    from dataclasses import dataclass

    from tracker.plugin import option

    @dataclass(frozen=True)
    class Options:
        base_url: str = option(help="The service's address.")

    def fetch(opts, win, http, state):
        return youtube_rows({"base_url": opts.base_url}, win, http, state)

    return Plugin(name="ytrows", platforms=("youtube",), fetch=fetch, options=Options)


def test_a_plugin_yielding_series_passes_the_conformance_kit(httpserver: HTTPServer, rows_plugin):
    fake = FakeYouTube(httpserver)
    for n in range(7):
        fake.seed(date(2026, 11, 1) + timedelta(days=n), views=100 + n, likes=n, comments=0, shares=0,
                  subscribersGained=0, subscribersLost=0)
    result = check_plugin(rows_plugin, {"base_url": httpserver.url_for("/")}, since=date(2026, 11, 1),
                          until=date(2026, 11, 7))
    assert [(s.metric, s.day.day, s.value) for s in result.samples if s.day.day == 7] == [
        ("views", 7, 106), ("likes", 7, 6),
    ]
    assert len(result.samples) == 14


# --- Sample itself: made faster, still the same frozen value ---------------------------------------------------------


def test_a_sample_cannot_be_changed_once_made():
    import dataclasses

    sample = Sample("nums", "likes", DAYS[0], 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.value = 2  # type: ignore[misc]
    assert sample.value == 1


def test_samples_of_the_same_fields_are_equal_hash_alike_and_replace_makes_a_new_one():
    import dataclasses

    made = Sample("nums", "likes", DAYS[0], 1, provisional=True)
    assert made == Sample(platform="nums", metric="likes", day=DAYS[0], value=1, provisional=True)
    assert len({made, Sample("nums", "likes", DAYS[0], 1, True)}) == 1
    assert dataclasses.replace(made, value=5) == Sample("nums", "likes", DAYS[0], 5, True)
    assert repr(made) == (
        "Sample(platform='nums', metric='likes', day=datetime.date(2026, 1, 1), value=1, provisional=True)"
    )
    assert Sample("nums", "likes", DAYS[0], 1) != made


# --- the commit's own statements on SQLite go straight to the driver: failures are still the engine's ----------------


def test_a_refused_update_of_the_account_run_fails_the_commit_as_the_engine_would_and_stores_nothing(db_url):
    engine = open_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE UPDATE ON account_run BEGIN SELECT RAISE(ABORT, 'run refused'); END"
            )
        with pytest.raises(sa.exc.IntegrityError, match="run refused"):
            commit(engine, "page", checked(SERIES))
        assert stored(engine) == []
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM account").scalar_one() == 0
    finally:
        engine.dispose()


def test_the_account_row_written_through_the_driver_reads_back_as_written(db_url):
    engine = open_engine(db_url)
    try:
        commit(engine, "page", checked(SERIES))
        run_id = writes.start_run(engine, "test")
        account_run = writes.start_account_run(engine, run_id, "page", SINCE, UNTIL)
        result = writes.AccountResult("page", "demo", '{"seed": 3}', "none", True, 4, samples=checked(SERIES),
                                      attribution="utm", state={"cursor": "x"}, last_good_day=UNTIL)
        assert writes.commit_account(engine, run_id, account_run, result) == 8
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT * FROM account")).mappings().one()
            run = conn.execute(sa.text(f"SELECT * FROM account_run WHERE id = {account_run}")).mappings().one()
        assert (row["options_json"], row["covers_all_platforms"], row["position"], row["attribution"]) == (
            '{"seed": 3}', 1, 4, "utm"
        )
        assert (row["state_json"], row["state_run_id"]) == ('{"cursor": "x"}', run_id)
        assert row["last_good_day"] == "2026-01-09"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", row["updated_at"])  # as SQLAlchemy writes it
        assert (run["status"], run["rows"], run["error"]) == ("ok", 8, None)
        from tracker.store.models import ACCOUNT

        with engine.connect() as conn:
            typed = conn.execute(sa.select(ACCOUNT.c.updated_at, ACCOUNT.c.last_good_day)).one()
        assert typed.last_good_day == UNTIL and typed.updated_at.tzinfo is not None
    finally:
        engine.dispose()
