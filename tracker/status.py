"""What `tracker status` says: each account's last run, its next one, and how fresh each platform's data is.

The run history in the store answers "when, how many rows, ok or failed and
why"; the config's schedule answers "when next"; the newest sample per
platform answers "how stale". The scheduler and the alerts read the same
run history through `last_successes` and `attempted`. Data of accounts no
longer in the config is named, not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracker import metrics
from tracker.config import RESERVED_ACCOUNT, Config
from tracker.locks import current_leases
from tracker.runs import RunStatus
from tracker.schedules import jobs_for
from tracker.store import samples
from tracker.store.forget import removed_accounts, removed_note
from tracker.store.models import ACCOUNT_RUN, SERIES, SERIES_DAY, AccountRun
from tracker.windows import account_today

HISTORY = 20  # runs looked at per account to count failures in a row


@dataclass
class AccountStatus:
    account: str
    plugin: str
    enabled: bool
    last_run_at: datetime | None
    last_status: str | None  # a RunStatus word; None: never synced
    last_rows: int | None
    last_error: str
    last_success_at: datetime | None
    failures_in_a_row: int
    failing_repeatedly: bool
    syncing_now: str  # who holds its lock, if anyone
    schedule: str
    next_run: datetime | None


@dataclass
class PlatformStatus:
    platform: str
    accounts: str
    latest_day: date | None
    days_behind: int | None
    last_synced_at: datetime | None


@dataclass
class RemovedAccount:
    """An account with stored data that the config no longer has: its rows are left out of the freshness."""

    account: str
    note: str


@dataclass
class Status:
    generated_at: datetime
    accounts: list[AccountStatus]
    platforms: list[PlatformStatus]
    removed: list[RemovedAccount]


def as_utc(moment: datetime) -> datetime:
    """Stored times are UTC; some drivers hand them back without the zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def last_successes(engine: Engine) -> dict[str, datetime]:
    """When each account last finished a sync successfully."""
    t = ACCOUNT_RUN
    query = sa.select(t.c.account, sa.func.max(t.c.finished_at)).where(t.c.status == RunStatus.OK).group_by(t.c.account)
    with engine.connect() as conn:
        return {row[0]: as_utc(row[1]) for row in conn.execute(query) if row[1] is not None}


def attempted(engine: Engine) -> set[str]:
    """Accounts that have been synced at least once, successfully or not."""
    t = ACCOUNT_RUN
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(sa.select(t.c.account).distinct())}


def recent_runs(engine: Engine, account: str) -> list[AccountRun]:
    t = ACCOUNT_RUN
    query = sa.select(t).where(t.c.account == account).order_by(t.c.id.desc()).limit(HISTORY)
    with engine.connect() as conn:
        return [AccountRun(**row) for row in conn.execute(query).mappings()]


def failures_in_a_row(runs: list[AccountRun]) -> int:
    """Failed runs since the last good one; interrupted and running ones neither count nor reset."""
    count = 0
    for run in runs:
        if run.status == RunStatus.OK:
            break
        if run.status == RunStatus.FAILED:
            count += 1
    return count


def snapshot(cfg: Config, engine: Engine, now: datetime) -> Status:

    successes = last_successes(engine)
    holders = {lease.account: lease.describe() for lease in current_leases(engine) if as_utc(lease.expires_at) > now}
    job_of = {name: job for job in jobs_for(cfg) for name in job.accounts}
    accounts = []
    for account in cfg.accounts:
        runs = recent_runs(engine, account.name)
        last = runs[0] if runs else None
        failures = failures_in_a_row(runs)
        job = job_of.get(account.name)
        accounts.append(
            AccountStatus(
                account=account.name,
                plugin=account.plugin,
                enabled=account.enabled,
                last_run_at=as_utc(last.finished_at or last.started_at) if last else None,
                last_status=last.status if last else None,
                last_rows=last.rows if last else None,
                last_error=(last.error or "") if last else "",
                last_success_at=successes.get(account.name),
                failures_in_a_row=failures,
                failing_repeatedly=failures >= cfg.alerts.repeated_failures,
                syncing_now=holders.get(account.name, ""),
                schedule=job.cron if job else "",
                next_run=job.next_run(now) if job else None,
            )
        )
    counted = {a.name for a in cfg.accounts} | {RESERVED_ACCOUNT}
    removed = [RemovedAccount(name, removed_note(name)) for name in removed_accounts(engine, counted)]
    platforms = _platforms(engine, account_today(cfg.timezone, now), successes, counted)
    return Status(now, accounts, platforms, removed)


def _platforms(engine: Engine, today: date, successes: dict[str, datetime], counted: set[str]) -> list[PlatformStatus]:
    s, d = SERIES, SERIES_DAY
    last = sa.select(sa.func.max(d.c.day)).where(d.c.series_id == s.c.id).scalar_subquery()  # a seek per series
    newest = sa.select(s.c.platform, s.c.account, last.label("day")).where(s.c.account.in_(sorted(counted))).subquery()
    query = (
        sa.select(newest.c.platform, newest.c.account, sa.func.max(newest.c.day))
        .where(newest.c.day.is_not(None))
        .group_by(newest.c.platform, newest.c.account)
    )
    latest: dict[str, tuple[date, set[str]]] = {}
    with engine.connect() as conn:
        for platform, account, number in conn.execute(query):
            day = samples.day_of(number)
            best, names = latest.get(platform, (day, set()))
            latest[platform] = (max(best, day), names | {account})
    ordered = [p for p in sorted(latest) if p not in metrics.BUCKETS] + [b for b in metrics.BUCKETS if b in latest]
    result = []
    for platform in ordered:
        day, names = latest[platform]
        synced = [successes[n] for n in names if n in successes]
        result.append(
            PlatformStatus(
                platform=platform,
                accounts=", ".join(sorted(names)),
                latest_day=day,
                days_behind=(today - day).days,
                last_synced_at=max(synced) if synced else None,
            )
        )
    return result
