"""Start-up: what tracker's commands cost before they do anything.

For `run_all.py` (target: at most 1.3x): `tracker --help`, and `tracker report`
on an empty database and (SQLite) with no database file yet, against a bare
Typer app with the same command tree (the same groups and command names, each
doing nothing), each the median of several fresh processes.

Run alone (`python bench/startup.py [RUNS]`), it shows what lazy imports save:
`tracker --help` against the same with the heavy modules imported up front
(sqlmodel, requests, apscheduler and the store, as an eager CLI module would),
best of RUNS fresh processes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import adapter
from harness import Figure, Run, clean_env, fmt_s, paired_medians, ratio, tracker_command, write_config

LAZY = "import sys; sys.argv = ['tracker', '--help']; from tracker.cli.main import run; run()"
EAGER = "import sqlmodel, requests, apscheduler.schedulers.blocking, tracker.store.writes, tracker.sync; " + LAZY
TARGET = 1.3


def best_of(code: str, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def command_tree() -> list[tuple[str, ...]]:
    """Every command tracker has, as (group, name) or (name,): what the bare app copies."""
    import typer.main

    from tracker.cli.main import app

    def walk(group: object, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        found: list[tuple[str, ...]] = []
        for name, sub in group.commands.items():  # type: ignore[attr-defined]
            found += walk(sub, (*prefix, name)) if hasattr(sub, "commands") else [(*prefix, name)]
        return found

    return walk(typer.main.get_command(app), ())


def write_bare_app(path: Path, tree: list[tuple[str, ...]]) -> Path:
    """A Typer app with the same groups and commands as tracker, each doing nothing: the least a CLI costs."""
    lines = [
        "import typer",
        "",
        'app = typer.Typer(name="tracker", help="A bare app.", no_args_is_help=True, add_completion=False)',
        "",
        "",
        "def noop() -> None:",
        '    """Does nothing."""',
        "",
        "",
    ]
    groups = sorted({path[0] for path in tree if len(path) == 2})
    for group in groups:
        lines.append(f'g_{group} = typer.Typer(help="{group}")')
        lines.append(f'app.add_typer(g_{group}, name="{group}")')
    for command in tree:
        target = "app" if len(command) == 1 else f"g_{command[0]}"
        lines.append(f'{target}.command("{command[-1]}")(noop)')
    lines += ["", 'if __name__ == "__main__":', "    app()", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def startup_env(**extra: str) -> dict[str, str]:
    """The bench's environment, but one in which Python may write .pyc files.

    A user's tracker runs from compiled bytecode: pip writes it at install, and Python at the first run. With
    PYTHONDONTWRITEBYTECODE set (as some shells and containers do), the untimed first run of each command could
    not write it, and every timed run would compile every tracker module changed since the last bytecode was
    written: a cost no user pays, and one the bare app (a single small file) hardly shares.
    """
    env = clean_env(**extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def figures(run: Run) -> list[Figure]:
    """Target 3: tracker's start-up against the bare app, medians of fresh processes.

    "Empty database" is one migrated by tracker that holds no data (`adapter.open_store` creates it before
    the clock starts). On SQLite a second figure starts every run without the database file, as on the
    first day; a small shell removes the file first, which counts against tracker.
    """
    tree = command_tree()
    bare = [sys.executable, str(write_bare_app(run.opts.workdir / "bare_app.py", tree))]
    url = run.dbs.new("empty")
    adapter.open_store(url).dispose()
    env = startup_env(TRACKER_CONFIG=str(write_config(run.opts.workdir / "empty.toml", url, {})))
    runs = max(run.opts.runs, 5 if run.opts.quick else 9)
    cases = [
        ("tracker --help", [*tracker_command(), "--help"], [*bare, "--help"], env),
        ("tracker report, empty database", [*tracker_command(), "report"], [*bare, "report"], env),
    ]
    if run.opts.database == "sqlite":
        missing = run.opts.workdir / "missing" / "tracker.db"
        config = write_config(run.opts.workdir / "missing.toml", f"sqlite:///{missing}", {})
        remove_first = ["sh", "-c", 'rm -rf "$0"; exec "$@"', str(missing.parent), *tracker_command(), "report"]
        missing_env = startup_env(TRACKER_CONFIG=str(config))
        cases.append(("tracker report, no database file", remove_first, [*bare, "report"], missing_env))
    result = []
    for label, ours_cmd, base_cmd, case_env in cases:
        run.log(f"start-up: {label}, {runs} runs each")
        ours, base = paired_medians(ours_cmd, base_cmd, runs, case_env)
        r = ratio(ours, base)
        result.append(
            Figure(
                label, f"x{r:.2f}", f"<= x{TARGET}", r <= TARGET,
                f"{fmt_s(ours)} vs {fmt_s(base)} for a bare Typer app with the same {len(tree)} commands "
                f"(median of {runs} fresh processes each, run in turn)",
            )
        )
    return result


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    eager, lazy = best_of(EAGER, runs), best_of(LAZY, runs)
    print(f"tracker --help, best of {runs} fresh processes")
    print(f"  heavy imports up front : {eager * 1000:6.0f} ms   (baseline)")
    print(f"  lazy imports (tracker) : {lazy * 1000:6.0f} ms")
    print(f"  ratio                  : x{eager / lazy:.1f} faster")


if __name__ == "__main__":
    main()
