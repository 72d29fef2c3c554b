"""Orders and leads from shop exports (Shopify, WooCommerce, any spreadsheet): first-party conversions.

Each order becomes one `Conversion` record keyed by its order number (or, without
one, by what identifies the row: its date, kind, source, coupon and attribution
cells, and its place among rows alike in those), so re-importing a file, or an
overlapping later export, adds nothing and a row whose amount was corrected
replaces its record: the core upserts records and recomputes the daily orders,
leads and revenue from them. Each file is the whole export of the days it
spans: an order it no longer holds within them is removed by the core. Bad
rows are skipped and named by file and line; good rows are kept, and a file
with bad rows removes nothing until they are fixed. Conversions are dated as
the shop wrote them and are not limited to the sync window: an export covers
what it covers. A file that is no order or lead export (a known analytics
export, or one with neither an amount nor a kind) fails the account with one
line, so page views never become orders.

Files are streamed (tracker._csv_read) and their records yielded in batches,
so a large export is never held whole. State remembers a fingerprint of each
file already read (its bytes and the options that shaped it) and the days it
spans: unchanged files are skipped, unless a changed file overlaps their days
(then both are read, so an order the two share is not removed).
"""

from __future__ import annotations

import codecs
import dataclasses
import glob
import json
import os
import re
from collections import Counter
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tracker.plugin import (
    ApiError,
    Attribution,
    Conversion,
    ConversionSource,
    HttpSession,
    NotFound,
    Notice,
    Plugin,
    PluginError,
    State,
    Unavailable,
    Window,
    content_id,
    option,
)

from . import _csv_read as read
from ._csv_attribution import decide
from ._csv_columns import PRESETS, Columns, Recognised, analytics_export, resolve, shown_header
from ._csv_seen import Interned, Tally

DEFAULT_EXCLUDED = ["cancelled", "canceled", "voided", "failed", "expired", "trash", "draft", "checkout-draft"]
KINDS = {"order": "order", "sale": "order", "purchase": "order", "lead": "lead", "enquiry": "lead",
         "inquiry": "lead", "signup": "lead", "sign-up": "lead", "booking": "lead", "anfrage": "lead"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DELIMITERS = {"": "", ",": ",", ";": ";", "|": "|", "\t": "\t", "\\t": "\t", "tab": "\t"}


@dataclass(frozen=True)
class CsvOptions:
    path: str = option(help="A shop export (.csv), a folder of them (every *.csv in it) "
                       "or a glob like ~/exports/orders_*.csv.")
    preset: str = option("generic", help="Column names to expect: generic (also recognises Shopify and "
                         "WooCommerce headers), shopify (Orders -> Export) or woocommerce (Analytics -> Orders "
                         "-> Download, and exporter plugins).")
    id_column: str = option("", help="Column with the order number; empty: the preset's (Name, Order #, order id...).")
    date_column: str = option("", help="Column with the order's date; empty: the preset's (Created at, Date...).")
    amount_column: str = option("", help="Column with the amount; empty: the preset's (Total minus Refunded Amount, "
                                "Net sales...).")
    source_column: str = option("", help="Column with a 'how did you hear about us?' answer, a UTM source or "
                                "attribution; empty: the preset's, or any header asking how the customer heard of you.")
    coupon_column: str = option("", help="Column with coupon codes; empty: the preset's (Discount Code, Coupon(s)...).")
    kind_column: str = option("", help="Optional column saying order or lead per row; empty: every row is `kind`.")
    currency_column: str = option("", help="Column with the ISO currency code; empty: the preset's (Currency...).")
    date_format: str = option("", help="A strptime format such as %d/%m/%Y; empty: recognise ISO, "
                              "2026-04-05 21:06:21 +0400, 05.04.2026 21:06 and a/b/yyyy with the day/month order "
                              "decided per file.")
    delimiter: str = option("", help="Field separator (, ; | or tab); empty: detected from the header line.")
    encoding: str = option("auto", help="Text encoding; auto: a BOM decides (UTF-8, UTF-16), else UTF-8, else cp1252.")
    coupons: dict[str, str] = option({}, help="Coupon code -> platform, case-insensitive, "
                                     "e.g. { INSTA10 = \"instagram\" }.")
    kind: str = option("", help="What each row is when no kind column says: order or lead; empty: order, "
                       "but a file with neither an amount nor a kind column is refused (it is no order export).")
    currency: str = option("", help="Currency code for rows whose file has no currency column (e.g. EUR); "
                           "empty: none.")
    include_statuses: list[str] = option([], help="Only import orders with one of these statuses; empty: every "
                                         "status not excluded.")
    exclude_statuses: list[str] = option(DEFAULT_EXCLUDED, help="Skip orders with these statuses (Shopify "
                                         "Financial Status, WooCommerce Status); a Shopify order with Cancelled at "
                                         "is 'cancelled'.")
    attribution: Attribution = option(Attribution(), help="Extra sources -> platform for answers and UTM values "
                                      "(e.g. { sources = { flyer = \"offline\" } }); extends the config's "
                                      "[attribution].")

    def __post_init__(self) -> None:
        if not self.path.strip():
            raise ValueError("path: name a .csv file, a folder of them or a glob")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, not {self.preset!r}")
        if self.kind not in ("", "order", "lead"):
            raise ValueError(f"kind must be order or lead, not {self.kind!r}")
        if self.delimiter not in _DELIMITERS:
            raise ValueError(f"delimiter must be , ; | or tab, not {self.delimiter!r}")
        if self.encoding != "auto":
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise ValueError(f"encoding {self.encoding!r} is unknown (try auto, utf-8, utf-16 or cp1252)") from None
        bad = [f"{code} = {platform!r}" for code, platform in self.coupons.items() if not _SLUG.match(str(platform))]
        if bad:
            raise ValueError(f"coupons: platforms must be lowercase keys like \"instagram\": {', '.join(bad)}")


BATCH = 5000  # records per yielded page: large files stream through in pages of this size


@dataclass
class FileResult:
    """What reading one file gave besides its records.

    `final`: the file may be skipped while unchanged (no rows dated in the future). `span`: the first and last
    day of its records. `complete`: every row could be read, so the file is the whole export of its span.
    """

    records: int = 0
    final: bool = True
    span: tuple[date, date] | None = None
    complete: bool = True


# --- files -----------------------------------------------------------------------------------------------------------


def find_files(path: str) -> list[Path]:
    """The files `path` names; a missing path is NotFound, an unreadable folder an ApiError, both naming it."""
    expanded = os.path.expanduser(path.strip())
    target = Path(expanded)
    if not target.exists() and any(c in expanded for c in "*?["):
        matches = sorted(Path(m) for m in glob.glob(expanded) if Path(m).is_file())
        if not matches:
            raise NotFound(f"no file matches {expanded}: check the account's `path`")
        return matches
    if target.is_dir():
        try:
            return sorted(p for p in target.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
        except OSError as exc:
            reason = exc.strerror or exc
            raise ApiError(f"cannot read the folder {expanded} ({reason}): check its permissions") from None
    if not target.exists():
        raise NotFound(f"{expanded} does not exist: set `path` to a shop export (.csv), a folder of them or a glob")
    return [target]


def scan(path: Path, opts: CsvOptions) -> read.Scanned:
    """One pass over the bytes: the fingerprint (bytes and the options that shape them) and the encoding."""
    try:
        return read.scan(path, opts.encoding, options_fingerprint(opts).encode() + b"\0")
    except OSError as exc:
        raise ApiError(f"cannot read {path} ({exc.strerror or exc}): check its permissions") from None


def options_fingerprint(opts: CsvOptions) -> str:
    """Options that change how a file reads: a changed coupon table re-reads every file."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(opts):
        value = getattr(opts, f.name)
        if isinstance(value, Attribution):
            value = {"hosts": dict(value.hosts), "sources": dict(value.sources)}
        values[f.name] = value
    return json.dumps(values, sort_keys=True, default=str)


# --- rows -> records -------------------------------------------------------------------------------------------------


def _cell(cells: list[str], index: int | None) -> str:
    return read.clean(cells[index]) if index is not None and index < len(cells) else ""


def _status(cells: list[str], cols: Columns) -> str:
    if _cell(cells, cols.cancelled):
        return "cancelled"
    return _cell(cells, cols.status).lower().removeprefix("wc-")


def _wanted(status: str, opts: CsvOptions) -> bool:
    if not status:
        return True
    if opts.include_statuses and status not in {s.lower() for s in opts.include_statuses}:
        return False
    return status not in {s.lower() for s in opts.exclude_statuses}


def _kind(cells: list[str], cols: Columns, default: str) -> str:
    value = _cell(cells, cols.kind).lower()
    if not value:
        return default
    if value not in KINDS:
        raise ValueError(f"kind {value!r} is neither order nor lead")
    return KINDS[value]


def _amount(cells: list[str], cols: Columns, kind: str, decimal_comma: bool) -> float | None:
    """The row's amount; None for an order whose file has no amount column (unknown, never 0).

    A lead without a value counts nothing, as `tracker log lead` without `--amount` does.
    """
    if cols.amount is None:
        return 0.0 if kind == "lead" else None
    cell = _cell(cells, cols.amount)
    if not cell and kind == "lead":
        return 0.0
    amount = read.parse_amount(cell, decimal_comma)
    refunded = _cell(cells, cols.refunded)
    if refunded:
        amount -= abs(read.parse_amount(refunded, decimal_comma))
    return round(amount, 2)


def _currency(cells: list[str], cols: Columns, opts: CsvOptions) -> str | None:
    value = _cell(cells, cols.currency).upper()
    return value if re.fullmatch(r"[A-Z]{3}", value) else (opts.currency.upper() or None)


def _content_id(day: date, kind: str, cells: list[str], cols: Columns) -> str:
    """For rows without an order number: what identifies the row, so a corrected amount replaces its record.

    The date, kind, source, coupon, attribution and UTM cells (parsed or lowercased, so a re-save with other
    formats matches); rows alike in all of them are told apart by their order in the file (`-2`, `-3`).
    """
    fields = (cols.source, cols.coupon, cols.origin, cols.utm)
    parts = [day.isoformat(), kind, *(_cell(cells, i).lower() for i in fields)]
    return content_id(*parts)


_NEEDS = ('an order export needs a date and an amount column (amount_column names yours), a lead export a date '
          'column and kind = "lead" or a kind column')


def refused_as_analytics(path: Path, seen: Recognised) -> PluginError:
    return PluginError(f"{path}: refused: it looks like a {seen.name}, not an order or lead export: {seen.evidence}; "
                       f"{_NEEDS}")


def refused_without_amount(path: Path, table: read.Table) -> PluginError:
    return PluginError(f"{path}: refused: its header \"{shown_header(table.header)}\" has no amount column and no "
                       f"kind column, and `kind` is not set, so its rows are neither orders nor leads; {_NEEDS}")


@dataclass(frozen=True)
class Layout:
    """How one file reads, decided from all its rows before any record is made."""

    cols: Columns
    order: str
    decimal_comma: bool


def _layout(path: Path, scanned: read.Scanned, opts: CsvOptions) -> tuple[Layout, list[str]]:
    """The first pass: columns, day/month order and decimal mark, and the notices about them.

    Raises FileProblem for a file to skip, PluginError for one that is no order or lead export.
    """
    with read.open_rows(path, scanned, _DELIMITERS[opts.delimiter]) as rows:
        seen = analytics_export(rows.head)
        if seen is not None:
            raise refused_as_analytics(path, seen)
        overrides = {"id": opts.id_column, "date": opts.date_column, "amount": opts.amount_column,
                     "source": opts.source_column, "coupon": opts.coupon_column, "kind": opts.kind_column,
                     "currency": opts.currency_column}
        cols = resolve(rows.head.header, opts.preset, overrides)
        if cols.amount is None and cols.kind is None and not opts.kind:
            raise refused_without_amount(path, rows.head)
        facts = read.FileFacts(delimiter=rows.delimiter)
        for _, cells in rows.rows():
            facts.see_date(_cell(cells, cols.date))
            facts.see_amount(_cell(cells, cols.amount))
    notices = []
    if not opts.date_format and facts.ambiguous_slash_dates:
        notices.append(f"{path.name}: no date shows whether it is day/month or month/day; read as day/month "
                       "(set date_format to be sure)")
    return Layout(cols, facts.day_order, facts.decimal_comma), notices


@dataclass
class _Row:
    """A readable row's record, or why the row gives none (`bad`: unreadable; `future`: dated after tomorrow)."""

    record: Conversion | None = None
    bad: str = ""
    future: str = ""


def _records(
    path: Path, scanned: read.Scanned, opts: CsvOptions, window: Window, layout: Layout, export: str
) -> Iterator[_Row]:
    """Every row of the file, in order, as a record or the reason it gives none."""
    cols = layout.cols
    coupons = {k.lower(): v for k, v in opts.coupons.items()}
    latest = window.today + timedelta(days=1)
    share, amounts = Interned(), Interned()  # one object per distinct day, platform, note, amount...
    with Tally() as numbers, Tally() as occurrences, read.open_rows(path, scanned, _DELIMITERS[opts.delimiter]) as rows:
        for line, cells in rows.rows():
            number = _cell(cells, cols.id)
            amount_cell = _cell(cells, cols.amount)
            refund_row = amount_cell.lstrip("(").startswith("-") or amount_cell.startswith("(")
            if number and numbers.add(number) > 1 and not refund_row:
                continue  # a further line item of an order already read (Shopify: one row per line item)
            try:
                if not _wanted(_status(cells, cols), opts):
                    continue
                kind = _kind(cells, cols, opts.kind or "order")
                day = read.parse_day(_cell(cells, cols.date), layout.order, opts.date_format)
                amount = _amount(cells, cols, kind, layout.decimal_comma)
            except ValueError as exc:
                yield _Row(bad=f"{path.name} line {line}: {exc}; row skipped")
                continue
            if day > latest:
                yield _Row(future=f"{path.name} line {line}: dated {day}, in the future; row skipped")
                continue
            key = number or _content_id(day, kind, cells, cols)
            if amount is not None and amount < 0:
                key = f"{key}-refund-{day:%Y%m%d}"
            if not number or key != number:  # order numbers are unique already (later line items were skipped)
                seen = occurrences.add(key)
                if seen > 1:
                    key = f"{key}-{seen}"
            decision = decide(cells, cols, coupons, opts.attribution)
            yield _Row(Conversion(
                id=key, platform=share(decision.platform), day=share(day), kind=kind, amount=amounts(amount),
                currency=share(_currency(cells, cols, opts)), basis=decision.basis, ref=f"{path.name} line {line}",
                note=share(decision.note), export=export,
            ))


Yielded = Notice | Unavailable | list[Conversion]


def read_file(
    path: Path, scanned: read.Scanned, opts: CsvOptions, window: Window
) -> Generator[Yielded, None, FileResult]:
    """Every order or lead in one file, yielded in pages; a bad row becomes a notice naming the file and line.

    A file that is no order or lead export (a known analytics export, or neither an amount nor a kind) raises
    PluginError: the account fails with that line instead of storing page views as orders. Three passes, none
    holding the file: the layout, a check for unreadable rows (a file with any is not taken as a complete
    export, so a typo never removes an order), and the records.
    """
    out = FileResult()
    try:
        layout, notices = _layout(path, scanned, opts)
        bad = sum(1 for row in _records(path, scanned, opts, window, layout, "") if row.bad)
    except read.FileProblem as problem:
        yield Notice(f"{path.name} {problem}; file skipped")
        return FileResult(final=False, complete=False)
    for notice in notices:
        yield Notice(notice)
    out.complete = bad == 0
    unknown: Counter[str] = Counter()
    page: list[Conversion] = []
    for row in _records(path, scanned, opts, window, layout, path.name if out.complete else ""):
        if row.record is None:
            out.final = out.final and not row.future
            yield Notice(row.bad or row.future)
            continue
        record = row.record
        out.records += 1
        first, last = out.span or (record.day, record.day)
        out.span = (min(first, record.day), max(last, record.day))
        if record.amount is None:
            unknown[record.platform] += 1
        page.append(record)
        if len(page) == BATCH:
            yield page
            page = []
    if page:
        yield page
    if unknown:
        yield Notice(f"{path.name} has no amount column: its {sum(unknown.values())} orders count, "
                     "their revenue is unknown, not 0 (set amount_column)")
        for platform, count in sorted(unknown.items()):
            reason = f"{path.name} has no amount column ({count} orders without an amount)"
            yield Unavailable(platform, "revenue", reason)
    return out


# --- plugin ----------------------------------------------------------------------------------------------------------


def _span(remembered: list[str]) -> tuple[date, date]:
    return date.fromisoformat(remembered[0]), date.fromisoformat(remembered[1])


def _overlaps(span: list[str] | None, others: list[tuple[date, date]]) -> bool:
    """Whether a remembered span [first, last] shares a day with any of `others`; unknown spans always do."""
    if not span:
        return True
    first, last = _span(span)
    return any(first <= b and a <= last for a, b in others)


def fetch(opts: CsvOptions, window: Window, http: HttpSession, state: dict[str, Any]) -> Iterator[Any]:
    files = find_files(opts.path)
    if not files:
        yield Notice(f"{os.path.expanduser(opts.path)} holds no .csv files yet")
    known: dict[str, str] = state.get("files", {})
    spans: dict[str, list[str]] = state.get("spans", {})
    remembered: dict[str, str] = {}
    scans: dict[Path, read.Scanned] = {}
    for path in files:
        try:
            scans[path] = scan(path, opts)
        except read.FileProblem as problem:
            yield Notice(f"{path.name} {problem}; file skipped")
    changed = [p for p in scans if known.get(str(p)) != scans[p].digest]
    removing: list[tuple[date, date]] = []  # the days where a re-read file may remove orders it no longer holds
    for path in changed:
        result = yield from read_file(path, scans[path], opts, window)
        if result.span and result.complete and (str(path) in known or str(path) in spans):
            removing.append(result.span)
        _remember(path, scans[path], result, remembered, spans)
    for path in scans:
        if path in changed:
            continue
        if removing and _overlaps(spans.get(str(path)), removing):  # an order both hold must not be removed
            result = yield from read_file(path, scans[path], opts, window)
            _remember(path, scans[path], result, remembered, spans)
        else:
            remembered[str(path)] = scans[path].digest
    kept = {p: spans[p] for p in remembered if spans.get(p)}
    yield State({"files": remembered, "spans": kept} if kept else {"files": remembered})


def _remember(path: Path, scanned: read.Scanned, result: FileResult, remembered: dict[str, str],
              spans: dict[str, list[str]]) -> None:
    if result.final:
        remembered[str(path)] = scanned.digest
    if result.span:
        spans[str(path)] = [result.span[0].isoformat(), result.span[1].isoformat()]


def check(opts: CsvOptions, http: HttpSession) -> str:
    """Read every file as a sync would, without storing anything, and say what a sync would import."""
    files = find_files(opts.path)
    if not files:
        raise NotFound(f"{os.path.expanduser(opts.path)} holds no .csv files")
    today = date.today()
    win = Window(today, today, today, ZoneInfo("UTC"))
    kinds: Counter[str] = Counter()
    first: date | None = None
    last: date | None = None
    notices: list[str] = []
    for path in files:
        try:
            pages = read_file(path, scan(path, opts), opts, win)
        except read.FileProblem as problem:
            notices.append(f"{path.name} {problem}; file skipped")
            continue
        for item in pages:
            if isinstance(item, Notice):
                notices.append(item.message)
            elif isinstance(item, list):
                kinds.update(r.kind for r in item)
                first = min([first, *(r.day for r in item)] if first else [r.day for r in item])
                last = max([last, *(r.day for r in item)] if last else [r.day for r in item])
    if not kinds:
        raise ApiError(notices[0] if notices else f"{os.path.expanduser(opts.path)}: no orders or leads found")
    parts = [f"{kinds[k]} {k}s" for k in ("order", "lead") if kinds[k]]
    summary = f"{len(files)} file(s): {' and '.join(parts)} from {first} to {last}"
    return summary + (f", {len(notices)} notice(s): {notices[0]}" if notices else "")


plugin = Plugin(
    name="csv",
    platforms=("*",),
    fetch=fetch,
    options=CsvOptions,
    description="Orders and leads from shop exports (Shopify, WooCommerce) or any spreadsheet: first-party conversions "
    "attributed by coupon code, the customer's answer, or the shop's own attribution column.",
    lookback_days=0,
    day_rule="the order's date as the shop wrote it (store time zone)",
    conversion_source=ConversionSource.FIRST_PARTY,
    covers_all_platforms=False,
    attribution="per order: a mapped coupon code, else the customer's 'how did you hear about us?' answer, else the "
    "shop's own attribution column (UTM source, referrer); no window: the shop's record decides",
    metrics={
        "orders": "Orders in the export on that day (one per order number; later line-item rows are not counted), "
        "after excluded statuses; refund rows are records of their own.",
        "leads": "Rows marked as leads (kind column or kind = \"lead\") on that day.",
        "conversions": "Orders + leads on that day.",
        "revenue": "Order amounts on that day in the file's currency: Shopify Total minus Refunded Amount, "
        "WooCommerce Net sales (refund rows negative on the refund day). Orders from a file without an amount "
        "column leave it unknown: reported missing, not 0.",
    },
    check=check,
)
