"""What lazy imports save: `tracker --help` against the same with the heavy modules imported up front.

The baseline imports sqlmodel, requests, apscheduler and the store the way an
eager CLI module would; both run as fresh processes, best of N. Run:
python bench/startup.py [RUNS]
"""

from __future__ import annotations

import subprocess
import sys
import time

LAZY = "import sys; sys.argv = ['tracker', '--help']; from tracker.cli.main import run; run()"
EAGER = "import sqlmodel, requests, apscheduler.schedulers.blocking, tracker.store.writes, tracker.sync; " + LAZY


def best_of(code: str, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    eager, lazy = best_of(EAGER, runs), best_of(LAZY, runs)
    print(f"tracker --help, best of {runs} fresh processes")
    print(f"  heavy imports up front : {eager * 1000:6.0f} ms   (baseline)")
    print(f"  lazy imports (tracker) : {lazy * 1000:6.0f} ms")
    print(f"  ratio                  : x{eager / lazy:.1f} faster")


if __name__ == "__main__":
    main()
