"""A large shop export streams: the csv plugin yields it in pages and keeps no per-row memory of its own.

The plugin must remember each order number it met (a further line item is skipped) and how often each
content key came up (twins become `-2`, `-3`). Past a bound those counts move to a temporary SQLite file,
so the plugin's memory does not grow with the file; what it yields is the same either way. Peak memory is
measured in bench/csv_memory.py, never asserted here.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest

from tracker.plugin import Window
from tracker.testing import make_options, window
from tracker_plugins import _csv_seen
from tracker_plugins import csv as csv_plugin
from tracker_plugins._csv_seen import Interned, Tally

TODAY = date(2026, 4, 20)
WIN = window(date(2026, 4, 1), TODAY)
SOURCES = ["Instagram", "a friend", "", "Google"]


def export(path: Path, orders: int) -> Path:
    """Orders with two line items each (the second row repeats the number), refunds, and id-less twin leads."""
    lines = ["Order ID,Date,Amount,Source,Kind"]
    for n in range(orders):
        day = f"2026-03-{1 + n % 28:02d}"
        lines.append(f"{5000 + n},{day},{10 + n % 50}.50,{SOURCES[n % 4]},order")
        lines.append(f"{5000 + n},{day},,,order")  # a later line item of the same order
        if n % 7 == 0:
            lines.append(f"{5000 + n},{day},-{n % 5 + 1}.00,,order")  # a refund row of it
        if n % 3 == 0:
            lines.append(f",{day},,{SOURCES[n % 4]},lead")  # leads without ids: twins on the same day
    lines.append(f"{5000},2026-03-01,99.00,,order")  # the first order's number again, far below it
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def pages(path: Path, win: Window = WIN) -> list[list]:
    opts = make_options(csv_plugin.plugin, {"path": str(path), "currency": "EUR"})
    return [item for item in csv_plugin.fetch(opts, win, None, {}) if isinstance(item, list)]


def records(path: Path) -> list:
    return [record for page in pages(path) for record in page]


def test_a_large_export_is_yielded_in_several_pages_holding_every_order_once(tmp_path, monkeypatch):
    path = export(tmp_path / "orders.csv", 400)
    whole = records(path)
    monkeypatch.setattr(csv_plugin, "BATCH", 64)
    paged = pages(path)
    assert len(paged) > 1 and all(len(page) <= 64 for page in paged)
    assert [r for page in paged for r in page] == whole
    assert len({r.id for r in whole}) == len(whole)


def test_an_export_past_the_in_memory_bound_reads_exactly_as_a_small_one(tmp_path, monkeypatch):
    path = export(tmp_path / "orders.csv", 400)
    expected = records(path)
    monkeypatch.setattr(_csv_seen, "IN_MEMORY", 10)
    assert records(path) == expected
    ids = {r.id for r in expected}
    assert "5000" in ids and "5000-2" not in ids  # the number met again far below counts once
    assert any(i.endswith("-2") for i in ids)  # twin leads told apart across the spill


def test_counts_past_the_bound_move_to_disk_and_stay_exact():
    with Tally(limit=3) as tally:
        seen = [tally.add(key) for key in ["a", "b", "a", "c", "d", "a", "e", "b", "d"]]
        assert tally.on_disk and tally.counts == {}
    assert seen == [1, 1, 2, 1, 1, 3, 1, 2, 2]


def test_the_temporary_file_is_gone_when_the_pass_ends(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(_csv_seen, "IN_MEMORY", 10)
    assert records(export(tmp_path / "orders.csv", 100))
    assert list(scratch.iterdir()) == []


def test_shared_values_stop_growing_at_the_bound():
    share = Interned(limit=2)
    notes = [share(f"note {n}") for n in range(5)]
    assert notes == [f"note {n}" for n in range(5)] and len(share.values) == 2
    assert share("note 0") is notes[0]


@pytest.mark.parametrize("limit", [1, 1000])
def test_a_bad_row_is_named_by_its_line_whether_or_not_counts_spilled(tmp_path, monkeypatch, limit):
    monkeypatch.setattr(_csv_seen, "IN_MEMORY", limit)
    path = tmp_path / "orders.csv"
    path.write_text("Order ID,Date,Amount\n1,2026-03-01,5.00\n2,2026-03-02,5.00\n3,not a day,5.00\n", encoding="utf-8")
    opts = make_options(csv_plugin.plugin, {"path": str(path)})
    notices = [i.message for i in csv_plugin.fetch(opts, WIN, None, {}) if isinstance(i, csv_plugin.Notice)]
    assert any("orders.csv line 4" in n for n in notices)
