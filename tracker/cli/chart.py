"""`tracker chart`: vanity against conversions over time, one small chart per platform."""

import os
import sys
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.common import ConfigOption, Format, FormatOption, friendly, load_config, open_engine, stdout
from tracker.report.period import Step

if TYPE_CHECKING:
    from rich.console import Console

    from tracker.config import Config
    from tracker.report.chart import Picture


METRIC_HELP = (
    "A figure of the report to draw, e.g. likes or visits "
    "(repeatable; default: engagement, followers, conversions)."
)


def build_picture(
    cfg: "Config", days: int, until: date | None, platforms: list[str] | None, names: list[str], step: Step
) -> "Picture":
    """The report's own figures per bucket, in the report's platform order, with the period's rows for headlines."""
    from tracker.report import chart
    from tracker.report.build import build_report, refuse_unknown
    from tracker.report.period import Period
    from tracker.report.series import series
    from tracker.windows import account_today

    chosen = chart.check_metrics(names)
    end = until or account_today(cfg.timezone)
    period = Period(end - timedelta(days=days - 1), end)
    engine = open_engine(cfg)
    try:
        configured = {a.name for a in cfg.accounts}
        found = series(engine, period, step, precedence=cfg.precedence, configured=configured, currency=cfg.currency)
    finally:
        engine.dispose()
    if platforms:
        refuse_unknown(platforms, cfg, {s.platform for s in found})
    totals = build_report(cfg, days, end, platforms).rows
    order = {row.platform: i for i, row in enumerate(totals)}
    kept = [s for s in found if not platforms or s.platform in platforms]
    kept.sort(key=lambda s: order.get(s.platform, len(order)))
    return chart.Picture(period, step, chosen, kept, totals, asked=bool(names))


def console() -> "Console":
    """NO_COLOR removes colour, not the chart: without a colour system Rich writes no escape codes at all."""
    from rich.console import Console

    if os.environ.get("NO_COLOR"):
        return Console(color_system=None)
    return Console()


def show(picture: "Picture", fmt: Format) -> None:
    from tracker.report import chart

    if fmt is Format.json:
        chart.as_json(picture, sys.stdout)
    elif fmt is Format.csv:
        chart.as_csv(picture, sys.stdout)
    elif (out := console()).is_terminal:
        for line in chart.draw(picture, out.width):
            out.print(line, highlight=False)
    else:
        plain = stdout()
        plain.print(chart.title(picture) if picture.series else chart.draw(picture, plain.width)[0], highlight=False)
        if picture.series:
            plain.print(chart.table(picture))


@friendly
def chart(
    config: ConfigOption = None,
    platform: Annotated[
        list[str] | None, typer.Option("--platform", "-p", help="Only this platform (repeatable).")
    ] = None,
    days: Annotated[int, typer.Option("--days", "-d", min=1, help="Length of the period, ending today.")] = 30,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day of the period (default: today).")
    ] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m", help=METRIC_HELP)] = None,
    by: Annotated[
        Step, typer.Option("--by", help="One bar per day or per week (weeks end on the period's last day).")
    ] = Step.day,
    fmt: FormatOption = Format.table,
) -> None:
    """Draw likes and followers against conversions over time, one small chart per platform (a table in a pipe)."""
    cfg = load_config(config)
    show(build_picture(cfg, days, until.date() if until else None, platform, metric or [], by), fmt)
