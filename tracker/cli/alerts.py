"""`tracker alerts`: what needs the owner's attention; the exit code tells cron whether to mail."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tracker.cli.common import ConfigOption, Format, FormatOption, load_config, open_engine, stderr, stdout
from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.alerts import Alert

EXIT_NOTHING, EXIT_ALERTS, EXIT_ERROR = 0, 1, 2


def alerts(
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
    webhook: Annotated[bool, typer.Option("--webhook/--no-webhook", help="POST the alerts to alerts.webhook_url, if set.")] = True,
) -> None:
    """Conversions at zero, likes up while customers fall, conversion rate below its baseline, stale syncs, expiring tokens, retired metrics. Exit code 0: nothing to say, 1: alerts, 2: error."""
    from tracker import alerts as alerts_mod

    try:
        cfg = load_config(config)
        engine = open_engine(cfg)
        now = datetime.now(timezone.utc)
        try:
            found = alerts_mod.evaluate(cfg, engine, now)
        finally:
            engine.dispose()
        show(found, fmt)
        if found and webhook and cfg.alerts.webhook_url:
            alerts_mod.post(cfg.alerts.webhook_url, found, now)
    except TrackerError as exc:
        console = stderr()
        for line in str(exc).splitlines() or [type(exc).__name__]:
            console.print(f"error: {line}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(code=EXIT_ERROR) from None
    raise typer.Exit(code=EXIT_ALERTS if found else EXIT_NOTHING)


def show(found: list[Alert], fmt: Format) -> None:
    from tracker.alerts import columns

    if fmt is Format.json:
        json.dump([dataclasses.asdict(a) for a in found], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns(), lineterminator="\n")
        writer.writeheader()
        writer.writerows(dataclasses.asdict(a) for a in found)
    elif not found:
        stdout().print("No alerts.")
    else:
        table = Table(title="Alerts", title_justify="left")
        for header in ("Kind", "Platform", "Account", "What"):
            table.add_column(header)
        for a in found:
            table.add_row(a.kind, a.platform, a.account, a.message)
        stdout().print(table)
