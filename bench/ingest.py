"""Target 2: ingest of 1M samples, against raw executemany into an integer-keyed table.

The same 1,002,000 samples (167 accounts x 6 metrics x 1,000 days; quick:
17 accounts, 102,000) are written four ways, each into a fresh database:
- baseline: raw `executemany` of an upsert into a table keyed by integers
  (account, platform, metric, day; SQLite: `WITHOUT ROWID`), one commit per
  account, rows built before the clock starts: the limit of the driver;
- the store path alone: `writes.commit_account` per account (store_write),
  with the account runs started ACCOUNT_BATCH at a time as a sync starts them,
  each account's series (one `Series` per metric, in a `SampleColumns`, as the
  sync hands the pages plugin's to the store) built before the clock starts;
- a whole `tracker sync`: the command, start-up included (with tracker's
  bytecode written first, as pip writes it), of accounts of the bench's pages
  plugin (a file in a temporary `plugin_dirs`, no HTTP).
Each in key order (one pass over each account's whole history) and in
day-major order (the days in CHUNKS consecutive runs, each over every
account: a daily sync into a table already large; the baseline writes each
account's rows day by day, tracker as the plugin yields them, a series per
metric made from the service's rows per day). The day-major sync runs its
CHUNKS runs in one process (`Syncer.run`, as `tracker sync --since --until`
does), so start-up counts once, in the start-up figures, not ten times.
Speed is the baseline's time over tracker's (1.0 = as fast as raw
executemany). Also the MB on disk per million samples after the key-order
sync, beside the baseline table's.

Run alone as a child: `python bench/ingest.py sync CONFIG CHUNKS SINCE UNTIL`.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import adapter
import pages_plugin
import sqlalchemy as sa
from harness import Figure, Run, clean_env, fmt_s, ratio, run_process, size_mb, timed, tracker_command, write_config
from pages_plugin import METRICS, PLATFORMS
from report_scale import Dataset, plugin_dir, size_label

from tracker.sync import LEASE_BATCH

SYNC_TARGET = 0.5
STORE_TARGET = 0.7
MB_TARGET = 40.0
CHUNKS = 10
ACCOUNT_BATCH = LEASE_BATCH  # accounts whose runs the store path starts in one transaction, as a sync does

IntRow = tuple[int, int, int, int, float]
BASELINE_TABLE = (
    "CREATE TABLE sample (account INTEGER NOT NULL, platform INTEGER NOT NULL, metric INTEGER NOT NULL, "
    "day INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (account, platform, metric, day)){suffix}"
)
BASELINE_UPSERT = (
    "INSERT INTO sample (account, platform, metric, day, value) VALUES ({marks}) "
    "ON CONFLICT (account, platform, metric, day) DO UPDATE SET value = excluded.value"
)


def dataset(quick: bool) -> Dataset:
    today = datetime.now(UTC).date()
    return Dataset("ingest", 17 if quick else 167, 1_000, today)


def day_chunks(ds: Dataset, chunks: int) -> list[tuple[date, date]]:
    """The data set's days cut into `chunks` consecutive windows."""
    size = -(-ds.days // chunks)
    return [
        (ds.start + timedelta(days=k), min(ds.end, ds.start + timedelta(days=k + size - 1)))
        for k in range(0, ds.days, size)
    ]


def account_rows(ds: Dataset, index: int, since: date, until: date, day_major: bool) -> Iterator[tuple[int, int, int]]:
    """(metric index, day number, value) of one account's window, in key order or day by day."""
    first, last = (since - pages_plugin.EPOCH).days, (until - pages_plugin.EPOCH).days
    if day_major:
        for n in range(first, last + 1):
            for m in range(len(METRICS)):
                yield m, n, pages_plugin.value(index, m, n)
    else:
        for m in range(len(METRICS)):
            for n in range(first, last + 1):
                yield m, n, pages_plugin.value(index, m, n)


def passes(ds: Dataset, day_major: bool) -> list[tuple[date, date]]:
    return day_chunks(ds, CHUNKS) if day_major else [(ds.start, ds.end)]


# The baseline: raw executemany into an integer-keyed table.


def baseline(run: Run, ds: Dataset, day_major: bool) -> float:
    """Seconds of raw executemany of the data set, one commit per account and pass."""
    batches = [
        [(i, i % len(PLATFORMS), m, n, float(v)) for m, n, v in account_rows(ds, i, since, until, day_major)]
        for since, until in passes(ds, day_major)
        for i in range(ds.accounts)
    ]
    url = run.dbs.new("baseline_day" if day_major else "baseline_key")
    if sa.make_url(url).get_backend_name() == "sqlite":
        return _sqlite_baseline(sa.make_url(url).database or "", batches)
    return _postgres_baseline(url, batches)


def _sqlite_baseline(path: str, batches: list[list[IntRow]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # as tracker opens SQLite
        conn.execute(BASELINE_TABLE.format(suffix=" WITHOUT ROWID"))
        upsert = BASELINE_UPSERT.format(marks="?, ?, ?, ?, ?")

        def write() -> None:
            for rows in batches:
                conn.execute("BEGIN")
                conn.executemany(upsert, rows)
                conn.execute("COMMIT")

        took = timed(write)
    finally:
        conn.close()
    return took


def _postgres_baseline(url: str, batches: list[list[IntRow]]) -> float:
    import psycopg

    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        conn.execute(BASELINE_TABLE.format(suffix=""))
        conn.commit()
        upsert = BASELINE_UPSERT.format(marks="%s, %s, %s, %s, %s")

        def write() -> None:
            with conn.cursor() as cur:
                for rows in batches:
                    cur.executemany(upsert, rows)
                    conn.commit()

        return timed(write)


# The store path alone.


def store_path(run: Run, ds: Dataset, day_major: bool) -> float:
    """Seconds of the store's write path over the data set, each account's samples built beforehand as the sync
    hands them to the store: the checked series of the pages plugin (tracker.columns), one per metric."""
    from tracker.columns import SampleColumns
    from tracker.plugin import Series

    names = ds.names()
    work = []
    for since, until in passes(ds, day_major):
        days = tuple(since + timedelta(days=k) for k in range((until - since).days + 1))
        first = (since - pages_plugin.EPOCH).days
        for i in range(ds.accounts):
            samples = SampleColumns()
            for m, metric in enumerate(METRICS):
                samples.add(Series(ds.platform(i), metric, days, tuple(pages_plugin.column(i, m, first, len(days)))))
            work.append((names[i], samples, since, until))
    engine = adapter.open_store(run.dbs.new("store_day" if day_major else "store_key"))

    def write() -> None:
        run_id = adapter.start_run(engine)
        for start in range(0, len(work), ACCOUNT_BATCH):
            chunk = work[start : start + ACCOUNT_BATCH]
            runs = adapter.start_account_runs(engine, run_id, [(name, since, until) for name, _, since, until in chunk])
            for (name, samples, _, until), account_run in zip(chunk, runs, strict=True):
                store_write(engine, run_id, account_run, name, samples, until)
        adapter.finish_run(engine, run_id)

    try:
        return timed(write)
    finally:
        engine.dispose()


def store_write(engine: Any, run_id: int, account_run: int, account: str, samples: Any, until: date) -> int:
    """One account's samples through the store's own write path, as a sync commits them; returns rows written."""
    from tracker.store import writes

    result = writes.AccountResult(
        account=account, plugin="benchpages", options_json=json.dumps({}), conversion_source="none",
        covers_all_platforms=False, position=0, samples=samples, last_good_day=until,
    )
    return writes.commit_account(engine, run_id, account_run, result)


# The whole sync.


def sync_config(run: Run, ds: Dataset, day_major: bool) -> tuple[Path, str]:
    url = run.dbs.new("sync_day" if day_major else "sync_key")
    engine = adapter.open_store(url)  # migrated before the clock starts, so its size is the empty store's
    engine.dispose()
    config = write_config(
        run.opts.workdir / f"ingest_{'day' if day_major else 'key'}.toml", url,
        ds.accounts_config("day" if day_major else "key"), plugin_dirs=[str(plugin_dir(run.opts.workdir))],
    )
    return config, url


def compile_tracker() -> None:
    """Write tracker's bytecode before the command is timed, as pip does when it installs tracker.

    With PYTHONDONTWRITEBYTECODE set (as on this machine), Python never writes it, and every timed sync would
    compile each tracker module changed since its bytecode was last written: a cost no user pays.
    """
    import compileall

    import tracker

    compileall.compile_dir(str(Path(tracker.__file__).parent), quiet=1)


def whole_sync(run: Run, ds: Dataset) -> tuple[float, float]:
    """(seconds, MB written) of one `tracker sync` command over the data set's whole history, key order."""
    compile_tracker()
    config, url = sync_config(run, ds, False)
    empty = size_mb(url)
    cmd = [*tracker_command(), "sync", "--since", ds.start.isoformat(), "--until", ds.end.isoformat()]
    took = run_process(cmd, clean_env(TRACKER_CONFIG=str(config)))
    _check_count(url, ds.samples)
    return took, size_mb(url) - empty


def day_major_sync(run: Run, ds: Dataset) -> float:
    """Seconds of CHUNKS sync runs in one process, each over every account and its next days."""
    config, url = sync_config(run, ds, True)
    done = subprocess.run(
        [sys.executable, __file__, "sync", str(config), str(CHUNKS), ds.start.isoformat(), ds.end.isoformat()],
        capture_output=True, text=True, check=False, env=clean_env(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"day-major sync failed: {done.stderr[-2000:]}")
    _check_count(url, ds.samples)
    return float(json.loads(done.stdout.splitlines()[-1])["seconds"])


def sync_child(config: Path, chunks: int, since: date, until: date) -> None:
    """In a fresh process: CHUNKS sync runs of consecutive windows, timed without the imports."""
    from tracker import config as tracker_config
    from tracker.registry import discover
    from tracker.store.db import open_engine
    from tracker.sync import Syncer

    cfg = tracker_config.load(config)
    registry = discover(cfg.plugin_dirs)
    engine = open_engine(cfg.database)
    ds = Dataset("child", 0, (until - since).days + 1, until)

    def runs() -> None:
        for first, last in day_chunks(ds, chunks):
            result = Syncer(cfg, registry, engine).run(since=first, until=last)
            if not result.ok:
                raise RuntimeError([o.message for o in result.outcomes if o.status != "ok"][:3])

    took = timed(runs)
    engine.dispose()
    print(json.dumps({"seconds": took}))


def _check_count(url: str, expected: int) -> None:
    found = adapter.count_samples(url)
    if found != expected:
        raise RuntimeError(f"the sync stored {found:,} samples, not {expected:,}")


def figures(run: Run) -> list[Figure]:
    ds = dataset(run.opts.quick)
    n = ds.samples
    label = size_label(n)
    result, size = [], []
    for day_major in (False, True):
        order = "day-major" if day_major else "key order"
        run.log(f"ingest {order}: raw executemany baseline, {n:,} samples")
        base = baseline(run, ds, day_major)
        run.log(f"ingest {order}: store path")
        store = store_path(run, ds, day_major)
        run.log(f"ingest {order}: whole sync")
        if day_major:
            sync, written = day_major_sync(run, ds), None
        else:
            sync, written = whole_sync(run, ds)
        rate = f"{n / base:,.0f}/s"
        result += [
            Figure(
                f"ingest {label}, {order}: whole tracker sync", f"x{ratio(base, sync):.2f}", f">= x{SYNC_TARGET}",
                ratio(base, sync) >= SYNC_TARGET,
                f"{fmt_s(sync)} ({n / sync:,.0f} samples/s"
                + (", one command, start-up included" if not day_major else f", {CHUNKS} runs in one process")
                + f") vs raw executemany {fmt_s(base)} ({rate})",
            ),
            Figure(
                f"ingest {label}, {order}: store path alone", f"x{ratio(base, store):.2f}", f">= x{STORE_TARGET}",
                ratio(base, store) >= STORE_TARGET,
                f"writes.commit_account {fmt_s(store)} ({n / store:,.0f} samples/s) vs raw executemany {fmt_s(base)}",
            ),
        ]
        if written is not None:
            per_million = written / (n / 1e6)
            base_url = run.dbs.new("baseline_size")
            base_mb = _baseline_size(base_url, ds)
            size.append(
                Figure(
                    "MB on disk per million samples", f"{per_million:.0f} MB", f"<= {MB_TARGET:g} MB",
                    per_million <= MB_TARGET,
                    f"after the key-order sync; the integer-keyed baseline table takes {base_mb:.0f} MB "
                    f"per million (x{ratio(per_million, base_mb):.1f})",
                )
            )
    return result + size


def _baseline_size(url: str, ds: Dataset) -> float:
    """MB per million samples of the baseline table holding the data set."""
    rows = [
        (i, i % len(PLATFORMS), m, n, float(v))
        for i in range(ds.accounts)
        for m, n, v in account_rows(ds, i, ds.start, ds.end, False)
    ]
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        empty = 0.0
        _sqlite_baseline(parsed.database or "", [rows])
    else:
        empty = size_mb(url)
        _postgres_baseline(url, [rows])
    return (size_mb(url) - empty) / (ds.samples / 1e6)


def main(argv: list[str]) -> Any:
    if len(argv) == 5 and argv[0] == "sync":
        return sync_child(Path(argv[1]), int(argv[2]), date.fromisoformat(argv[3]), date.fromisoformat(argv[4]))
    raise SystemExit("usage: python bench/ingest.py sync CONFIG CHUNKS SINCE UNTIL (run_all.py runs the figures)")


if __name__ == "__main__":
    main(sys.argv[1:])
