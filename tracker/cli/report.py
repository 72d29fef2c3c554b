"""`tracker report`: vanity beside conversions, per platform, with a verdict."""

import io
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.common import ConfigOption, Format, friendly, load_config, open_engine, stdout
from tracker.report.period import Period


class SortKey(str, Enum):
    conversions = "conversions"
    engagement = "engagement"
    revenue = "revenue"
    followers = "followers"
    visits = "visits"
    platform = "platform"


class ReportFormat(str, Enum):
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
    from sqlalchemy.engine import Engine

    from tracker.config import Config
    from tracker.report.figures import CareFigures, CareRules, Figures
    from tracker.report.rows import Report, Trend
    from tracker.report.series import Series


@dataclass
class Computed:
    """What the store gives the report: figures, care, removed accounts and, for a person, trends."""

    figures: "Figures"
    care: "dict[str, CareFigures]" = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    trends: "dict[str, Trend]" = field(default_factory=dict)


def build_report(
    cfg: "Config",
    days: int,
    until: date | None,
    platforms: list[str] | None,
    sort: str = "conversions",
    trends: bool = False,
) -> "Report":
    """The report for the period; `trends` adds the sparklines a person sees in a wide terminal.

    A database that holds nothing (or no file yet) gives the empty report without being opened: there is
    nothing to compute, and nothing stored that a migration could change.
    """
    from tracker.report import figures, rows
    from tracker.store.probe import holds_nothing
    from tracker.windows import account_today

    today = account_today(cfg.timezone)
    end = until or today
    period = Period(end - timedelta(days=days - 1), end)
    care_rules = figures.CareRules.of(cfg)
    if holds_nothing(cfg.database):
        found = Computed(figures.Figures(period, []))
    else:
        found = _compute(cfg, period, care_rules, platforms, trends)
    if platforms:
        refuse_unknown(platforms, cfg, {f.platform for f in found.figures.platforms} | set(found.care))
        found.figures.platforms = [f for f in found.figures.platforms if f.platform in platforms]
    costs = rows.Costs(cfg.effort, cfg.hourly_rate)
    report = rows.build(found.figures, cfg.currency, costs, today, found.removed, found.care, care_rules)
    report.rows = rows.sort(report.rows, sort)
    report.trends = found.trends
    report.days_per_trend_block = _trend_block(period)
    return report


def _compute(
    cfg: "Config", period: Period, care_rules: "CareRules", platforms: list[str] | None, trends: bool
) -> Computed:
    """The report's figures from the store, which is opened (and migrated if it is out of date) here."""
    from tracker.report import compute
    from tracker.store.forget import removed_accounts

    configured = {a.name for a in cfg.accounts}
    engine = open_engine(cfg)
    try:
        return Computed(
            compute.compute(engine, period, None, cfg.precedence, configured),
            compute.care_figures(engine, period, care_rules, datetime.now(timezone.utc), configured, platforms),
            removed_accounts(engine, configured),
            _trends(engine, period, cfg, configured) if trends else {},
        )
    finally:
        engine.dispose()


TREND_BLOCKS = 15  # at most this many blocks per sparkline, so it fits beside the figures


def _trend_block(period: Period) -> int:
    return -(-period.days // TREND_BLOCKS)


def _trends(engine: "Engine", period: Period, cfg: "Config", configured: set[str]) -> "dict[str, Trend]":
    """Engagement and conversions per day (or per few days, as a daily average) for each platform."""
    from tracker.report.rows import Trend
    from tracker.report.series import series

    size = _trend_block(period)
    found = series(engine, period, size, precedence=cfg.precedence, configured=configured, currency=cfg.currency)

    def per_day(s: "Series", field: str) -> list[float | None]:
        return [None if v is None else v / p.days for v, p in zip(s.values(field), s.periods(), strict=True)]

    return {s.platform: Trend(per_day(s, "engagement"), per_day(s, "conversions")) for s in found}


def refuse_unknown(platforms: list[str], cfg: "Config", stored: set[str]) -> None:
    """A typo in --platform must not read as "no data": name the keys that exist."""
    from tracker import metrics
    from tracker.errors import UsageError

    known = cfg.attribution.platforms() | set(metrics.BUCKETS) | stored
    unknown = [p for p in platforms if p not in known]
    if unknown:
        raise UsageError(f"--platform {unknown[0]!r} is not a platform key; use one of {', '.join(sorted(known))}")


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
    elif fmt.value == "table":
        render.table(report, stdout())
    else:
        render.RENDERERS[fmt.value](report, sys.stdout)


@friendly
def report(
    config: ConfigOption = None,
    days: Annotated[int, typer.Option("--days", "-d", min=1, help="Length of the period, ending today.")] = 30,
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day of the period (default: today).")] = None,
    platform: Annotated[list[str] | None, typer.Option("--platform", "-p", help="Only this platform (repeatable).")] = None,
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
        typer.Option("--care", help="Customer care in detail: questions, answers and reply times per platform and channel."),
    ] = False,
) -> None:
    """Show, per platform, likes and followers beside visits, conversions and revenue."""
    from tracker.errors import UsageError

    cfg = load_config(config)
    if care and (output is not None or fmt.value not in ("table", "json", "csv")):
        raise UsageError("--care prints a table, json or csv to standard output; leave out --output and html/markdown")
    trends = fmt is ReportFormat.table and stdout().is_terminal and not stdout().no_color and not care
    found = build_report(cfg, days, until.date() if until else None, platform, sort.value, trends)
    if care:
        show_care(found, fmt)
    elif posts:
        show_posts(found, fmt, cfg, output)
    else:
        show(found, fmt, cfg, output)
