"""Google Analytics 4: sessions, users, key events and revenue per session source (Data API runReport).

Two reports per window: sessions, users and purchase revenue by date and
session source; then conversions by date, session source and event name, so
purchases can be counted as orders and every other key event as a lead.
Sources are mapped to platforms with the account's attribution table and
summed per platform and day. GA4 drops all-zero rows, so every platform seen
in the window gets an explicit zero on its quiet days.

Authentication is a service account: the plugin signs a short-lived RS256 JWT
with the key file's private key and exchanges it at the key file's `token_uri`
for an access token (the JWT bearer flow, RFC 7523), renewed before it expires
(plugins/_google_auth.py, shared with google_business).
"""

from __future__ import annotations

import json
import time  # noqa: F401  # the clock the access token reads; tests pin it through this module
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.plugin import (
    ApiError,
    Attribution,
    AuthError,
    ConversionSource,
    Endpoint,
    HttpSession,
    NotFound,
    Plugin,
    QuotaExhausted,
    RateLimited,
    Sample,
    Unavailable,
    Window,
    next_midnight,
    option,
)

from ._analytics import Tally
from ._google_auth import RENEW_EARLY, AccessToken, ServiceAccount, load_service_account

__all__ = ["RENEW_EARLY", "AccessToken", "load_key", "plugin"]

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
PAGE_SIZE = 100_000  # rows per page; the API serves at most 250,000
PROVISIONAL_DAYS = 2
METRICS = ("visits", "visitors", "conversions", "leads", "orders", "revenue")
ORDER_EVENTS = {"purchase", "in_app_purchase"}
FIELDS = {  # metric -> the GA4 metric it comes from, for "missing" notes
    "visits": "sessions",
    "visitors": "totalUsers",
    "revenue": "purchaseRevenue",
    "conversions": "the key event count",
    "leads": "the key event count",
    "orders": "the key event count",
}
UNATTRIBUTED_SOURCES = {"(not set)", "(other)", ""}
CONCURRENT_WAIT = 30.0
PACIFIC = ZoneInfo("America/Los_Angeles")


@dataclass(frozen=True)
class Ga4Options:
    property_id: str = option(
        help="The numeric GA4 property ID (Admin -> Property details), not a G-XXXX measurement ID."
    )
    credentials_file: str = option(
        help="Path to the service account's JSON key file (it must be a Viewer of the property)."
    )
    conversion_events: list[str] = option(
        [], help='Event names counted as conversions, e.g. ["generate_lead", "purchase"]; empty = all key events.'
    )
    base_url: str = option("https://analyticsdata.googleapis.com", help="The Google Analytics Data API's address.")
    attribution: Attribution = option(
        Attribution(),
        help='Extra referrer hosts / UTM sources -> platform, e.g. { hosts = { "social.example" = "mastodon" } }',
    )

    def __post_init__(self) -> None:
        if not str(self.property_id).isdigit():
            raise ValueError(
                f"property_id {self.property_id!r} must be the numeric GA4 property ID (Admin -> Property details), "
                "not a G-XXXX measurement ID"
            )


def load_key(path: str) -> ServiceAccount:
    """Read the key file; a missing or malformed file is a credentials problem, named by path only."""
    return load_service_account(path, "GA4", SCOPE)


class _InvalidArgument(ApiError):
    """A 400 INVALID_ARGUMENT: the request names something this property does not know."""


def _next_hour() -> datetime:
    now = datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _raise_for(response: Any, opts: Ga4Options, who: str) -> None:
    """google.rpc.Status answers -> the domain error that says what to do."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        error = {}
    error = error if isinstance(error, dict) else {"message": str(error)}
    status, message = response.status_code, " ".join(str(error.get("message", "")).split())[:300]
    if status == 403:
        if "SERVICE_DISABLED" in json.dumps(error) or "has not been used" in message or "is disabled" in message:
            raise AuthError(
                f"GA4: the Google Analytics Data API is off in the key's Cloud project; enable it ({message})"
            )
        raise AuthError(
            f"GA4 property {opts.property_id} does not let {who} read it: add this service account as a "
            "Viewer under Admin -> Property access management"
        )
    if status == 429:
        if "concurrent" in message.lower():
            raise RateLimited(f"GA4: too many requests at once ({message})", retry_after=CONCURRENT_WAIT)
        if "per day" in message.lower():
            raise QuotaExhausted(
                f"GA4 daily quota of property {opts.property_id} is spent ({message})", until=next_midnight(PACIFIC)
            )
        raise QuotaExhausted(
            f"GA4 hourly quota of property {opts.property_id} is spent ({message})", until=_next_hour()
        )
    if status == 404:
        raise NotFound(f"GA4 property {opts.property_id} does not exist ({message}): check property_id")
    if status == 400:
        raise _InvalidArgument(f"GA4 refused the report request: {message}")
    raise ApiError(f"GA4 answered HTTP {status}: {message or response.text[:200]}")


def run_report(http: HttpSession, opts: Ga4Options, token: AccessToken, body: dict[str, Any]) -> dict[str, Any]:
    """One runReport call; an expired access token is renewed once."""
    url = f"{opts.base_url.rstrip('/')}/v1beta/properties/{opts.property_id}:runReport"
    for attempt in (1, 2):
        response = http.post(url, json=body, headers=token.header())
        if response.status_code == 401 and attempt == 1:
            token.invalidate()
            continue
        if response.status_code == 401:
            raise AuthError(f"GA4 does not accept the access token of {token.account.who}: check the key file")
        if response.status_code != 200:
            _raise_for(response, opts, token.account.who)
        return _answer(url).object(_answer(url).json(response))
    raise AssertionError("unreachable")


def _answer(url: str) -> Endpoint:
    return Endpoint.of("GA4", url)


def _row(answer: Endpoint, row: dict[str, Any], body: dict[str, Any]) -> list[Any]:
    """One row's dimension values (text) then metric values (numbers; None where the row has no `value`),
    as many of each as the request asked for."""
    values: list[Any] = []
    for key, asked in (("dimensionValues", "dimensions"), ("metricValues", "metrics")):
        cells = answer.each_object(answer.get_list(row, key, required=bool(body.get(asked))), f'under "{key}"')
        if len(cells) != len(body.get(asked, [])):
            raise answer.unreadable(f'expected {len(body.get(asked, []))} cells under "{key}", got {len(cells)}')
        found = [answer.get_text(cell, "value") for cell in cells]
        if key == "metricValues":
            values += [None if v is None else answer.number(v, f'under "{key}"') for v in found]
        else:
            values += [v or "" for v in found]
    return values


def report_rows(
    http: HttpSession, opts: Ga4Options, token: AccessToken, body: dict[str, Any]
) -> Iterator[list[Any]]:
    """Every row as its dimension values then metric values, page by page until rowCount.

    A metric value without `value` is unknown (None), never 0: GA4 writes every number it has as a string.
    """
    answer = _answer(f"{opts.base_url.rstrip('/')}/v1beta/properties/{opts.property_id}:runReport")
    offset = 0
    while True:
        data = run_report(http, opts, token, {**body, "limit": str(PAGE_SIZE), "offset": str(offset)})
        rows = answer.objects(data, "rows")  # absent, not empty, when there is nothing
        for row in rows:
            yield _row(answer, row, body)
        offset += len(rows)
        # GA4 leaves rowCount out with the rows when there is nothing (shared/apis/ga4.md: "missing rowCount = 0")
        if not rows or offset >= answer.number(data.get("rowCount") or 0, 'under "rowCount"'):
            return


def platform_of(source: str, attribution: Attribution) -> str:
    """GA4's sessionSource (`l.facebook.com`, `ig`, `(direct)`) -> platform or bucket."""
    if source.strip().lower() in UNATTRIBUTED_SOURCES:
        return "unattributed"
    return attribution.platform_for_source(source)


GA4 = Endpoint("GA4")  # names the API in an error about a body read elsewhere


def _day(value: str, answer: Endpoint = GA4) -> date:
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise answer.unreadable(f'expected a day like 20261120 under "date", got {value[:20]!r}') from None


def _dims(*names: str) -> list[dict[str, str]]:
    return [{"name": n} for n in names]


def _conversion_rows(
    http: HttpSession, opts: Ga4Options, token: AccessToken, base: dict[str, Any]
) -> Iterator[list[Any]]:
    """Named events are counted with eventCount; otherwise keyEvents (or, where still required, `conversions`)."""
    body = {**base, "dimensions": _dims("date", "sessionSource", "eventName")}
    if opts.conversion_events:
        event_filter = {"fieldName": "eventName", "inListFilter": {"values": list(opts.conversion_events)}}
        return report_rows(
            http, opts, token, {**body, "metrics": _dims("eventCount"), "dimensionFilter": {"filter": event_filter}}
        )
    try:
        return iter(list(report_rows(http, opts, token, {**body, "metrics": _dims("keyEvents")})))
    except _InvalidArgument as exc:
        if "keyEvents" not in str(exc):
            raise
    return report_rows(http, opts, token, {**body, "metrics": _dims("conversions")})


def fetch(opts: Ga4Options, window: Window, http: HttpSession, state: dict) -> Iterator[list[Sample] | Unavailable]:
    token = AccessToken(load_key(opts.credentials_file), http)
    base = {"dateRanges": [{"startDate": window.since.isoformat(), "endDate": window.until.isoformat()}]}
    tally = Tally()
    answer = _answer(f"{opts.base_url.rstrip('/')}/v1beta/properties/{opts.property_id}:runReport")
    visits = {
        **base,
        "dimensions": _dims("date", "sessionSource"),
        "metrics": _dims("sessions", "totalUsers", "purchaseRevenue"),
    }
    for day, source, sessions, users, revenue in report_rows(http, opts, token, visits):
        platform = platform_of(str(source), opts.attribution)
        tally.add(platform, "visits", _day(str(day), answer), sessions)
        tally.add(platform, "visitors", _day(str(day), answer), users)
        tally.add(platform, "revenue", _day(str(day), answer), revenue)
    for day, source, event, count in _conversion_rows(http, opts, token, base):
        platform = platform_of(str(source), opts.attribution)
        tally.add(platform, "conversions", _day(str(day), answer), count)
        tally.add(platform, "orders" if event in ORDER_EVENTS else "leads", _day(str(day), answer), count)
    # GA4 drops all-zero rows (keepEmptyRows=false, shared/apis/ga4.md), so the zeros Tally fills in are real
    yield tally.samples(window, METRICS, PROVISIONAL_DAYS)
    yield from tally.unavailable("GA4", FIELDS)


def check(opts: Ga4Options, http: HttpSession) -> str:
    account = load_key(opts.credentials_file)
    body = {"dateRanges": [{"startDate": "7daysAgo", "endDate": "today"}], "metrics": _dims("sessions")}
    data = run_report(http, opts, AccessToken(account, http), body)
    answer = _answer(f"{opts.base_url.rstrip('/')}/v1beta/properties/{opts.property_id}:runReport")
    rows = answer.objects(data, "rows")  # no rows means no sessions: GA4 omits `rows` when empty (apis/ga4.md)
    sessions = int(answer.number(_row(answer, rows[0], body)[0], "as the session count")) if rows else 0
    meta = answer.get_object(data, "metadata") or {}
    return (
        f"property {opts.property_id} ({meta.get('timeZone', '?')}, {meta.get('currencyCode', '?')}): "
        f"{sessions:,} sessions in the last 7 days, read as {account.email}"
    )


plugin = Plugin(
    name="ga4",
    platforms=("*",),
    fetch=fetch,
    options=Ga4Options,
    description="Google Analytics 4: sessions, users, key events (leads, purchases) and revenue per session source.",
    lookback_days=3,
    day_rule="the GA4 property's reporting time zone (days as GA4 returns them)",
    conversion_source=ConversionSource.ANALYTICS,
    covers_all_platforms=True,
    attribution="GA4 session source; window: the session of the key event (it ends after 30 minutes without "
    "activity, so a purchase later, or after a payment-provider redirect, may count as direct)",
    metrics={
        "visits": "GA4 `sessions` whose session source was this platform that day.",
        "visitors": "GA4 `totalUsers` per day (summed over the session sources that map to one platform).",
        "conversions": "GA4 key events (`keyEvents`) in sessions from this source, or the `eventCount` of the "
        "events named in `conversion_events`.",
        "leads": "Those conversions whose event is not a purchase (generate_lead, sign_up, ...).",
        "orders": "Those conversions whose event is `purchase` or `in_app_purchase`.",
        "revenue": "GA4 `purchaseRevenue` in sessions from this source, in the property's currency.",
    },
    check=check,
)
