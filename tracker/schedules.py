"""Schedule arithmetic: which accounts sync when, and which are overdue.

Pure functions of the config and a clock reading, kept apart from the daemon
(tracker.scheduler) so `tracker status` can say "next run" and the config can
check a cron expression without importing the daemon, its alerts or its
threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

    from tracker.config import Config


def schedule_trigger(expr: str, tz: ZoneInfo | str) -> Any:
    """Five cron fields, or six with seconds first ("*/10 * * * * *"), as an APScheduler trigger.

    ValueError if malformed.
    """
    from apscheduler.triggers.cron import CronTrigger  # only configs with a schedule pay for this import

    parts = expr.split()
    if len(parts) == 6:
        second, minute, hour, day, month, weekday = parts
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=tz
        )
    return CronTrigger.from_crontab(expr, timezone=tz)


@dataclass(frozen=True)
class Job:
    """One schedule: which accounts it syncs, and when."""

    id: str
    cron: str
    timezone: ZoneInfo
    accounts: tuple[str, ...]

    def trigger(self) -> BaseTrigger:
        return schedule_trigger(self.cron, self.timezone)

    def next_run(self, after: datetime) -> datetime | None:
        fire = self.trigger().get_next_fire_time(None, after)
        return fire.astimezone(UTC) if fire else None

    def interval(self, at: datetime) -> timedelta:
        """The gap between the next two runs: how old a last sync may be before it counts as missed."""
        first = self.trigger().get_next_fire_time(None, at)
        second = self.trigger().get_next_fire_time(first, first + timedelta(microseconds=1)) if first else None
        return (second - first) if first and second else timedelta(days=1)


def jobs_for(cfg: Config) -> list[Job]:
    tz = cfg.schedule.timezone or cfg.timezone
    enabled = [a for a in cfg.accounts if a.enabled]
    default = tuple(a.name for a in enabled if a.schedule is None)
    jobs = [Job("sync", cfg.schedule.sync, tz, default)] if default else []
    return jobs + [Job(f"sync:{a.name}", a.schedule, tz, (a.name,)) for a in enabled if a.schedule]


def due(jobs: list[Job], successes: dict[str, datetime], now: datetime) -> list[str]:
    """Accounts never synced, or whose last success is older than their job's interval."""
    late = []
    for job in jobs:
        interval = job.interval(now)
        late += [name for name in job.accounts if name not in successes or now - successes[name] > interval]
    return late
