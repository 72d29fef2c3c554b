"""Order-level records: re-imports add nothing, moves and undo recompute the day exactly."""

from datetime import date

import sqlalchemy as sa

from tracker.plugin import Basis, Conversion, Notice, Plugin
from tracker.registry import Entry, discover
from tracker.store import migrations, writes
from tracker.store.db import open_engine

from .conftest import noon

DAY = date(2026, 3, 10)


def commit(engine, conversions, account="shop"):
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(engine, run_id, account, DAY, DAY)
    result = writes.AccountResult(account, "csv", "{}", "first_party", False, 0, conversions=conversions)
    return writes.commit_account(engine, run_id, account_run, result)


def daily(engine, account="shop"):
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT platform, metric, day, value FROM sample WHERE account = :a ORDER BY platform, day, metric"
            ),
            {"a": account},
        )
        return {(r.platform, r.metric, str(r.day)): r.value for r in rows}


def order(id, platform="instagram", day=DAY, amount=20.0, kind="order"):
    return Conversion(id, platform, day, kind, amount, "EUR", Basis.COUPON, ref=f"orders.csv #{id}")


def test_records_feed_daily_orders_leads_conversions_and_revenue(engine):
    commit(engine, [order("1001"), order("1002", amount=30.0), order("L1", kind="lead", amount=0.0)])
    values = daily(engine)
    assert values[("instagram", "orders", "2026-03-10")] == 2
    assert values[("instagram", "leads", "2026-03-10")] == 1
    assert values[("instagram", "conversions", "2026-03-10")] == 3
    assert values[("instagram", "revenue", "2026-03-10")] == 50.0


def test_reimporting_the_same_records_adds_nothing(engine):
    commit(engine, [order("1001"), order("1002")])
    commit(engine, [order("1001"), order("1002")])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM conversion")).scalar_one() == 2
    assert daily(engine)[("instagram", "orders", "2026-03-10")] == 2


def test_a_record_that_moved_to_another_platform_leaves_its_old_day_recomputed(engine):
    commit(engine, [order("1001", platform="instagram")])
    commit(engine, [order("1001", platform="facebook")])
    values = daily(engine)
    assert values[("instagram", "orders", "2026-03-10")] == 0
    assert values[("facebook", "orders", "2026-03-10")] == 1


def test_withdrawn_record_is_kept_and_no_longer_counts(engine):
    commit(engine, [order("1001"), order("1002")])
    assert writes.withdraw_conversion(engine, "shop", "1001")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT withdrawn FROM conversion WHERE id = '1001'")).scalar_one()
    assert daily(engine)[("instagram", "orders", "2026-03-10")] == 1


def test_a_reimport_never_revives_a_withdrawn_record(engine):
    commit(engine, [order("1001"), order("1002")])
    writes.withdraw_conversion(engine, "shop", "1001")
    commit(engine, [order("1001"), order("1002")])
    assert daily(engine)[("instagram", "orders", "2026-03-10")] == 1


def test_withdrawing_an_unknown_record_says_so(engine):
    assert writes.withdraw_conversion(engine, "shop", "nope") is False


def test_notices_reach_the_outcome_and_the_run_record(make_config, run_sync):
    def fetch(opts, window, http, state):
        yield Notice("orders.csv line 7: date '31/02/2026' is not a date; row skipped")
        yield [order("1001", day=window.until)]

    registry = discover()
    registry.add(Entry("shopx", "test", Plugin("shopx", ("*",), fetch)))
    cfg = make_config({"shop": {"plugin": "shopx"}})
    result = run_sync(cfg, now=noon(DAY), plugins=registry)
    assert result.ok
    assert result.outcomes[0].notices == ["orders.csv line 7: date '31/02/2026' is not a date; row skipped"]
    engine = open_engine(cfg.database)
    with engine.connect() as conn:
        assert "line 7" in conn.execute(sa.text("SELECT notices FROM account_run")).scalar_one()
    engine.dispose()


def test_a_database_from_the_first_release_is_upgraded_with_nothing_lost(db_url):
    engine = sa.create_engine(db_url)
    first = migrations.MIGRATIONS[0]
    record = migrations._record_table(sa.MetaData())
    with engine.begin() as conn:
        record.create(conn)
        first.apply(conn)
        conn.execute(record.insert().values(name=first.name, applied_at=writes.now()))
        conn.execute(
            sa.text(
                "INSERT INTO sync_run (id, started_at, status, \"trigger\") VALUES (1, '2026-01-01', 'ok', 'manual')"
            )
        )
        conn.execute(sa.text("INSERT INTO sample VALUES ('page', 'facebook', 'likes', '2026-01-01', 4.0, 0, 1)"))
    engine.dispose()
    upgraded = open_engine(db_url)
    assert migrations.pending(upgraded) == []
    with upgraded.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM sample")).scalar_one() == 4.0
        assert "notices" in {c["name"] for c in sa.inspect(conn).get_columns("account_run")}
    upgraded.dispose()


def test_a_refund_record_lowers_revenue_without_counting_as_an_order(engine):
    commit(engine, [order("1001", amount=50.0), order("1001-refund-20260310", amount=-20.0)])
    values = daily(engine)
    assert values[("instagram", "orders", "2026-03-10")] == 1
    assert values[("instagram", "revenue", "2026-03-10")] == 30.0
