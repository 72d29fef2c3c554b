"""Deciding which platform an order came from, and on what basis, from what the shop wrote down.

Order of trust: a coupon code the user mapped to a platform (the customer typed a
code only that platform carried), then the customer's own answer to "how did you
hear about us?", then a UTM source the shop recorded, then the referrer or
search engine of the session. Nothing at all leaves the order `unattributed`:
shown in the report, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tracker.plugin import Attribution, Basis

from ._csv_columns import HEAR, Columns
from ._csv_read import clean, normalise

UNATTRIBUTED = "unattributed"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# WooCommerce Order Attribution "origin" labels (English and German admin), by what they rest on.
_UTM_PREFIXES = {"source", "quelle", "fuente", "origine"}
_SESSION_PREFIXES = {"referral", "verweis", "référence", "referencia", "organic", "organisch", "organique",
                     "orgánico"}
_NOTHING = {"", "unknown", "unbekannt", "web admin", "mobile app", "admin", "inconnu", "desconocido"}
_DIRECT = {"direct", "direkt", "typein", "(direct)"}


@dataclass(frozen=True)
class Decision:
    platform: str
    basis: Basis
    note: str


def _slug(platform: str) -> str:
    return platform if _SLUG.match(platform) else "other"


def platform_for_answer(answer: str, attribution: Attribution) -> str:
    """A free-text answer ('Instagram', 'fb', 'Saw an Instagram ad') -> one platform, else `other`."""
    platform = attribution.platform_for_source(answer)
    if platform != "other":
        return _slug(platform)
    words = re.findall(r"[a-z0-9][a-z0-9.\-]*[a-z0-9]|[a-z0-9]", answer.lower())
    found = set()
    for word in words:
        if len(word) < 3:  # 'ig', 'li', 'x' inside a sentence are too often something else
            continue
        hit = attribution.sources.get(word) or (attribution.platform_for_host(word) if "." in word else None)
        if hit:
            found.add(hit)
    return _slug(found.pop()) if len(found) == 1 else "other"


def from_origin(value: str, attribution: Attribution) -> Decision | None:
    """WooCommerce's origin label: `Source: Facebook` (UTM), `Referral: M.facebook.com`, `Organic: Google`, `Direct`."""
    text = value.strip()
    prefix, sep, rest = text.partition(":")
    key = normalise(prefix)
    if not sep:
        if key in _NOTHING:
            return None
        if key in _DIRECT:
            return Decision("direct", Basis.SESSION_SOURCE, text)
        return Decision(_slug(attribution.platform_for_source(text)), Basis.SESSION_SOURCE, text)
    rest = rest.strip()
    if not rest:
        return None
    basis = Basis.UTM if key in _UTM_PREFIXES else Basis.SESSION_SOURCE
    return Decision(_slug(attribution.platform_for_source(rest)), basis, text)


def note_answers(cell: str) -> list[tuple[Basis, str]]:
    """Shopify `Note Attributes`, one `key: value` per line: survey answers and UTM values written by apps."""
    found: list[tuple[Basis, str]] = []
    for line in cell.splitlines():
        key, sep, value = line.partition(":")
        key, value = normalise(key), value.strip()
        if not sep or not value:
            continue
        if "utm" in key and "source" in key:
            found.append((Basis.UTM, value))
        elif HEAR.search(key):
            found.append((Basis.SELF_REPORTED, value))
        elif "referr" in key:
            found.append((Basis.SESSION_SOURCE, value))
    return found


def tag_answers(cell: str, attribution: Attribution) -> list[str]:
    """Tags survey apps add (`HDYHAU: Instagram`), or a tag that is itself a known source (`instagram`)."""
    answers = []
    for tag in cell.split(","):
        key, sep, value = tag.partition(":")
        if sep and value.strip() and (HEAR.search(normalise(key)) or normalise(key) in ("source", "channel")):
            answers.append(value.strip())
        elif not sep and normalise(tag) in attribution.sources:
            answers.append(tag.strip())
    return answers


def coupon_codes(cell: str) -> list[str]:
    """Codes in a coupon cell: `INSTA10`, `INSTA10, SUMMER`, or WooCommerce's packed `code:INSTA10;amount:5|...`."""
    packed = re.findall(r"code:([^;|]+)", cell, flags=re.IGNORECASE)
    codes = packed or re.split(r"[,;|\s]+", cell)
    return [c.strip() for c in codes if c.strip()]


_RANK = {Basis.SELF_REPORTED: 0, Basis.UTM: 1, Basis.SESSION_SOURCE: 2}


def _answer(basis: Basis, answer: str, note: str, attribution: Attribution) -> Decision:
    if basis is Basis.SELF_REPORTED:
        return Decision(platform_for_answer(answer, attribution), basis, note)
    return Decision(_slug(attribution.platform_for_source(answer)), basis, note)


def source_basis(column_name: str) -> Basis:
    """A generic source column's basis from its name: a UTM column, a referrer column, or the customer's answer."""
    name = normalise(column_name)
    if "utm" in name:
        return Basis.UTM
    if "referr" in name:
        return Basis.SESSION_SOURCE
    return Basis.SELF_REPORTED


def decide(cells: list[str], cols: Columns, coupons: Mapping[str, str], attribution: Attribution) -> Decision:
    """The platform an order is attributed to, with the basis and what it rested on (kept as the record's note)."""

    def cell(index: int | None) -> str:
        return clean(cells[index]) if index is not None and index < len(cells) else ""

    codes = coupon_codes(cell(cols.coupon))
    for code in codes:
        platform = coupons.get(code.lower())
        if platform:
            return Decision(platform, Basis.COUPON, f"coupon {code}")
    found: list[Decision] = []
    if cell(cols.source):
        answer, basis = cell(cols.source), source_basis(cols.source_name)
        found.append(_answer(basis, answer, f"{cols.source_name}: {answer}", attribution))
    for basis, answer in note_answers(cell(cols.notes)):
        found.append(_answer(basis, answer, f"note attribute: {answer}", attribution))
    for answer in tag_answers(cell(cols.tags), attribution):
        found.append(_answer(Basis.SELF_REPORTED, answer, f"tag: {answer}", attribution))
    if cell(cols.utm):
        found.append(_answer(Basis.UTM, cell(cols.utm), f"utm_source: {cell(cols.utm)}", attribution))
    origin = from_origin(cell(cols.origin), attribution) if cell(cols.origin) else None
    if origin:
        found.append(origin)
    if cell(cols.referrer):
        referrer = cell(cols.referrer)
        found.append(_answer(Basis.SESSION_SOURCE, referrer, f"referrer: {referrer}", attribution))
    if found:
        return min(found, key=lambda d: _RANK[d.basis])
    unmapped = f"coupon {', '.join(codes)} (not in `coupons`)" if codes else ""
    basis = Basis.SESSION_SOURCE if cols.origin is not None else Basis.SELF_REPORTED
    return Decision(UNATTRIBUTED, basis, unmapped)
