"""`tracker schedule`: sync on a schedule, catch up on what was missed, stop cleanly.

Jobs come from the config: one default sync (`[schedule] sync`, cron, in the
schedule's time zone) for every account without its own `schedule`, and one
job per account that has one. APScheduler fires them with coalescing (missed
runs become one), at most one instance at a time and a misfire grace time;
a single worker thread runs them, so the daemon itself never syncs twice at
once (the database lease in tracker.locks keeps other processes out).

Catch-up: on start, and whenever the wall clock jumps against the monotonic
clock (the machine slept), every account whose last successful sync is
older than its job's interval is synced at once; the incremental window
(last good day minus lookback) fills the hole. The clock is injected, so
tests move time instead of waiting for it.

Stop: SIGTERM/SIGINT set the stop event the Syncer watches. The account being
fetched ends at its next page, is recorded as interrupted and writes
nothing; accounts already fetched are committed whole.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from tracker import alerts, status
from tracker.config import Config
from tracker.daemon_log import fields
from tracker.errors import TrackerError
from tracker.http import HttpSession
from tracker.registry import Registry
from tracker.runs import RunStatus
from tracker.schedules import Job, due, jobs_for
from tracker.sync import Syncer, SyncResult

log = logging.getLogger("tracker.scheduler")

TICK_SECONDS = 5.0
JUMP_TOLERANCE = timedelta(minutes=2)
SHUTDOWN_GRACE_SECONDS = 10.0
REPOST_AFTER = timedelta(hours=20)


class Clock(Protocol):
    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class ClockWatch:
    """Notices the wall clock moving differently from the monotonic one: a suspend, or the clock being set."""

    clock: Clock
    tolerance: timedelta = JUMP_TOLERANCE
    _wall: datetime = field(init=False)
    _mono: float = field(init=False)

    def __post_init__(self) -> None:
        self._wall, self._mono = self.clock.now(), self.clock.monotonic()

    def jumped(self) -> bool:
        wall, mono = self.clock.now(), self.clock.monotonic()
        drift = (wall - self._wall).total_seconds() - (mono - self._mono)
        self._wall, self._mono = wall, mono
        return abs(drift) > self.tolerance.total_seconds()


class Daemon:
    """Runs the config's jobs; `serve()` blocks until the stop event is set."""

    def __init__(
        self,
        cfg: Config,
        registry: Registry,
        engine: Engine,
        *,
        clock: Clock | None = None,
        stop: threading.Event | None = None,
        http_factory: Callable[[threading.Event], HttpSession] | None = None,
    ) -> None:
        self.cfg = cfg
        self.registry = registry
        self.engine = engine
        self.clock = clock or SystemClock()
        self.stop = stop or threading.Event()
        self.http_factory = http_factory
        self.jobs = jobs_for(cfg)
        self.watch = ClockWatch(self.clock)
        self.idle = threading.Event()
        self.idle.set()
        self._posted: tuple[frozenset[alerts.Alert], datetime] | None = None

    # --- the jobs ----------------------------------------------------------

    def run_job(self, job: Job) -> SyncResult | None:
        return self._sync(list(job.accounts), "schedule")

    def catch_up(self) -> SyncResult | None:
        """Sync every account that missed its schedule; None when nothing is due."""
        names = due(self.jobs, status.last_successes(self.engine), self.clock.now())
        if not names:
            log.info("nothing to catch up")
            return None
        log.info("catching up", extra=fields(accounts=",".join(names)))
        return self._sync(names, "catch-up")

    def _sync(self, names: list[str], trigger: str) -> SyncResult | None:
        if self.stop.is_set():
            return None
        self.idle.clear()
        try:
            syncer = Syncer(
                self.cfg,
                self.registry,
                self.engine,
                stop=self.stop,
                now=self.clock.now(),
                http_factory=self.http_factory,
            )
            result = syncer.run(names, trigger=trigger)
            for o in result.outcomes:
                level = logging.INFO if o.status in (RunStatus.OK, RunStatus.SKIPPED) else logging.WARNING
                log.log(
                    level,
                    "account synced",
                    extra=fields(run=result.run_id, account=o.account, status=o.status, rows=o.rows, message=o.message),
                )
            self._alert()
            return result
        except TrackerError as exc:
            log.error("sync could not run: %s", exc, extra=fields(trigger=trigger))
            return None
        finally:
            self.idle.set()

    def _alert(self) -> None:
        """Log the alerts after a run, and post them when they changed or a day went by."""
        now = self.clock.now()
        try:
            found = alerts.evaluate(self.cfg, self.engine, now)
            for alert in found:
                log.warning(
                    "alert: %s",
                    alert.message,
                    extra=fields(
                        kind=alert.kind, platform=alert.platform, account=alert.account, figures=alert.evidence_text()
                    ),
                )
            if not found or not self.cfg.alerts.webhook_url:
                return
            key = frozenset(found)
            if self._posted and self._posted[0] == key and now - self._posted[1] < REPOST_AFTER:
                return
            alerts.post(self.cfg.alerts.webhook_url, found, now)
            self._posted = (key, now)
        except TrackerError as exc:
            log.error("alerts: %s", exc)

    # --- the daemon --------------------------------------------------------

    def build_scheduler(self) -> BackgroundScheduler:
        tz = self.cfg.schedule.timezone or self.cfg.timezone
        scheduler = BackgroundScheduler(
            timezone=tz,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.cfg.schedule.misfire_grace_minutes * 60,
            },
        )
        for job in self.jobs:
            scheduler.add_job(
                self.run_job, job.trigger(), args=[job], id=job.id, name=f"sync {', '.join(job.accounts)}"
            )
        return scheduler

    def next_runs(self) -> dict[str, datetime | None]:
        now = self.clock.now()
        return {job.id: job.next_run(now) for job in self.jobs}

    def serve(self, tick: float = TICK_SECONDS) -> bool:
        """Run until stopped; False if a sync did not end within the grace time (the caller should exit hard)."""
        scheduler = self.build_scheduler()
        scheduler.add_job(self.catch_up, "date", id="catch-up", name="catch up")
        scheduler.start()
        for job_id, when in self.next_runs().items():
            log.info("scheduled", extra=fields(job=job_id, next_run=when.isoformat() if when else "never"))
        try:
            while not self.stop.wait(tick):
                if self.watch.jumped():
                    log.info("the wall clock jumped (sleep or clock change); checking for missed syncs")
                    scheduler.add_job(self.catch_up, "date", id="catch-up", name="catch up", replace_existing=True)
        finally:
            log.info("stopping")
            scheduler.shutdown(wait=False)
        if self.idle.wait(SHUTDOWN_GRACE_SECONDS):
            log.info("stopped")
            return True
        log.error("a sync did not stop in time; exiting anyway (its account writes nothing)")
        return False
