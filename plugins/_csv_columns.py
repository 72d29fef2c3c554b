"""Which column means what in a shop export, matched by header name, never by position.

Exporters add, rename and reorder columns between versions (`Net sales`, `Net Sales`,
`N. Revenue`; `Attribution` or `Origin`), so each role has a list of aliases per
preset, compared case- and space-insensitively. The `generic` preset recognises a
Shopify or WooCommerce header by its telltale columns and reads it as such.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from . import _metric_exports as exports
from ._csv_read import FileProblem, Table, normalise

PRESETS = ("generic", "shopify", "woocommerce")

# "How did you hear about us?" in the languages of the shops tracker serves, and survey apps' keys.
HEAR = re.compile(r"hear|heard|hdyhau|find us|found us|erfahren|entendu|connu|conocido|referral source|survey")

# Each amount alias may come with the refund column it must be netted against (None: already net).
_AMOUNTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "shopify": (("total", "refunded amount"),),
    "woocommerce": (
        ("net sales", None), ("n. revenue", None), ("order total amount", "order refund amount"),
        ("order_total", "refunded_total"), ("order total", None), ("total", None),
    ),
    "generic": (
        ("amount", None), ("total", None), ("order total", None), ("revenue", None), ("net sales", None),
        ("value", None), ("price", None), ("betrag", None), ("umsatz", None), ("summe", None), ("montant", None),
    ),
}

_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "shopify": {
        "id": ("name", "id"),
        "date": ("created at",),
        "currency": ("currency",),
        "status": ("financial status",),
        "cancelled": ("cancelled at",),
        "coupon": ("discount code",),
        "notes": ("note attributes",),
        "tags": ("tags",),
        "utm": ("utm source", "utm_source"),
        "referrer": ("referring site",),
    },
    "woocommerce": {
        "id": ("order #", "order number", "order_number_formatted", "order_number", "order id", "order_id"),
        "date": ("date", "order date", "date_created", "date created"),
        "currency": ("order_currency", "currency", "order currency"),
        "status": ("status", "order status"),
        "coupon": ("coupon(s)", "coupons", "coupon code", "coupon_items", "coupon"),
        "origin": ("attribution", "origin"),
        "utm": ("_wc_order_attribution_utm_source", "utm source", "utm_source"),
        "referrer": ("_wc_order_attribution_referrer", "referrer"),
    },
    "generic": {
        "id": (
            "order id", "order_id", "order number", "order_number", "order #", "order no", "order", "id", "reference",
            "bestellnummer",
        ),
        "date": ("date", "order date", "created at", "created", "datum", "timestamp", "time", "day"),
        "currency": ("currency", "währung", "devise"),
        "status": ("status", "order status", "financial status"),
        "coupon": ("coupon", "coupon code", "coupons", "discount code", "voucher", "promo code", "gutschein", "code"),
        "source": ("source", "channel", "platform", "quelle", "kanal"),
        "utm": ("utm_source", "utm source"),
        "referrer": ("referrer", "referring site"),
        "kind": ("kind", "type", "conversion type"),
    },
}

_SHOPIFY_MARKS = {"lineitem name", "financial status", "note attributes"}
_WOO_MARKS = {"order #", "net sales", "n. revenue", "coupon(s)", "order_total", "order total amount",
              "_wc_order_attribution_source_type"}


@dataclass(frozen=True)
class AnalyticsShape:
    """A known analytics export, told by columns no order or lead export has (names as `normalise` gives them)."""

    name: str
    columns: frozenset[str]
    exact: bool = False  # the line holds these columns and no others
    use: str = ""  # where such a file belongs instead, when another plugin imports it


def _shape(name: str, *columns: str, exact: bool = False) -> AnalyticsShape:
    return AnalyticsShape(name, frozenset(columns), exact)


# Exports people feed the csv plugin by mistake: every entry is a header seen in real exports (LinkedIn's German
# names: its interface's labels). Order matters where one shape contains another (the first match names the export).
ANALYTICS_EXPORTS: tuple[AnalyticsShape, ...] = (
    # Xing page statistics (first: its columns are a superset of LinkedIn's German sheets) and LinkedIn member
    # (creator) analytics, a sheet of Content_<from>_<to>_<name>.xlsx saved as CSV: described in
    # _metric_exports, which the metrics_csv plugin imports them by.
    *(AnalyticsShape(s.name, h, use=s.use) for s in (exports.XING_PAGE, *exports.LINKEDIN_PERSONAL) for h in s.headers),
    # LinkedIn Page analytics downloads (content, visitors, followers).
    _shape("LinkedIn Page analytics export (content)", "impressions (organic)", "impressions (total)"),
    _shape("LinkedIn Page analytics export (visitors)", "total page views (total)", "total unique visitors (total)"),
    _shape("LinkedIn Page analytics export (followers)", "organic followers", "sponsored followers"),
    # Meta Business Suite: content exports per post, and insights exports of one metric per file
    # (`sep=,`, a title line such as "Facebook follows", then "Date","Primary").
    _shape("Instagram content export (Meta Business Suite)", "post id", "account username", "permalink"),
    _shape("Facebook content export (Meta Business Suite)", "post id", "page id", "page name"),
    _shape("Meta Business Suite insights export", "date", "primary", exact=True),
    # Google Analytics 4 report downloads (their `# Start date:` lines are recognised too, see GA_PREAMBLE).
    _shape("Google Analytics 4 report export", "sessions", "engaged sessions"),
    _shape("Google Analytics 4 report export", "sessions", "key events"),
    # Plausible: the dashboard's export (visitors.csv, sources.csv, pages.csv ...) and the site export (imported_*.csv).
    _shape("Plausible dashboard export", "visitors", "bounce_rate"),
    _shape("Plausible site export", "visitors", "visit_duration"),
    # Matomo: report exports with raw metric names, or translated ones (Visits, Actions, ...).
    _shape("Matomo report export", "nb_visits"),
    _shape("Matomo report export", "visits", "actions", "maximum actions in one visit"),
)
GA_PREAMBLE = re.compile(r"^#\s*(start date|end date)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class Recognised:
    """Which analytics export a file looks like, and why, in words for the refusal."""

    name: str
    evidence: str


def shown_header(cells: list[str]) -> str:
    """A header as the user would recognise it: its first twelve named columns."""
    named = [c.strip() for c in cells if c.strip()]
    return ", ".join(named[:12]) + (", ..." if len(named) > 12 else "")


def analytics_export(table: Table) -> Recognised | None:
    """The known analytics export a file matches, by its comment lines, its header or the line under a title."""
    for line in table.preamble:
        if GA_PREAMBLE.match(line):
            header = shown_header(table.header)
            return Recognised("Google Analytics report export", f'its header "{header}" comes under the line "{line}"')
    for cells in [table.header, *(row for _, row in table.rows[:2])]:
        names = {normalise(c) for c in cells if c.strip()}
        for shape in ANALYTICS_EXPORTS:
            if shape.columns <= names and (not shape.exact or names == shape.columns):
                telling = dict.fromkeys(c.strip() for c in cells if normalise(c) in shape.columns - exports.DATE_NAMES)
                pointer = f"; {shape.use}" if shape.use else ""
                return Recognised(shape.name, f'its header "{shown_header(cells)}" has {", ".join(telling)}{pointer}')
    return None


# Columns only an order export has: order numbers, the shops' own columns, amounts ("value", "total" and "summe"
# are left out: analytics sheets use them too).
ORDER_COLUMNS = frozenset(
    _SHOPIFY_MARKS | _WOO_MARKS
    | {a for a in _ALIASES["generic"]["id"] if a not in ("id", "order", "reference")}
    | {a for a, _ in _AMOUNTS["generic"] if a not in ("value", "total", "price", "summe")}
)


def order_export(cells: list[str]) -> str | None:
    """Why a header line is an order export's, in words for a refusal; None when it has no order columns."""
    telling = dict.fromkeys(c.strip() for c in cells if normalise(c) in ORDER_COLUMNS)
    if not telling:
        return None
    return f'its header "{shown_header(cells)}" has {", ".join(telling)}'


@dataclass(frozen=True)
class Columns:
    """Index of each role's column in one file (None: the file has no such column)."""

    layout: str
    id: int | None = None
    date: int | None = None
    amount: int | None = None
    refunded: int | None = None
    currency: int | None = None
    status: int | None = None
    cancelled: int | None = None
    coupon: int | None = None
    source: int | None = None
    source_name: str = ""
    origin: int | None = None
    notes: int | None = None
    tags: int | None = None
    utm: int | None = None
    referrer: int | None = None
    kind: int | None = None


def detect(header: list[str], preset: str) -> str:
    """The layout to read a file as: the preset, or for `generic` a recognised shop's layout."""
    if preset != "generic":
        return preset
    names = {normalise(h) for h in header}
    if names & _SHOPIFY_MARKS and "name" in names:
        return "shopify"
    if names & _WOO_MARKS:
        return "woocommerce"
    return "generic"


def resolve(header: list[str], preset: str, overrides: Mapping[str, str]) -> Columns:
    """Find every role's column; a column the user named but the file lacks is a file problem."""
    layout = detect(header, preset)
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(normalise(name), i)

    def find(aliases: tuple[str, ...]) -> int | None:
        return next((index[a] for a in aliases if a in index), None)

    found: dict[str, int | None] = {role: find(aliases) for role, aliases in _ALIASES[layout].items()}
    found["amount"], found["refunded"] = None, None
    for amount, refund in _AMOUNTS[layout]:
        if amount in index:
            found["amount"] = index[amount]
            found["refunded"] = index.get(refund) if refund else None
            break
    hear = next((i for i, h in enumerate(header) if HEAR.search(normalise(h))), None)
    if hear is not None:
        found["source"] = hear
    for role, wanted in overrides.items():
        if not wanted:
            continue
        if normalise(wanted) not in index:
            shown = ", ".join(h for h in header[:12] if h) + (", ..." if len(header) > 12 else "")
            raise FileProblem(f"has no column {wanted!r} ({role}_column); its columns are: {shown}")
        found[role] = index[normalise(wanted)]
        if role == "amount":
            found["refunded"] = None
    if found.get("date") is None:
        raise FileProblem(f"has no date column (read as a {layout} export); set date_column to the column's name")
    source = found.get("source")
    return Columns(layout=layout, source_name=header[source] if source is not None else "", **found)
