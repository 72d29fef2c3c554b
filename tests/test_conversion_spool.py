"""A large import's orders wait for the commit in a temporary file, and land as if they had been held in memory.

Past tracker.spool.THRESHOLD validated orders of an account, the core pickles them to an anonymous temporary
file and the store reads them back page by page inside the account's one transaction. Here the threshold is
lowered so a small made-up shop export spills; the real csv plugin, the real sync and a real SQLite file do
the rest. Whether a spool file is still open is read from /proc/self/fd (the file has no name to look for).
Peak memory is measured in bench/csv_memory.py, never asserted here.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import noon
from tracker import spool
from tracker.collect import collect
from tracker.errors import SyncInterrupted
from tracker.http import HttpSession
from tracker.plugin import Conversion
from tracker.spool import ConversionSpool
from tracker.store import writes
from tracker.store.db import open_engine
from tracker.testing import check_plugin, fetch_once, make_options, window
from tracker_plugins import csv as csv_plugin

TODAY = date(2026, 4, 20)
ORDERS = 60
THRESHOLD = 8  # records held before a spill: ORDERS is several pages of it


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files of this test go to a folder of its own, so the ones left open can be told apart."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def open_files_under(folder: Path) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listdir itself used, closed by now
            continue
        if target.startswith(str(folder) + os.sep):
            found.append(target)
    return found


def export(path: Path, orders: int = ORDERS) -> Path:
    lines = ["Order ID,Date,Amount,Source"]
    lines += [f"{7000 + n},2026-03-{1 + n % 28:02d},{10 + n}.00,Instagram" for n in range(orders)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def shop(make_config, path: Path):
    return make_config({"shop": {"plugin": "csv", "path": str(path), "currency": "EUR"}})


def query(database: str, sql: str) -> list[tuple]:
    engine = open_engine(database)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def record(n: int) -> Conversion:
    return Conversion(str(n), "instagram", date(2026, 3, 1), "order", float(n), ref=f"orders.csv line {n}")


def test_spooled_records_read_back_in_order_as_the_list_they_were_appended_as(spool_dir):
    records = [record(n) for n in range(10)]
    with ConversionSpool(threshold=3) as held:
        for r in records:
            held.append(r)
        assert held.spilled and open_files_under(spool_dir)
        assert len(held) == 10
        assert list(held) == records and held == records
        assert held[4] == records[4] and held[-1] == records[-1] and held[2:5] == records[2:5]
        assert set(held) == set(records)
        assert Counter(c.id for c in held) == Counter(c.id for c in records)
        assert list(held) == records  # read twice, the same


def test_a_spool_under_its_threshold_keeps_everything_in_memory(spool_dir):
    with ConversionSpool(threshold=10) as held:
        for n in range(10):
            held.append(record(n))
        assert not held.spilled and not open_files_under(spool_dir)
        assert [c.id for c in held] == [str(n) for n in range(10)]


def test_closing_the_spool_deletes_its_temporary_file(spool_dir):
    held = ConversionSpool(threshold=2)
    for n in range(7):
        held.append(record(n))
    assert open_files_under(spool_dir)
    held.close()
    assert not open_files_under(spool_dir) and not list(spool_dir.iterdir())
    with pytest.raises(ValueError, match="closed"):
        list(held)


def test_the_conformance_kit_reads_a_spilled_import_as_it_reads_one_held_in_memory(tmp_path, monkeypatch, spool_dir):
    raw = {"path": str(export(tmp_path / "orders.csv")), "currency": "EUR"}
    win = window(TODAY, TODAY)
    held = list(fetch_once(csv_plugin.plugin, raw, win).conversions)
    monkeypatch.setattr(spool, "THRESHOLD", THRESHOLD)
    spilled = check_plugin(csv_plugin.plugin, raw, since=win.since, until=win.until, today=win.today)
    assert spilled.conversions.spilled
    assert len(spilled.conversions) == ORDERS and spilled.conversions == held


def test_an_import_larger_than_the_spool_threshold_lands_every_order_exactly_once(
    tmp_path, make_config, run_sync, monkeypatch, spool_dir
):
    monkeypatch.setattr(spool, "THRESHOLD", THRESHOLD)
    cfg = shop(make_config, export(tmp_path / "orders.csv"))
    for _ in range(2):  # and a re-import of the same file changes nothing
        result = run_sync(cfg, now=noon(TODAY))
        assert result.ok, [o.message for o in result.outcomes]
        assert query(cfg.database, "SELECT COUNT(*), COUNT(DISTINCT id), SUM(amount) FROM conversion") == [
            (ORDERS, ORDERS, sum(10.0 + n for n in range(ORDERS)))
        ]
        assert query(cfg.database, "SELECT SUM(value) FROM sample WHERE metric = 'orders'") == [(ORDERS,)]
        assert not open_files_under(spool_dir) and not list(spool_dir.iterdir())


def test_a_failure_mid_commit_leaves_none_of_the_spooled_orders_and_no_temporary_file(
    tmp_path, make_config, run_sync, monkeypatch, spool_dir
):
    """The database refuses the last order, in the last page read back, after the others were written: none stays."""
    monkeypatch.setattr(spool, "THRESHOLD", THRESHOLD)
    cfg = shop(make_config, export(tmp_path / "orders.csv"))
    engine = open_engine(cfg.database)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TRIGGER refuse_last BEFORE INSERT ON conversion WHEN NEW.id LIKE '%{7000 + ORDERS - 1}%' "
            "BEGIN SELECT RAISE(ABORT, 'the disk refused this row'); END"
        )
    engine.dispose()

    monkeypatch.setattr(writes, "BATCH", 5)  # the pages are written in several statements, the last one refused

    with pytest.raises(sa.exc.DBAPIError, match="the disk refused this row") as refused:
        run_sync(cfg, now=noon(TODAY))

    assert query(cfg.database, "SELECT COUNT(*) FROM conversion") == [(0,)]
    assert query(cfg.database, "SELECT COUNT(*) FROM sample") == [(0,)]
    assert not open_files_under(spool_dir) and not list(spool_dir.iterdir())
    assert refused.traceback  # still held (so are the sync's frames): the file was closed, not collected


def test_a_fetch_stopped_after_a_spill_leaves_no_temporary_file(tmp_path, monkeypatch, spool_dir):
    monkeypatch.setattr(csv_plugin, "BATCH", THRESHOLD)  # the plugin yields pages of THRESHOLD orders
    opts = make_options(csv_plugin.plugin, {"path": str(export(tmp_path / "orders.csv")), "currency": "EUR"})
    spilled = []
    with HttpSession(timeout=5, retries=0, stop=threading.Event()) as http:

        def stop_after_the_first_pages(records: int) -> None:
            spilled.append(bool(open_files_under(spool_dir)))
            if len(spilled) == 2:
                http.stop.set()  # as Ctrl-C does: the next item the plugin yields ends the fetch

        with pytest.raises(SyncInterrupted) as stopped:
            collect(csv_plugin.plugin, opts, window(TODAY, TODAY), http, {}, stop_after_the_first_pages,
                    spool_threshold=THRESHOLD - 3)
    assert spilled == [True, True]
    assert not open_files_under(spool_dir)
    assert stopped.traceback  # still held (so are collect's frames): the file was closed, not collected
