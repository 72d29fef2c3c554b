"""The integer-keyed sample store: a series per account, platform and metric, its days keyed by number.

Every behaviour runs on SQLite and, with TRACKER_TEST_POSTGRES_URL set, on the real PostgreSQL server.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tracker.plugin import Sample
from tracker.store import samples, writes
from tracker.store.db import open_engine


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, db_url) -> Iterator[sa.Engine]:
    url = db_url if request.param == "sqlite" else request.getfixturevalue("pg_url")
    engine = open_engine(url)
    yield engine
    engine.dispose()


def commit(engine: sa.Engine, account: str, batch: list[Sample]) -> tuple[int, int]:
    """(run id, rows written) of one account's commit through the sync's write path."""
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(engine, run_id, account, date(2026, 1, 1), date(2026, 1, 31))
    result = writes.AccountResult(account, "demo", "{}", "none", False, 0, samples=batch)
    return run_id, writes.commit_account(engine, run_id, account_run, result)


def rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def test_a_day_is_stored_as_its_number_of_days_since_1970():
    assert samples.day_number(date(1970, 1, 1)) == 0
    assert samples.day_number(date(2026, 1, 1)) == 20454
    assert samples.day_of(20454) == date(2026, 1, 1)
    assert samples.day_of(samples.day_number(date(1969, 12, 31))) == date(1969, 12, 31)


def test_every_account_platform_and_metric_is_one_series_however_many_days(store):
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(5)]
    commit(store, "page", [Sample("facebook", m, d, 1) for m in ("likes", "followers") for d in days])
    commit(store, "page", [Sample("facebook", "likes", date(2026, 1, 9), 2)])
    assert rows(store, "SELECT account, platform, metric FROM series ORDER BY metric") == [
        ("page", "facebook", "followers"), ("page", "facebook", "likes"),
    ]
    assert rows(store, "SELECT COUNT(*) FROM series_day") == [(11,)]


def test_a_key_twice_in_one_commit_is_one_row_with_the_last_value_and_counts_once(store):
    day = date(2026, 1, 3)
    _, written = commit(store, "page", [Sample("facebook", "likes", day, 1), Sample("facebook", "likes", day, 7)])
    assert written == 1
    assert rows(store, "SELECT value FROM series_day") == [(7.0,)]


def test_the_sample_view_shows_each_number_with_its_date_flag_and_run(store):
    run_id, _ = commit(store, "page", [Sample("facebook", "likes", date(2026, 2, 28), 4.5, provisional=True)])
    (account, platform, metric, day, value, provisional, run), = rows(store, "SELECT * FROM sample")
    assert (account, platform, metric, str(day), value, bool(provisional), run) == (
        "page", "facebook", "likes", "2026-02-28", 4.5, True, run_id,
    )


def test_the_last_value_on_or_before_a_day_is_the_newest_not_after_it(store):
    commit(store, "page", [Sample("facebook", "followers", date(2026, 1, d), 100 + d) for d in (1, 5, 9)])
    with store.connect() as conn:
        at = samples.last_values(conn, [date(2026, 1, 8), date(2026, 1, 9), date(2025, 12, 31)], ["followers"])
    key = ("page", "facebook", "followers")
    assert at == [{key: 105.0}, {key: 109.0}, {}]  # before the first day: no value, not 0


def test_period_sums_keep_the_current_and_the_previous_period_apart(store):
    commit(store, "page", [Sample("facebook", "likes", date(2026, 1, d), d, provisional=d == 6) for d in range(1, 7)])
    with store.connect() as conn:
        sums = samples.period_sums(conn, date(2026, 1, 2), date(2026, 1, 6), date(2026, 1, 5))
    assert sums == {
        ("page", "facebook", "likes", "previous"): (2.0 + 3 + 4, 3, False),
        ("page", "facebook", "likes", "current"): (5.0 + 6, 2, True),
    }


def test_the_first_stored_day_of_each_series(store):
    commit(store, "page", [Sample("facebook", "followers", date(2026, 1, d), 1) for d in (7, 3, 12)])
    with store.connect() as conn:
        assert samples.first_days(conn, ["followers"]) == {("page", "facebook", "followers"): date(2026, 1, 3)}


def test_an_account_whose_only_sample_was_deleted_holds_no_samples(store):
    commit(store, "page", [Sample("facebook", "revenue", date(2026, 1, 2), 10)])
    with store.begin() as conn:
        samples.delete(conn, "page", "facebook", "revenue", date(2026, 1, 2))
        assert samples.stored_accounts(conn) == set()
        assert samples.count_of(conn, "page") == 0


def test_the_reports_reads_seek_by_series_and_never_scan_the_sample_history(tmp_path):
    """SQLite's plan of each read names the primary key (series_id, day) as a search, never a scan of series_day."""
    engine = open_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    statements: list[tuple[str, object]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "series_day" in statement:
            statements.append((statement, parameters))

    with engine.connect() as conn:
        samples.period_sums(conn, date(2026, 1, 1), date(2026, 1, 30), date(2026, 1, 15))
        samples.last_values(conn, [date(2026, 1, 30)], ["followers"])
        samples.first_days(conn, ["followers"])
        assert len(statements) == 4  # the two periods of the sums, the last values, the first days
        for statement, parameters in statements:
            plan = " | ".join(r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "SEARCH series_day" in plan or "SEARCH d" in plan, plan
            assert "SCAN series_day" not in plan and "SCAN d " not in plan + " ", plan
    engine.dispose()


def test_forgetting_an_account_deletes_its_series_with_its_samples_and_leaves_the_others(store):
    from tracker.store import forget

    commit(store, "page", [Sample("facebook", "likes", date(2026, 1, 1), 1)])
    commit(store, "shop", [Sample("facebook", "likes", date(2026, 1, 1), 2)])
    assert forget.forget(store, "page").samples == 1
    assert rows(store, "SELECT account FROM series") == [("shop",)]
    assert rows(store, "SELECT account, value FROM sample") == [("shop", 2.0)]


def test_renaming_an_account_moves_its_samples_with_their_series(store):
    from tracker.store import rename

    commit(store, "page", [Sample("facebook", "likes", date(2026, 1, d), d) for d in (1, 2)])
    assert rename.rename(store, "page", "bakery").samples == 2
    assert rows(store, "SELECT account, COUNT(*) FROM sample GROUP BY account") == [("bakery", 2)]


# --- the checks of a page of samples: a series' later samples are held to the same rules as its first ------------


def fetched_page(page: list[object]):
    from tracker.plugin import Plugin
    from tracker.testing import fetch_once, window

    def fetch(opts, win, http, state):
        yield list(page)

    return fetch_once(
        Plugin(name="nums", platforms=("nums",), fetch=fetch), {}, window(date(2026, 1, 1), date(2026, 1, 9))
    )


def test_a_later_sample_of_a_series_out_of_range_is_dropped_with_the_notice_the_first_would_get():
    page = [Sample("nums", "followers", date(2026, 1, d), 10) for d in (1, 2)] + [
        Sample("nums", "followers", date(2026, 1, 3), -5)
    ]
    out = fetched_page(page)
    assert [s.value for s in out.samples] == [10, 10]
    assert out.notices == [
        "nums followers on 2026-01-03 = -5: followers cannot be negative; that number was dropped, the rest kept"
    ]


def test_a_later_sample_of_a_series_that_is_not_finite_is_dropped_not_stored():
    out = fetched_page(
        [Sample("nums", "likes", date(2026, 1, 1), 1.0), Sample("nums", "likes", date(2026, 1, 2), float("inf"))]
    )
    assert [s.value for s in out.samples] == [1.0]
    assert "not a finite number" in out.notices[0]


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (Sample("nums", "likes", date(2026, 1, 10), 1), "outside the window"),
        (Sample("nums", "likes", date(2026, 1, 2), True), "not a number"),
        (Sample("nums", "likes", date(2026, 1, 2), "3"), "not a number"),
    ],
    ids=["day outside the window", "a bool", "a string"],
)
def test_a_later_sample_of_a_series_that_is_malformed_fails_the_fetch_like_the_first(bad, says):
    from tracker.errors import PluginError

    with pytest.raises(PluginError, match=says):
        fetched_page([Sample("nums", "likes", date(2026, 1, 1), 1), bad])


def test_report_sums_add_up_accounts_per_platform_and_keep_the_metrics_read_apart_per_account(store):
    commit(store, "page", [Sample("facebook", m, date(2026, 1, d), d) for m in ("likes", "visits") for d in (3, 6)])
    commit(store, "shop", [Sample("facebook", "likes", date(2026, 1, 6), 10, provisional=True)])
    with store.connect() as conn:
        found = samples.report_sums(conn, date(2026, 1, 2), date(2026, 1, 7), date(2026, 1, 5), each=["visits"])
    assert found.pooled == {
        ("facebook", "likes", "previous"): (3.0, False),
        ("facebook", "likes", "current"): (6.0 + 10, True),
    }
    assert found.each == {
        ("page", "facebook", "visits", "previous"): (3.0, 1, False),
        ("page", "facebook", "visits", "current"): (6.0, 1, False),
    }
    assert found.accounts == {"facebook": {"page", "shop"}}


def test_report_sums_leave_out_excluded_accounts_and_gauges_and_read_whole_accounts_apart(store):
    commit(store, "page", [Sample("facebook", m, date(2026, 1, 6), 1) for m in ("likes", "followers")])
    commit(store, "gone", [Sample("facebook", "likes", date(2026, 1, 6), 100)])
    commit(store, "manual", [Sample("facebook", "likes", date(2026, 1, 6), 5)])
    with store.connect() as conn:
        found = samples.report_sums(
            conn, date(2026, 1, 1), date(2026, 1, 7), date(2026, 1, 5), each=(), leave_out=["followers"],
            excluded=["gone"], whole_accounts=["manual"],
        )
    assert found.pooled == {("facebook", "likes", "current"): (1.0, False)}  # no previous day: no figure, not 0
    assert found.each == {("manual", "facebook", "likes", "current"): (5.0, 1, False)}
    assert found.accounts == {"facebook": {"page", "manual"}}


def test_gauge_reads_give_the_last_values_and_the_first_day_of_each_series_in_one_read(store):
    commit(store, "page", [Sample("facebook", "followers", date(2026, 1, d), 100 + d) for d in (3, 5, 9)])
    commit(store, "gone", [Sample("facebook", "followers", date(2026, 1, 4), 7)])
    with store.connect() as conn:
        found = samples.gauge_reads(conn, [date(2026, 1, 8), date(2026, 1, 2)], ["followers"], excluded=["gone"])
    key = ("page", "facebook", "followers")
    assert found.at == [{key: 105.0}, {}]
    assert found.first == {key: date(2026, 1, 3)}


def test_the_reports_combined_reads_seek_by_series_and_never_scan_the_sample_history(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    statements: list[tuple[str, object]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "series_day" in statement:
            statements.append((statement, parameters))

    with engine.connect() as conn:
        samples.report_sums(conn, date(2026, 1, 1), date(2026, 1, 30), date(2026, 1, 15), each=["visits"])
        samples.gauge_reads(conn, [date(2026, 1, 30)], ["followers"])
        assert len(statements) == 2
        for statement, parameters in list(statements):
            plan = " | ".join(r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "SEARCH series_day" in plan, plan
            assert "SCAN series_day" not in plan, plan
    engine.dispose()


def test_report_reads_leave_out_more_accounts_than_a_statement_may_bind_and_names_with_quotes(store):
    commit(store, "o'brien", [Sample("facebook", "likes", date(2026, 1, 6), 3)])
    commit(store, "kept", [Sample("facebook", m, date(2026, 1, 6), 1) for m in ("likes", "followers")])
    removed = [f"gone{i}" for i in range(40_000)] + ["o'brien"]
    with store.connect() as conn:
        found = samples.report_sums(
            conn,
            date(2026, 1, 1),
            date(2026, 1, 7),
            date(2026, 1, 5),
            each=(),
            leave_out=["followers"],
            excluded=removed,
        )
        gauges = samples.gauge_reads(conn, [date(2026, 1, 7)], ["followers"], excluded=removed)
    assert found.pooled == {("facebook", "likes", "current"): (1.0, False)}
    assert found.accounts == {"facebook": {"kept"}}
    assert gauges.at == [{("kept", "facebook", "followers"): 1.0}]


def test_report_sums_flag_provisional_days_of_the_current_period_and_count_days_only_where_read_apart(store):
    commit(store, "page", [Sample("facebook", "likes", date(2026, 1, 3), 2, provisional=True)])
    commit(store, "page", [Sample("facebook", m, date(2026, 1, d), 1) for m in ("likes", "visits") for d in (5, 6)])
    commit(store, "shop", [Sample("facebook", "visits", date(2026, 1, 6), 4, provisional=True)])
    with store.connect() as conn:
        found = samples.report_sums(conn, date(2026, 1, 2), date(2026, 1, 7), date(2026, 1, 5), each=["visits"])
    assert found.pooled == {  # no output shows the previous period's provisional days: they are not read
        ("facebook", "likes", "previous"): (2.0, False),
        ("facebook", "likes", "current"): (2.0, False),
    }
    assert found.each == {
        ("page", "facebook", "visits", "current"): (2.0, 2, False),
        ("shop", "facebook", "visits", "current"): (4.0, 1, True),
    }


def test_stored_accounts_among_names_looks_only_at_those_and_finds_none_among_none(store):
    commit(store, "page", [Sample("facebook", "likes", date(2026, 1, 3), 2)])
    commit(store, "shop", [Sample("facebook", "likes", date(2026, 1, 3), 2)])
    with store.connect() as conn:
        assert samples.stored_accounts(conn, among={"shop", "nobody", "o'brien"}) == {"shop"}
        assert samples.stored_accounts(conn, among=set()) == set()
