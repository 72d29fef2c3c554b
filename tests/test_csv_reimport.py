"""Re-importing an edited shop export: the file is the truth about its days; undo sticks; big files stream.

Every file is written here (made-up orders), synced with the real sync into a real SQLite file, and read back
from the conversion table and the daily samples.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import noon
from tests.test_cli import invoke
from tracker.store.db import open_engine
from tracker.testing import make_options, window
from tracker_plugins.csv import plugin as csv_plugin

TODAY = date(2026, 4, 20)
HEADER_IDS = "Order ID,Date,Amount,How did you hear about us?"
HEADER_NO_IDS = "Date,Amount,How did you hear about us?"


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def query(cfg, sql: str) -> list[tuple]:
    engine = open_engine(cfg.database)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def orders_and_revenue(cfg) -> tuple[float, float]:
    """What the daily samples add up to: the figures the report is built from."""
    (orders,), = query(cfg, "SELECT COALESCE(SUM(value), 0) FROM sample WHERE metric = 'orders'")
    (revenue,), = query(cfg, "SELECT COALESCE(SUM(value), 0) FROM sample WHERE metric = 'revenue'")
    return orders, revenue


def shop(tmp_path: Path, make_config, path: Path | None = None, name: str = "shop"):
    return make_config({name: {"plugin": "csv", "path": str(path or tmp_path / "exports"), "currency": "EUR"}})


def synced(run_sync, cfg):
    result = run_sync(cfg, now=noon(TODAY))
    assert result.ok, [o.message for o in result.outcomes]
    return result


# --- an edited file replaces, a shorter file withdraws ---------------------------------------------------------------


def test_a_corrected_amount_in_a_file_without_order_ids_replaces_the_row_instead_of_adding_one(
    tmp_path, make_config, run_sync
):
    export = write(tmp_path / "orders.csv", [HEADER_NO_IDS, "2026-04-10,50.00,Instagram"])
    cfg = shop(tmp_path, make_config, export)
    synced(run_sync, cfg)
    write(export, [HEADER_NO_IDS, "2026-04-10,55.00,Instagram"])
    synced(run_sync, cfg)
    assert orders_and_revenue(cfg) == (1, 55.0)
    assert query(cfg, "SELECT amount FROM conversion") == [(55.0,)]


def test_a_row_deleted_from_a_file_with_order_ids_no_longer_counts(tmp_path, make_config, run_sync):
    export = write(tmp_path / "orders.csv", [HEADER_IDS, "1001,2026-04-10,50.00,Instagram",
                                             "1002,2026-04-11,30.00,Instagram", "1003,2026-04-12,20.00,Instagram"])
    cfg = shop(tmp_path, make_config, export)
    synced(run_sync, cfg)
    write(export, [HEADER_IDS, "1001,2026-04-10,50.00,Instagram", "1003,2026-04-12,20.00,Instagram"])
    synced(run_sync, cfg)
    assert orders_and_revenue(cfg) == (2, 70.0)
    assert query(cfg, "SELECT id FROM conversion ORDER BY id") == [("1001",), ("1003",)]


def test_a_row_deleted_from_a_file_without_order_ids_no_longer_counts(tmp_path, make_config, run_sync):
    export = write(tmp_path / "orders.csv", [HEADER_NO_IDS, "2026-04-10,50.00,Instagram", "2026-04-10,30.00,Instagram",
                                             "2026-04-11,20.00,Facebook"])
    cfg = shop(tmp_path, make_config, export)
    synced(run_sync, cfg)
    write(export, [HEADER_NO_IDS, "2026-04-10,30.00,Instagram", "2026-04-11,20.00,Facebook"])
    synced(run_sync, cfg)
    assert orders_and_revenue(cfg) == (2, 50.0)


def test_an_order_cancelled_at_the_shop_is_withdrawn_when_the_export_says_so(tmp_path, make_config, run_sync):
    header = "Order ID,Date,Status,Amount"
    export = write(
        tmp_path / "orders.csv",
        [
            header,
            "1001,2026-04-10,completed,50.00",
            "1002,2026-04-11,completed,30.00",
            "1003,2026-04-12,completed,20.00",
        ],
    )
    cfg = shop(tmp_path, make_config, export)
    synced(run_sync, cfg)
    write(export, [header, "1001,2026-04-10,completed,50.00", "1002,2026-04-11,cancelled,30.00",
                   "1003,2026-04-12,completed,20.00"])
    synced(run_sync, cfg)
    assert orders_and_revenue(cfg) == (2, 70.0)


def test_an_order_removed_from_the_export_counts_again_when_a_later_export_holds_it(tmp_path, make_config, run_sync):
    full = [HEADER_IDS, "1001,2026-04-10,50.00,Instagram", "1002,2026-04-11,30.00,Instagram", "1003,2026-04-12,20.00,x"]
    export = write(tmp_path / "orders.csv", full)
    cfg = shop(tmp_path, make_config, export)
    synced(run_sync, cfg)
    write(export, [full[0], full[1], full[3]])
    synced(run_sync, cfg)
    assert orders_and_revenue(cfg) == (2, 70.0)
    write(export, full)
    synced(run_sync, cfg)
    assert orders_and_revenue(cfg) == (3, 100.0)


# --- what a file says nothing about is kept --------------------------------------------------------------------------


def test_a_rolling_export_withdraws_only_within_the_days_it_spans(tmp_path, make_config, run_sync):
    export = write(tmp_path / "orders.csv", [HEADER_IDS, "1001,2026-03-01,50.00,x", "1002,2026-04-11,30.00,x",
                                             "1003,2026-04-12,20.00,x", "1004,2026-04-13,5.00,x"])
    cfg = shop(tmp_path, make_config, export)
    synced(run_sync, cfg)
    # The next download holds the last 30 days only: 1001 is older than that, 1003 was deleted at the shop.
    write(export, [HEADER_IDS, "1002,2026-04-11,30.00,x", "1004,2026-04-13,5.00,x"])
    synced(run_sync, cfg)
    assert query(cfg, "SELECT id FROM conversion ORDER BY id") == [("1001",), ("1002",), ("1004",)]


def test_an_order_another_file_still_holds_is_kept_when_one_file_drops_it(tmp_path, make_config, run_sync):
    folder = tmp_path / "exports"
    folder.mkdir()
    write(folder / "a-march.csv", [HEADER_IDS, "1001,2026-04-01,50.00,x", "1002,2026-04-10,30.00,x"])
    b = write(folder / "b-april.csv", [HEADER_IDS, "1000,2026-04-09,10.00,x", "1002,2026-04-10,30.00,x",
                                       "1003,2026-04-11,20.00,x", "1004,2026-04-12,20.00,x"])
    cfg = shop(tmp_path, make_config)
    synced(run_sync, cfg)
    # b no longer holds 1002 (a still does) nor 1003 (nobody does)
    write(b, [HEADER_IDS, "1000,2026-04-09,10.00,x", "1004,2026-04-12,20.00,x"])
    synced(run_sync, cfg)
    assert query(cfg, "SELECT id FROM conversion ORDER BY id") == [("1000",), ("1001",), ("1002",), ("1004",)]


def test_the_orders_of_a_deleted_file_stay_when_another_file_withdraws_its_own(tmp_path, make_config, run_sync):
    folder = tmp_path / "exports"
    folder.mkdir()
    old = write(folder / "a-old.csv", [HEADER_IDS, "1001,2026-04-10,50.00,x"])
    b = write(folder / "b-new.csv", [HEADER_IDS, "1002,2026-04-09,30.00,x", "1003,2026-04-11,20.00,x",
                                     "1004,2026-04-12,20.00,x"])
    cfg = shop(tmp_path, make_config)
    synced(run_sync, cfg)
    old.unlink()
    write(b, [HEADER_IDS, "1002,2026-04-09,30.00,x", "1004,2026-04-12,20.00,x"])  # spans 1001's day, drops 1003
    synced(run_sync, cfg)
    assert query(cfg, "SELECT id FROM conversion ORDER BY id") == [("1001",), ("1002",), ("1004",)]


def test_a_file_with_an_unreadable_row_removes_nothing_until_it_is_fixed(tmp_path, make_config, run_sync):
    export = write(tmp_path / "orders.csv", [HEADER_IDS, "1001,2026-04-10,50.00,x", "1002,2026-04-11,30.00,x",
                                             "1003,2026-04-12,20.00,x"])
    cfg = shop(tmp_path, make_config, export)
    synced(run_sync, cfg)
    write(export, [HEADER_IDS, "1001,2026-04-10,50.00,x", "1003,2026-04-12,2O.00,x"])  # 1002 gone, a typo in 1003
    result = synced(run_sync, cfg)
    assert result.outcomes[0].notices == ["orders.csv line 3: amount '2O.00' is not a number; row skipped"]
    assert orders_and_revenue(cfg) == (3, 100.0)


# --- tracker log undo of an imported order ---------------------------------------------------------------------------


def cli_config(tmp_path: Path, export: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\n[accounts.shop]\nplugin = "csv"\n'
                      f'path = "{export}"\ncurrency = "EUR"\n', encoding="utf-8")
    return config


def test_log_undo_withdraws_an_order_imported_from_a_csv(cli, tmp_path, make_config, run_sync):
    export = write(tmp_path / "orders.csv", [HEADER_IDS, "1001,2026-04-10,50.00,x", "1002,2026-04-11,30.00,x"])
    config = cli_config(tmp_path, export)
    cfg = make_config(
        {"shop": {"plugin": "csv", "path": str(export), "currency": "EUR"}}, database=f"sqlite:///{tmp_path / 't.db'}"
    )
    synced(run_sync, cfg)
    result = invoke(cli, "log", "undo", "1002", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Withdrew 1002 (shop: orders.csv line 3)."
    assert orders_and_revenue(cfg) == (1, 50.0)


def test_an_undone_imported_order_stays_withdrawn_when_the_file_is_edited_and_imported_again(
    tmp_path, make_config, run_sync
):
    from tracker import manual

    export = write(tmp_path / "orders.csv", [HEADER_IDS, "1001,2026-04-10,50.00,x", "1002,2026-04-11,30.00,x"])
    cfg = shop(tmp_path, make_config, export)
    synced(run_sync, cfg)
    engine = open_engine(cfg.database)
    manual.undo(engine, "1002")
    engine.dispose()
    write(export, [HEADER_IDS, "1001,2026-04-10,50.00,x", "1002,2026-04-11,32.00,x", "1003,2026-04-12,20.00,x"])
    synced(run_sync, cfg)
    assert orders_and_revenue(cfg) == (2, 70.0)
    assert query(cfg, "SELECT id, withdrawn FROM conversion ORDER BY id") == [("1001", 0), ("1002", 1), ("1003", 0)]


def test_an_undone_order_stays_withdrawn_when_an_export_drops_it_and_a_later_one_brings_it_back(
    tmp_path, make_config, run_sync
):
    from tracker import manual

    full = [HEADER_IDS, "1001,2026-04-10,50.00,x", "1002,2026-04-11,30.00,x", "1003,2026-04-12,20.00,x"]
    export = write(tmp_path / "orders.csv", full)
    cfg = shop(tmp_path, make_config, export)
    synced(run_sync, cfg)
    engine = open_engine(cfg.database)
    manual.undo(engine, "1002")
    engine.dispose()
    write(export, [full[0], full[1], full[3]])
    synced(run_sync, cfg)
    write(export, full)
    synced(run_sync, cfg)
    assert orders_and_revenue(cfg) == (2, 70.0)


def test_undo_of_an_order_number_two_accounts_hold_asks_which_account(cli, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    shop_file = write(folder / "shop.csv", [HEADER_IDS, "1001,2026-04-10,50.00,x"])
    till_file = write(tmp_path / "till.csv", [HEADER_IDS, "1001,2026-04-10,12.00,x"])
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\n'
                      f'[accounts.shop]\nplugin = "csv"\npath = "{shop_file}"\n'
                      f'[accounts.till]\nplugin = "csv"\npath = "{till_file}"\n', encoding="utf-8")
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    ambiguous = invoke(cli, "log", "undo", "1001", "--config", str(config))
    assert ambiguous.exit_code == 2
    assert ambiguous.stderr.strip() == "error: '1001' is held by several accounts (shop, till): add --account NAME"
    chosen = invoke(cli, "log", "undo", "1001", "--account", "till", "--config", str(config))
    assert chosen.exit_code == 0 and chosen.stdout.strip() == "Withdrew 1001 (till: till.csv line 2)."


def test_log_list_with_an_account_shows_the_orders_an_import_holds(cli, tmp_path):
    export = write(tmp_path / "orders.csv", [HEADER_NO_IDS, "2026-04-10,50.00,Instagram"])
    config = cli_config(tmp_path, export)
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    listed = invoke(cli, "log", "list", "--account", "shop", "--format", "csv", "--config", str(config))
    assert listed.exit_code == 0, listed.output
    (record,) = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert record["id"].startswith("row-")
    assert (record["platform"], record["day"], record["kind"], record["ref"]) == (
        "instagram", "2026-04-10", "order", "orders.csv line 2"
    )


# --- a big export streams --------------------------------------------------------------------------------------------


def test_a_large_export_reaches_the_core_in_pages_not_as_one_list(tmp_path):
    batch = 5000  # tracker_plugins.csv.BATCH
    rows = 2 * batch + 7
    export = tmp_path / "orders.csv"
    with export.open("w", encoding="utf-8") as out:
        out.write(HEADER_IDS + "\n")
        for n in range(rows):
            out.write(f"{n},2026-04-{1 + n % 19:02d},{n % 90 + 10}.00,Instagram\n")
    opts = make_options(csv_plugin, {"path": str(export)})
    pages = [
        item for item in csv_plugin.fetch(opts, window(date(2026, 4, 1), TODAY), None, {}) if isinstance(item, list)
    ]
    assert [len(p) for p in pages] == [batch, batch, 7]
