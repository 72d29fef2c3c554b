"""`tracker report`: vanity beside conversions, per platform, with a verdict (built by tracker.report.build)."""

import io
import sys
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.common import ConfigOption, Format, friendly, load_config, stdout


class SortKey(StrEnum):
    conversions = "conversions"
    engagement = "engagement"
    revenue = "revenue"
    followers = "followers"
    visits = "visits"
    platform = "platform"


class ReportFormat(StrEnum):
    """The shared formats plus files to send; only `tracker report` takes html and markdown."""

    table = Format.table.value
    json = Format.json.value
    csv = Format.csv.value
    html = "html"
    markdown = "markdown"


ReportFormatOption = Annotated[
    ReportFormat,
    typer.Option("--format", "-f", help="table for people, json or csv for scripts, html to send, markdown to paste."),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file, not standard output (not the table).", show_default=False),
]

if TYPE_CHECKING:
    from tracker.config import Config
    from tracker.report.rows import Report


def show_care(report: "Report", fmt: Format | ReportFormat) -> None:
    """`--care`: the detailed care table, or its rows as JSON or CSV."""
    from tracker.report import render

    if fmt.value == "table":
        render.care_table(report, stdout())
    else:
        render.CARE_RENDERERS[fmt.value](report, sys.stdout)


def show_posts(report: "Report", fmt: Format | ReportFormat, cfg: "Config", output: Path | None) -> None:
    """`--posts`: the report and the period's top posts; CSV holds only the posts (one kind of record per file)."""
    from tracker.errors import UsageError
    from tracker.report import html, posts, render

    if fmt.value == "markdown":
        raise UsageError("--posts shows in the table, json, csv and html (which always has them); not in markdown")
    if fmt.value == "html" or (fmt.value == "table" and output is not None):
        show(report, fmt, cfg, output)  # the HTML report always has the top posts; a table file is refused there
        return
    found = posts.load(cfg, report)
    if fmt.value == "table":
        render.table(report, stdout())
        posts.table(found, stdout())
        return
    text = io.StringIO()
    if fmt.value == "json":
        posts.as_json(report, found, text)
    else:
        posts.as_csv(found, text)
    html.save(text.getvalue(), output, sys.stdout)


def show(report: "Report", fmt: Format | ReportFormat, cfg: "Config | None" = None, output: Path | None = None) -> None:
    from tracker.report import render

    if fmt.value in ("html", "markdown") or output is not None:
        from tracker.report import html

        html.save(html.document(report, fmt.value, cfg), output, sys.stdout)
    elif fmt.value == "table" and not report.rows:
        sys.stdout.write("".join(f"{line}\n" for line in render.empty_lines(report)))
    elif fmt.value == "table":
        render.table(report, stdout())
    else:
        render.RENDERERS[fmt.value](report, sys.stdout)


def _trends_wanted(cfg: "Config", fmt: ReportFormat, care: bool) -> bool:
    """Sparklines for a person at a colour terminal, where there is data to draw.

    A database that holds nothing has none, and asking the terminal would load Rich for nothing.
    """
    from tracker.store.probe import holds_nothing

    if fmt is not ReportFormat.table or care or holds_nothing(cfg.database):
        return False
    console = stdout()
    return console.is_terminal and not console.no_color


def _plain_table(
    fmt: ReportFormat, platform: list[str] | None, output: Path | None, posts: bool, care: bool
) -> bool:
    """The table to standard output, for every platform, without posts or care: what an empty store can answer."""
    return fmt is ReportFormat.table and not platform and output is None and not posts and not care


def _day(until: datetime | None) -> date | None:
    return until.date() if until else None


@friendly
def report(
    config: ConfigOption = None,
    days: Annotated[int, typer.Option("--days", "-d", min=1, help="Length of the period, ending today.")] = 30,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day of the period (default: today).")
    ] = None,
    platform: Annotated[
        list[str] | None, typer.Option("--platform", "-p", help="Only this platform (repeatable).")
    ] = None,
    sort: Annotated[
        SortKey, typer.Option("--sort", help="Order of the rows (largest first; ties by engagement).")
    ] = SortKey.conversions,
    fmt: ReportFormatOption = ReportFormat.table,
    output: OutputOption = None,
    posts: Annotated[
        bool, typer.Option("--posts", help="Also the period's top 3 posts per platform (csv: only the posts).")
    ] = False,
    care: Annotated[
        bool,
        typer.Option(
            "--care", help="Customer care in detail: questions, answers and reply times per platform and channel."
        ),
    ] = False,
) -> None:
    """Show, per platform, likes and followers beside visits, conversions and revenue."""
    from tracker.errors import UsageError
    from tracker.report import empty

    cfg = load_config(config)
    if care and (output is not None or fmt.value not in ("table", "json", "csv")):
        raise UsageError("--care prints a table, json or csv to standard output; leave out --output and html/markdown")
    if _plain_table(fmt, platform, output, posts, care) and (lines := empty.table_lines(cfg, days, _day(until))):
        sys.stdout.write("".join(f"{line}\n" for line in lines))
        return
    from tracker.report.build import build_report

    trends = _trends_wanted(cfg, fmt, care)
    found = build_report(cfg, days, _day(until), platform, sort.value, trends)
    if care:
        show_care(found, fmt)
    elif posts:
        show_posts(found, fmt, cfg, output)
    else:
        show(found, fmt, cfg, output)
