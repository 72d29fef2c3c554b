"""Run accounts' plugins and store what they yield (validation lives in tracker.collect).

Fetches run concurrently on a bounded thread pool, one HTTP session each; the
calling thread is the only writer and commits each account whole when its
fetch ends. One account's failure is recorded with a redacted reason and
never stops or half-writes another.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracker import options
from tracker.collect import Fetched, collect, describe_error
from tracker.config import AccountConfig, Config
from tracker.errors import (
    AccountBlocked,
    AccountBusy,
    PluginError,
    QuotaExhausted,
    RateLimited,
    SyncInterrupted,
    TrackerError,
    UnknownAccount,
    UsageError,
)
from tracker.http import HttpSession
from tracker.locks import Leases
from tracker.plugin import Plugin
from tracker.redact import Redactor
from tracker.registry import Registry
from tracker.store import migrations, writes
from tracker.store.models import Account
from tracker.windows import Plan, account_today, next_cursor, plan_window

log = logging.getLogger("tracker.sync")

MAX_RATE_LIMIT_WAIT = 120.0
MAX_ATTEMPTS = 3
SIGNAL_POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 10.0  # how long a stop may take before the process exits without waiting (as the daemon does)


@dataclass
class Outcome:
    """How one account's sync ended, for the summary table and the exit code."""

    account: str
    plugin: str
    since: date | None = None
    until: date | None = None
    status: str = "pending"  # ok | failed | interrupted | skipped
    rows: int = 0
    message: str = ""
    unavailable: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


@dataclass
class SyncResult:
    run_id: int
    outcomes: list[Outcome]

    @property
    def ok(self) -> bool:
        return all(o.status in ("ok", "skipped") for o in self.outcomes)  # skipped: another process syncs it


class Progress(Protocol):
    def started(self, account: str) -> None: ...
    def fetched(self, account: str, samples: int) -> None: ...
    def finished(self, outcome: Outcome) -> None: ...


class NoProgress:
    def started(self, account: str) -> None:
        pass

    def fetched(self, account: str, samples: int) -> None:
        pass

    def finished(self, outcome: Outcome) -> None:
        pass


@dataclass
class _AccountFetch:
    account: AccountConfig
    plugin: Plugin
    options: Any
    redactor: Redactor  # the options' secrets, URL logins and credential-named values
    plan: Plan
    state: dict[str, Any]
    previous_cursor: date | None
    account_run_id: int = 0


def _as_completed(futures: Iterable[Future[Fetched]]) -> Iterator[Future[Fetched]]:
    """Futures as they finish, waking the calling thread every SIGNAL_POLL_SECONDS meanwhile.

    Python runs signal handlers only in the main thread, and only when it runs: a SIGTERM that the kernel
    hands to a fetching worker thread would otherwise wait until some fetch ends, which a stuck plugin never does.
    """
    waiting = set(futures)
    while waiting:
        done, waiting = wait(waiting, timeout=SIGNAL_POLL_SECONDS, return_when=FIRST_COMPLETED)
        yield from done


class Syncer:
    """One sync run over some accounts; `run()` returns every account's outcome."""

    def __init__(
        self,
        config: Config,
        registry: Registry,
        engine: Engine,
        *,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        now: datetime | None = None,
        http_factory: Callable[[threading.Event], HttpSession] | None = None,
        leases: Leases | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.engine = engine
        self.progress = progress or NoProgress()
        self.stop = stop or threading.Event()
        self.now = now
        self.http_factory = http_factory or (lambda stop: HttpSession(stop=stop))
        self.leases = leases or Leases(engine)
        self.run_id: int | None = None  # set once the run is recorded, for `abandon`

    def run(
        self,
        account_names: list[str] | None = None,
        since: date | None = None,
        until: date | None = None,
        trigger: str = "manual",
    ) -> SyncResult:
        if since and until and since > until:
            raise UsageError(f"--since {since} is after --until {until}: give the earlier day as --since")
        accounts = self._select(account_names)
        migrations.pending(self.engine)  # a newer tracker may have migrated the file since this engine opened it
        run_id = writes.start_run(self.engine, trigger)
        self.run_id = run_id
        try:
            outcomes = self._run(run_id, accounts, since, until)
        except BaseException as exc:
            self._close(run_id, exc)
            raise
        statuses = {o.status for o in outcomes}
        status = "interrupted" if "interrupted" in statuses else ("failed" if "failed" in statuses else "ok")
        writes.finish_run(self.engine, run_id, status)
        return SyncResult(run_id, outcomes)

    def abandon(self, reason: str) -> list[str]:
        """Record the run as interrupted now, for a process that exits without waiting for its fetches.

        Returns the accounts that were still fetching. Their leases are given back so the next run need not
        wait for them to look stale.
        """
        if self.run_id is None:
            return []
        names = writes.close_run(self.engine, self.run_id, "interrupted", reason)
        with contextlib.suppress(Exception):
            self.leases.release_all()
        return names

    def _close(self, run_id: int, exc: BaseException) -> None:
        """A run that ends in an exception (a full disk, a damaged file) is closed as failed, not left `running`.

        The database may be what failed: if even this write fails, the next run closes it as abandoned.
        """
        interrupted = isinstance(exc, (KeyboardInterrupt, SyncInterrupted))
        reason = str(exc) if isinstance(exc, TrackerError) else f"the run stopped: {type(exc).__name__}"
        with contextlib.suppress(Exception):
            writes.close_run(self.engine, run_id, "interrupted" if interrupted else "failed", reason)
        with contextlib.suppress(Exception):
            self.leases.release_all()

    def _run(self, run_id: int, accounts: list[AccountConfig], since: date | None, until: date | None) -> list[Outcome]:
        outcomes: dict[str, Outcome] = {a.name: Outcome(a.name, a.plugin) for a in accounts}
        jobs: list[_AccountFetch] = []
        for account in accounts:
            try:
                self.leases.acquire(account.name)  # before reading the cursor, which a holder may move
                writes.close_abandoned_runs(self.engine, account.name)
                jobs.append(self._prepare(account, since, until))
            except (AccountBusy, AccountBlocked) as exc:
                if isinstance(exc, AccountBlocked):
                    self.leases.release(account.name)
                outcomes[account.name].status = "skipped"
                outcomes[account.name].message = str(exc)
                self.progress.finished(outcomes[account.name])
            except TrackerError as exc:
                self.leases.release(account.name)
                outcomes[account.name].status = "failed"
                outcomes[account.name].message = str(exc)
                self.progress.finished(outcomes[account.name])
        writes.close_abandoned_sync_runs(self.engine, run_id)
        for job in jobs:
            outcome = outcomes[job.account.name]
            outcome.since, outcome.until = job.plan.window.since, job.plan.window.until
            job.account_run_id = writes.start_account_run(
                self.engine, run_id, job.account.name, job.plan.window.since, job.plan.window.until
            )
        with self.leases.held():
            self._execute(run_id, jobs, outcomes)
        return list(outcomes.values())

    def _select(self, names: list[str] | None) -> list[AccountConfig]:
        if not names:
            return [a for a in self.config.accounts if a.enabled]
        selected = []
        for name in names:
            account = self.config.account(name)
            if account is None:
                known = ", ".join(a.name for a in self.config.accounts) or "none configured"
                raise UnknownAccount(f"no account named {name!r} in the config (accounts: {known})")
            selected.append(account)
        return selected

    def _prepare(self, account: AccountConfig, since: date | None, until: date | None) -> _AccountFetch:
        plugin = self.registry.get(account.plugin)
        where = f"{self.config.path or '<config>'}: accounts.{account.name}"
        opts, problems = options.build(plugin, account.options, where=where, attribution=self.config.attribution)
        if problems:
            raise PluginError("; ".join(problems))
        blocked = writes.blocked_until(self.engine, account.name, self.now or datetime.now(timezone.utc))
        if blocked is not None and since is None and until is None:
            until_text = blocked[0].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
            raise AccountBlocked(f"{blocked[1]} (an earlier run was told so; waiting until {until_text} UTC); skipped")
        stored = self._stored(account.name)
        from_option = getattr(opts, plugin.lookback_option, None) if plugin.lookback_option else None
        lookback = next(
            v
            for v in (account.lookback_days, from_option, plugin.lookback_days, self.config.lookback_days)
            if v is not None
        )
        plan = plan_window(
            tz=account.timezone,
            today=account_today(account.timezone, self.now),
            last_good_day=stored.last_good_day if stored else None,
            lookback_days=lookback,
            initial_days=account.initial_days,
            since=since,
            until=until,
        )
        state = json.loads(stored.state_json) if stored else {}
        return _AccountFetch(account, plugin, opts, Redactor.for_options(opts), plan, state, stored.last_good_day if stored else None)

    def _stored(self, name: str) -> Account | None:
        table = Account.__table__
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.name == name)).mappings().first()
        return Account(**row) if row else None

    def _execute(self, run_id: int, jobs: list[_AccountFetch], outcomes: dict[str, Outcome]) -> None:
        if not jobs:
            return
        workers = max(1, min(self.config.workers, len(jobs)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tracker-sync") as pool:
            futures: dict[Future[Fetched], _AccountFetch] = {pool.submit(self._fetch, job): job for job in jobs}
            for future in _as_completed(futures):
                job = futures[future]
                outcome = outcomes[job.account.name]
                self._finish(run_id, job, future, outcome)
                self.leases.release(job.account.name)
                self.progress.finished(outcome)

    def _fetch(self, job: _AccountFetch) -> Fetched:
        name = job.account.name
        self.progress.started(name)
        with self.http_factory(self.stop) as http:  # one session: its deadline bounds every attempt together
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    return collect(
                        job.plugin, job.options, job.plan.window, http, job.state, lambda n: self.progress.fetched(name, n)
                    )
                except RateLimited as exc:
                    wait = exc.retry_after
                    if attempt == MAX_ATTEMPTS or wait is None or wait > MAX_RATE_LIMIT_WAIT:
                        raise
                    log.info("%s: rate limited, waiting %.0fs before retrying", name, wait)
                    if self.stop.wait(wait):
                        raise SyncInterrupted("stopped while waiting out a rate limit") from None
        raise AssertionError("unreachable")

    def _finish(self, run_id: int, job: _AccountFetch, future: Future[Fetched], outcome: Outcome) -> None:
        try:
            fetched = future.result()
        except SyncInterrupted as exc:
            self._fail(job, outcome, "interrupted", describe_error(exc, job.redactor))
            return
        except QuotaExhausted as exc:
            message = describe_error(exc, job.redactor)
            if exc.until is not None:
                writes.block_account(self.engine, run_id, job.account.name, exc.until, message)
            self._fail(job, outcome, "failed", message)
            return
        except BaseException as exc:
            log.debug("account %s failed", job.account.name, exc_info=True)
            self._fail(job, outcome, "failed", describe_error(exc, job.redactor))
            return
        result = writes.AccountResult(
            account=job.account.name,
            plugin=job.plugin.name,
            options_json=json.dumps(job.account.options, sort_keys=True, default=str),
            conversion_source=job.plugin.conversion_source.value,
            covers_all_platforms=job.plugin.covers_all_platforms,
            position=job.account.position,
            samples=fetched.samples,
            unavailable=fetched.unavailable,
            conversions=fetched.conversions,
            posts=fetched.posts,
            care=fetched.care,
            notices=[job.redactor.text(n) for n in fetched.notices],
            attribution=job.plugin.attribution,
            state=fetched.state,
            last_good_day=next_cursor(job.previous_cursor, job.plan),
        )
        outcome.rows = writes.commit_account(self.engine, run_id, job.account_run_id, result)
        outcome.status = "ok"
        outcome.unavailable = sorted({f"{u.platform}.{u.metric}: {u.reason}" for u in fetched.unavailable})
        outcome.notices = result.notices

    def _fail(self, job: _AccountFetch, outcome: Outcome, status: str, message: str) -> None:
        outcome.status, outcome.message = status, message
        writes.finish_account_run(self.engine, job.account_run_id, status, message)

