"""How much faster the sync's sample write is than writing row by row.

Both write the same samples into a fresh SQLite file in WAL mode, in one
transaction: the baseline with one INSERT ... ON CONFLICT statement per row
into `series_day` (what a naive plugin loop would do, with the series ids
already looked up), tracker with `writes.commit_account` (the series ids and
day numbers built once per commit, then one driver `executemany`). A second
pass rewrites the same rows, as every sync's lookback does. Prints seconds
and the ratio; run: python bench/upsert.py [ROWS]. The ingest group of
bench/run_all.py measures the same write against raw `executemany`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from tracker.plugin import Sample
from tracker.store import samples as store_samples
from tracker.store import writes
from tracker.store.db import open_engine

ACCOUNT = "acct"


def make_samples(rows: int) -> list[Sample]:
    metrics = [f"bench.m{i}" for i in range(50)]
    days = rows // len(metrics)
    start = date(2026, 1, 1)
    return [Sample("bench", m, start + timedelta(days=d), float(d)) for d in range(days) for m in metrics]


def tracker_write(engine: sa.Engine, batch: list[Sample]) -> None:
    run_id = writes.start_run(engine, "bench")
    account_run = writes.start_account_run(engine, run_id, ACCOUNT, date(2026, 1, 1), date(2026, 1, 1))
    result = writes.AccountResult(ACCOUNT, "bench", "{}", "none", False, 0, samples=batch)
    writes.commit_account(engine, run_id, account_run, result)


def row_by_row(engine: sa.Engine, batch: list[Sample]) -> None:
    """One statement per sample: the same table and conflict rule as tracker's write, without the batching."""
    run_id = writes.start_run(engine, "bench")
    statement = sa.text(
        "INSERT INTO series_day (series_id, day, value, provisional, run_id) VALUES (:s, :d, :v, :p, :r) "
        "ON CONFLICT (series_id, day) DO UPDATE SET value = excluded.value, provisional = excluded.provisional, "
        "run_id = excluded.run_id"
    )
    with engine.begin() as conn:
        ids = store_samples.series_ids(conn, ACCOUNT, {(s.platform, s.metric) for s in batch})
        for s in batch:
            row = {"s": ids[(s.platform, s.metric)], "d": store_samples.day_number(s.day), "v": s.value,
                   "p": s.provisional, "r": run_id}
            conn.execute(statement, row)


def stored(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM series_day")).scalar_one()


def timed(fn, folder: Path, name: str, batch: list[Sample]) -> tuple[float, float]:
    engine = open_engine(f"sqlite:///{folder / name}.db")
    try:
        first = time.perf_counter()
        fn(engine, batch)
        second = time.perf_counter()
        fn(engine, batch)  # the lookback: the same rows again
        end = time.perf_counter()
        assert stored(engine) == len(batch), f"{name}: expected {len(batch)} rows, found {stored(engine)}"
        return second - first, end - second
    finally:
        engine.dispose()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    batch = make_samples(rows)
    with tempfile.TemporaryDirectory() as tmp:
        base_insert, base_update = timed(row_by_row, Path(tmp), "baseline", batch)
        ours_insert, ours_update = timed(tracker_write, Path(tmp), "tracker", batch)
    print(f"{len(batch):,} samples into SQLite (WAL)")
    print(f"  row by row  : insert {base_insert:6.2f} s   re-sync {base_update:6.2f} s   (baseline)")
    print(f"  tracker     : insert {ours_insert:6.2f} s   re-sync {ours_update:6.2f} s")
    print(f"  speed-up    : insert x{base_insert / ours_insert:.1f}   re-sync x{base_update / ours_update:.1f}")


if __name__ == "__main__":
    main()
