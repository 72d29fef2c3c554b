"""Matomo (self-hosted or Matomo Cloud): visits and goal conversions per traffic source.

Four Reporting API reports, each for a range of days at once (`period=day`,
`date=A,B`), together cover every visit exactly once: `Referrers.getSocials`
(networks by name), `getWebsites` (referring hosts), `getCampaigns` (campaign
names) and `getReferrerType` for what has no detail report (direct entries,
search engines, AI assistants). `Referrers.getAll` would be one report, but it
refuses date ranges. Conversions come from each row's `goals` column: the
conversions Matomo attributed to that referrer, split into ecommerce orders and
other goals (leads). The token goes in the POST body only: Matomo 5 rejects
secure-only tokens in the URL, and URLs end up in logs.
"""

from __future__ import annotations

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
    Plugin,
    Sample,
    Secret,
    Unavailable,
    UnexpectedResponse,
    Window,
    option,
)

from ._analytics import Tally
from ._bounds import within

PAGE_SIZE = 500  # rows per day table per request (filter_limit)
MAX_DAYS = 31  # days per request: keeps one request's archiving work (and its time) bounded
PROVISIONAL_DAYS = 2
METRICS = ("visits", "visitors", "conversions", "leads", "orders", "revenue")
ORDER_GOAL = "ecommerceOrder"
SKIPPED_GOALS = {"ecommerceAbandonedCart"}  # a cart left behind is not a conversion
COLUMNS = {  # metric -> the report column it comes from, for "missing" notes
    "visits": "nb_visits",
    "visitors": "nb_uniq_visitors",
    "conversions": "the goal's nb_conversions",
    "leads": "the goal's nb_conversions",
    "orders": "the goal's nb_conversions",
    "revenue": "the goal's revenue",
}
MATOMO = Endpoint("Matomo")  # for parsing rows read elsewhere
AUTH_HINTS = ("token_auth", "'view' access", "can't access", "authenticat", "not logged in")

MAX_SITE_ID = 2**32 - 1  # idSite is an unsigned 32-bit column in Matomo's schema


@dataclass(frozen=True)
class MatomoOptions:
    base_url: str = option(help="Your Matomo's address, e.g. https://stats.example.com (the folder with index.php).")
    site_id: int = option(help="The website's ID in Matomo (idSite, shown under Administration -> Websites; "
                          f"1 to {MAX_SITE_ID}).")
    token: Secret = option(help="A token_auth of a user with view access (Administration -> Personal -> Security).")
    goals: list[str] = option([], help='Goal IDs to count, e.g. ["1", "ecommerceOrder"]; empty = all goals.')
    attribution: Attribution = option(
        Attribution(),
        help='Extra referrer hosts / UTM sources -> platform, e.g. { hosts = { "social.example" = "mastodon" } }',
    )

    def __post_init__(self) -> None:
        within("site_id", self.site_id, 1, MAX_SITE_ID)


def _endpoint(opts: MatomoOptions) -> str:
    url = opts.base_url.rstrip("/")
    return url if url.endswith("index.php") else url + "/index.php"


def _answer(opts: MatomoOptions, method: str) -> Endpoint:
    """Every report shares one path, so the method names what answered."""
    return Endpoint("Matomo", f"{method} ({Endpoint.of('', _endpoint(opts)).path})")


def _number(value: Any) -> float | None:
    """Matomo emits numbers as ints, floats or strings ("1", "79.8"), depending on the report; None when the
    row left the column out (or it is no number): unknown, never zero."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer of 400 digits
        return None


def _raise_error(opts: MatomoOptions, method: str, status: int, message: str) -> None:
    message = " ".join(message.split())[:300]
    if status in (401, 403) or any(hint in message for hint in AUTH_HINTS):
        raise AuthError(
            f"Matomo refused the token for site {opts.site_id} ({message}): use a token_auth of a user with view "
            "access to this site (Administration -> Personal -> Security)"
        )
    raise ApiError(f"Matomo {method} failed (HTTP {status}): {message}")


def call(http: HttpSession, opts: MatomoOptions, method: str, **params: Any) -> Any:
    """One Reporting API call; both error styles (HTTP 200 and 4xx with result=error) raise."""
    body = {"module": "API", "method": method, "idSite": opts.site_id, "format": "JSON", **params}
    response = http.post(_endpoint(opts), data={**body, "token_auth": opts.token.reveal()})
    try:
        data = _answer(opts, method).json(response)
    except UnexpectedResponse as exc:
        if response.status_code in (401, 403):
            _raise_error(opts, method, response.status_code, "access denied")
        raise UnexpectedResponse(
            f"{exc}: check base_url ({opts.base_url}) points at the Matomo install (the folder with index.php)"
        ) from None
    if isinstance(data, dict) and data.get("result") == "error":
        _raise_error(opts, method, response.status_code, str(data.get("message", "")))
    if response.status_code != 200:
        _raise_error(opts, method, response.status_code, response.text[:200])
    return data


def report(
    http: HttpSession, opts: MatomoOptions, method: str, window: Window
) -> Iterator[tuple[date, dict[str, Any]]]:
    """(day, row) for every row of a per-day report, paging each day's table with filter_offset."""
    dates = f"{window.since.isoformat()},{window.until.isoformat()}"
    answer = _answer(opts, method)
    offset = 0
    while True:
        data = call(http, opts, method, period="day", date=dates, filter_limit=PAGE_SIZE, filter_offset=offset)
        found = data if isinstance(data, dict) else answer.each_object(answer.array(data), "as rows")
        tables = found if isinstance(found, dict) else {window.since.isoformat(): found}
        full = False
        for day, rows in tables.items():
            when = _day(answer, day)
            rows = answer.each_object(rows if isinstance(rows, list) else [rows], f'under "{day}"')
            full = full or len(rows) >= PAGE_SIZE
            for row in rows:
                yield when, row
        if not full:
            return
        offset += PAGE_SIZE


def _day(answer: Endpoint, key: str) -> date:
    """A multi-date answer is keyed by day; any other key means the answer is not one."""
    try:
        return date.fromisoformat(key)
    except ValueError:
        raise answer.unreadable(f"expected tables keyed by day, got the key {key[:40]!r}") from None


def social_platform(row: dict[str, Any], attribution: Attribution) -> str:
    """A network Matomo names (`Facebook`, `reddit`): by name, then by its main host (`url`, or name + .com)."""
    label = str(row.get("label", ""))
    platform = attribution.platform_for_source(label)
    for host in (row.get("url"), f"{label}.com" if re.fullmatch(r"[A-Za-z0-9-]+", label) else None):
        if platform == "other" and host:
            platform = attribution.platform_for_host(str(host)) or "other"
    return platform


def _referrer_type(row: dict[str, Any]) -> str:
    """`direct`, `search`, `website`, ... from the segment (labels are translated, so never the label)."""
    match = re.search(r"referrerType==(\w+)", str(row.get("segment", "")))
    if match:
        return match[1]
    code = _number(row.get("referer_type"))
    return {1: "direct", 2: "search", 3: "website", 6: "campaign", 7: "social"}.get(int(code or 0), "")


def _platform_by_type(row: dict[str, Any], attribution: Attribution) -> str | None:
    """getReferrerType rows without a detail report: direct, or other (search engines, AI assistants)."""
    kind = _referrer_type(row)
    if kind in ("website", "social", "campaign"):
        return None  # counted from their own reports
    return "direct" if kind == "direct" else "other"


def _campaign_platform(row: dict[str, Any], attribution: Attribution) -> str:
    """Matomo keeps only the campaign name (utm_source only when no name): `tracker link` names campaigns
    `<platform>-<name>`; any other name that is no source is unattributed."""
    return attribution.platform_for_campaign(str(row.get("label", ""))) or "unattributed"


REPORTS = {
    "Referrers.getReferrerType": _platform_by_type,
    "Referrers.getSocials": social_platform,
    "Referrers.getWebsites": lambda row, a: a.platform_for_source(str(row.get("label", ""))),
    "Referrers.getCampaigns": _campaign_platform,
}


def _count(
    tally: Tally, platform: str, day: date, row: dict[str, Any], goals: list[str], answer: Endpoint = MATOMO
) -> None:
    """Add one referrer row; a column the row leaves out makes that figure unknown (Matomo drops
    `nb_uniq_visitors` where unique visitors are not processed), while a row without `goals` had no
    conversions: Matomo adds that column only when there are some (shared/apis/matomo.md, Response shapes)."""
    tally.add(platform, "visits", day, _number(row.get("nb_visits")))
    tally.add(platform, "visitors", day, _number(row.get("nb_uniq_visitors")))
    for key, goal in (answer.get_object(row, "goals") or {}).items():
        goal_id = str(key).removeprefix("idgoal=")
        if goal_id in SKIPPED_GOALS or (goals and goal_id not in goals):
            continue
        goal = answer.object(goal, f'under "goals.{key}"')
        conversions = _number(goal.get("nb_conversions"))
        tally.add(platform, "conversions", day, conversions)
        tally.add(platform, "orders" if goal_id == ORDER_GOAL else "leads", day, conversions)
        tally.add(platform, "revenue", day, _number(goal.get("revenue")))


def fetch(opts: MatomoOptions, window: Window, http: HttpSession, state: dict) -> Iterator[list[Sample] | Unavailable]:
    goals = [str(g) for g in opts.goals]
    for chunk in window.chunks(MAX_DAYS):
        tally = Tally()
        for method, platform_of in REPORTS.items():
            for day, row in report(http, opts, method, chunk):
                platform = platform_of(row, opts.attribution)
                if platform is not None:
                    _count(tally, platform, day, row, goals, _answer(opts, method))
        yield tally.samples(chunk, METRICS, PROVISIONAL_DAYS)
        yield from tally.unavailable("Matomo", COLUMNS)


def check(opts: MatomoOptions, http: HttpSession) -> str:
    site = _answer(opts, "SitesManager.getSiteFromId").object(call(http, opts, "SitesManager.getSiteFromId"))
    return f"site {site.get('name')} ({site.get('main_url')}), time zone {site.get('timezone')}, {site.get('currency')}"


plugin = Plugin(
    name="matomo",
    platforms=("*",),
    fetch=fetch,
    options=MatomoOptions,
    description="Matomo: visits, visitors, goal conversions, ecommerce orders and revenue per traffic source.",
    lookback_days=3,
    day_rule="the site's time zone in Matomo (days as Matomo returns them)",
    conversion_source=ConversionSource.ANALYTICS,
    covers_all_platforms=True,
    attribution="Matomo goal attribution: the referrer (campaign name or site) Matomo credits for the conversion; "
    "window: Matomo's referrer cookie (by default the last referrer within 6 months)",
    metrics={
        "visits": "Matomo `nb_visits`: visits whose referrer was this source that day.",
        "visitors": "Matomo `nb_uniq_visitors`: unique visitors from this source that day (summed over the referrers "
        "that map to one platform); missing, not 0, where Matomo leaves the column out.",
        "conversions": "Matomo goal conversions attributed to this source (the `goals` column of the referrer "
        "reports): the selected goals plus ecommerce orders, abandoned carts excluded.",
        "leads": "Conversions of the selected (non-ecommerce) goals attributed to this source.",
        "orders": "Ecommerce orders (`idgoal=ecommerceOrder`) attributed to this source.",
        "revenue": "Goal revenue plus ecommerce order revenue attributed to this source, in the site's currency.",
    },
    check=check,
)
