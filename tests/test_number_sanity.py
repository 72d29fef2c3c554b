"""Numbers a report can add: finite, in each metric's plausible range, amounts read strictly, unknown never 0.

Through the real sync (a test plugin, or the csv plugin on files built here), the real CLI and a real SQLite
file; every case here failed on the code before this change, except the last JSON one, which guards it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import noon
from tests.test_cli import invoke, write_config
from tests.test_sync import plugin, registry_with
from tracker import manual
from tracker.plugin import Conversion, Sample
from tracker.store import migrations, writes
from tracker.store.db import open_engine
from tracker.store.samples import day_number
from tracker.testing import fetch_once, window
from tracker_plugins.csv import plugin as csv_plugin

TODAY = date(2026, 4, 20)
WIN = window(TODAY - timedelta(days=2), TODAY)


def rows(db_url: str, sql: str) -> list[tuple]:
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def sync_samples(make_config, run_sync, samples_per_page):
    """One sync of a plugin `nums` that yields the given samples; returns (config, outcome)."""

    def fetch(opts, win, http, state):
        yield list(samples_per_page)

    cfg = make_config({"nums": {"plugin": "nums"}})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("nums", fetch)))
    return cfg, result.outcomes[0]


# --- samples ---------------------------------------------------------------------------------------------------------


def test_negative_followers_are_dropped_with_a_notice_and_the_rest_of_the_account_lands(make_config, run_sync):
    cfg, outcome = sync_samples(make_config, run_sync, [
        Sample("nums", "followers", TODAY, -5), Sample("nums", "likes", TODAY, 3),
    ])
    assert outcome.status == "ok", outcome.message
    assert rows(cfg.database, "SELECT metric, value FROM sample") == [("likes", 3.0)]
    assert outcome.notices == [
        f"nums followers on {TODAY} = -5: followers cannot be negative; that number was dropped, the rest kept"
    ]


def test_three_likes_of_1e308_are_dropped_so_no_sum_reaches_infinity(make_config, run_sync):
    days = [TODAY - timedelta(days=n) for n in range(3)]
    cfg, outcome = sync_samples(make_config, run_sync, [Sample("nums", "likes", d, 1e308) for d in days])
    assert outcome.status == "ok"
    assert rows(cfg.database, "SELECT COUNT(*) FROM sample") == [(0,)]
    assert (
        all("1e+308: more than 1e+12, not a plausible likes" in n for n in outcome.notices)
        and len(outcome.notices) == 3
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_sample_is_dropped_and_the_account_still_lands(make_config, run_sync, value):
    cfg, outcome = sync_samples(
        make_config, run_sync, [Sample("nums", "likes", TODAY, value), Sample("nums", "shares", TODAY, 2)]
    )
    assert outcome.status == "ok"
    assert rows(cfg.database, "SELECT metric, value FROM sample") == [("shares", 2.0)]
    assert "not a finite number" in outcome.notices[0]


def test_revenue_may_be_negative_on_a_day_of_refunds_and_an_extra_may_be_too(make_config, run_sync):
    cfg, outcome = sync_samples(make_config, run_sync, [
        Sample("nums", "revenue", TODAY, -20.0), Sample("nums", "nums.net_follows", TODAY, -4),
    ])
    assert outcome.notices == []
    assert sorted(rows(cfg.database, "SELECT metric, value FROM sample")) == [
        ("nums.net_follows", -4.0),
        ("revenue", -20.0),
    ]


def test_an_implausible_order_amount_from_a_plugin_is_dropped_naming_the_order(make_config, run_sync):
    def fetch(opts, win, http, state):
        yield [
            Conversion("A-1", "nums", TODAY, "order", 5e15, ref="feed line 2"),
            Conversion("A-2", "nums", TODAY, "order", 9.5),
        ]

    cfg = make_config({"nums": {"plugin": "nums"}})
    outcome = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("nums", fetch))).outcomes[0]
    assert outcome.status == "ok"
    assert rows(cfg.database, "SELECT id, amount FROM conversion") == [("A-2", 9.5)]
    assert outcome.notices == [
        f"order A-1 (nums, {TODAY}, feed line 2) amount 5000000000000000.0: more than 1e+12, not a plausible amount; "
        "that order was dropped, the rest kept"
    ]


# --- the csv plugin's amounts and days -------------------------------------------------------------------------------


def fetch_csv(tmp_path: Path, lines: list[str], **options):
    export = tmp_path / "orders.csv"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return fetch_once(csv_plugin, {"path": str(export), **options}, WIN)


@pytest.mark.parametrize("cell", ["1e308", "1E+13", "1,67185E+13"])
def test_an_amount_in_exponent_notation_is_refused_naming_file_and_line_never_read_as_digits(tmp_path, cell):
    result = fetch_csv(tmp_path, ["Order ID,Date,Amount", f'A-1,2026-04-18,"{cell}"', "A-2,2026-04-18,20.00"])
    assert [(c.id, c.amount) for c in result.conversions] == [("A-2", 20.0)]
    assert result.notices == [f"orders.csv line 2: amount '{cell}' is in exponent notation (a spreadsheet shortened "
                              "it): format the column as a number with decimals and export again; row skipped"]


def test_an_amount_too_long_to_be_a_finite_number_is_refused_naming_file_and_line(tmp_path):
    result = fetch_csv(tmp_path, ["Order ID,Date,Amount", f"A-1,2026-04-18,{'9' * 400}", "A-2,2026-04-18,20.00"])
    assert [c.id for c in result.conversions] == ["A-2"]
    assert result.notices == [f"orders.csv line 2: amount '{'9' * 40}...' is too large to be an amount; row skipped"]


def test_a_row_dated_before_2000_is_dropped_naming_the_order_and_the_line(tmp_path):
    result = fetch_csv(tmp_path, ["Order ID,Date,Amount", "A-1,0001-01-01,10.00", "A-2,2026-04-18,20.00"])
    assert [c.id for c in result.conversions] == ["A-2"]
    assert result.notices == ["order A-1 (unattributed, 0001-01-01, orders.csv line 2): dated before 2000-01-01, "
                              "not a real day; that order was dropped, the rest kept"]


# --- tracker log -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["nan", "inf", "1e309"])
def test_log_sale_refuses_a_non_finite_amount_in_one_line_and_leaves_no_run_running(cli, tmp_path, amount):
    config = write_config(tmp_path)
    result = invoke(cli, "log", "sale", "-p", "instagram", "--amount", amount, "--config", str(config))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --amount ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sync_run WHERE status = 'running'").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM conversion").fetchone() == (0,)
    conn.close()


def test_log_sale_refuses_an_amount_above_the_plausible_maximum(cli, tmp_path):
    result = invoke(cli, "log", "sale", "-p", "instagram", "--amount", "1e300", "--config", str(write_config(tmp_path)))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --amount 1e+300: is more than 1e+12, not a plausible sale")


def test_log_sale_refuses_a_day_before_2000(cli, tmp_path):
    result = invoke(cli, "log", "sale", "-p", "instagram", "--amount", "10", "--date", "0001-01-01",
                    "--config", str(write_config(tmp_path)))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --date 0001-01-01: is before 2000-01-01")


# --- unknown amounts -------------------------------------------------------------------------------------------------


def test_a_sale_logged_without_an_amount_counts_and_leaves_its_days_revenue_missing_not_zero(cli, tmp_path):
    config = write_config(tmp_path)
    result = invoke(cli, "log", "sale", "-p", "instagram", "--date", "2026-03-31", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "amount unknown (that day's revenue shows as missing)" in result.stdout
    db = f"sqlite:///{tmp_path / 't.db'}"
    assert rows(db, "SELECT amount FROM conversion") == [(None,)]
    assert rows(db, "SELECT metric, value FROM sample ORDER BY metric") == [
        ("conversions", 1.0),
        ("leads", 0.0),
        ("orders", 1.0),
    ]
    assert rows(db, "SELECT metric, status FROM metric_status") == [("revenue", "unavailable")]
    listed = json.loads(invoke(cli, "log", "list", "--format", "json", "--config", str(config)).stdout)
    assert [e["amount"] for e in listed] == [None]


def test_a_lead_logged_without_an_amount_is_worth_zero_not_unknown(engine):
    manual.log(engine, platform="xing", kind="lead", day=TODAY)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT amount FROM conversion")).all() == [(0.0,)]
        assert conn.execute(sa.text("SELECT value FROM sample WHERE metric = 'revenue'")).all() == [(0.0,)]


def test_orders_from_a_sheet_without_amounts_are_stored_unknown_and_their_days_get_no_revenue(
    tmp_path, make_config, run_sync
):
    export = tmp_path / "till.csv"
    export.write_text("Date,How did you hear about us?\n2026-04-18,Instagram\n2026-04-19,Instagram\n", encoding="utf-8")
    cfg = make_config({"till": {"plugin": "csv", "path": str(export), "kind": "order"}})
    assert run_sync(cfg, now=noon(TODAY)).ok
    assert rows(cfg.database, "SELECT amount FROM conversion") == [(None,), (None,)]
    assert rows(cfg.database, "SELECT COUNT(*) FROM sample WHERE metric = 'revenue'") == [(0,)]
    assert rows(cfg.database, "SELECT SUM(value) FROM sample WHERE metric = 'orders'") == [(2.0,)]


def test_a_day_with_one_unknown_amount_beside_known_ones_has_no_revenue_sample(engine):
    commit(
        engine, [Conversion("1", "instagram", TODAY, "order", 50.0), Conversion("2", "instagram", TODAY, "order", None)]
    )
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT metric, value FROM sample ORDER BY metric")).all() == [
            ("conversions", 2.0), ("leads", 0.0), ("orders", 2.0)
        ]


def test_withdrawing_the_order_of_unknown_amount_brings_the_days_revenue_back_and_clears_the_status(engine):
    commit(
        engine, [Conversion("1", "instagram", TODAY, "order", 50.0), Conversion("2", "instagram", TODAY, "order", None)]
    )
    writes.withdraw_conversion(engine, "shop", "2")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM sample WHERE metric = 'revenue'")).all() == [(50.0,)]
        assert conn.execute(sa.text("SELECT COUNT(*) FROM metric_status")).scalar_one() == 0


def commit(engine, conversions, account="shop"):
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(engine, run_id, account, TODAY, TODAY)
    result = writes.AccountResult(account, "csv", "{}", "first_party", False, 0, conversions=conversions)
    writes.commit_account(engine, run_id, account_run, result)


def test_an_older_database_turns_orders_stored_as_zero_from_a_sheet_without_amounts_into_unknown(db_url):
    """A till sheet imported by the release before: amounts 0.00, a revenue sample of 0, a status naming the file."""
    engine = sa.create_engine(db_url)
    record = migrations._record_table(sa.MetaData())
    older = [m for m in migrations.MIGRATIONS if m.name != "m005_conversion_amount_may_be_unknown"][:4]
    with engine.begin() as conn:
        record.create(conn)
        for step in older:
            step.apply(conn)
            conn.execute(record.insert().values(name=step.name, applied_at=writes.now()))
        conn.execute(
            sa.text(
                "INSERT INTO sync_run (id, started_at, status, \"trigger\") VALUES (1, '2026-04-19', 'ok', 'manual')"
            )
        )
        for id_, ref, amount in (("row-a", "till.csv line 2", 0.0), ("1001", "shop.csv line 2", 0.0)):
            conn.execute(sa.text(
                "INSERT INTO conversion VALUES ('till', :id, 'instagram', '2026-04-18', 'order', :amount, NULL, "
                "'self_reported', :ref, '', 0, 1, '2026-04-19')"), {"id": id_, "ref": ref, "amount": amount})
        conn.execute(sa.text("INSERT INTO sample VALUES ('till', 'instagram', 'revenue', '2026-04-18', 0.0, 0, 1)"))
        conn.execute(sa.text(
            "INSERT INTO metric_status VALUES ('till', 'instagram', 'revenue', 'unavailable', "
            "'till.csv has no amount column (1 orders without an amount)', '2026-04-19', 1)"))
    engine.dispose()
    upgraded = open_engine(db_url)
    with upgraded.connect() as conn:
        assert conn.execute(sa.text("SELECT id, amount FROM conversion ORDER BY id")).all() == [
            ("1001", 0.0),
            ("row-a", None),
        ]
        assert conn.execute(sa.text("SELECT COUNT(*) FROM sample WHERE metric = 'revenue'")).scalar_one() == 0
        assert {c["name"]: c["nullable"] for c in sa.inspect(conn).get_columns("conversion")}["amount"] is True
    upgraded.dispose()


# --- JSON stays JSON -------------------------------------------------------------------------------------------------


def test_report_json_stays_valid_even_if_a_non_finite_value_were_in_the_database(cli, tmp_path):
    """Guards tracker.output: a database written before these checks may hold 1e308 likes that sum to inf."""
    config = write_config(tmp_path, accounts='[accounts.page]\nplugin = "demo"\n')
    db = tmp_path / "t.db"
    engine = open_engine(f"sqlite:///{db}")
    engine.dispose()
    end = date.today()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO sync_run (id, started_at, status, \"trigger\") VALUES (1, '2026-01-01', 'ok', 'manual')"
        )
        conn.execute("INSERT INTO series VALUES (1, 'page', 'facebook', 'likes'), (2, 'page', 'facebook', 'followers')")
        conn.executemany("INSERT INTO series_day VALUES (1, ?, 1e308, 0, 1)",
                         [(day_number(end - timedelta(days=n)),) for n in range(3)])
        conn.execute("INSERT INTO series_day VALUES (2, ?, 9e999, 0, 1)", (day_number(end),))
    conn.close()
    result = invoke(cli, "report", "--format", "json", "--config", str(config))
    assert result.exit_code == 0, result.output

    def refuse(constant):
        raise AssertionError(f"invalid JSON constant {constant}")

    report = json.loads(result.stdout, parse_constant=refuse)
    facebook = next(p for p in report["platforms"] if p["platform"] == "facebook")
    assert facebook["likes"] is None and facebook["followers"] is None
