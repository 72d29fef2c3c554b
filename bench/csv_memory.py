"""Where a large shop export's import spends memory: the csv plugin alone, and the whole sync.

Writes one generic order export (bench/csv_import.py's writer) of ROWS rows
and measures, each in a fresh process reporting its own peak resident
memory (VmHWM):
- baseline: the file read once with the csv module, row by row, nothing kept;
- plugin: the csv plugin's fetch drained page by page, each page dropped
  (what the plugin itself holds while it streams; a bounded plugin stays
  near the baseline whatever the file's size);
- sync: the real `tracker sync` of a csv account into a fresh SQLite file.
Run it at two sizes to see what grows with the file:
python bench/csv_memory.py [ROWS ...]   (default 100,000 and 1,000,000)
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
from pathlib import Path

from csv_import import BASELINE, PEAK, SYNC, peak_mb, write_export

REPO = Path(__file__).resolve().parent.parent

PLUGIN = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from datetime import date
    from zoneinfo import ZoneInfo
    from plugins.csv import CsvOptions, fetch
    from tracker.plugin import Window
    today = date(2026, 4, 20)
    window = Window(today, today, today, ZoneInfo("UTC"))
    pages = records = 0
    for item in fetch(CsvOptions(path=sys.argv[1], currency="EUR"), window, None, {}):
        if isinstance(item, list):
            pages, records = pages + 1, records + len(item)
    print(pages, records)
""") + PEAK


def measure(rows: int, folder: Path) -> dict[str, tuple[float, float]]:
    export = folder / f"orders_{rows}.csv"
    write_export(export, rows)
    return {
        "baseline": peak_mb(BASELINE, str(export)),
        "plugin": peak_mb(PLUGIN, str(export), str(REPO)),
        "sync": peak_mb(SYNC, str(export), str(folder / f"tracker_{rows}.db")),
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            peaks = measure(rows, Path(tmp))
            base = peaks["baseline"][0]
            print(f"{rows:,} orders: peak resident memory")
            for name, (mb, seconds) in peaks.items():
                print(f"  {name:<9}: {mb:7.0f} MB  {seconds:6.1f} s   x{mb / base:.1f} the baseline")


if __name__ == "__main__":
    main()
