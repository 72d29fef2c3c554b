"""Target 1: `tracker report --format json` over 10M samples, against hand-written SQL on the same database.

Two databases of the same 1,666 accounts (6 metrics each, 8 platforms), one
with 100 days of history (1M samples) and one with 1,000 days (10M): the
report covers the last 30 days, so its time should not grow with history.
Quick runs use 167 accounts (100,000 and 1,000,000 samples).

Figures:
- the whole command at 10M (a fresh process, median of several): under 1 s;
- the whole command at 10M against 1M: within 1.5x;
- its computation (`build_report` and the JSON, in a warm process) against
  one hand-written statement computing the same figures (adapter.hand_report:
  every figure the report's JSON prints from the samples) on the same
  database: at most 1.5x.

Run alone as a child: `python bench/report_scale.py compute CONFIG RUNS plans`
prints the two medians, the comparison and the query plans as JSON.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import adapter
import pages_plugin
import sqlalchemy as sa
from harness import (
    Figure,
    Run,
    clean_env,
    fmt_s,
    median,
    paired_medians,
    process_median,
    ratio,
    timed,
    tracker_command,
    write_config,
)
from pages_plugin import COUNTERS, GAUGES, METRICS, PLATFORMS

PERIOD_DAYS = 30
WHOLE_TARGET = 1.0
FLAT_TARGET = 1.5
COMPUTE_TARGET = 1.5


@dataclass(frozen=True)
class Dataset:
    """`accounts` accounts x 6 metrics x `days` days ending `end`, platforms dealt round-robin."""

    name: str
    accounts: int
    days: int
    end: date

    @property
    def samples(self) -> int:
        return self.accounts * len(METRICS) * self.days

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    def names(self) -> list[str]:
        return [f"a{i:05d}" for i in range(self.accounts)]

    def platform(self, index: int) -> str:
        return PLATFORMS[index % len(PLATFORMS)]

    def rows(self) -> Iterator[tuple[str, str, str, date, float]]:
        """Every sample in key order (account, platform, metric, day), the values the plugin yields."""
        first = (self.start - pages_plugin.EPOCH).days
        days = [(self.start + timedelta(days=k), first + k) for k in range(self.days)]
        for i, name in enumerate(self.names()):
            platform = self.platform(i)
            for m, metric in enumerate(METRICS):
                for day, n in days:
                    yield name, platform, metric, day, pages_plugin.value(i, m, n)

    def accounts_config(self, order: str = "key") -> dict[str, dict[str, object]]:
        return {
            name: {"plugin": "benchpages", "seed": i, "platform": self.platform(i), "order": order}
            for i, name in enumerate(self.names())
        }


def plugin_dir(folder: Path) -> Path:
    """A `plugin_dirs` folder holding the bench's pages plugin."""
    target = folder / "plugins"
    target.mkdir(exist_ok=True)
    (target / "benchpages.py").write_text(Path(pages_plugin.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    return target


def build(run: Run, ds: Dataset) -> Path:
    """The data set's database and config; written straight into the store, or synced with --build sync."""
    url = run.dbs.new(ds.name)
    config = write_config(
        run.opts.workdir / f"{ds.name}.toml", url, ds.accounts_config(), plugin_dirs=[str(plugin_dir(run.opts.workdir))]
    )
    run.log(f"building {ds.samples:,} samples ({ds.accounts:,} accounts x {len(METRICS)} x {ds.days:,} days), "
            f"{run.opts.build}")
    if run.opts.build == "sync":
        cmd = [*tracker_command(), "sync", "--since", ds.start.isoformat(), "--until", ds.end.isoformat()]
        took = timed(lambda: subprocess.run(cmd, env=clean_env(TRACKER_CONFIG=str(config)), check=True,
                                            capture_output=True))
    else:
        def write() -> None:
            engine = adapter.open_store(url)
            try:
                adapter.write_accounts(engine, ds.names(), "benchpages", ds.end)
                adapter.write_samples(engine, ds.rows())
            finally:
                engine.dispose()

        took = timed(write)
    found = adapter.count_samples(url)
    if found != ds.samples:
        raise RuntimeError(f"{ds.name}: {found:,} samples stored, not {ds.samples:,}")
    run.log(f"built {ds.name} in {took:.1f} s ({ds.samples / took:,.0f} samples/s)")
    return config


def figures(run: Run) -> list[Figure]:
    today = datetime.now(UTC).date()
    accounts = 167 if run.opts.quick else 1_666
    small, large = Dataset("report_small", accounts, 100, today), Dataset("report_large", accounts, 1_000, today)
    configs = {ds.name: build(run, ds) for ds in (small, large)}
    runs = run.opts.runs
    bare = _bare_start(run)
    run.log(f"report: whole command over {small.samples:,} and {large.samples:,} samples, {runs} runs each")
    at_small, at_large = paired_medians(_report_cmd(configs[small.name]), _report_cmd(configs[large.name]), runs,
                                        _command_env())
    whole = {small.name: at_small, large.name: at_large}
    run.log(f"report: computation vs hand-written SQL over {large.samples:,} samples")
    compute = _child_compute(configs[large.name], runs, run.opts.plans)
    agree = compute["agree"]
    label = size_label(large.samples)
    hand_whole = bare + compute["hand"]
    result = [
        Figure(
            f"report {label}: whole command", fmt_s(whole[large.name]), f"< {WHOLE_TARGET:g} s",
            whole[large.name] < WHOLE_TARGET,
            f"x{ratio(whole[large.name], hand_whole):.1f} a bare Typer start-up plus the hand-written SQL "
            f"({fmt_s(bare)} + {fmt_s(compute['hand'])}); median of {runs} runs",
        ),
        Figure(
            f"report {label} vs {size_label(small.samples)}: flat as history grows",
            f"x{ratio(whole[large.name], whole[small.name]):.2f}", f"<= x{FLAT_TARGET}",
            ratio(whole[large.name], whole[small.name]) <= FLAT_TARGET,
            f"whole command {fmt_s(whole[large.name])} with {large.days:,} days of history vs "
            f"{fmt_s(whole[small.name])} with {small.days:,} (same {large.accounts:,} accounts)",
        ),
        Figure(
            f"report {label}: computation vs hand SQL",
            f"x{ratio(compute['report'], compute['hand']):.1f}", f"<= x{COMPUTE_TARGET}",
            ratio(compute["report"], compute["hand"]) <= COMPUTE_TARGET,
            f"build_report + JSON {fmt_s(compute['report'])} vs one hand-written statement "
            f"{fmt_s(compute['hand'])} (counters summed, last gauge values at the end and before the start, "
            "provisional days, accounts and first followers day per platform), "
            f"same database, warm process, median of {runs}",
        ),
    ]
    if agree:
        result.append(Figure("hand SQL agrees with the report", "NO", "same figures", False, agree))
    if compute["plans"]:
        run.sections[f"query plans of the report over {label} samples ({run.opts.database})"] = compute["plans"]
    return result


def size_label(samples: int) -> str:
    """10M, 1M, 100k: the data set's size as the issue names it."""
    return f"{round(samples / 1e6):g}M" if samples >= 950_000 else f"{round(samples / 1e3):g}k"


def _report_cmd(config: Path) -> list[str]:
    return [*tracker_command(), "report", "--format", "json", "--config", str(config)]


def _bare_start(run: Run) -> float:
    """Median start-up of a bare Typer app with tracker's commands: the least any command costs."""
    import startup

    script = startup.write_bare_app(run.opts.workdir / "bare_app.py", startup.command_tree())
    return process_median([sys.executable, str(script), "report"], run.opts.runs, _command_env())


def _command_env() -> dict[str, str]:
    """The whole commands' environment: one in which the untimed first run may write tracker's bytecode, as a
    user's install has it (startup.startup_env says why); else every timed run would compile each tracker
    module edited since its bytecode was last written."""
    import startup

    return startup.startup_env()


def _child_compute(config: Path, runs: int, plans: bool) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "compute", str(config), str(runs), "plans" if plans else "no-plans"],
        capture_output=True, text=True, check=False, env=clean_env(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"report computation failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _load(config: Path) -> Any:
    from tracker import config as tracker_config

    return tracker_config.load(config)


def _report_json(cfg: Any) -> dict[str, Any]:
    from tracker.report import render
    from tracker.report.build import build_report

    out = io.StringIO()
    render.RENDERERS["json"](build_report(cfg, PERIOD_DAYS, None, None), out)
    return json.loads(out.getvalue())


def _hand(cfg: Any, end: date) -> adapter.HandFigures:
    engine = sa.create_engine(cfg.database)
    try:
        return adapter.hand_report(engine, end - timedelta(days=PERIOD_DAYS - 1), end, COUNTERS, GAUGES)
    finally:
        engine.dispose()


def compute_child(config: Path, runs: int, plans: bool) -> None:
    """In a fresh process: medians of the report's computation and of the hand-written SQL, interleaved.

    The first, untimed run of each warms the imports and pages, and serves twice more: the report's
    statements are captured for their plans, and both answers are compared.
    """
    cfg = _load(config)
    end = datetime.now(UTC).date()
    statements, first = _captured(lambda: _report_json(cfg))
    agree = _agreement(first, _hand(cfg, end))
    report, hand = [], []
    for _ in range(runs):
        report.append(timed(lambda: _report_json(cfg)))
        hand.append(timed(lambda: _hand(cfg, end)))
    found = {
        "report": median(report), "hand": median(hand), "agree": agree,
        "plans": query_plans(cfg, statements, end) if plans else [],
    }
    print(json.dumps(found))


def _captured(fn: Any) -> tuple[list[tuple[str, Any]], Any]:
    """The SELECTs `fn` runs on any engine (with the driver's parameters), and what it returns."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", capture)
    try:
        result = fn()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", capture)
    return statements, result


def _agreement(report_json: dict[str, Any], hand: adapter.HandFigures) -> str:
    """Empty if the hand-written SQL and the report give the same figures; else what differs."""
    report = {row["platform"]: row for row in report_json["platforms"]}
    wrong = []
    for (platform, metric), (current, _) in hand.counters.items():
        if report.get(platform, {}).get(metric) != current:
            wrong.append(f"{platform} {metric}: report {report.get(platform, {}).get(metric)} vs SQL {current}")
    for platform, row in report.items():
        before = sum(hand.counters.get((platform, m), (0, 0))[1] for m in ("likes", "comments", "shares"))
        if row.get("engagement_previous") != before:
            wrong.append(f"{platform} engagement_previous: report {row.get('engagement_previous')} vs SQL {before}")
    for (platform, metric), (at_end, before) in hand.gauges.items():
        row = report.get(platform, {})
        if row.get(metric) != at_end or row.get(f"{metric}_change") != at_end - before:
            wrong.append(f"{platform} {metric}: report {row.get(metric)} vs SQL {at_end}")
    for platform, row in report.items():
        names = ", ".join(sorted(hand.accounts.get(platform, set())))
        if row.get("accounts") != names:
            wrong.append(f"{platform} accounts: report {row.get('accounts', '')[:40]}... vs SQL {names[:40]}...")
        provisional = hand.provisional.get(platform, False)
        if row.get("provisional") != provisional:
            wrong.append(f"{platform} provisional: report {row.get('provisional')} vs SQL {provisional}")
        first = hand.first_days.get((platform, "followers"))
        if row.get("followers_since") != (first.isoformat() if first else None):
            wrong.append(f"{platform} followers_since: report {row.get('followers_since')} vs SQL {first}")
    if len(hand.counters) != len(PLATFORMS) * len(COUNTERS) or len(hand.gauges) != len(PLATFORMS) * len(GAUGES):
        wrong.append(f"SQL found {len(hand.counters)} counter and {len(hand.gauges)} gauge figures")
    return "; ".join(wrong[:3])


def query_plans(cfg: Any, statements: list[tuple[str, Any]], end: date) -> list[str]:
    """Each distinct statement the report ran, and the hand-written one, with its query plan."""
    engine = sa.create_engine(cfg.database)
    hand = adapter.hand_report_sql(COUNTERS, GAUGES, engine.dialect.name)
    params = adapter.hand_params(engine, end - timedelta(days=PERIOD_DAYS - 1), end)
    lines: list[str] = []
    try:
        with engine.connect() as conn:
            seen = set()
            for statement, parameters, driver in [*((s, p, True) for s, p in statements), (hand, params, False)]:
                if statement in seen:
                    continue
                seen.add(statement)
                title = "the report runs:" if driver else "the hand-written SQL (bench/adapter.py):"
                lines += ["", title, *("    " + s for s in _squeeze(statement))]
                lines += ["  plan:", *("    " + p for p in _plan(conn, statement, parameters, driver))]
    finally:
        engine.dispose()
    return lines


def _squeeze(statement: str) -> list[str]:
    """The statement on few lines, at most 76 columns each."""
    import textwrap

    return textwrap.wrap(" ".join(statement.split()), 76)


def _plan(conn: sa.Connection, statement: str, parameters: Any, driver: bool) -> list[str]:
    explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    if driver:
        rows = conn.exec_driver_sql(explain + statement, parameters).all()
    else:
        rows = conn.execute(sa.text(explain + statement), parameters).all()
    if conn.dialect.name == "sqlite":
        parents: dict[int, int] = {}
        out = []
        for node, parent, _unused, detail in rows:
            parents[node] = parents.get(parent, -1) + 1
            out.append("  " * parents[node] + detail)
        return out
    return [r[0] for r in rows]


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "compute":
        compute_child(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "plans")
    else:
        raise SystemExit(
            "usage: python bench/report_scale.py compute CONFIG RUNS plans|no-plans (run_all.py runs the figures)"
        )
