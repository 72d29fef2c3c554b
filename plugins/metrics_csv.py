"""Daily figures from analytics exports, for platforms that have no API for you: LinkedIn profiles, Xing pages.

A personal LinkedIn profile has no API a small business can get, and Xing has none at all, but both let their
users download statistics. This plugin reads those downloads (CSV or XLSX, a file, a folder or a glob) into
samples of the platform the account names. A sheet is either a date and one column per metric, or a date, a
metric and a value per row. Header names of LinkedIn's personal "Content" and "Followers" exports and of
Xing's page statistics are known in English and German (tracker_plugins._metric_exports); `columns` maps any
other header, and the metric vocabulary's own names are always understood.

Each figure is keyed by account, platform, metric and day, so importing an export again writes the same rows,
and an overlapping later export replaces the figures it changed. Where two files hold the same day, the one
reaching the later day wins (then the newer file): LinkedIn revises recent days upward. A bad row becomes a
notice naming file and line; the rest of the file is kept. A file that is an order export is refused (that is
the `csv` plugin's job), and so is a file without a date column beside metric columns.

Figures are limited to the sync's days, as every plugin's are. Files read whole within a sync's days, with no
day the platform may still revise, are remembered by fingerprint and skipped while nothing changes.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tracker.plugin import (
    ApiError,
    ConversionSource,
    HttpSession,
    NotFound,
    Notice,
    Plugin,
    PluginError,
    Sample,
    State,
    Window,
    option,
)

from . import _csv_read as read
from . import _metric_exports as exports
from ._csv_columns import order_export, shown_header
from ._metric_sheets import Cell, Sheet, digest, find_files, sheets, text

# What an analytics export may fill: the vocabulary's vanity and care metrics with a meaning per day. Visits,
# orders and revenue have their own sources (web analytics, shop exports) and are never imported from here.
IMPORTABLE = (
    "followers", "following", "posts_total", "followers_gained", "followers_lost", "impressions", "views", "reach",
    "likes", "comments", "shares", "engagements", "profile_views", "link_clicks", "posts", "messages", "replies",
    "response_time",
)
LOOKBACK_DAYS = 370  # exports span up to a year (LinkedIn's longest range is 365 days): each sync may take any of it
REVISION_DAYS = 2  # LinkedIn revises its last days upward: they are provisional until a later export
HEADER_ROWS = 10  # rows searched for the header: title lines come first (LinkedIn's FOLLOWERS sheet)
ABSENT = frozenset({"-", "–", "—", "n/a", "k. a.", "k.a."})  # cells that say "no figure", like an empty one
BUCKETS = ("direct", "other", "unattributed")
DELIMITERS = {"": "", ",": ",", ";": ";", "|": "|", "\t": "\t", "\\t": "\t", "tab": "\t"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_COUNT = re.compile(r"^[0-9.,'\s\u00a0\u202f+-]+$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:([.,'\u00a0\u202f ])\d{3})(?:\1\d{3})*$")  # 1.204, 1,204, 12 345 678


@dataclass(frozen=True)
class MetricsCsvOptions:
    platform: str = option(help="The platform the export is about, as a platform key (\"linkedin\", \"xing\"): "
                           "its figures are stored under it.")
    path: str = option(help="An analytics export (.csv or .xlsx), a folder of them (every *.csv and *.xlsx in it) "
                       "or a glob like ~/Downloads/Content_*.xlsx.")
    columns: dict[str, str] = option({}, help="Header (or metric cell) -> metric, for names no preset knows, e.g. "
                                     "{ \"Impressionen\" = \"impressions\" }; \"\" leaves a column out.")
    date_column: str = option("", help="Column with the day; empty: Date, Datum, Day or Tag.")
    date_format: str = option("", help="A strptime format such as %d/%m/%Y; empty: recognise ISO, 05.04.2026 and "
                              "a/b/yyyy, with the day/month order decided per sheet (LinkedIn's: month first).")
    delimiter: str = option("", help="CSV field separator (, ; | or tab); empty: detected from the header line.")
    encoding: str = option("auto", help="CSV text encoding; auto: a BOM decides (UTF-8, UTF-16), else UTF-8, "
                           "else cp1252.")

    def __post_init__(self) -> None:
        if not _SLUG.match(self.platform) or self.platform in BUCKETS:
            raise ValueError(f"platform must be a platform key like \"linkedin\" or \"xing\", not {self.platform!r}")
        if not self.path.strip():
            raise ValueError("path: name a .csv or .xlsx export, a folder of them or a glob")
        bad = [f"{name} = {metric!r}" for name, metric in self.columns.items() if metric and metric not in IMPORTABLE]
        if bad:
            raise ValueError(f"columns: {', '.join(bad)}: a column maps to one of {', '.join(IMPORTABLE)}, "
                             "or to \"\" to leave it out")
        if self.delimiter not in DELIMITERS:
            raise ValueError(f"delimiter must be , ; | or tab, not {self.delimiter!r}")
        if self.encoding != "auto":
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise ValueError(f"encoding {self.encoding!r} is unknown (try auto, utf-8, utf-16 or cp1252)") from None


# --- what a header means ---------------------------------------------------------------------------------------------


def key(name: str) -> str:
    """Header names compare case-, space- and underscore-insensitively (`followers_gained` = `Followers gained`)."""
    return read.normalise(name).replace("_", " ")


def metric_names(opts: MetricsCsvOptions) -> dict[str, str]:
    """Header -> metric: the vocabulary's names, then the presets', then the account's `columns` ("" = left out)."""
    names = {m.replace("_", " "): m for m in IMPORTABLE}
    names.update(exports.aliases())
    names.update({key(k): v for k, v in opts.columns.items()})
    return names


@dataclass(frozen=True)
class Layout:
    """Where a sheet's header is and what its columns mean: wide (a column per metric) or long (metric, value)."""

    header_at: int  # index into Sheet.rows
    date: int
    metrics: dict[int, str] = field(default_factory=dict)
    metric: int | None = None
    value: int | None = None
    shape: exports.ExportShape | None = None
    unmapped: tuple[str, ...] = ()

    @property
    def read_as(self) -> str:
        if self.shape is not None:
            return self.shape.name
        return "date, metric, value rows" if self.metric is not None else "date and metric columns"


def _keys(cells: list[Cell]) -> list[str]:
    return [key(c) if isinstance(c, str) else "" for c in cells]


def find_layout(sheet: Sheet, names: dict[str, str], opts: MetricsCsvOptions) -> Layout | None:
    """The first of the sheet's top rows that names a date column and metric columns; FileProblem if it is ambiguous."""
    dates = {key(opts.date_column)} if opts.date_column else exports.DATE_NAMES
    for i, (_, cells) in enumerate(sheet.rows[:HEADER_ROWS]):
        keys = _keys(cells)
        day = next((j for j, k in enumerate(keys) if k in dates), None)
        if day is None:
            continue
        metric = next((j for j, k in enumerate(keys) if k in exports.METRIC_NAMES), None)
        value = next((j for j, k in enumerate(keys) if k in exports.VALUE_NAMES), None)
        if metric is not None and value is not None:
            return Layout(i, day, metric=metric, value=value)
        mapped = {j: names[k] for j, k in enumerate(keys) if j != day and names.get(k)}
        if not mapped:
            continue
        _refuse_twins(cells, mapped)
        unmapped = tuple(text(cells[j]) for j, k in enumerate(keys) if k and j != day and k not in names)
        return Layout(i, day, mapped, shape=exports.recognise(set(keys)), unmapped=unmapped)
    return None


def _refuse_twins(cells: list[Cell], mapped: dict[int, str]) -> None:
    twice = [m for m, n in Counter(mapped.values()).items() if n > 1]
    if twice:
        both = [text(cells[j]) for j, m in mapped.items() if m == twice[0]]
        raise read.FileProblem(f"has columns {' and '.join(both)}, which both mean {twice[0]}: leave one out with "
                               f"columns = {{ \"{both[-1]}\" = \"\" }}")


def non_daily(sheet: Sheet) -> exports.ExportShape | None:
    """A known sheet without figures per day (LinkedIn's TOP POSTS, DISCOVERY, DEMOGRAPHICS)."""
    for _, cells in sheet.rows[:HEADER_ROWS]:
        shape = exports.recognise(set(_keys(cells)))
        if shape is not None and not shape.daily:
            return shape
    return None


def refused_as_orders(path: Path, sheet: Sheet, layout: Layout | None, names: dict[str, str]) -> PluginError | None:
    """An order export is the csv plugin's; columns the account mapped are figures, never order evidence."""
    cells = [text(c) for c in sheet.rows[layout.header_at if layout else 0][1]]
    if order_export([c for c in cells if key(c) not in names]) is None:
        return None
    return PluginError(f"{path}: refused: it looks like an order export, not a platform's analytics export: "
                       f'{order_export(cells)}; import orders and leads with the csv plugin (plugin = "csv")')


# --- cells -> figures ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    value: float
    ref: str  # "Content.xlsx sheet FOLLOWERS row 5"


Figures = dict[tuple[str, date], Figure]


def parse_day(cell: Cell, order: str, fmt: str) -> date:
    if isinstance(cell, date):
        return cell
    if isinstance(cell, float):
        raise ValueError(f"{text(cell)} is not a date (format the date column as dates, or export again)")
    return read.parse_day(read.clean(cell), order, fmt)


def parse_count(cell: Cell, column: str, decimal_comma: bool) -> float | None:
    """A figure; None for an empty or "-" cell (no figure: unknown, never 0)."""
    if isinstance(cell, date):
        raise ValueError(f"{column} {text(cell)} is a date, not a number")
    if isinstance(cell, float):
        value = cell
    else:
        shown = read.clean(cell)
        if not shown or shown.lower() in ABSENT:
            return None
        if not _COUNT.match(shown):
            raise ValueError(f"{column} {shown!r} is not a number")
        if _THOUSANDS.match(shown):  # counts are whole: 1.204 is a thousand and more in any locale
            return float(re.sub(r"\D", "", shown))
        try:
            value = read.parse_amount(shown, decimal_comma)
        except ValueError:
            raise ValueError(f"{column} {shown!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{column} {text(cell)} is not a number")
    if value < 0:
        raise ValueError(f"{column} {text(cell)} cannot be negative")
    return value


@dataclass
class SheetRead:
    figures: Figures = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reading:
    """How one sheet's dates and numbers read, decided from all its cells before any row is read."""

    order: str
    decimal_comma: bool


def _reading(sheet: Sheet, layout: Layout, opts: MetricsCsvOptions) -> tuple[Reading, list[str]]:
    facts = read.FileFacts(delimiter=sheet.delimiter or ",")
    values = [layout.value] if layout.value is not None else list(layout.metrics)
    for _, cells in sheet.rows[: layout.header_at]:
        title = exports.TOTAL_FOLLOWERS.match(next((c for c in cells if isinstance(c, str) and c.strip()), ""))
        if title:
            facts.see_date(title.group("day"))
    for _, cells in sheet.rows[layout.header_at + 1:]:
        strings = [c if isinstance(c, str) else "" for c in cells]
        facts.see_date(strings[layout.date] if layout.date < len(strings) else "")
        for j in values:
            facts.see_amount(strings[j] if j < len(strings) else "")
    month_first = layout.shape is not None and layout.shape.month_first
    decided = facts.first_big or facts.second_big
    order = "mdy" if month_first and facts.slash_seen and not decided else facts.day_order
    notices = []
    if not opts.date_format and facts.ambiguous_slash_dates and not month_first:
        notices.append(f"{sheet.where}: no date shows whether it is day/month or month/day; read as day/month "
                       "(set date_format to be sure)")
    return Reading(order, facts.decimal_comma), notices


def read_sheet(sheet: Sheet, layout: Layout, names: dict[str, str], opts: MetricsCsvOptions) -> SheetRead:
    """Every figure of one sheet; a bad row becomes a notice naming file and line, and the rest is kept."""
    reading, notices = _reading(sheet, layout, opts)
    out = SheetRead(notices=notices)
    first: dict[tuple[str, date], int] = {}
    unknown: dict[str, int] = {}
    header = sheet.rows[layout.header_at][1]
    for line, cells in sheet.rows[: layout.header_at]:
        _title(sheet, line, cells, reading, opts, out, first)
    for line, cells in sheet.rows[layout.header_at + 1:]:
        where = f"{sheet.where} {sheet.unit} {line}"
        date_cell = cells[layout.date] if layout.date < len(cells) else ""
        if isinstance(date_cell, str) and key(date_cell) in exports.SUMMARY_LABELS:
            continue  # a period's total under the days
        try:
            day = parse_day(date_cell, reading.order, opts.date_format)
            found = _row(cells, header, layout, names, reading, unknown, line)
        except ValueError as exc:
            out.notices.append(f"{where}: {exc}; row skipped")
            continue
        again = [(m, first[(m, day)]) for m in found if (m, day) in first]
        if again:
            metric, earlier = again[0]
            out.notices.append(f"{where}: {metric} for {day} again (first on {sheet.unit} {earlier}); row skipped")
            continue
        for metric, value in found.items():
            first[(metric, day)] = line
            out.figures[(metric, day)] = Figure(value, where)
    if unknown:
        shown = ", ".join(f"{name!r} ({sheet.unit} {line})" for name, line in unknown.items())
        out.notices.append(f"{sheet.where}: metrics not imported: {shown}; name them in `columns` "
                           "(\"\" leaves one out)")
    if layout.unmapped:
        out.notices.append(f"{sheet.where}: columns not imported: {', '.join(layout.unmapped)}; name them in "
                           "`columns` (\"\" leaves one out)")
    return out


def _row(
    cells: list[Cell], header: list[Cell], layout: Layout, names: dict[str, str], reading: Reading,
    unknown: dict[str, int], line: int,
) -> dict[str, float]:
    """One data row's figures by metric; ValueError names the cell that is not a figure."""
    def cell(j: int) -> Cell:
        return cells[j] if j < len(cells) else ""

    if layout.metric is None or layout.value is None:
        found = {}
        for j, column_metric in layout.metrics.items():
            value = parse_count(cell(j), text(header[j]), reading.decimal_comma)
            if value is not None:
                found[column_metric] = value
        return found
    name = text(cell(layout.metric))
    if not name:
        raise ValueError("the metric is empty")
    metric = names.get(key(name))
    if metric is None:
        unknown.setdefault(name, line)
        return {}
    value = parse_count(cell(layout.value), name, reading.decimal_comma) if metric else None
    return {metric: value} if value is not None else {}


def _title(
    sheet: Sheet, line: int, cells: list[Cell], reading: Reading, opts: MetricsCsvOptions, out: SheetRead,
    first: dict[tuple[str, date], int],
) -> None:
    """LinkedIn's `Total followers on 3/31/2026` line above the days: the followers gauge on that day."""
    filled = [c for c in cells if text(c)]
    title = exports.TOTAL_FOLLOWERS.match(text(filled[0])) if filled and isinstance(filled[0], str) else None
    if title is None:
        return
    where = f"{sheet.where} {sheet.unit} {line}"
    value_cell: Cell = title.group("value") or (filled[1] if len(filled) > 1 else "")
    try:
        day = parse_day(title.group("day"), reading.order, "")
        value = parse_count(value_cell, "followers", reading.decimal_comma)
    except ValueError as exc:
        out.notices.append(f"{where}: {exc}; followers total skipped")
        return
    if value is None:
        out.notices.append(f"{where}: no number beside the followers total; followers total skipped")
        return
    first[("followers", day)] = line
    out.figures[("followers", day)] = Figure(value, where)


# --- files -----------------------------------------------------------------------------------------------------------


@dataclass
class ExportRead:
    """What one file gave: its figures, notices, and what each sheet was read as."""

    path: Path
    mtime: int
    figures: Figures = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    read_as: list[str] = field(default_factory=list)

    def rank(self) -> tuple[date, int, str]:
        """Later exports win: the one reaching the later day, then the newer file."""
        return max((d for _, d in self.figures), default=date.min), self.mtime, self.path.name


def read_export(path: Path, opts: MetricsCsvOptions, names: dict[str, str]) -> ExportRead:
    """Every figure in one file. PluginError for a file that is no analytics export; FileProblem if unreadable."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ApiError(f"cannot read {path} ({exc.strerror or exc}): check its permissions") from None
    out = ExportRead(path, mtime)
    tables = [s for s in sheets(path, opts.encoding, DELIMITERS[opts.delimiter]) if s.rows]
    unread: list[Sheet] = []
    for sheet in tables:
        known = non_daily(sheet)
        if known is not None:
            if len(tables) == 1:
                raise PluginError(f"{path}: refused: it looks like a {known.name}: {known.refusal}")
            continue
        try:
            layout = find_layout(sheet, names, opts)
        except read.FileProblem as problem:
            out.notices.append(f"{sheet.where} {problem}; sheet skipped")
            continue
        refused = refused_as_orders(path, sheet, layout, names)
        if refused is not None:
            raise refused
        if layout is None:
            unread.append(sheet)
            continue
        _add(out, read_sheet(sheet, layout, names, opts))
        out.read_as.append(layout.read_as)
    if not out.read_as and unread:
        raise PluginError(f"{path}: refused: no date column beside metric columns in its header "
                          f"\"{shown_header([text(c) for c in unread[0].rows[0][1]])}\"; name the date column with "
                          "date_column and the others with columns = { \"Impressionen\" = \"impressions\" }")
    out.notices += [f"{s.where}: no date column beside metric columns; sheet skipped" for s in unread]
    return out


def _add(out: ExportRead, sheet: SheetRead) -> None:
    out.notices += sheet.notices
    for figure_key, figure in sheet.figures.items():
        if figure_key in out.figures:
            metric, day = figure_key
            out.notices.append(f"{figure.ref}: {metric} for {day} again (first in {out.figures[figure_key].ref}); "
                               "the first is kept")
            continue
        out.figures[figure_key] = figure


def merge(reads: list[ExportRead]) -> Figures:
    """One figure per metric and day over all files: the latest export's (see ExportRead.rank)."""
    merged: Figures = {}
    for export in sorted(reads, key=ExportRead.rank):
        merged.update(export.figures)
    return merged


def options_fingerprint(opts: MetricsCsvOptions) -> str:
    values = {f.name: getattr(opts, f.name) for f in dataclasses.fields(opts)}
    return json.dumps(values, sort_keys=True, default=str)


def read_all(files: list[Path], opts: MetricsCsvOptions) -> tuple[list[ExportRead], list[str]]:
    names = metric_names(opts)
    reads, notices = [], []
    for path in files:
        try:
            export = read_export(path, opts, names)
        except read.FileProblem as problem:
            notices.append(f"{path.name} {problem}; file skipped")
            continue
        reads.append(export)
        notices += export.notices
    return reads, notices


# --- plugin ----------------------------------------------------------------------------------------------------------


def _in(window: Window, day: date) -> bool:
    return window.since <= day <= window.until


def outside_notice(days: set[date], window: Window) -> str:
    first, last = min(days), max(days)
    command = f"tracker sync --since {first}" + (f" --until {last}" if last > window.until else "")
    return (f"{len(days)} day(s) of the exports, {first} to {last}, lie outside this sync's days ({window.since} to "
            f"{window.until}) and were not imported: `{command}` imports them (add --account and this account's "
            "name to sync only it)")


def fetch(opts: MetricsCsvOptions, window: Window, http: HttpSession, state: dict[str, Any]) -> Iterator[Any]:
    files = find_files(opts.path)
    if not files:
        yield Notice(f"{os.path.expanduser(opts.path)} holds no .csv or .xlsx files yet")
    salt = options_fingerprint(opts)
    digests = {str(p): digest(p, salt) for p in files}
    done: dict[str, str] = state.get("files", {})
    if digests == done:  # every file was read whole within a sync's days, none still provisional
        yield State({"files": done})
        return
    reads, notices = read_all(files, opts)
    yield from (Notice(n) for n in notices)
    merged = merge(reads)
    page = [
        Sample(opts.platform, metric, day, figure.value, provisional=window.is_provisional(day, REVISION_DAYS))
        for (metric, day), figure in sorted(merged.items(), key=lambda item: (item[0][1], item[0][0]))
        if _in(window, day)
    ]
    remembered: dict[str, str] = {}
    outside: set[date] = set()
    for export in reads:
        name = str(export.path)
        days = {day for _, day in export.figures}
        missed = {d for d in days if not _in(window, d)}
        if done.get(name) == digests[name]:
            remembered[name] = digests[name]  # read whole before: its days outside this window are stored
        elif not missed and not any(window.is_provisional(d, REVISION_DAYS) for d in days):
            remembered[name] = digests[name]
        else:
            outside |= missed
    if outside:
        yield Notice(outside_notice(outside, window))
    if page:
        yield page
    yield State({"files": remembered})


def check(opts: MetricsCsvOptions, http: HttpSession) -> str:
    """Read every file as a sync would, storing nothing, and say what it would import."""
    files = find_files(opts.path)
    if not files:
        raise NotFound(f"{os.path.expanduser(opts.path)} holds no .csv or .xlsx files")
    reads, notices = read_all(files, opts)
    merged = merge(reads)
    if not merged:
        raise ApiError(notices[0] if notices else f"{os.path.expanduser(opts.path)}: no figures found")
    days = sorted({day for _, day in merged})
    found = sorted({metric for metric, _ in merged})
    read_as = ", ".join(dict.fromkeys(r for export in reads for r in export.read_as))
    summary = (f"{len(files)} file(s) read as {read_as}: {', '.join(found)} for {opts.platform} from {days[0]} to "
               f"{days[-1]}")
    return summary + (f", {len(notices)} notice(s): {notices[0]}" if notices else "")


plugin = Plugin(
    name="metrics_csv",
    platforms=("*",),
    fetch=fetch,
    options=MetricsCsvOptions,
    description="Daily figures from analytics exports (CSV or XLSX) of platforms without an API for you: LinkedIn "
    "personal analytics, Xing page statistics, or any sheet of dates and metrics, stored under the platform the "
    "account names.",
    lookback_days=LOOKBACK_DAYS,
    day_rule="the day each row names, as the platform wrote it in the export (LinkedIn: UTC days)",
    conversion_source=ConversionSource.NONE,
    metrics={
        "followers": "The total on a day: LinkedIn's 'Total followers on <date>' line (that day only: the export "
        "lists gains, not losses, so no daily total is derived from it), Xing's Follower column per day.",
        "followers_gained": "LinkedIn's and Xing's 'New followers' / 'Neue Follower' per day.",
        "followers_lost": "Xing's 'Verlorene Follower' per day.",
        "impressions": "LinkedIn's 'Impressions' / 'Impressionen' (ENGAGEMENT sheet), Xing's 'Impressionen'.",
        "engagements": "LinkedIn's 'Engagements' / 'Interaktionen', Xing's 'Interaktionen'.",
        "profile_views": "Xing's 'Seitenaufrufe' (page views).",
        "likes": "Xing's 'Reaktionen'.",
        "comments": "Xing's 'Kommentare'.",
        "shares": "Xing's 'Geteilt'.",
        "link_clicks": "Xing's 'Link-Klicks'.",
    },
    check=check,
)
