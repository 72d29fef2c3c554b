"""Run accounts' plugins and store what they yield (validation lives in tracker.collect).

Fetches run concurrently on a bounded thread pool, one HTTP session each; the
calling thread is the only writer and commits each account whole when its
fetch ends. One account's failure is recorded with a redacted reason and
never stops or half-writes another.

The run's own records cost one transaction per batch of accounts, not
several per account: a batch's leases are taken, its abandoned account runs
closed and its new account runs started together, just before its fetches
are queued, with the leases of the accounts finished meanwhile given back in
the same transaction. Batches are taken as workers are about to need them,
so several processes on one database split the accounts between them. The
sessions share keep-alive connections and each plugin's request budget
(tracker.ratelimit).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracker import options
from tracker.collect import Fetched, collect, describe_error
from tracker.config import AccountConfig, Config
from tracker.errors import (
    AccountBlocked,
    PluginError,
    QuotaExhausted,
    RateLimited,
    SyncInterrupted,
    TrackerError,
    UnknownAccount,
    UsageError,
)
from tracker.http import Connections, HttpSession
from tracker.locks import Leases
from tracker.plugin import Plugin
from tracker.ratelimit import Gate, RateLimits
from tracker.redact import Redactor
from tracker.registry import Registry
from tracker.runs import RunStatus
from tracker.store import migrations, writes
from tracker.store.models import ACCOUNT, Account
from tracker.windows import Plan, account_today, next_cursor, plan_window

log = logging.getLogger("tracker.sync")

MAX_RATE_LIMIT_WAIT = 120.0
MAX_ATTEMPTS = 3
SIGNAL_POLL_SECONDS = 0.5
FETCHES_FIRST_SECONDS = 0.003  # how long the writer, woken by a finished fetch, lets the fetch threads go first
STOP_GRACE_SECONDS = 10.0  # how long a stop may take before the process exits without waiting (as the daemon does)
LEASE_BATCH = 8  # the fewest accounts one bookkeeping transaction takes; more when there are more workers
WAIT_NOTICE_SECONDS = 1.0  # rate-limit waits of an account adding up to this much are told in a notice
HOSTS_KEPT = 32  # hosts whose keep-alive connections a run keeps
_STORED = sa.select(ACCOUNT).where(ACCOUNT.c.name.in_(sa.bindparam("b_names", expanding=True)))  # built once


def lease_batch(workers: int) -> int:
    """How many accounts one bookkeeping transaction takes: enough to keep every worker busy, few enough to
    leave the rest to other processes."""
    return max(workers, LEASE_BATCH)


def leases_ahead(workers: int) -> int:
    """How many accounts a run holds at most at once: batches are taken while no more than `workers` are queued."""
    batch = lease_batch(workers)
    return batch * (workers // batch + 1)


@dataclass
class Outcome:
    """How one account's sync ended, for the summary table and the exit code."""

    account: str
    plugin: str
    since: date | None = None
    until: date | None = None
    status: RunStatus = RunStatus.PENDING
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
        return all(
            o.status in (RunStatus.OK, RunStatus.SKIPPED) for o in self.outcomes
        )  # skipped: another process syncs it


class Progress(Protocol):
    def started(self, account: str) -> None: ...
    def fetched(self, account: str, samples: int) -> None: ...
    def finished(self, outcome: Outcome) -> None: ...
    def waiting(self, account: str, seconds: float, why: str) -> None: ...


class NoProgress:
    def started(self, account: str) -> None:
        pass

    def waiting(self, account: str, seconds: float, why: str) -> None:
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
    gate: Gate | None = None  # the plugin's request budget, when it has one


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
        status = next((s for s in (RunStatus.INTERRUPTED, RunStatus.FAILED) if s in statuses), RunStatus.OK)
        writes.finish_run(self.engine, run_id, status)
        return SyncResult(run_id, outcomes)

    def abandon(self, reason: str) -> list[str]:
        """Record the run as interrupted now, for a process that exits without waiting for its fetches.

        Returns the accounts that were still fetching. Their leases are given back so the next run need not
        wait for them to look stale.
        """
        if self.run_id is None:
            return []
        names = writes.close_run(self.engine, self.run_id, RunStatus.INTERRUPTED, reason)
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
            writes.close_run(self.engine, run_id, RunStatus.INTERRUPTED if interrupted else RunStatus.FAILED, reason)
        with contextlib.suppress(Exception):
            self.leases.release_all()

    def _run(self, run_id: int, accounts: list[AccountConfig], since: date | None, until: date | None) -> list[Outcome]:
        outcomes: dict[str, Outcome] = {a.name: Outcome(a.name, a.plugin) for a in accounts}
        workers = max(1, min(self.config.workers, len(accounts)))
        batch = lease_batch(workers)
        limits = RateLimits.build(self.config.rate_limits, {p.name: p.rate_limit for p in self.registry.plugins()})
        connections = Connections(per_host=workers, hosts=HOSTS_KEPT)
        with self.leases.held(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tracker-sync") as pool:
            try:
                running: dict[Future[Fetched], _AccountFetch] = {}
                finished: list[str] = []  # committed; their leases go back with the next batch's transaction
                taken = 0
                while True:
                    while len(running) <= workers and taken < len(accounts):
                        chunk = accounts[taken : taken + batch]
                        taken += len(chunk)
                        for job in self._take(run_id, chunk, since, until, outcomes, finished, limits):
                            running[pool.submit(self._fetch, job, connections)] = job
                        finished = []
                    if not running:
                        break
                    done, _ = wait(running, timeout=SIGNAL_POLL_SECONDS, return_when=FIRST_COMPLETED)
                    if done and len(done) < len(running):
                        done = self._after_fetches_go(running)
                    for future in done:  # the wait wakes often: Python runs signal handlers only in this thread
                        job = running.pop(future)
                        outcome = outcomes[job.account.name]
                        self._finish(run_id, job, future, outcome)
                        finished.append(job.account.name)
                        self.progress.finished(outcome)
            finally:
                pool.shutdown(wait=True)
                connections.close()
        writes.close_abandoned_sync_runs(self.engine, run_id)
        return list(outcomes.values())

    def _after_fetches_go(self, running: dict[Future[Fetched], _AccountFetch]) -> set[Future[Fetched]]:
        """The fetches finished after a short pause that lets the fetch threads send their next requests first.

        A fetch thread that has just handed over an account starts the next one at once, and its request is
        what the platform's wait depends on; the commit the writer would start meanwhile is Python work that
        holds the interpreter (and, on a small busy machine, the core) while that request is being prepared.
        A commit done a few milliseconds later costs nothing: it is done while the fetches wait on the
        network, and the fetches finished in the pause are committed in the same wake-up.
        """
        if not self.stop.is_set():
            time.sleep(FETCHES_FIRST_SECONDS)  # not stop.wait: a timed Event wait never ends under libfaketime
        return {future for future in running if future.done()}

    def _take(
        self,
        run_id: int,
        chunk: list[AccountConfig],
        since: date | None,
        until: date | None,
        outcomes: dict[str, Outcome],
        finished: list[str],
        limits: RateLimits,
    ) -> list[_AccountFetch]:
        """One transaction: give back `finished` leases, take the chunk's, start the account runs of those taken.

        The lease comes before the cursor is read, which a holder may move. Accounts another process holds
        are skipped; those that cannot be prepared give their lease back at once.
        """
        jobs: list[_AccountFetch] = []
        ended: dict[str, tuple[RunStatus, TrackerError]] = {}
        at = self.now or datetime.now(UTC)
        with writes.bookkeeping(self.engine) as conn:
            self.leases.give_back(conn, finished)
            refused = self.leases.take(conn, [a.name for a in chunk])
            names = [a.name for a in chunk if a.name not in refused]
            writes.close_abandoned_account_runs(conn, names)
            stored = self._stored(conn, names)
            blocked = writes.blocked(conn, names, at)
            for account in (a for a in chunk if a.name not in refused):
                try:
                    jobs.append(
                        self._prepare(account, since, until, stored.get(account.name), blocked.get(account.name))
                    )
                except AccountBlocked as exc:
                    ended[account.name] = (RunStatus.SKIPPED, exc)
                except TrackerError as exc:
                    ended[account.name] = (RunStatus.FAILED, exc)
            self.leases.give_back(conn, list(ended))
            ids = writes.start_account_runs(
                conn, run_id, [(j.account.name, j.plan.window.since, j.plan.window.until) for j in jobs]
            )
        for job, account_run_id in zip(jobs, ids, strict=True):
            job.account_run_id = account_run_id
            job.gate = limits.gate(job.plugin.name, self.stop, self._reporter(job.account.name))
            outcome = outcomes[job.account.name]
            outcome.since, outcome.until = job.plan.window.since, job.plan.window.until
        for account in chunk:
            if account.name in refused:
                ended[account.name] = (RunStatus.SKIPPED, refused[account.name])
            if account.name in ended:
                outcome = outcomes[account.name]
                outcome.status, error = ended[account.name]
                outcome.message = str(error)
                self.progress.finished(outcome)
        return jobs

    def _reporter(self, name: str) -> Callable[[float, str], None]:
        def report(seconds: float, why: str) -> None:
            if seconds >= WAIT_NOTICE_SECONDS:
                log.info("%s: waiting %.0f s before the next request: %s", name, seconds, why)
            told = getattr(self.progress, "waiting", None)  # a display written before waits were told
            if told is not None:
                told(name, seconds, why)

        return report

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

    def _prepare(
        self,
        account: AccountConfig,
        since: date | None,
        until: date | None,
        stored: Account | None,
        blocked: tuple[datetime, str] | None,
    ) -> _AccountFetch:
        plugin = self.registry.get(account.plugin)
        where = f"{self.config.path or '<config>'}: accounts.{account.name}"
        opts, problems = options.build(plugin, account.options, where=where, attribution=self.config.attribution)
        if problems:
            raise PluginError("; ".join(problems))
        if blocked is not None and since is None and until is None:
            until_text = blocked[0].astimezone(UTC).strftime("%Y-%m-%d %H:%M")
            raise AccountBlocked(f"{blocked[1]} (an earlier run was told so; waiting until {until_text} UTC); skipped")
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
        return _AccountFetch(
            account, plugin, opts, Redactor.for_options(opts), plan, state, stored.last_good_day if stored else None
        )

    @staticmethod
    def _stored(conn: Connection, names: list[str]) -> dict[str, Account]:
        if not names:
            return {}
        rows = conn.execute(_STORED, {"b_names": names}).mappings()
        return {row["name"]: Account(**row) for row in rows}

    def _fetch(self, job: _AccountFetch, connections: Connections) -> Fetched:
        name = job.account.name
        self.progress.started(name)
        with self.http_factory(self.stop) as http:  # one session: its deadline bounds every attempt together
            http.share_connections(connections)
            http.gate = job.gate
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    return collect(
                        job.plugin,
                        job.options,
                        job.plan.window,
                        http,
                        job.state,
                        lambda n: self.progress.fetched(name, n),
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
            self._fail(job, outcome, RunStatus.INTERRUPTED, describe_error(exc, job.redactor))
            return
        except QuotaExhausted as exc:
            message = describe_error(exc, job.redactor)
            if exc.until is not None:
                writes.block_account(self.engine, run_id, job.account.name, exc.until, message)
            self._fail(job, outcome, RunStatus.FAILED, message)
            return
        except BaseException as exc:
            log.debug("account %s failed", job.account.name, exc_info=True)
            self._fail(job, outcome, RunStatus.FAILED, describe_error(exc, job.redactor))
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
            notices=[job.redactor.text(n) for n in fetched.notices] + self._wait_notice(job),
            attribution=job.plugin.attribution,
            state=fetched.state,
            last_good_day=next_cursor(job.previous_cursor, job.plan),
        )
        with fetched.conversions:  # a large import's spool file is deleted once committed, or on failure
            outcome.rows = writes.commit_account(self.engine, run_id, job.account_run_id, result)
        outcome.status = RunStatus.OK
        outcome.unavailable = sorted({f"{u.platform}.{u.metric}: {u.reason}" for u in fetched.unavailable})
        outcome.notices = result.notices

    @staticmethod
    def _wait_notice(job: _AccountFetch) -> list[str]:
        gate = job.gate
        if gate is None or gate.waited < WAIT_NOTICE_SECONDS:
            return []
        rate = gate.limits.rate(gate.plugin)
        return [f"waited {gate.waited:.0f} s in all before requests: {gate.describe(rate)}"] if rate else []

    def _fail(self, job: _AccountFetch, outcome: Outcome, status: RunStatus, message: str) -> None:
        outcome.status, outcome.message = status, message
        writes.finish_account_run(self.engine, job.account_run_id, status, message)

