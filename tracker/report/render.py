"""Print a report as a Rich table, JSON or CSV.

The table is for people: colour only marks the verdict, and every meaning is
also in words, so it reads the same with NO_COLOR or in a pipe. It adapts to
the terminal: the widest layout that fits without cutting anything, down to a
compact table (platform, followers, engagement, conversions, revenue,
verdict) at 80 columns, and one block per platform where even that does not
fit. A number or a verdict is never cut; what a layout leaves out is in the
sentences below it. JSON and CSV are for scripts and carry every field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from tracker.report.empty import NO_DATA
from tracker.report.rows import CareRow, PlatformRow, Report, SourceFigure, care_columns, columns
from tracker.words import count

if TYPE_CHECKING:  # Rich is imported where a table is drawn: the empty report and JSON or CSV never need it
    from rich.console import Console, RenderableType
    from rich.table import Table

VERDICT_STYLE = {
    "converts": "bold green",
    "converts_little": "yellow",
    "vanity_only": "bold red",
    "not_tracked": "magenta",
    "no_data": "dim",
    "bucket": "dim",
}
VERDICT_LABEL = {
    "converts": "brings customers",
    "converts_little": "few customers",
    "vanity_only": "likes, no customers",
    "not_tracked": "not tracked",
    "no_data": "no data",
    "bucket": "",
}
BASIS_WORDS = {
    "session_source": "the visit's source in web analytics",
    "utm": "tagged links (UTM)",
    "coupon": "coupon codes",
    "self_reported": "the customer's answer (how did you hear about us)",
    "manual": "logged by hand",
}
COMPACT_WIDTH = 80  # at this width and below, the table keeps only the compact columns
BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None]) -> str:
    """Unicode blocks scaled from 0 to the largest value; a day without data is a space, never a zero."""
    top = max((v for v in values if v is not None), default=0.0)
    if top <= 0:
        return "".join(" " if v is None else BLOCKS[0] for v in values)
    return "".join(" " if v is None else BLOCKS[int(v / top * (len(BLOCKS) - 1) + 0.5)] for v in values)


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _change(value: float | None) -> str:
    if value is None:
        return ""
    return f" ({value:+,.0f})"


def _pct_change(now: float | None, before: float | None) -> str:
    if now is None or before in (None, 0):
        return ""
    return f" ({(now - before) / before * 100:+.0f}%)"


@dataclass(frozen=True)
class Column:
    header: str
    justify: str
    cell: Callable[[PlatformRow, bool], str]  # (row, with_changes) -> text
    optional: bool = False


def _verdict(row: PlatformRow, _: bool) -> str:
    return VERDICT_LABEL.get(row.verdict, row.verdict)


def duration(minutes: float | None) -> str:
    """A response time as people read it: "45 min", "2.5 h", "128 h"; never days, which business hours would blur."""
    if minutes is None:
        return "–"
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 10 else f"{hours:,.0f} h"


def _care(row: PlatformRow, _: bool) -> str:
    """"14 in, 36% ans., 2.5 h": inbound, reply rate, median first reply."""
    if row.inbound is None:
        return "–"
    parts = [f"{row.inbound:,.0f} in"]
    if row.reply_rate is not None:
        parts.append(f"{row.reply_rate:.0f}% ans.")
    if row.first_response_median_minutes is not None:
        parts.append(duration(row.first_response_median_minutes))
    return ", ".join(parts)


COLUMNS = (
    Column("Platform", "left", lambda r, _: r.platform + ("*" if r.provisional else "")),
    Column("Followers", "right", lambda r, c: _num(r.followers) + (_change(r.followers_change) if c else "")),
    Column(
        "Engagement",
        "right",
        lambda r, c: _num(r.engagement) + (_pct_change(r.engagement, r.engagement_previous) if c else ""),
    ),
    Column("Reach/day", "right", lambda r, _: _num(r.reach_daily_avg), optional=True),
    Column(
        "Visits",
        "right",
        lambda r, c: _num(r.visits) + (_pct_change(r.visits, r.visits_previous) if c else ""),
        optional=True,
    ),
    Column(
        "Conversions",
        "right",
        lambda r, c: _num(r.conversions) + (_pct_change(r.conversions, r.conversions_previous) if c else ""),
    ),
    Column(
        "Conv. rate",
        "right",
        lambda r, _: "–" if r.conversion_rate is None else f"{r.conversion_rate:.1f}%",
        optional=True,
    ),
    Column("Revenue", "right", lambda r, _: _num(r.revenue, 2)),
    Column("Eng./conv.", "right", lambda r, _: _num(r.engagement_per_conversion), optional=True),
    Column("Trend", "left", lambda r, _: "", optional=True),
    Column("Verdict", "left", _verdict),
)
# In a wide terminal only, where some platform has care figures, before Trend: the HTML and Markdown tables
# (COLUMNS) leave it out for width, and give the care figures in each platform's sentence and list.
CARE_COLUMN = Column("Care", "right", _care, optional=True)
# Optional columns in the order they are given up when the terminal is too narrow.
DROP_ORDER = ("Trend", "Reach/day", "Care", "Eng./conv.", "Conv. rate", "Visits")


@dataclass(frozen=True)
class Layout:
    columns: tuple[Column, ...]
    changes: bool


def layouts(width: int, trends: bool = False, care: bool = False) -> list[Layout]:
    """Candidate layouts, richest first; at COMPACT_WIDTH and below only the compact ones.

    The Care column is offered only when some platform has care figures: a column of dashes costs width.
    """
    found = []
    columns = list(COLUMNS)
    if care:
        columns.insert(next(i for i, c in enumerate(columns) if c.header == "Trend"), CARE_COLUMN)
    shown = [c for c in columns if trends or c.header != "Trend"]
    for name in (None, *DROP_ORDER):
        shown = [c for c in shown if c.header != name]
        found.append(Layout(tuple(shown), True))
    found.append(Layout(tuple(shown), False))
    if width <= COMPACT_WIDTH:
        found = [layout for layout in found if not any(c.optional for c in layout.columns)]
    return found


def title(report: Report) -> str:
    return f"Social media: likes vs customers, {report.start} to {report.end} ({count(report.days, 'day')})"


def caption(report: Report, changes: bool, reach: bool, trend: bool = False) -> str:
    parts = []
    if changes and _has_previous(report.rows):
        parts.append(f"(±) change on the {count(report.days, 'day')} before.")
    if reach and any(r.reach_daily_avg is not None for r in report.rows):
        parts.append("Reach is a daily average.")
    if trend:
        every = "day" if report.days_per_trend_block == 1 else f"{report.days_per_trend_block} days, as a daily average"
        parts.append(f"Trend: engagement, then conversions, one block per {every}.")
    if any(r.provisional for r in report.rows):
        parts.append("* provisional days included.")
    if report.future_days:
        parts.append(f"The last {count(report.future_days, 'day')} are after today: no data yet.")
    return " ".join(parts)


def _has_previous(rows: list[PlatformRow]) -> bool:
    return any(
        v is not None
        for r in rows
        for v in (r.followers_change, r.engagement_previous, r.visits_previous, r.conversions_previous)
    )


def _shows(layout: Layout, header: str) -> bool:
    return any(c.header == header for c in layout.columns)


def _table(report: Report, layout: Layout) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(
        title=title(report),
        caption=caption(report, layout.changes, _shows(layout, "Reach/day"), _shows(layout, "Trend")) or None,
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for column in layout.columns:
        table.add_column(column.header, justify=column.justify, no_wrap=True)  # type: ignore[arg-type]
    for row in report.rows:
        style = VERDICT_STYLE.get(row.verdict, "")
        cells = [
            _trend(report, row) if column.header == "Trend" else column.cell(row, layout.changes)
            for column in layout.columns
        ]
        table.add_row(*cells[:-1], f"[{style}]{cells[-1]}[/]" if style and cells[-1] else cells[-1])
    return table


def _trend(report: Report, row: PlatformRow) -> str:
    """Two sparklines, engagement then conversions, each day one block."""
    trend = report.trends.get(row.platform)
    if trend is None:
        return ""
    return f"{sparkline(trend.engagement)} {sparkline(trend.conversions)}"


def _blocks(report: Report) -> Table:
    from rich.table import Table

    """One block per platform, label beside value: for terminals too narrow for any table."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    shown = [c for c in COLUMNS if not c.optional and c.header not in ("Platform", "Verdict")]
    for row in report.rows:
        label = VERDICT_LABEL.get(row.verdict, "")
        grid.add_row(f"[bold]{row.platform}{'*' if row.provisional else ''}[/]", label)
        for column in shown:
            grid.add_row(f"  {column.header}", column.cell(row, True))
    return grid


def _fits(console: Console, renderable: RenderableType, width: int) -> bool:
    from rich.measure import Measurement

    """Its natural width (measured without a limit, since Rich clamps to the one given) fits in `width`."""
    unlimited = console.options.update_width(10 * width)
    return Measurement.get(console, unlimited, renderable).maximum <= width


def choose(report: Report, console: Console) -> RenderableType:
    """The richest table that fits the console without cutting or wrapping a cell."""
    width = console.width
    care = any(r.inbound is not None for r in report.rows)
    for layout in layouts(width, bool(report.trends) and console.is_terminal and not console.no_color, care):
        table = _table(report, layout)
        if _fits(console, table, width):
            return table
    return _blocks(report)


def notes(report: Report) -> list[str]:
    """The sentences under the table: the verdict in words, sources, effort and what is missing."""
    lines = []
    for row in report.rows:
        lines.append(f"{row.platform}: {row.verdict_text}")
        lines += [f"  {line}" for line in _row_notes(row, report)]
    lines += _attribution(report.rows)
    lines += _care_basis(report)
    if report.removed_accounts:
        from tracker.store.forget import removed_note  # the store's words; a store that holds nothing has none

        lines += [removed_note(name).capitalize() + "." for name in report.removed_accounts]
    lines.append(f"Revenue in {report.currency}.")
    return lines


def _row_notes(row: PlatformRow, report: Report) -> list[str]:
    lines = []
    sources = [
        f"visits from {row.visits_source}" if row.visits_source else "",
        f"conversions from {row.conversions_source}" if row.conversions_source else "",
    ]
    if any(sources):
        lines.append(f"source: {', '.join(s for s in sources if s)}")
    if row.sources_note:
        lines.append(row.sources_note)
    if row.conversions_offline:
        lines.append(
            f"of which logged offline: {count(row.conversions_offline, 'conversion')}, "
            f"{row.revenue_offline or 0:,.2f} {report.currency}"
        )
    bases = [BASIS_WORDS.get(b, b) for b in row.conversions_basis.split(", ") if b]
    if bases and row.platform != "unattributed":
        lines.append(f"orders tied to {row.platform} by: {', '.join(bases)}")
    if row.hours or row.cost:
        lines.append("effort: " + _effort(row, report.currency))
    if care := care_sentence(row, report):
        lines.append(care)
    elif row.messages:
        answered = f" ({row.replies / row.messages:.0%} answered)" if row.replies is not None else ""
        lines.append(f"care: {count(row.messages, 'customer message')}, {count(row.replies or 0, 'reply')}{answered}")
    if row.currency_note:
        lines.append(f"note: {row.currency_note}")
    if row.followers_since and row.followers_since > report.start.isoformat():
        lines.append(f"follower history starts {row.followers_since}; earlier days cannot be recovered")
    lines += [f"missing: {m}" for m in row.missing.split("; ") if m]
    return lines


def _from_items(row: PlatformRow) -> bool:
    return "care items" in (row.care_source or "")


def care_sentence(row: PlatformRow, report: Report) -> str:
    """"care: 14 questions, 5 answered (36%), median reply after 2.5 h, 90% within 30 h (business hours); ...".

    Only for figures from care items; daily message counts keep their own sentence (they know no times).
    """
    if not _from_items(row) or row.inbound is None:
        return ""
    if not row.inbound:
        text = "care: no questions in the period"
    else:
        text = f"care: {count(row.inbound, 'question')}, {row.answered or 0:,.0f} answered"
        text += f" ({row.reply_rate:.0f}%)" if row.reply_rate is not None else ""
        if row.first_response_median_minutes is not None:
            basis = "calendar time" if report.care_hours.startswith("calendar") else "business hours"
            text += (
                f", median reply after {duration(row.first_response_median_minutes)}, "
                f"90% within {duration(row.first_response_p90_minutes)} ({basis})"
            )
        if "daily counts" in (row.care_source or ""):
            text += "; some of them from daily message counts, which have no times"
    if row.unanswered_open and report.unanswered_hours:
        text += f"; {row.unanswered_open:,.0f} unanswered for more than {count(report.unanswered_hours, 'hour')}"
    return text


def _care_basis(report: Report) -> list[str]:
    """How response times were counted, once, where some platform has them."""
    if not report.care_hours or not any(_from_items(r) for r in report.rows):
        return []
    return [f"Response times count {report.care_hours}, in each account's time zone."]


def _attribution(rows: list[PlatformRow]) -> list[str]:
    """Each source's explanation once, with the platforms it covers."""
    by_text: dict[str, list[str]] = {}
    for row in rows:
        if row.attribution:
            by_text.setdefault(row.attribution, []).append(row.platform)
    lines = ["How conversions were attributed:"] if by_text else []
    for text, platforms in by_text.items():
        lines.append(f"  {', '.join(platforms)}: {text}")
    return lines


def _effort(row: PlatformRow, currency: str) -> str:
    """"8.6 h in the period, 0.3 h per conversion": money only where some is configured."""
    spent = [f"{row.hours:,.1f} h"] if row.hours else []
    per = [f"{row.hours_per_conversion:,.1f} h"] if row.hours_per_conversion else []
    if row.cost:
        spent.append(f"{row.cost:,.2f} {currency}")
        if row.cost_per_conversion:
            per.append(f"{row.cost_per_conversion:,.2f} {currency}")
    text = f"{' and '.join(spent)} in the period"
    return text + (f", {' and '.join(per)} per conversion" if per else "")


def empty_lines(report: Report) -> list[str]:
    """The table of a report with no platform: plain sentences, which need no Rich to print."""
    return [NO_DATA, *notes(report)[:-1]]


def table(report: Report, console: Console) -> None:
    from rich.table import Table

    if not report.rows:
        for line in empty_lines(report):
            console.print(line, highlight=False, markup=False)
        return
    chosen = choose(report, console)
    if not isinstance(chosen, Table) or chosen.title is None:
        console.print(title(report), highlight=False, markup=False)
        if note := caption(report, True, False):
            console.print(note, highlight=False, markup=False)
    console.print(chosen)
    for line in notes(report):
        console.print(line, highlight=False, markup=False)


def as_json(report: Report, out: IO[str]) -> None:
    from tracker.output import write_json  # json and csv load only for the formats that write them

    write_json(report.to_json(), out)


def _flat(value: object) -> object:
    """A list of source figures as one CSV cell: "shop=3 (first_party, counted); ga=6 (analytics)"."""
    if isinstance(value, list):
        return "; ".join(_source_cell(SourceFigure(**v)) if isinstance(v, dict) else str(v) for v in value)
    return value


def _source_cell(s: SourceFigure) -> str:
    return f"{s.account}={s.conversions:g} ({s.kind}{', counted' if s.counted else ''})"


def as_csv(report: Report, out: IO[str]) -> None:
    from tracker.output import write_csv

    write_csv(({k: _flat(v) for k, v in row.items()} for row in report.to_json()["platforms"]), out, columns())


RENDERERS: dict[str, Callable[[Report, IO[str]], None]] = {"json": as_json, "csv": as_csv}


# --- tracker report --care --------------------------------------------------------------------

NO_CARE = (
    "No customer care data for this period: no account stores care items or daily message counts. "
    "Plugins that read comments, messages or reviews yield them (README: Customer care)."
)
CARE_COLUMNS: tuple[tuple[str, Callable[[CareRow], str]], ...] = (
    ("Platform", lambda r: r.platform),
    ("Channel", lambda r: r.channel),
    ("In", lambda r: _num(r.inbound)),
    ("Answered", lambda r: _num(r.answered)),
    ("Rate", lambda r: "–" if r.reply_rate is None else f"{r.reply_rate:.0f}%"),
    ("Median", lambda r: duration(r.first_response_median_minutes)),
    ("P90", lambda r: duration(r.first_response_p90_minutes)),
    ("Open", lambda r: _num(r.unanswered_open)),
)


def care_title(report: Report) -> str:
    return f"Customer care, {report.start} to {report.end} ({count(report.days, 'day')})"


def care_notes(report: Report) -> list[str]:
    """What each column means: the times' basis and the open threshold are the owner's settings."""
    lines = [
        "In: questions, comments, mentions, messages and reviews from others that arrived in the period; "
        "Answered: those the account replied to.",
        f"Median, P90: time to the first reply, counting {report.care_hours}, in each account's time zone "
        "(90% of the answered items got a reply within P90).",
    ]
    if report.unanswered_hours:
        lines.append(
            f"Open: unanswered for more than {count(report.unanswered_hours, 'hour')} at the end of the period "
            "(items of the last 30 days)."
        )
    if any(r.source == "daily counts" for r in report.care):
        lines.append(
            "daily counts: daily message and reply counts (an export, or a plugin without care items): no times."
        )
    return lines


def care_table(report: Report, console: Console) -> None:
    from rich import box
    from rich.table import Table

    """The detailed care view: one row per platform and channel, in a table if it fits, else a block per row."""
    if not report.care:
        console.print(NO_CARE, highlight=False, markup=False)
        return
    table = Table(title=care_title(report), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header, _ in CARE_COLUMNS:
        table.add_column(header, justify="left" if header in ("Platform", "Channel") else "right", no_wrap=True)
    for row in report.care:
        table.add_row(*(cell(row) for _, cell in CARE_COLUMNS))
    if _fits(console, table, console.width):
        console.print(table)
    else:
        console.print(care_title(report), highlight=False, markup=False)
        for row in report.care:
            console.print(f"{row.platform} {row.channel}", highlight=False, markup=False)
            for header, cell in CARE_COLUMNS[2:]:
                console.print(f"  {header}: {cell(row)}", highlight=False, markup=False)
    for line in care_notes(report):
        console.print(line, highlight=False, markup=False)


def care_as_json(report: Report, out: IO[str]) -> None:
    from tracker.output import write_json

    write_json(report.care_json(), out)


def care_as_csv(report: Report, out: IO[str]) -> None:
    from tracker.output import write_csv

    write_csv((r for r in report.care_json()["care"]), out, care_columns())


CARE_RENDERERS: dict[str, Callable[[Report, IO[str]], None]] = {"json": care_as_json, "csv": care_as_csv}
