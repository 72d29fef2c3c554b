"""What every command shares: options, consoles, error handling, opening things.

Heavy modules (sqlalchemy, requests, rich's renderables) are imported inside
functions so that `tracker --help` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from tracker.errors import TrackerError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.engine import Engine

    from tracker.config import Config
    from tracker.registry import Registry


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file (default: $TRACKER_CONFIG, then the user config dir).", show_default=False
    ),
]
FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="Output format: table for people, json or csv for scripts.")
]

F = TypeVar("F", bound=Callable[..., Any])
PIPE_WIDTH = 140


def stdout() -> Console:
    """Wide enough in a pipe for the report to stay one row per platform."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=PIPE_WIDTH)
    return console


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def on_stop_signals(handler: Callable[[int, Any], Any]) -> Iterator[None]:
    """SIGTERM and SIGINT call `handler` while the block runs, then the previous handlers are back.

    Only the main thread may set handlers; elsewhere (a test runner's thread) the block runs without.
    """
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def friendly(fn: F) -> F:
    """Turn domain errors into one line per problem on stderr and their exit code.

    A database error that no engine turned into a domain error (a lock held past the busy timeout) is one
    line too; other exceptions are bugs and keep their traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TrackerError as exc:
            _report(exc)
        except Exception as exc:
            fault = _database_fault(exc)
            if fault is None:
                raise
            _report(fault)

    return wrapper  # type: ignore[return-value]


def _report(exc: TrackerError) -> NoReturn:
    console = stderr()
    for line in str(exc).splitlines() or [type(exc).__name__]:
        console.print(f"error: {line}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(code=exc.exit_code) from None


def _database_fault(exc: Exception) -> TrackerError | None:
    if not type(exc).__module__.startswith("sqlalchemy"):
        return None  # sqlalchemy is imported only by commands that open the database
    from tracker.store.db import leftover_fault

    return leftover_fault(exc)


def load_config(path: Path | None, *, required: bool = False) -> Config:
    from tracker import config

    return config.load(path, required=required)


def load_registry(cfg: Config) -> Registry:
    from tracker.registry import discover

    return discover(cfg.plugin_dirs)


def open_engine(cfg: Config) -> Engine:
    from tracker.store.db import open_engine as _open

    return _open(cfg.database)
