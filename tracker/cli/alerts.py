"""`tracker alerts`: what needs the owner's attention; the exit code tells cron whether to mail."""

import sys
import textwrap
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.common import ConfigOption, Format, FormatOption, load_config, open_engine, stderr, stdout
from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.alerts import Alert

EXIT_NOTHING, EXIT_ALERTS, EXIT_ERROR = 0, 1, 2


def alerts(
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
    webhook: Annotated[
        bool, typer.Option("--webhook/--no-webhook", help="POST the alerts to alerts.webhook_url, if set.")
    ] = True,
) -> None:
    # One line: the command list in `tracker --help` keeps a docstring's line breaks.
    """Conversions at zero, likes up while customers fall, conversion rate below its baseline, unanswered questions, stale syncs, expiring tokens, retired metrics. Exit code 0: nothing to say, 1: alerts, 2: error."""  # noqa: E501
    from tracker import alerts as alerts_mod
    from tracker.redact import Redactor

    cfg = None
    try:
        cfg = load_config(config)
        engine = open_engine(cfg)
        now = datetime.now(UTC)
        try:
            found = alerts_mod.evaluate(cfg, engine, now)
        finally:
            engine.dispose()
        show(found, fmt)
        if found and webhook and cfg.alerts.webhook_url:
            alerts_mod.post(cfg.alerts.webhook_url, found, now)
    except TrackerError as exc:
        console = stderr()
        redactor = Redactor() if cfg is None else Redactor.for_config(cfg)  # the webhook's own error included
        for line in redactor.text(str(exc)).splitlines() or [type(exc).__name__]:
            console.print(f"error: {line}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(code=EXIT_ERROR) from None
    raise typer.Exit(code=EXIT_ALERTS if found else EXIT_NOTHING)


def show(found: "list[Alert]", fmt: Format) -> None:
    from tracker import output
    from tracker.alerts import columns

    if fmt is Format.json:
        output.write_json([a.to_json() for a in found], sys.stdout)
    elif fmt is Format.csv:
        output.write_csv(({**a.to_json(), "evidence": a.evidence_text()} for a in found), sys.stdout, columns())
    elif not found:
        stdout().print("No alerts.")
    else:
        show_text(found)


def show_text(found: "list[Alert]") -> None:
    """One block per alert instead of a table.

    A kind like conversion_rate_below_baseline leaves a table no room at 80 columns.
    """
    from tracker.words import count

    console = stdout()
    console.print(f"{count(len(found), 'alert')}:", highlight=False, markup=False)
    for a in found:
        about = ", ".join(x for x in (a.platform, a.account) if x)
        console.print()
        console.print(f"{a.kind} ({about})" if about else a.kind, highlight=False, markup=False)
        for paragraph in (a.message, f"figures: {a.evidence_text()}" if a.evidence else ""):
            for line in _indented(paragraph, console.width):
                console.print(line, highlight=False, markup=False, soft_wrap=True)


def _indented(text: str, width: int) -> list[str]:
    """Wrapped at word boundaries and indented, never cut inside a word or a number."""
    return textwrap.wrap(
        text,
        width=max(width, 20),
        initial_indent="  ",
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
