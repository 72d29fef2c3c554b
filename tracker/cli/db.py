"""`tracker db status`: where the database is and what it holds; `tracker db migrate`: copy it elsewhere."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracker.cli.common import ConfigOption, friendly, load_config, on_stop_signals, stderr, stdout

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from tracker.config import Config

app = typer.Typer(help="Inspect the database, or copy it into another one.", no_args_is_help=True)


@app.command("status")
@friendly
def status(config: ConfigOption = None) -> None:
    """Show the database URL, schema migrations and row counts (read-only)."""
    import sqlalchemy as sa

    from tracker.store import migrations
    from tracker.store.db import open_engine

    cfg = load_config(config)
    engine = open_engine(cfg.database, migrate=False)
    try:
        schema = migrations.state(engine)
        known = len(migrations.MIGRATIONS)
        console = stdout()
        console.print(f"database: {engine.url.render_as_string(hide_password=True)}", highlight=False)
        if schema.newer:
            # Shown, then refused like every other command: the tables may mean what this release does not know.
            console.print(f"migrations applied: {len(schema.applied)}, this release knows {known}", highlight=False)
            console.print(f"unknown to this release: {', '.join(schema.unknown)}", highlight=False, markup=False)
            migrations.refuse_newer(engine, set(schema.applied))
        console.print(f"migrations applied: {len(schema.applied)}, pending: {len(schema.pending)}", highlight=False)
        if schema.pending:
            names = ", ".join(schema.pending)
            console.print(f"pending (applied by the next command that writes): {names}", highlight=False)
            return
        with engine.connect() as conn:
            for table in ("account", "sample", "sync_run", "metric_status"):
                count = conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                console.print(f"{table}: {count} rows")
    finally:
        engine.dispose()


AGAIN = "stop every sync and schedule, empty the target and copy again"


class StopBetweenBatches:
    """Ctrl-C or SIGTERM ends the copy after the batch being written; a second one ends it at once."""

    def __init__(self) -> None:
        self.stop = threading.Event()

    def __call__(self, *_: Any) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()


class CopyBar:
    """One bar per table, as `tracker sync` shows one per account."""

    def __init__(self, progress: Progress, console: Console, source: str, target: str) -> None:
        self.progress = progress
        self.console = console
        self.source, self.target = source, target
        self.tasks: dict[str, Any] = {}

    def start(self, resumed: bool) -> None:
        what = "resuming the copy of" if resumed else "copying"
        self.console.print(f"{what} {self.source} into {self.target}", highlight=False, markup=False)

    def table(self, name: str, total: int, done: int) -> None:
        self.tasks[name] = self.progress.add_task(name, total=total, completed=done)

    def copied(self, name: str, rows: int) -> None:
        self.progress.advance(self.tasks[name], rows)


def report_json(cfg: Config) -> dict[str, Any]:
    """What `tracker report --format json` prints for this config, but the moment it was made."""
    from tracker.report.build import build_report

    found = build_report(cfg, 30, None, None).to_json()
    found.pop("generated_at", None)
    return found


@app.command("migrate")
@friendly
def migrate(
    to: Annotated[str, typer.Option("--to", help="Copy into this database: a PostgreSQL URL or a SQLite file.")],
    resume: Annotated[bool, typer.Option("--resume", help="Finish an interrupted copy (or check a done one).")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per transaction.")] = 5000,
    config: ConfigOption = None,
) -> None:
    """Copy the whole history into another, empty database, then check both hold the same rows and report."""
    from dataclasses import replace

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tracker.errors import StoreError
    from tracker.store import copy
    from tracker.store.db import open_engine

    cfg = load_config(config)
    url = copy.target_url(to)
    copy.refuse_same(cfg.database, url)
    console, err = stdout(), stderr()
    source = open_engine(cfg.database)
    try:
        target = open_engine(url)  # creates or upgrades its schema with the same migrations as every command
        try:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            stopping = StopBetweenBatches()
            with on_stop_signals(stopping), Progress(
                *columns, console=err, transient=True, disable=not err.is_terminal
            ) as bar:
                shown = CopyBar(bar, console, copy.shown(cfg.database), copy.shown(url))
                result = copy.copy_history(
                    source, target, resume=resume, batch=batch_size, progress=shown, stop=stopping.stop
                )
        finally:
            target.dispose()
    finally:
        source.dispose()
    width = max([len("table"), *(len(t.name) for t in result.tables)])
    console.print(f"{'table':<{width}}  {'source':>10}  {'copy':>10}", highlight=False)
    for t in result.tables:
        console.print(f"{t.name:<{width}}  {t.source:>10}  {t.target:>10}", highlight=False)
    for name in result.left_out:
        console.print(f"left out {name}: not a table of tracker's schema", highlight=False, markup=False)
    if result.differing:
        first = result.differing[0]
        raise StoreError(
            f"the copy differs from the source: {first.name} has {first.source} rows in the source, {first.target} in "
            f"the copy (did a sync write to the source between two runs?); {AGAIN}"
        )
    if report_json(cfg) != report_json(replace(cfg, database=url)):
        raise StoreError(f"the report on the copy differs from the source's (did a sync write to it?); {AGAIN}")
    console.print("row counts equal; `tracker report --format json` identical on both", highlight=False)
