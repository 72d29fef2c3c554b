"""What every bench group shares: figures with targets, medians, fresh processes, databases.

Timings are only ever compared with a baseline measured in the same run on
the same machine, so a slower or busier machine moves both sides alike.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WIDTH = 80


@dataclass
class Figure:
    """One measured figure beside its target; `passed` None means informational or not available."""

    name: str
    measured: str
    target: str
    passed: bool | None
    detail: str = ""

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "INFO" if self.target == "-" else "N/A"
        return "PASS" if self.passed else "FAIL"


@dataclass(frozen=True)
class Options:
    """The runner's settings, as each group reads them."""

    quick: bool
    database: str  # sqlite | postgres
    pg_url: str | None
    workdir: Path
    runs: int  # repetitions of each whole-command timing (the median is kept)
    build: str = "direct"  # direct | sync: how the report's data sets are made
    plans: bool = True
    workers: int | None = None  # the fan-out's configured workers; None: tracker's default


class Run:
    """One run of the bench: its settings, its databases, and where progress goes (stderr, not the figures)."""

    def __init__(self, opts: Options, databases: Databases) -> None:
        self.opts = opts
        self.dbs = databases
        self.started = time.perf_counter()
        self.sections: dict[str, list[str]] = {}  # extra text printed after the figures (query plans)

    def log(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f} s] {message}", file=sys.stderr, flush=True)


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline > 0 else float("inf")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_of(fn: Callable[[], object], runs: int, warmup: bool = True) -> float:
    """Median seconds of `runs` calls, after one untimed call that fills caches (pages, imports)."""
    if warmup:
        fn()
    return median([timed(fn) for _ in range(runs)])


def run_process(cmd: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    """Seconds a fresh process takes, start to exit; a failure stops the bench with its output."""
    start = time.perf_counter()
    done = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {(done.stderr or done.stdout)[-2000:]}")
    return took


def process_median(cmd: Sequence[str], runs: int, env: dict[str, str] | None = None) -> float:
    run_process(cmd, env)  # the first run pays for .pyc files and the page cache
    return median([run_process(cmd, env) for _ in range(runs)])


def paired_medians(
    a: Sequence[str], b: Sequence[str], runs: int, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Medians of two commands run alternately, so a load that comes and goes weighs on both alike."""
    run_process(a, env), run_process(b, env)  # first runs pay for .pyc files and the page cache
    times = [(run_process(a, env), run_process(b, env)) for _ in range(runs)]
    return median([t[0] for t in times]), median([t[1] for t in times])


def tracker_command() -> list[str]:
    """The installed `tracker` script beside this interpreter (what a user runs), else the module entry."""
    script = Path(sys.executable).with_name("tracker")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from tracker.cli.main import run; run()"]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without tracker's variables, plain output, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(NO_COLOR="1", COLUMNS="80", **extra)
    return env


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_lines(pg_version: str | None) -> list[str]:
    py = platform.python_version()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.machine()}",
        f"Python {py}, SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}",
        f"load average at the start: {load} (other processes share the cores; ratios weigh both sides alike)",
    ]
    if pg_version:
        lines.append(f"PostgreSQL {pg_version}")
    return lines


class Databases:
    """Fresh databases for one run: SQLite files in the work folder, or PostgreSQL databases dropped at the end."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.kind = opts.database
        self.created: list[str] = []
        self.admin: sa.Engine | None = None
        if self.kind == "postgres":
            if not opts.pg_url:
                raise SystemExit("--database postgres needs --pg-url or TRACKER_TEST_POSTGRES_URL")
            self.admin = sa.create_engine(opts.pg_url, isolation_level="AUTOCOMMIT")

    def new(self, name: str) -> str:
        """The URL of a new empty database called after `name`."""
        if self.admin is None:
            path = self.opts.workdir / f"{name}.db"
            for leftover in path.parent.glob(path.name + "*"):
                leftover.unlink()
            return f"sqlite:///{path}"
        db = f"tracker_bench_{name}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {db}")
        self.created.append(db)
        return sa.make_url(self.opts.pg_url or "").set(database=db).render_as_string(hide_password=False)

    def server_version(self) -> str | None:
        if self.admin is None:
            return None
        with self.admin.connect() as conn:
            return str(conn.exec_driver_sql("SHOW server_version").scalar_one())

    def close(self) -> None:
        if self.admin is None:
            return
        with self.admin.connect() as conn:
            for db in self.created:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        self.admin.dispose()


def size_mb(url: str) -> float:
    """Bytes on disk of a whole database, in MB (SQLite: the file after a checkpoint; PostgreSQL: the database)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        files = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
        return sum(p.stat().st_size for p in files) / 1e6
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return float(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()) / 1e6
    finally:
        engine.dispose()


def write_config(path: Path, database: str, accounts: dict[str, dict[str, object]], **top: object) -> Path:
    """A tracker config file: `top` settings, then one table per account."""
    lines = [f"database = {toml(database)}", 'timezone = "UTC"']
    lines += [f"{k} = {toml(v)}" for k, v in top.items()]
    for name, opts in accounts.items():
        lines.append(f"\n[accounts.{name}]")
        lines += [f"{k} = {toml(v)}" for k, v in opts.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextlib.contextmanager
def workdir(keep: bool, where: str | None) -> Iterator[Path]:
    """A temporary folder for the run's data, removed afterwards unless kept."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="tracker-bench-", dir=where))
    try:
        yield folder
    finally:
        if keep:
            print(f"data kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def print_figures(figures: list[Figure], write: Callable[[str], None] = print) -> None:
    """One block per figure: verdict, name, measured value and target; the baseline on the next line."""
    for f in figures:
        head = f"{f.verdict:<5} {f.name}"
        tail = f"{f.measured}  (target {f.target})" if f.target != "-" else f.measured
        if len(head) + 2 + len(tail) <= WIDTH:
            write(head + " " * (WIDTH - len(head) - len(tail)) + tail)
        else:
            write(head)
            write(" " * 6 + tail)
        for line in textwrap.wrap(f.detail, WIDTH - 6):
            write(" " * 6 + line)
