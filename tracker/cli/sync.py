"""`tracker sync`: fetch every account's numbers into the store."""

import os
import threading
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from tracker.cli.common import (
    ConfigOption,
    friendly,
    load_config,
    load_registry,
    on_stop_signals,
    open_engine,
    stderr,
    stdout,
)
from tracker.runs import RunStatus

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from tracker.config import Config
    from tracker.sync import Outcome, Syncer, SyncResult


class RichProgress:
    """One line per account; workers update it, Rich redraws it from the main thread."""

    def __init__(self, progress: "Progress", accounts: list[str]) -> None:
        self.progress = progress
        self.tasks = {name: progress.add_task(name, total=None, rows=0, status="waiting") for name in accounts}
        self.lock = threading.Lock()

    def started(self, account: str) -> None:
        self.progress.update(self.tasks[account], status="fetching")

    def fetched(self, account: str, samples: int) -> None:
        with self.lock:
            task = self.tasks[account]
            rows = self.progress.tasks[task].fields["rows"] + samples
            self.progress.update(task, rows=rows, status="fetching")

    def waiting(self, account: str, seconds: float, why: str) -> None:
        """A wait for the plugin's request budget ([rate_limits]) long enough to see."""
        if seconds >= 1:
            self.progress.update(self.tasks[account], status=f"waiting {seconds:.0f} s: rate limit")

    def finished(self, outcome: "Outcome") -> None:
        self.progress.update(self.tasks[outcome.account], total=1, completed=1, status=outcome.status)


def summary(result: "SyncResult") -> "Table":
    from rich.table import Table

    table = Table(title=f"Sync run {result.run_id}", title_justify="left")
    for header in ("Account", "Plugin", "Days", "Rows", "Status", "Message"):
        table.add_column(header, justify="right" if header == "Rows" else "left")
    for o in result.outcomes:
        days = f"{o.since} .. {o.until}" if o.since else ""
        message = o.message or "; ".join(
            [f"missing {u}" for u in o.unavailable] + ([f"{len(o.notices)} notice(s) below"] if o.notices else [])
        )
        status = {RunStatus.OK: "[green]ok[/]", RunStatus.FAILED: "[bold red]FAILED[/]"}.get(o.status, o.status)
        table.add_row(o.account, o.plugin, days, str(o.rows), status, message)
    return table


class HardStop:
    """After a stop signal, exit anyway if the sync has not ended within the grace time or a second signal comes.

    A plugin that ignores the stop (a long sleep, a blocking call) would otherwise hold the process until it
    returns. Before exiting, the run and its unfinished accounts are recorded as interrupted; they store
    nothing, as an account commits whole or not at all.
    """

    def __init__(self, console: "Console", grace: float) -> None:
        self.console = console
        self.grace = grace
        self.stop = threading.Event()
        self.hurry = threading.Event()
        self.done = threading.Event()
        self.syncer: Syncer | None = None

    def signalled(self, *_: Any) -> None:
        if self.stop.is_set():
            self.hurry.set()
        self.stop.set()

    def watch(self) -> None:
        """The watcher thread: returns when the sync ends in time, otherwise ends the process."""
        self.stop.wait()
        if not self.done.is_set():
            self.hurry.wait(self.grace)
        if not self.done.is_set():
            self._exit()

    def _exit(self) -> NoReturn:
        why = f"it did not end within {self.grace:.0f} s of the signal"
        if self.hurry.is_set():
            why = "a second signal came"
        try:
            names = self.syncer.abandon(f"stopped without waiting: {why}") if self.syncer else []
            run_id = self.syncer.run_id if self.syncer else None
            run = f"run {run_id} recorded as interrupted" if run_id else "no run recorded"
        except Exception:  # the database may be what hangs: exit all the same, the next sync closes the run
            names, run = [], "the next sync closes the run"
        what = ", ".join(names)
        line = f" for {what}: {why}; {run}, nothing of {what} stored" if names else f": {why}; {run}"
        self.console.show_cursor(True)  # a progress bar may have hidden it
        self.console.print(f"error: stopped without waiting{line}", highlight=False, markup=False, soft_wrap=True)
        os._exit(1)


def run_sync(
    console: "Console",
    config_path: Path | None,
    accounts: list[str] | None,
    since: date | None,
    until: date | None,
    *,
    cfg: "Config | None" = None,
    now: datetime | None = None,
) -> "SyncResult":
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from tracker.errors import ConfigError
    from tracker.sync import STOP_GRACE_SECONDS, Syncer

    cfg = cfg or load_config(config_path, required=True)
    if not cfg.accounts:
        raise ConfigError(
            f"{cfg.path}: no accounts to sync yet; uncomment an example account in it or add an [accounts.NAME] table "
            "(`tracker plugins show NAME` lists a plugin's options)"
        )
    registry = load_registry(cfg)
    engine = open_engine(cfg)
    names = accounts or [a.name for a in cfg.accounts if a.enabled]
    hard = HardStop(stderr(), STOP_GRACE_SECONDS)
    watcher = threading.Thread(target=hard.watch, name="tracker-hard-stop", daemon=True)
    watcher.start()
    try:
        with on_stop_signals(hard.signalled), Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[rows]} samples"),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar:
            hard.syncer = Syncer(cfg, registry, engine, progress=RichProgress(bar, names), stop=hard.stop, now=now)
            return hard.syncer.run(accounts, since, until)
    finally:
        hard.done.set()
        hard.hurry.set()  # wakes the watcher wherever it waits; it sees `done` and returns
        hard.stop.set()
        watcher.join()
        engine.dispose()


@friendly
def sync(
    config: ConfigOption = None,
    account: Annotated[
        list[str] | None, typer.Option("--account", "-a", help="Sync only this account (repeatable).")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Backfill from this day (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Backfill up to this day (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Fetch new numbers for every account (or --account NAME) into the database."""
    result = run_sync(stderr(), config, account, since.date() if since else None, until.date() if until else None)
    console = stdout()
    console.print(summary(result))
    for o in result.outcomes:
        for notice in o.notices:
            console.print(f"{o.account}: {notice}", highlight=False, markup=False)
    if not result.ok:
        raise typer.Exit(code=1)
