"""Every bench figure of issue 18 beside its target, PASS or FAIL: `python bench/run_all.py`.

Builds its own data in a temporary folder (or fresh PostgreSQL databases),
measures each figure against a baseline measured in the same run, and prints
one block per figure; progress goes to stderr. Under 10 minutes on a 2-core
machine; `--quick` is a smaller run for trying changes. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import csv_import  # noqa: E402
import fanout  # noqa: E402
import ingest  # noqa: E402
import report_scale  # noqa: E402
import startup  # noqa: E402
from harness import Databases, Figure, Options, Run, fmt_s, machine_lines, print_figures, workdir  # noqa: E402

GROUPS: dict[str, tuple[str, Callable[[Run], list[Figure]]]] = {
    "report": ("target 1: the report over 10M samples", report_scale.figures),
    "ingest": ("target 2: ingest of 1M samples", ingest.figures),
    "startup": ("target 3: start-up", startup.figures),
    "fanout": ("target 4: sync fan-out against a slow server", fanout.figures),
    "csv_import": ("informational: memory of a large shop export's import", csv_import.figures),
}
DEFAULT = ("report", "ingest", "startup", "fanout")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/run_all.py", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a smaller run (1M instead of 10M samples, ...)")
    p.add_argument("--only", action="append", choices=sorted(GROUPS), metavar="NAME",
                   help=f"run only this group (repeatable): {', '.join(GROUPS)}")
    p.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--pg-url", default=os.environ.get("TRACKER_TEST_POSTGRES_URL"),
                   help="an admin URL of a PostgreSQL server (default: $TRACKER_TEST_POSTGRES_URL)")
    p.add_argument("--runs", type=int, default=None, help="repetitions per timing, median kept (default 3, quick 3)")
    p.add_argument("--build", choices=("direct", "sync"), default="direct",
                   help="how the report's data is made: straight into the store, or through `tracker sync`")
    p.add_argument("--workers", type=int, default=None,
                   help="the fan-out's configured workers (default: tracker's own default)")
    p.add_argument("--no-plans", action="store_true", help="skip the report's query plans")
    p.add_argument("--keep", action="store_true", help="keep the data folder")
    p.add_argument("--tmp", default=None, help="where to make the data folder (default: the system's)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    chosen = args.only or list(DEFAULT)
    began = time.perf_counter()
    with workdir(args.keep, args.tmp) as folder:
        opts = Options(
            quick=args.quick, database=args.database, pg_url=args.pg_url, workdir=folder,
            runs=args.runs or 3, build=args.build, plans=not args.no_plans, workers=args.workers,
        )
        databases = Databases(opts)
        run = Run(opts, databases)
        try:
            kind = "quick" if args.quick else "full"
            print(f"tracker bench: {kind} run on {args.database}, "
                  f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
            for line in machine_lines(databases.server_version()):
                print(line)
            figures: list[Figure] = []
            for name in chosen:
                title, measure = GROUPS[name]
                print(f"\n== {name}: {title} ==", flush=True)
                found = measure(run)
                print_figures(found)
                sys.stdout.flush()
                figures += found
            for title, lines in run.sections.items():
                print(f"\n== {title} ==")
                print("\n".join(lines))
        finally:
            databases.close()
    counts = {v: sum(f.verdict == v for f in figures) for v in ("PASS", "FAIL", "N/A", "INFO")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    print(f"\n== {summary}; {fmt_s(time.perf_counter() - began)} in all ==")
    return 1 if counts["FAIL"] or counts["N/A"] else 0


if __name__ == "__main__":
    sys.exit(main())
