"""How much memory a large shop export costs to import, against just reading it.

Writes one generic order export (order number, date, amount, source, coupon)
of ROWS rows, then measures in fresh processes, each reporting its own peak
resident memory:
- baseline: the file read once with `csv.reader`, row by row, nothing kept
  (the least any import must pay: the interpreter, the file, the parser);
- one order: the same sync of a file holding one order (what tracker's
  modules cost before any row: SQLAlchemy, Rich, requests...);
- tracker: the real sync of a csv account on the big file into a fresh
  SQLite database (plugin, validation, conversion records, daily samples),
  then a second sync of the file with one row edited (a re-import).
Prints peak RSS in MB and the ratio to the baseline; run:
python bench/csv_import.py [ROWS]   (default 1,000,000)
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

SOURCES = ["Instagram", "Facebook", "a friend", "Google", "", "LinkedIn", "Xing", "flyer"]
COUPONS = ["", "", "", "INSTA10", "XING5"]


def write_export(path: Path, rows: int) -> None:
    rng = random.Random(7)
    start = date(2024, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Order ID,Date,Amount,Source,Coupon\n")
        for n in range(rows):
            day = start + timedelta(days=n * 800 // rows)
            amount = f"{rng.randint(100, 50000) / 100:.2f}"
            out.write(f"{100000 + n},{day.isoformat()} 10:{n % 60:02d}:00,{amount},"
                      f"{SOURCES[n % len(SOURCES)]},{COUPONS[n % len(COUPONS)]}\n")


def edit_one_row(path: Path) -> None:
    """A re-save with one typo fixed: the second row's amount changes."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[2].split(",")
    cells[2] = "55.00"
    lines[2] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")


# The child's own peak in kB: VmHWM, which starts afresh at exec (ru_maxrss can keep a big parent's peak).
PEAK = textwrap.dedent("""
    import resource
    try:
        print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")))
    except (OSError, StopIteration):
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")

BASELINE = textwrap.dedent("""
    import csv, sys
    with open(sys.argv[1], encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            pass
""") + PEAK

SYNC = textwrap.dedent("""
    import sys
    from datetime import datetime, timezone
    from pathlib import Path
    from tracker import config
    from tracker.registry import discover
    from tracker.store.db import open_engine
    from tracker.sync import Syncer
    export, db = Path(sys.argv[1]), Path(sys.argv[2])
    cfg = config.parse({"database": f"sqlite:///{db}", "timezone": "UTC",
                        "accounts": {"shop": {"plugin": "csv", "path": str(export), "currency": "EUR"}}},
                       export.parent / "config.toml")
    engine = open_engine(cfg.database)
    result = Syncer(cfg, discover(), engine, now=datetime(2026, 4, 20, 12, tzinfo=timezone.utc)).run()
    engine.dispose()
    assert result.ok, [o.message for o in result.outcomes]
""") + PEAK


def peak_mb(code: str, *args: str) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of a fresh interpreter running `code`."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1]) / 1024, time.perf_counter() - start


@dataclass(frozen=True)
class Peaks:
    """Peak resident MB and seconds of each process, and the export's size."""

    export_mb: float
    base: tuple[float, float]
    one: tuple[float, float]
    first: tuple[float, float]
    again: tuple[float, float]


def measure(rows: int, folder: Path) -> Peaks:
    export, db = folder / "orders.csv", folder / "tracker.db"
    small = folder / "small"
    small.mkdir()
    write_export(small / "orders.csv", 1)
    one = peak_mb(SYNC, str(small / "orders.csv"), str(small / "tracker.db"))
    write_export(export, rows)
    size = export.stat().st_size / 1024 / 1024
    base = peak_mb(BASELINE, str(export))
    first = peak_mb(SYNC, str(export), str(db))
    edit_one_row(export)
    again = peak_mb(SYNC, str(export), str(db))
    return Peaks(size, base, one, first, again)


def figures(run: Any) -> list[Any]:
    """For run_all.py: informational, no target in issue 18 (300,000 orders; quick: 50,000)."""
    from harness import Figure

    rows = 50_000 if run.opts.quick else 300_000
    folder = run.opts.workdir / "csv_import"
    folder.mkdir()
    run.log(f"csv import: {rows:,} orders")
    p = measure(rows, folder)
    base = p.base[0]
    return [
        Figure(
            f"csv import of {rows:,} orders: peak memory", f"{p.first[0]:.0f} MB (x{p.first[0] / base:.1f})", "-", None,
            f"csv.reader alone {base:.0f} MB; a sync of one order {p.one[0]:.0f} MB; the re-import with one row "
            f"edited {p.again[0]:.0f} MB (x{p.again[0] / base:.1f}); export {p.export_mb:.0f} MB",
        )
    ]


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        p = measure(rows, Path(tmp))
    base, one, first, again = p.base[0], p.one[0], p.first[0], p.again[0]
    print(f"{rows:,} orders in one generic export ({p.export_mb:,.0f} MB), peak resident memory")
    print(f"  csv.reader only     : {base:7.0f} MB  {p.base[1]:6.1f} s   (baseline)")
    print(f"  sync of one order   : {one:7.0f} MB  {p.one[1]:6.1f} s   x{one / base:.1f} the baseline")
    print(f"  tracker sync        : {first:7.0f} MB  {p.first[1]:6.1f} s   x{first / base:.1f} the baseline, "
          f"{first - one:,.0f} MB above one order")
    print(f"  re-import, 1 edited : {again:7.0f} MB  {p.again[1]:6.1f} s   x{again / base:.1f} the baseline, "
          f"{again - one:,.0f} MB above one order")


if __name__ == "__main__":
    main()
