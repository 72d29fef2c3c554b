"""Plausible Analytics: visits and goal conversions per traffic source, via the Stats API v2.

Two queries cover any window: visits/visitors by day and source, then goal
conversions (and revenue, for revenue goals) by day, source and goal. Each
source is mapped to a platform with the account's attribution table; sources
that land on one platform are summed. Plausible omits days without data
(shared/apis/plausible.md: "fill zeros"), so every platform seen in the window
gets an explicit zero on its quiet days (otherwise a daily average of visitors
would skip them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from tracker.plugin import (
    ApiError,
    Attribution,
    AuthError,
    ConversionSource,
    Endpoint,
    HttpSession,
    NotFound,
    Plugin,
    RateLimited,
    Sample,
    Secret,
    UnexpectedResponse,
    Window,
    option,
)

from ._analytics import Tally

PAGE_SIZE = 10_000  # the API's maximum
MONEY_METRICS = {"total_revenue", "average_revenue"}  # {"value": ..., "currency": ...} or null; the rest are numbers
PROVISIONAL_DAYS = 2
HOURLY_WAIT = 3600.0
DIRECT_SOURCES = {"direct / none"}
UNATTRIBUTED_SOURCES = {"(not set)", ""}


@dataclass(frozen=True)
class PlausibleOptions:
    site_id: str = option(help="The site's domain as registered in Plausible, e.g. example.com.")
    token: Secret = option(help="A Stats API key (Settings -> API Keys -> New API Key -> Stats API).")
    goals: list[str] = option([], help="Goal names to count as conversions, as shown in Plausible; empty = all goals.")
    base_url: str = option(
        "https://plausible.io", help="Plausible's address; change it for self-hosted Community Edition."
    )
    attribution: Attribution = option(
        Attribution(),
        help='Extra referrer hosts / UTM sources -> platform, e.g. { hosts = { "social.example" = "mastodon" } }',
    )


def platform_of(source: str, attribution: Attribution) -> str:
    """Plausible's source name (`Facebook`, `Direct / None`, a host) -> platform or bucket.

    Well-known networks arrive as names (`Reddit`) that are their .com host, so a
    name the table does not know is tried as that host before it counts as other.
    """
    value = source.strip()
    if value.lower() in DIRECT_SOURCES:
        return "direct"
    if value.lower() in UNATTRIBUTED_SOURCES:
        return "unattributed"
    platform = attribution.platform_for_source(value)
    if platform == "other" and re.fullmatch(r"[A-Za-z0-9-]+", value):
        platform = attribution.platform_for_host(f"{value}.com") or "other"
    return platform


def _url(opts: PlausibleOptions) -> str:
    return opts.base_url.rstrip("/") + "/api/v2/query"


def _error_text(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    text = str(body.get("error", "")) if isinstance(body, dict) else ""
    return " ".join(text.split()) or f"HTTP {response.status_code}"


def _raise_for(response: Any, opts: PlausibleOptions) -> None:
    """Turn Plausible's `{"error": ...}` answers into the domain error that says what to do."""
    status, text = response.status_code, _error_text(response)
    if status == 401:
        raise AuthError(
            f"Plausible refused the API key for site {opts.site_id!r} ({text}): check the key is a Stats API key "
            "of a user with access to this site, and that site_id is the domain as registered"
        )
    if status == 402:
        raise AuthError(f"Plausible: the plan behind site {opts.site_id!r} does not include the Stats API ({text})")
    if status == 429:
        burst = re.search(r"limit is (\d+) per (\d+) seconds", text)
        if burst:
            raise RateLimited(f"Plausible: too many requests in a short time ({text})", retry_after=float(burst[2]))
        raise RateLimited(
            f"Plausible: this API key used its hourly request allowance ({text}); sync again within the hour",
            retry_after=HOURLY_WAIT,
        )
    if status == 404:
        raise NotFound(
            f"no Plausible Stats API v2 at {opts.base_url} (self-hosted needs Community Edition v3 or later)"
        )
    raise ApiError(f"Plausible answered HTTP {status}: {text}")


def query(http: HttpSession, opts: PlausibleOptions, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """All result rows of one query, page after page until meta.total_rows is reached."""
    offset = 0
    while True:
        page = {**body, "include": {"total_rows": True}, "pagination": {"limit": PAGE_SIZE, "offset": offset}}
        response = http.post(_url(opts), json=page, headers={"Authorization": f"Bearer {opts.token.reveal()}"})
        if response.status_code != 200:
            _raise_for(response, opts)
        answer = Endpoint.of("Plausible", _url(opts))
        data = answer.object(answer.json(response))
        rows = [_checked_row(answer, row, body) for row in answer.objects(data, "results", required=True)]
        yield from rows
        offset += len(rows)
        total = (answer.get_object(data, "meta") or {}).get("total_rows")
        if not isinstance(total, (int, float)) or isinstance(total, bool) or not math.isfinite(total):
            total = None
        if not rows or (offset >= total if total is not None else len(rows) < PAGE_SIZE):
            return  # without total_rows (not echoed), only a short page says it was the last


def _checked_row(answer: Endpoint, row: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A result row with one text per dimension asked for and one value per metric (a number, or money)."""
    dimensions = answer.each_text(answer.get_list(row, "dimensions", required=True), 'under "dimensions"')
    values = answer.get_list(row, "metrics", required=True)
    asked = body.get("metrics", [])
    if len(dimensions) != len(body.get("dimensions", [])) or len(values) != len(asked):
        raise answer.unreadable(
            f"expected rows of {len(body.get('dimensions', []))} dimensions and {len(asked)} metrics, "
            f"got {len(dimensions)} and {len(values)}"
        )
    if body.get("dimensions", [None])[0] == "time:day":
        try:
            date.fromisoformat(dimensions[0][:10])
        except ValueError:
            raise answer.unreadable(f'expected a day under "dimensions", got {dimensions[0][:20]!r}') from None
    for name, value in zip(asked, values, strict=True):
        if name not in MONEY_METRICS:
            answer.number(value, f'under "metrics" ({name})')
        elif value is not None and answer.object(value, f'under "metrics" ({name})').get("value") is not None:
            answer.number(value["value"], f'under "metrics" ({name}.value)')
    return row


def _revenue(value: Any) -> float | None:
    """Revenue arrives as {"value": 12.5, "currency": ...} or null (no revenue goal, mixed currencies).

    null is never counted as 0: a site without revenue in one currency gets no revenue samples at all
    (see fetch); a goal without revenue beside revenue goals adds nothing to the day's revenue, which is right.
    """
    if isinstance(value, dict) and value.get("value") is not None:
        return float(value["value"])
    return None


def _count_visits(tally: Tally, rows: Iterator[dict[str, Any]], attribution: Attribution) -> None:
    for row in rows:
        day, source = row["dimensions"]
        visits, visitors = row["metrics"]
        platform = platform_of(source, attribution)
        tally.add(platform, "visits", date.fromisoformat(day[:10]), float(visits))
        tally.add(platform, "visitors", date.fromisoformat(day[:10]), float(visitors))


def _count_conversions(tally: Tally, rows: Iterator[dict[str, Any]], attribution: Attribution) -> bool:
    """Add conversions (and revenue); True when any row carried a revenue amount."""
    saw_revenue = False
    for row in rows:
        day, source, _goal = row["dimensions"]
        events, *rest = row["metrics"]
        platform, when = platform_of(source, attribution), date.fromisoformat(day[:10])
        tally.add(platform, "conversions", when, float(events))
        revenue = _revenue(rest[0]) if rest else None
        if revenue is not None:
            tally.add(platform, "revenue", when, revenue)
            saw_revenue = True
    return saw_revenue


def _conversion_rows(http: HttpSession, opts: PlausibleOptions, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Goal conversions with revenue; without revenue where the site's plan or version refuses it."""
    body = {
        **base,
        "metrics": ["events", "total_revenue"],
        "dimensions": ["time:day", "visit:source", "event:goal"],
        "filters": [["is", "event:goal", list(opts.goals)]] if opts.goals else [],
    }
    try:
        return list(query(http, opts, body))
    except ApiError as exc:
        if isinstance(exc, UnexpectedResponse) or "revenue" not in str(exc).lower():
            raise
    return list(query(http, opts, {**body, "metrics": ["events"]}))


def fetch(opts: PlausibleOptions, window: Window, http: HttpSession, state: dict) -> Iterator[list[Sample]]:
    base = {"site_id": opts.site_id, "date_range": [window.since.isoformat(), window.until.isoformat()]}
    tally = Tally()
    visits = {**base, "metrics": ["visits", "visitors"], "dimensions": ["time:day", "visit:source"]}
    _count_visits(tally, query(http, opts, visits), opts.attribution)
    saw_revenue = _count_conversions(tally, iter(_conversion_rows(http, opts, base)), opts.attribution)
    metrics = ("visits", "visitors", "conversions") + (("revenue",) if saw_revenue else ())
    yield tally.samples(window, metrics, PROVISIONAL_DAYS)


def check(opts: PlausibleOptions, http: HttpSession) -> str:
    body = {"site_id": opts.site_id, "date_range": "28d", "metrics": ["visits", "visitors"]}
    rows = list(query(http, opts, body))
    visits = int(rows[0]["metrics"][0]) if rows else 0  # no row for no data (shared/apis/plausible.md)
    return f"site {opts.site_id}: {visits:,} visits in the last 28 days"


plugin = Plugin(
    name="plausible",
    platforms=("*",),
    fetch=fetch,
    options=PlausibleOptions,
    description="Plausible Analytics: visits, visitors, goal conversions and revenue per traffic source.",
    lookback_days=3,
    day_rule="the site's reporting time zone in Plausible (days as Plausible returns them)",
    conversion_source=ConversionSource.ANALYTICS,
    covers_all_platforms=True,
    attribution="Plausible visit source; window: the session of the goal (it ends after 30 minutes without "
    "activity)",
    metrics={
        "visits": "Plausible `visits`: sessions that started from this source that day.",
        "visitors": "Plausible `visitors`: unique visitors from this source that day (summed over the sources "
        "that map to one platform, so a person arriving via two of them counts twice).",
        "conversions": "Plausible `events` per goal: completions of the configured goals (all goals when `goals` "
        "is empty) in visits from this source that day; Plausible cannot tell leads from orders.",
        "revenue": "Plausible `total_revenue` of revenue goals, in the goal's currency (only when the site has "
        "revenue goals in one currency).",
    },
    check=check,
)
