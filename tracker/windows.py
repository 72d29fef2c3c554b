"""Which days a sync asks a plugin for.

Incremental: from the last successfully synced day minus the lookback (the
days a platform may still revise) up to the account's today. A first run
fetches `initial_days`. A backfill (`--since/--until`) asks exactly for the
given days and never moves the cursor backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tracker.errors import ConfigError

if TYPE_CHECKING:
    from tracker.plugin import Window

DEFAULT_LOOKBACK_DAYS = 3
DEFAULT_INITIAL_DAYS = 30


@dataclass(frozen=True)
class Plan:
    window: Window
    backfill: bool


def account_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    now = now or datetime.now(tz)
    return now.astimezone(tz).date()


def plan_window(
    *,
    tz: ZoneInfo,
    today: date,
    last_good_day: date | None,
    lookback_days: int,
    initial_days: int = DEFAULT_INITIAL_DAYS,
    since: date | None = None,
    until: date | None = None,
) -> Plan:
    from tracker.plugin import Window  # the plugin API pulls in requests; the config and the report need only today

    if since or until:
        start = since or (until or today) - timedelta(days=initial_days - 1)
        end = until or today
        if start > end:
            raise ConfigError(f"--since {start} is after --until {end}")
        return Plan(Window(start, end, today, tz), backfill=True)
    if last_good_day is None:
        start = today - timedelta(days=initial_days - 1)
    else:
        start = min(last_good_day - timedelta(days=lookback_days), today)
    return Plan(Window(start, today, today, tz), backfill=False)


def next_cursor(previous: date | None, plan: Plan) -> date | None:
    """The last good day after a successful run: a backfill never moves it backwards."""
    end = min(plan.window.until, plan.window.today)
    if previous is None:
        return end
    return max(previous, end)
