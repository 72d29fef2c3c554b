"""The store: schema migrated in place, upserts idempotent, every row traced to its run."""

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from tracker.plugin import Sample, Unavailable
from tracker.store import migrations, writes
from tracker.store.db import open_engine


def result(samples, **kw):
    return writes.AccountResult(
        account=kw.pop("account", "shop"),
        plugin="demo",
        options_json="{}",
        conversion_source="none",
        covers_all_platforms=False,
        position=0,
        samples=samples,
        **kw,
    )


def commit(engine, samples, **kw):
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(
        engine, run_id, kw.get("account", "shop"), date(2026, 1, 1), date(2026, 1, 31)
    )
    rows = writes.commit_account(engine, run_id, account_run, result(samples, **kw))
    return run_id, rows


def count(engine, table="sample"):
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def test_blank_database_is_migrated_to_the_models_schema(engine):
    inspector = sa.inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name


def test_migrations_are_recorded_and_nothing_is_pending_after_open(engine):
    assert migrations.pending(engine) == []
    with engine.connect() as conn:
        assert migrations.applied(conn) == [m.name for m in migrations.MIGRATIONS]


def test_reopening_a_database_keeps_its_data(db_url, engine):
    commit(engine, [Sample("facebook", "likes", date(2026, 1, 1), 5)])
    engine.dispose()
    again = open_engine(db_url)
    assert count(again) == 1


def test_sqlite_runs_in_wal_mode(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"


def test_migration_names_must_be_unique():
    with pytest.raises(ValueError, match="duplicate"):
        migrations.migration(migrations.m001_initial)


def test_same_samples_twice_store_each_row_once(engine):
    samples = [Sample("facebook", "likes", date(2026, 1, d), d) for d in range(1, 11)]
    commit(engine, samples)
    commit(engine, samples)
    assert count(engine) == 10


def test_upsert_overwrites_value_and_records_the_run_that_wrote_it_last(engine):
    first_run, _ = commit(engine, [Sample("facebook", "likes", date(2026, 1, 1), 5, provisional=True)])
    second_run, _ = commit(engine, [Sample("facebook", "likes", date(2026, 1, 1), 7)])
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT value, provisional, run_id FROM sample")).one()
    assert second_run != first_run
    assert (row.value, bool(row.provisional), row.run_id) == (7.0, False, second_run)


def test_duplicate_keys_in_one_batch_keep_the_last_value(engine):
    _, rows = commit(
        engine,
        [Sample("facebook", "likes", date(2026, 1, 1), 5), Sample("facebook", "likes", date(2026, 1, 1), 9)],
    )
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM sample")).scalar_one() == 9.0
    assert rows == 1


def test_batches_larger_than_one_statement_all_land(engine):
    samples = [Sample("x", f"x.m{i}", date(2026, 1, 1), i) for i in range(writes.BATCH * 2 + 7)]
    commit(engine, samples)
    assert count(engine) == writes.BATCH * 2 + 7


def test_samples_of_two_accounts_on_one_platform_are_kept_apart(engine):
    commit(engine, [Sample("facebook", "likes", date(2026, 1, 1), 5)], account="page_a")
    commit(engine, [Sample("facebook", "likes", date(2026, 1, 1), 3)], account="page_b")
    assert count(engine) == 2


def test_unavailable_metric_is_recorded_as_a_status_not_a_sample(engine):
    commit(engine, [], unavailable=[Unavailable("facebook", "impressions", "retired by Meta on 2025-11-15")])
    with engine.connect() as conn:
        status = conn.execute(sa.text("SELECT metric, reason FROM metric_status")).one()
    assert status.metric == "impressions" and "retired" in status.reason
    assert count(engine) == 0


def test_a_metric_that_comes_back_clears_its_missing_status(engine):
    commit(engine, [], unavailable=[Unavailable("facebook", "views", "not served")])
    commit(engine, [Sample("facebook", "views", date(2026, 1, 1), 40)])
    assert count(engine, "metric_status") == 0


def test_failed_commit_leaves_no_rows_of_its_batch(engine):
    """The statuses are written after the samples; a failure there must take the samples with it."""
    good = [Sample("facebook", "likes", date(2026, 1, d), 5) for d in (1, 2)]
    with pytest.raises(sa.exc.IntegrityError):
        commit(engine, good, unavailable=[Unavailable("facebook", "views", None)])
    assert count(engine) == 0
    assert count(engine, "account") == 0


def test_state_and_cursor_commit_with_the_samples(engine):
    commit(
        engine,
        [Sample("facebook", "likes", date(2026, 1, 1), 5)],
        state={"cursor": "abc"},
        last_good_day=date(2026, 1, 31),
    )
    with engine.connect() as conn:
        account = conn.execute(sa.text("SELECT state_json, last_good_day FROM account")).one()
    assert account.state_json == '{"cursor": "abc"}'
    assert str(account.last_good_day) == "2026-01-31"
