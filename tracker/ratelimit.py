"""Per-platform request budgets: `[rate_limits] facebook = "200/hour"`, kept by waiting, never by failing.

A platform counts the requests of one app (one token, one address) in a
window; going over it answers 429 or a throttling error and the account
fails. The sync's workers share one budget per plugin and host: every
request a session sends (and every retry of it) first takes a slot from it,
and waits while the last window is full.

The budget is a sliding window: no `period` of time ever holds more than
`count` requests, whatever the number of workers. It lives in the process:
two `tracker sync` processes, or workers on several machines, each keep
their own and together may send up to that many times the rate. It is not
stored in the database, which would cost a write per request.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tracker.errors import SyncInterrupted

log = logging.getLogger("tracker.ratelimit")

UNITS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
FORM = "N/second|minute|hour|day"
NONE = "none"
# Network delays move a request's arrival by a little: a slot stays taken this much longer than its window.
MARGIN_SHARE = 0.05
MARGIN_MAX = 1.0

# The documented limit of each built-in plugin's service (../shared/apis), for one app on one host. Plugins
# may declare their own (`Plugin(rate_limit=...)`); the config's `[rate_limits]` overrides both.
BUILT_IN: Mapping[str, str] = {
    "facebook": "200/hour",  # Business Use Case budget: 4,800 x engaged users per 24 h; 1 engaged user = 200/h
    "instagram": "200/hour",  # 4,800 x impressions per 24 h, per app-account pair
    "threads": "2000/hour",  # 4,800 x impressions per 24 h, impressions counted at least 10: 48,000 a day
    "bluesky": "3000/5 minutes",  # 3,000 per 5 minutes per address
    "mastodon": "300/15 minutes",  # 300 per 15 minutes for paging requests (300 per 5 minutes otherwise)
    "x": "300/15 minutes",  # user lookup: 300 per 15 minutes per app
    "tiktok": "600/minute",  # 600 per minute per endpoint
    "pinterest": "1000/day",  # Trial access: 1,000 per day per app
    "plausible": "600/hour",  # Cloud API keys: 600 per hour
    "ga4": "1400/hour",  # 14,000 tokens per project per hour; a report costs up to 10
    "google_business": "300/minute",  # 300 per minute per API
    "youtube": "10000/day",  # 10,000 quota units per day; a read costs 1
}


@dataclass(frozen=True)
class Rate:
    """At most `count` requests in any `period` seconds; `text` as the user wrote it."""

    count: int
    period: float
    text: str

    @property
    def margin(self) -> float:
        return min(self.period * MARGIN_SHARE, MARGIN_MAX)


def parse_rate(text: str) -> Rate | None:
    """"200/hour" or "300/15 minutes" as a Rate; "none" as None (no limit). Raises ValueError naming the form."""
    cleaned = " ".join(text.split()).lower() if isinstance(text, str) else ""
    if cleaned == NONE:
        return None
    match = re.fullmatch(r"(\d+)\s*/\s*(?:(\d+)\s*)?(second|minute|hour|day)s?", cleaned)
    if match is None or int(match.group(1)) < 1 or (match.group(2) is not None and int(match.group(2)) < 1):
        raise ValueError(
            f'must be "{FORM}" with N at least 1, like "200/hour" or "300/15 minutes", or "none"; not {text!r}'
        )
    count, units, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3)
    shown = f"{count}/{unit}" if units == 1 else f"{count}/{units} {unit}s"
    return Rate(count, units * UNITS[unit], shown)


class Window:
    """One budget: the times of the last `count` requests, and a lock the workers share."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next free slot and return how long to wait for it (0: send now).

        The slot is taken at once, so workers that wait line up in turn instead of racing for the same one.
        """
        with self._lock:
            now = self.clock()
            if len(self._sent) < self.rate.count:
                at = max(now, self._sent[-1]) if self._sent else now
            else:  # the slot `count` requests back must have left the window
                oldest = self._sent.popleft()
                at = max(now, oldest + self.rate.period + self.rate.margin, self._sent[-1] if self._sent else now)
            self._sent.append(at)
            return max(0.0, at - now)


WaitReport = Callable[[float, str], None]


@dataclass
class Gate:
    """What one account's HTTP session calls before every request: waits for its plugin's budget on that host.

    `report(seconds, why)` is told of every wait before it starts (the progress line shows it); `waited`
    adds them up for the account's notice.
    """

    limits: RateLimits
    plugin: str
    stop: threading.Event
    report: WaitReport | None = None
    waited: float = 0.0

    def __call__(self, url: str) -> float:
        window = self.limits.window(self.plugin, url)
        if window is None:
            return 0.0
        wait = window.reserve()
        if wait <= 0:
            return 0.0
        if self.report is not None:
            self.report(wait, self.describe(window.rate))
        if self.stop.wait(wait):
            raise SyncInterrupted("stopped while waiting for the rate limit")
        self.waited += wait
        return wait

    def describe(self, rate: Rate) -> str:
        return f"{self.plugin} is limited to {rate.text} ([rate_limits])"


@dataclass
class RateLimits:
    """The budgets of one sync run: each plugin's rate, one window per plugin and host, shared by the workers."""

    rates: Mapping[str, Rate | None]
    _windows: dict[tuple[str, str], Window] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, configured: Mapping[str, Rate | None], declared: Mapping[str, str | None]) -> RateLimits:
        """The config's rates first, then each plugin's declared one, then the built-in table."""
        rates: dict[str, Rate | None] = {}
        for name, own in declared.items():
            text = own if own is not None else BUILT_IN.get(name)
            try:
                rates[name] = parse_rate(text) if text else None
            except ValueError as exc:  # the plugin's own mistake: its accounts still sync, unpaced
                log.warning("plugin %s: rate_limit %s", name, exc)
        rates.update(configured)
        return cls(rates)

    def rate(self, plugin: str) -> Rate | None:
        return self.rates.get(plugin)

    def window(self, plugin: str, url: str) -> Window | None:
        rate = self.rates.get(plugin)
        if rate is None:
            return None
        key = (plugin, _host(url))
        with self._lock:
            found = self._windows.get(key)
            if found is None:
                found = self._windows[key] = Window(rate)
            return found

    def gate(self, plugin: str, stop: threading.Event, report: WaitReport | None = None) -> Gate | None:
        return Gate(self, plugin, stop, report) if self.rates.get(plugin) is not None else None


def _host(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.hostname or ''}:{parts.port or ''}"
    except ValueError:
        return ""
