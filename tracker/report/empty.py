"""The table of a report for a store that holds nothing: one sentence, found without building the report.

`tracker report` before the first sync (a new user's first command, a cron job's first run) shows only
this. Building the empty report to print it loads the figures, the rows and the table renderer, about a
third of the command's start-up (bench/startup.py). Every other output (JSON, CSV, HTML, markdown, a file,
--platform, --posts, --care) still builds the report; tests/test_empty_report.py checks that this table is the
one `render.table` prints for the empty report.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.config import Config

NO_DATA = "No data for this period. Run `tracker sync` first, or `tracker demo` to see an example."


def table_lines(cfg: Config, days: int, until: date | None) -> list[str] | None:
    """The lines of the table for the period, if the store holds nothing; None if it may hold something."""
    from tracker.store.probe import holds_nothing
    from tracker.windows import account_today

    end = until or account_today(cfg.timezone)
    end - timedelta(days=days - 1)  # the period's first day: one no date can hold fails as the built report's does
    if not holds_nothing(cfg.database):
        return None
    return [NO_DATA]
