"""How much faster the batched Core upsert is than writing row by row.

Both write the same samples into a fresh SQLite file in WAL mode: the
baseline with one INSERT ... ON CONFLICT statement per row (what a naive
plugin loop would do), tracker with `writes.commit_account` (deduplicated,
batched executemany). A second pass rewrites the same rows, as every sync's
lookback does. Prints seconds and the ratio; run: python bench/upsert.py [ROWS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from tracker.plugin import Sample
from tracker.store import writes
from tracker.store.db import open_engine


def make_samples(rows: int) -> list[Sample]:
    metrics = [f"bench.m{i}" for i in range(50)]
    days = rows // len(metrics)
    start = date(2026, 1, 1)
    return [Sample("bench", m, start + timedelta(days=d), float(d)) for d in range(days) for m in metrics]


def tracker_write(engine: sa.Engine, samples: list[Sample]) -> None:
    run_id = writes.start_run(engine, "bench")
    account_run = writes.start_account_run(engine, run_id, "acct", date(2026, 1, 1), date(2026, 1, 1))
    result = writes.AccountResult("acct", "bench", "{}", "none", False, 0, samples=samples)
    writes.commit_account(engine, run_id, account_run, result)


def row_by_row(engine: sa.Engine, samples: list[Sample]) -> None:
    run_id = writes.start_run(engine, "bench")
    statement = sa.text(
        "INSERT INTO sample (account, platform, metric, day, value, provisional, run_id) "
        "VALUES ('acct', :p, :m, :d, :v, 0, :r) "
        "ON CONFLICT (account, platform, metric, day) DO UPDATE SET value = excluded.value, run_id = excluded.run_id"
    )
    with engine.begin() as conn:
        for s in samples:
            conn.execute(statement, {"p": s.platform, "m": s.metric, "d": s.day, "v": s.value, "r": run_id})


def timed(fn, folder: Path, name: str, samples: list[Sample]) -> tuple[float, float]:
    engine = open_engine(f"sqlite:///{folder / name}.db")
    try:
        first = time.perf_counter()
        fn(engine, samples)
        second = time.perf_counter()
        fn(engine, samples)  # the lookback: the same rows again
        end = time.perf_counter()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM sample")).scalar_one() == len(samples)
        return second - first, end - second
    finally:
        engine.dispose()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    samples = make_samples(rows)
    with tempfile.TemporaryDirectory() as tmp:
        base_insert, base_update = timed(row_by_row, Path(tmp), "baseline", samples)
        ours_insert, ours_update = timed(tracker_write, Path(tmp), "tracker", samples)
    print(f"{len(samples):,} samples into SQLite (WAL)")
    print(f"  row by row  : insert {base_insert:6.2f} s   re-sync {base_update:6.2f} s   (baseline)")
    print(f"  tracker     : insert {ours_insert:6.2f} s   re-sync {ours_update:6.2f} s")
    print(f"  speed-up    : insert x{base_insert / ours_insert:.1f}   re-sync x{base_update / ours_update:.1f}")


if __name__ == "__main__":
    main()
