"""Target 4: a sync of 500 accounts against a local server that adds 50 ms to every request.

The accounts use the plugin `tracker plugins new` writes (one request per day
asked; each account asks for one day). The server runs in its own process on
127.0.0.1 and counts the requests and the time it spent answering them. The
same sync runs twice, each into a fresh database, timed in a fresh process
around `Syncer.run` (imports excluded): once with the configured workers
(tracker's default, or `--workers`) and once with `workers = 1`.

Figures: how much faster the configured workers are (target >= 8x), and
tracker's own time per account, from the sequential run: its wall time less
the time the server spent on the requests, over the accounts (target < 2 ms).
The server's time for a request runs from its arrival (the request line read
off the socket) to the last byte of the answer written, so the server's
parsing of the request is its own time, as a platform's is; the answer goes
out in one write, as a real server sends a small answer, not headers and body
in two packets that make the client wait twice. For scale, a bare
requests.Session sends BARE_REQUESTS of the same GETs in a row, measured the
same way, in the same run (a detail line, not a target).
A third sync runs with the configured workers under `[rate_limits] benchhttp =
"100/second"`; the server notes when each request arrives and the figure is
the most that arrived within any one second (target: never more than 100).

Run alone as children: `python bench/fanout.py serve DELAY` (prints its port),
`python bench/fanout.py sync CONFIG` and `python bench/fanout.py bare PORT COUNT`.
"""

from __future__ import annotations

import bisect
import json
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness import Figure, Run, clean_env, fmt_s, ratio, run_process, tracker_command, write_config

DELAY = 0.050
SPEEDUP_TARGET = 8.0
OWN_TARGET = 0.002
PLUGIN = "benchhttp"
RATE = 100  # requests per second in the rate-limited run
BARE_REQUESTS = 100  # sequential GETs of the bare requests.Session shown beside the own time


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.busy = 0.0
        self.arrivals: list[float] = []

    def arrived(self, at: float) -> None:
        with self.lock:
            self.arrivals.append(at)

    def add(self, seconds: float) -> None:
        with self.lock:
            self.requests += 1
            self.busy += seconds

    def most_within(self, seconds: float) -> int:
        """The most requests that arrived within any `seconds`, as a platform counting a sliding window would."""
        times = sorted(self.arrivals)
        return max((i + 1 - bisect.bisect_left(times, t - seconds + 1e-9) for i, t in enumerate(times)), default=0)


def serve(delay: float) -> None:
    """A slow stand-in for a platform: /stats answers the scaffold plugin after `delay`; /_stats tells the counts."""
    counter = _Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as real servers do: a keep-alive answer is not held back 40 ms
        wbufsize = 1 << 16  # the answer's headers and body leave in one write (see _send)
        arrived_at = 0.0

        def parse_request(self) -> bool:
            self.arrived_at = time.perf_counter()  # the request line has just been read: the request is here
            return super().parse_request()

        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            if self.path.startswith("/_stats"):
                most = counter.most_within(1.0)
                with counter.lock:
                    body = {"requests": counter.requests, "busy": counter.busy, "most_in_a_second": most}
                    if "reset" in self.path:
                        counter.requests, counter.busy, counter.arrivals = 0, 0.0, []
                self._send(body)
                return
            counter.arrived(self.arrived_at)
            time.sleep(delay)
            self._send({"followers": 120, "likes": 7})
            counter.add(time.perf_counter() - self.arrived_at)

        def _send(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


def sync_child(config: Path) -> None:
    """In a fresh process: one sync run of every account, timed without the imports."""
    from tracker import config as tracker_config
    from tracker.registry import discover
    from tracker.store.db import open_engine
    from tracker.sync import Syncer

    cfg = tracker_config.load(config)
    registry = discover(cfg.plugin_dirs)
    engine = open_engine(cfg.database)
    start = time.perf_counter()
    result = Syncer(cfg, registry, engine).run()
    took = time.perf_counter() - start
    engine.dispose()
    failed = [o.message for o in result.outcomes if o.status != "ok"]
    print(json.dumps({"seconds": took, "failed": failed[:3], "workers": cfg.workers}))


def bare_child(port: int, count: int) -> None:
    """In a fresh process: `count` GETs in a row through a bare requests.Session, as the scaffold plugin asks."""
    import requests

    url = f"http://127.0.0.1:{port}/stats"
    with requests.Session() as session:
        session.get(url, params={"day": "2026-01-01"}, timeout=30).json()  # the connection, opened untimed
        _stats(port, reset=True)
        start = time.perf_counter()
        for _ in range(count):
            session.get(url, params={"day": "2026-01-01"}, timeout=30).json()
        took = time.perf_counter() - start
    print(json.dumps({"seconds": took}))


def _bare(port: int, count: int) -> float:
    """A bare requests.Session's time per request beyond the server's, measured as the sequential sync's is."""
    done = subprocess.run(
        [sys.executable, __file__, "bare", str(port), str(count)],
        capture_output=True, text=True, check=True, env=clean_env(),
    )
    seconds = float(json.loads(done.stdout.splitlines()[-1])["seconds"])
    return (seconds - _stats(port)["busy"]) / count


def _stats(port: int, reset: bool = False) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/_stats" + ("?reset" if reset else "")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


def _timed_sync(
    run: Run, port: int, name: str, accounts: int, workers: int | None, rate: str | None = None
) -> tuple[float, dict[str, float], int]:
    """(seconds, the server's counts, the workers the config gave) of one sync into a fresh database."""
    top: dict[str, object] = {"plugin_dirs": [str(run.opts.workdir / "http_plugins")], "initial_days": 1}
    if workers is not None:
        top["workers"] = workers
    base = f"http://127.0.0.1:{port}"
    config = write_config(
        run.opts.workdir / f"{name}.toml", run.dbs.new(name),
        {f"shop{i:04d}": {"plugin": PLUGIN, "base_url": base} for i in range(accounts)}, **top,
    )
    if rate is not None:  # tables go after the top-level keys, and the accounts' tables are already written
        with config.open("a", encoding="utf-8") as out:
            out.write(f'\n[rate_limits]\n{PLUGIN} = "{rate}"\n')
    _stats(port, reset=True)
    done = subprocess.run(
        [sys.executable, __file__, "sync", str(config)], capture_output=True, text=True, check=False, env=clean_env()
    )
    if done.returncode != 0:
        raise RuntimeError(f"fan-out sync failed: {done.stderr[-2000:]}")
    found = json.loads(done.stdout.splitlines()[-1])
    if found["failed"]:
        raise RuntimeError(f"fan-out sync: accounts failed: {found['failed']}")
    return float(found["seconds"]), _stats(port), int(found["workers"])


def figures(run: Run) -> list[Figure]:
    from tracker import config as tracker_config

    if "workers" not in tracker_config.TOP_KEYS:
        return [Figure("sync fan-out: configured workers vs 1", "not available", f">= x{SPEEDUP_TARGET:g}", None,
                       "tracker's config has no `workers` setting")]
    accounts = 100 if run.opts.quick else 500
    folder = run.opts.workdir / "http_plugins"
    folder.mkdir(exist_ok=True)
    run_process([*tracker_command(), "plugins", "new", PLUGIN, "--dir", str(folder)], clean_env())
    server = subprocess.Popen([sys.executable, __file__, "serve", str(DELAY)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        run.log(f"fan-out: {accounts} accounts, configured workers")
        par, par_stats, workers = _timed_sync(run, port, "fanout_configured", accounts, run.opts.workers)
        run.log(f"fan-out: {accounts} accounts, workers = 1 (about {accounts * DELAY:.0f} s)")
        seq, seq_stats, _ = _timed_sync(run, port, "fanout_one", accounts, 1)
        run.log(f"fan-out: {BARE_REQUESTS} requests in a row through a bare requests.Session")
        bare = _bare(port, BARE_REQUESTS)
        limited: tuple[float, dict[str, float], int] | None = None
        if "rate_limits" in tracker_config.TOP_KEYS:
            run.log(f"fan-out: {accounts} accounts, configured workers, at most {RATE} requests a second")
            limited = _timed_sync(run, port, "fanout_limited", accounts, run.opts.workers, f"{RATE}/second")
    finally:
        server.terminate()
        server.wait(timeout=10)
    own = (seq - seq_stats["busy"]) / accounts
    speedup = ratio(seq, par)
    requests = int(seq_stats["requests"])
    return [
        Figure(
            f"sync fan-out, {accounts} accounts: workers = {workers} vs 1", f"x{speedup:.1f}",
            f">= x{SPEEDUP_TARGET:g}", speedup >= SPEEDUP_TARGET,
            f"{fmt_s(par)} vs {fmt_s(seq)}; {requests} requests of {DELAY * 1000:.0f} ms each "
            f"({'configured in the bench' if run.opts.workers else 'tracker default'} workers = {workers})",
        ),
        Figure(
            "sync fan-out: tracker's own time per account", f"{own * 1000:.1f} ms", f"< {OWN_TARGET * 1000:g} ms",
            own < OWN_TARGET,
            f"workers = 1: {fmt_s(seq)} in all, of which the server spent {fmt_s(seq_stats['busy'])} answering "
            f"(x{ratio(seq, seq_stats['busy']):.2f} the time spent waiting on the platform); a bare "
            f"requests.Session sending {BARE_REQUESTS} of the same GETs in a row: {bare * 1000:.1f} ms per request "
            "beyond the server's time",
        ),
        _rate_figure(limited),
    ]


def _rate_figure(limited: tuple[float, dict[str, float], int] | None) -> Figure:
    name = "sync fan-out: per-platform rate limit kept"
    if limited is None:
        return Figure(name, "not available", "never exceeded", None, "tracker's config has no [rate_limits] table yet")
    took, stats, workers = limited
    most = int(stats["most_in_a_second"])
    return Figure(
        name, f"{most} in 1 s", f"<= {RATE} in any 1 s", most <= RATE,
        f'[rate_limits] {PLUGIN} = "{RATE}/second", workers = {workers}: {int(stats["requests"])} requests in '
        f"{fmt_s(took)}; the most that reached the server within any one second: {most}",
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(float(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "sync":
        sync_child(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "bare":
        bare_child(int(sys.argv[2]), int(sys.argv[3]))
    else:
        raise SystemExit(
            "usage: python bench/fanout.py serve DELAY | sync CONFIG | bare PORT COUNT (run_all.py runs the figures)"
        )
