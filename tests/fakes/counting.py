"""When a fake server's requests arrived, and the most that arrived within any window of time.

Rate-limit tests count what a platform would count: requests as they reach
the server, in sliding windows, without timing anything themselves.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field

from werkzeug import Request, Response

from tests.fakes.plausible import FakePlausible


@dataclass
class Arrivals:
    """The monotonic times requests arrived at, in order."""

    times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self) -> None:
        with self.lock:
            self.times.append(time.monotonic())

    def most_within(self, seconds: float) -> int:
        """The most requests that arrived within any `seconds` (a window ending at each arrival)."""
        times = sorted(self.times)
        return max((i + 1 - bisect_left(times, t - seconds + 1e-9) for i, t in enumerate(times)), default=0)


@dataclass
class CountedPlausible(FakePlausible):
    """The fake Plausible Stats API, noting when each request arrived (before answering it as Plausible does)."""

    arrivals: Arrivals = field(default_factory=Arrivals)

    def _handle(self, request: Request) -> Response:
        self.arrivals.record()
        return super()._handle(request)
