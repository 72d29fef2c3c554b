"""The same store, sync and report on a real PostgreSQL server (agencies outgrow one SQLite file)."""

from datetime import UTC, date

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from tracker.plugin import Basis, Conversion, Sample
from tracker.report.build import build_report
from tracker.store import migrations, writes
from tracker.store.db import open_engine

from .conftest import noon

TODAY = date(2026, 11, 27)


@pytest.fixture
def pg(pg_url):
    engine = open_engine(pg_url)
    yield engine
    engine.dispose()


def commit(engine, samples=(), conversions=()):
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(engine, run_id, "shop", TODAY, TODAY)
    result = writes.AccountResult(
        "shop", "t", "{}", "first_party", False, 0, samples=list(samples), conversions=list(conversions)
    )
    return writes.commit_account(engine, run_id, account_run, result)


def test_a_blank_postgres_database_is_migrated_to_the_models_schema(pg):
    assert pg.dialect.name == "postgresql"
    assert migrations.pending(pg) == []
    inspector = sa.inspect(pg)
    for table in SQLModel.metadata.sorted_tables:
        assert {c["name"] for c in inspector.get_columns(table.name)} == {c.name for c in table.columns}, table.name


def test_postgres_upsert_is_idempotent_and_takes_the_last_duplicate_of_a_batch(pg):
    samples = [
        Sample("facebook", "likes", TODAY, 1),
        Sample("facebook", "likes", TODAY, 2),
        Sample("x", "likes", TODAY, 3),
    ]
    commit(pg, samples)
    commit(pg, samples)
    with pg.connect() as conn:
        rows = conn.execute(sa.text("SELECT platform, value FROM sample ORDER BY platform")).all()
    assert rows == [("facebook", 2.0), ("x", 3.0)]


def test_postgres_conversion_records_recompute_days_and_undo(pg):
    records = [Conversion(str(i), "instagram", TODAY, "order", 10.0, "EUR", Basis.COUPON) for i in range(3)]
    commit(pg, conversions=records)
    commit(pg, conversions=records)
    assert writes.withdraw_conversion(pg, "shop", "0")
    with pg.connect() as conn:
        orders = conn.execute(sa.text("SELECT value FROM sample WHERE metric = 'orders'")).scalar_one()
    assert orders == 2.0


def test_the_same_sync_gives_the_same_report_on_sqlite_and_postgres(pg_url, make_config, run_sync):
    reports = []
    for url in (None, pg_url):
        cfg = make_config({"bakery": {"plugin": "demo"}}, **({"database": url} if url else {}), initial_days=60)
        assert run_sync(cfg, now=noon(TODAY)).ok
        report = build_report(cfg, 30, TODAY, None).to_json()
        report.pop("generated_at")
        reports.append(report)
    assert reports[0] == reports[1]
    assert {r["platform"] for r in reports[1]["platforms"]} == {"facebook", "instagram", "xing", "direct"}


def test_postgres_sync_leases_keep_a_second_process_out_and_recover_stale_ones(pg):
    from datetime import datetime, timedelta

    from tracker.errors import AccountBusy
    from tracker.locks import Holder, Leases

    first = Leases(pg, holder=Holder("box-a", 111, "a"))
    second = Leases(pg, holder=Holder("box-b", 222, "b"))
    first.acquire("shop")
    with pytest.raises(AccountBusy, match="pid 111 on box-a"):
        second.acquire("shop")
    first.release("shop")
    second.acquire("shop")
    later = Leases(pg, holder=Holder("box-c", 333, "c"), now=lambda: datetime.now(UTC) + timedelta(hours=1))
    later.acquire("shop")  # box-b's lease expired an hour ago: taken over
