"""Google Business Profile: what people do on a shop's Maps and Search listing, per day, and its reviews.

For a bakery, a salon or a plumber the listing is often the last step before
the customer acts: a tap on "Call", a route to the shop, a booking, a message.
That is the nearest thing to a customer the platform can see, so those taps
are stored as `leads` of platform google_business (intents, not sales: the
report repeats that), each also kept on its own (`google_business.calls`, ...).
Website clicks are `link_clicks`, never conversions: the visit and its sale
are counted by the site's own analytics or shop export.

The plugin is a first-party conversion source covering only its own
platform: Google counts these taps where they happen, on its own surface,
and they are events no analytics or shop export sees (a call is not a web
order), so they add to a shop export's orders, as first-party sources do,
and are counted rather than an analytics guess for the same platform.

Numbers come from the Performance API (`fetchMultiDailyMetricsTimeSeries`,
windows of at most 31 days). Google leaves `value` out on zero days, and
may list the days it has not processed yet the same way; a run of such
days at the recent end is left unknown until a value shows up after it or
the days are older than PENDING_DAYS. Every sync re-reads ten days.
Rating and review count are read from the reviews list (v4), which also
gives new reviews per day and, for customer care, each review as a care item
answered by the owner's reply; reviews' texts and names are never stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.plugin import (
    ApiError,
    AuthError,
    CareItem,
    Channel,
    ConversionSource,
    Endpoint,
    HttpSession,
    NotFound,
    Notice,
    Plugin,
    QuotaExhausted,
    RateLimited,
    Sample,
    Unavailable,
    Window,
    next_midnight,
    option,
)

from ._bounds import within
from ._google_auth import AccessToken, load_credentials

PLATFORM = "google_business"
PRODUCT = "Google Business Profile"
SCOPE = "https://www.googleapis.com/auth/business.manage"
PERFORMANCE = "the Business Profile Performance API"
REVIEWS = "the Business Profile reviews API"
MAX_DAYS = 31  # the v1 maximum range is undocumented; shared/apis asks for windows of at most 31 days
LOOKBACK_DAYS = 10
REVISION_DAYS = 5  # Google says data "may still be missing for days close to the request date"
PENDING_DAYS = 5  # a valueless day at the recent end younger than this may be unprocessed, not zero
REVIEW_PAGE = 50  # the documented maximum pageSize
CARE_LOOKBACK_DAYS = 30  # the report's unanswered-questions gauge looks at the last 30 days
MAX_CARE_LOOKBACK_DAYS = 365
RATE_WAIT = 60.0  # the quotas are per minute
PACIFIC = ZoneInfo("America/Los_Angeles")

IMPRESSIONS = {
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS": "google_business.impressions_desktop_maps",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH": "google_business.impressions_desktop_search",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS": "google_business.impressions_mobile_maps",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH": "google_business.impressions_mobile_search",
}
LEADS = {
    "CALL_CLICKS": "google_business.calls",
    "MESSAGING_CLICKS": "google_business.messaging_clicks",
    "BUSINESS_BOOKINGS": "google_business.bookings",
    "BUSINESS_DIRECTION_REQUESTS": "google_business.direction_requests",
}
ORDERS = "BUSINESS_FOOD_ORDERS"  # deprecated 2025-10-22, removed 2027-04-22
DAILY = {
    **IMPRESSIONS,
    **LEADS,
    "WEBSITE_CLICKS": "link_clicks",
    "BUSINESS_FOOD_MENU_CLICKS": "google_business.menu_clicks",
    ORDERS: "orders",
}
# New or retiring metrics: when Google refuses a request without naming the metric, these are dropped first.
OPTIONAL = ("MESSAGING_CLICKS", ORDERS)
CHECKED = ("CALL_CLICKS", "BUSINESS_DIRECTION_REQUESTS", "WEBSITE_CLICKS")


def _number_of(value: str, kind: str) -> str:
    """`locations/4512...` or `4512...` -> the digits."""
    return str(value).strip().removeprefix(f"{kind}/")


@dataclass(frozen=True)
class GoogleBusinessOptions:
    location_id: str = option(
        help="The location's number: the digits of locations/... (Business Profile -> Settings -> Advanced "
        "settings -> Business Profile ID)."
    )
    credentials_file: str = option(
        help="Path to an OAuth token file of an owner or manager of the profile (client_id, client_secret, "
        "refresh_token), or a service-account key that Google lets manage it."
    )
    account_id: str | None = option(
        None, help="The number of the account holding the location (accounts/...): needed for rating and reviews."
    )
    base_url: str = option(
        "https://businessprofileperformance.googleapis.com", help="The Business Profile Performance API's address."
    )
    reviews_base_url: str = option(
        "https://mybusiness.googleapis.com", help="The Business Profile reviews (v4) API's address."
    )
    care_lookback_days: int = option(
        CARE_LOOKBACK_DAYS,
        help="Days of reviews read again on every sync for customer care, so an owner reply to an older review "
        f"is seen (0 to {MAX_CARE_LOOKBACK_DAYS}).",
    )

    def __post_init__(self) -> None:
        if not self.location.isdigit():
            raise ValueError(
                f"location_id {self.location_id!r} must be the location's number, the digits after locations/ "
                '(e.g. "4512345678901234567")'
            )
        if self.account_id is not None and not self.account.isdigit():
            raise ValueError(
                f"account_id {self.account_id!r} must be the account's number, the digits after accounts/ "
                '(e.g. "107812345678901234567")'
            )
        within("care_lookback_days", self.care_lookback_days, 0, MAX_CARE_LOOKBACK_DAYS)

    @property
    def location(self) -> str:
        return _number_of(self.location_id, "locations")

    @property
    def account(self) -> str:
        return _number_of(self.account_id or "", "accounts")


class _Forbidden(AuthError):
    """A 403: a disabled API, a missing scope, or a person who may not manage the location. The reviews read
    turns it into a notice, so the listing's other numbers still land."""


class _InvalidArgument(ApiError):
    """A 400 INVALID_ARGUMENT; `detail` holds Google's whole error, which may name the metric it refused."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class _Envelope:
    """The parts of a google.rpc.Status answer the plugin branches on."""

    status: int
    message: str
    reasons: set[str]
    quota_limit: str | None
    service: str
    raw: str


def _envelope(response: Any) -> _Envelope:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        error = {}
    error = error if isinstance(error, dict) else {"message": str(error)}
    listed = error.get("details")
    details: list[dict[str, Any]] = [d for d in listed if isinstance(d, dict)] if isinstance(listed, list) else []
    metadata: list[dict[str, Any]] = [d["metadata"] for d in details if isinstance(d.get("metadata"), dict)]
    return _Envelope(
        status=response.status_code,
        message=" ".join(str(error.get("message", "")).split())[:300],
        reasons={str(d.get("reason", "")) for d in details} | {str(error.get("status", ""))},
        quota_limit=next((str(m["quota_limit_value"]) for m in metadata if "quota_limit_value" in m), None),
        service=next((str(m["service"]) for m in metadata if "service" in m), ""),
        raw=json.dumps(error)[:2000],
    )


def _retry_after(response: Any) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", RATE_WAIT)))
    except ValueError:
        return RATE_WAIT


def _error(response: Any, opts: GoogleBusinessOptions, who: str, api: str) -> Exception:
    """Google's error answers -> the domain error that says what to do (shared/apis/google-business-profile.md)."""
    e = _envelope(response)
    said = f" ({e.message})" if e.message else ""
    if e.status == 429 and e.quota_limit == "0":
        return AuthError(
            f"waiting for Google access: the Cloud project of {who} has a quota of 0 for {e.service or api} until "
            "Google approves its Business Profile API access request (GBP API contact form); do not ask for a "
            "quota increase"
        )
    if e.status == 429:
        if "per day" in e.message.lower():
            return QuotaExhausted(f"the daily quota of {api} is spent{said}", until=next_midnight(PACIFIC))
        return RateLimited(f"{api} asks to slow down{said}", retry_after=_retry_after(response))
    if e.status == 403 and ("SERVICE_DISABLED" in e.reasons or "has not been used" in e.message):
        name = e.service or api
        return _Forbidden(f"{name} is not enabled in the Cloud project of {who}: enable it in the Google Cloud console")
    if e.status == 403 and "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in e.reasons:
        return _Forbidden(f"{who} lacks the scope {SCOPE}: sign in again asking for it")
    if e.status == 403:
        return _Forbidden(
            f"{who} may not read location {opts.location}: sign in as an owner or manager of the Business "
            f"Profile (a service account must be added as a manager){said}"
        )
    if e.status == 404:
        where = f"location {opts.location}" + (f" in account {opts.account}" if api == REVIEWS else "")
        fix = "check location_id and account_id" if api == REVIEWS else "check location_id"
        return NotFound(f"Google knows no {where}{said}: {fix}")
    if e.status == 400:
        return _InvalidArgument(f"{api} refused the request{said}", e.raw)
    return ApiError(f"{api} answered HTTP {e.status}{said or ': ' + response.text[:200]}")


@dataclass
class _Client:
    """One fetch's authenticated reads; an access token refused with 401 is renewed once."""

    opts: GoogleBusinessOptions
    http: HttpSession
    token: AccessToken

    @classmethod
    def of(cls, opts: GoogleBusinessOptions, http: HttpSession) -> _Client:
        return cls(opts, http, AccessToken(load_credentials(opts.credentials_file, PRODUCT, SCOPE), http))

    @property
    def who(self) -> str:
        return self.token.account.who

    def get(self, url: str, params: list[tuple[str, str]], api: str) -> dict[str, Any]:
        for attempt in (1, 2):
            response = self.http.get(url, params=params, headers=self.token.header())
            if response.status_code == 401 and attempt == 1:
                self.token.invalidate()
                continue
            if response.status_code == 401:
                raise AuthError(f"{api} does not accept the access token of {self.who}: write a new token file")
            if response.status_code != 200:
                raise _error(response, self.opts, self.who, api)
            answer = Endpoint.of(api, url)
            return answer.object(answer.json(response))
        raise AssertionError("unreachable")


# --- performance ------------------------------------------------------------------------------------------------


@dataclass
class _Asked:
    """The metrics still asked for in this fetch, and why Google refused the others."""

    metrics: list[str] = field(default_factory=lambda: list(DAILY))
    refused: dict[str, str] = field(default_factory=dict)


Series = dict[str, dict[date, float | None]]  # metric -> listed day -> value (None: Google left `value` out)


def _range(since: date, until: date) -> list[tuple[str, str]]:
    """The snake_case form the docs' examples use (shared/apis: camelCase was reported ignored)."""
    return [
        (f"dailyRange.{end}_date.{part}", str(getattr(day, part)))
        for end, day in (("start", since), ("end", until))
        for part in ("year", "month", "day")
    ]


def _refused_metrics(error: _InvalidArgument, asked: list[str]) -> list[str]:
    """The metrics a 400 names (by name, or as daily_metrics[i]); else the new or retiring ones."""
    named = [m for m in asked if re.search(rf"\b{m}\b", error.detail)]
    if named:
        return named
    indices = {int(i) for i in re.findall(r"daily_?[mM]etrics\[(\d+)\]", error.detail)}
    by_index = [asked[i] for i in sorted(indices) if i < len(asked)]
    return by_index or [m for m in OPTIONAL if m in asked]


def performance(client: _Client, since: date, until: date, asked: _Asked) -> Series:
    """Every asked metric's days since..until; a metric Google refuses is dropped and the request sent again."""
    url = f"{client.opts.base_url.rstrip('/')}/v1/locations/{client.opts.location}:fetchMultiDailyMetricsTimeSeries"
    while True:
        params = [("dailyMetrics", m) for m in asked.metrics] + _range(since, until)
        try:
            body = client.get(url, params, PERFORMANCE)
        except _InvalidArgument as exc:
            refused = _refused_metrics(exc, asked.metrics)
            if not refused:
                raise
            for metric in refused:
                asked.refused[metric] = f"Google refused {metric}: {exc}"
            asked.metrics = [m for m in asked.metrics if m not in refused]
            if not asked.metrics:
                raise
            continue
        return _series(Endpoint.of(PERFORMANCE, url), body)


def _date(answer: Endpoint, value: dict[str, Any]) -> date:
    parts = [answer.number(value.get(k), f'under "date.{k}"') for k in ("year", "month", "day")]
    try:
        return date(*(int(p) for p in parts))
    except (ValueError, OverflowError):  # a year of 2**31 overflows before it is out of range
        raise answer.unreadable(f"expected a calendar date, got {parts}") from None


def _series(answer: Endpoint, body: dict[str, Any]) -> Series:
    """multiDailyMetricTimeSeries[] -> dailyMetricTimeSeries[] -> timeSeries.datedValues[], flattened."""
    found: Series = {}
    for outer in answer.objects(body, "multiDailyMetricTimeSeries"):
        for inner in answer.objects(outer, "dailyMetricTimeSeries"):
            days = found.setdefault(answer.text(inner, "dailyMetric"), {})
            for point in answer.objects(answer.get_object(inner, "timeSeries") or {}, "datedValues"):
                day = _date(answer, answer.get_object(point, "date", required=True) or {})
                value = point.get("value")  # an int64 string, left out on zero days
                days[day] = None if value is None else answer.number(value, 'under "value"')
    return found


def pending_days(series: Series, today: date) -> set[date]:
    """Listed days that may not be processed yet: no metric has a value on them or after them, and they are
    younger than PENDING_DAYS. Google lists a zero day without `value`, and perhaps an unprocessed one too."""
    listed = {d for days in series.values() for d in days}
    valued = [d for days in series.values() for d, v in days.items() if v is not None]
    last_valued = max(valued, default=date.min)
    return {d for d in listed if d > last_valued and d > today - timedelta(days=PENDING_DAYS)}


def _sum(series: Series, metrics: list[str], day: date) -> float | None:
    """The metrics' sum on `day` (a listed day without value is 0), or None unless every one of them lists it."""
    if not metrics or any(day not in series.get(m, {}) for m in metrics):
        return None
    return sum(series[m][day] or 0.0 for m in metrics)


def day_samples(series: Series, asked: list[str], day: date, provisional: bool) -> list[Sample]:
    """One day's samples: each metric as Google gives it, and the totals built from complete parts only."""
    found = {DAILY[m]: _sum(series, [m], day) for m in asked}
    found["profile_views"] = _sum(series, list(IMPRESSIONS), day)
    found["leads"] = _sum(series, [m for m in LEADS if m in asked], day)
    orders = found.get("orders", 0.0)
    leads = found["leads"]
    found["conversions"] = None if leads is None or orders is None else leads + orders
    return [Sample(PLATFORM, metric, day, value, provisional) for metric, value in found.items() if value is not None]


def _performance_samples(client: _Client, window: Window, asked: _Asked) -> Iterator[list[Sample] | Unavailable]:
    chunks = []
    for chunk in window.chunks(MAX_DAYS):
        end = min(chunk.until, window.today)
        if chunk.since <= end:
            chunks.append((chunk.since, end, performance(client, chunk.since, end, asked)))
    merged: Series = {}
    for _since, _end, series in chunks:
        for metric, days in series.items():
            merged.setdefault(metric, {}).update(days)
    pending = pending_days(merged, window.today)
    for since, end, series in chunks:
        listed = sorted({d for days in series.values() for d in days if since <= d <= end and d not in pending})
        yield [s for d in listed for s in day_samples(series, asked.metrics, d, _provisional(window, d))]
    for metric, reason in asked.refused.items():
        yield Unavailable(PLATFORM, DAILY[metric], reason)
    for metric in asked.metrics:
        if metric not in merged:
            yield Unavailable(PLATFORM, DAILY[metric], f"Google's answer had no {metric} series")


def _surface(api_metric: str) -> str:
    """BUSINESS_IMPRESSIONS_DESKTOP_MAPS -> "desktop maps"."""
    return api_metric.removeprefix("BUSINESS_IMPRESSIONS_").replace("_", " ").lower()


def _provisional(window: Window, day: date) -> bool:
    return window.is_provisional(day, REVISION_DAYS)


# --- reviews ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    """When a review came in, was last changed, and when the owner's reply was last written; no text, no reviewer.

    `name` is the review's resource name (accounts/.../reviews/...), the platform's id the core stores only
    as a salted hash; it names the review, never the person who wrote it.
    """

    name: str
    created: datetime
    updated: datetime
    replied: datetime | None


@dataclass(frozen=True)
class Reviews:
    """The listing's rating and review count, and the reviews changed since the time asked for."""

    average: float | None
    total: float | None
    items: list[Review]


def care_facts(reviews: Iterable[Review]) -> list[CareItem]:
    """Reviews as care items: a review with an owner reply counts as answered.

    Google keeps one reply per review and only the time it was last written (`reviewReply.updateTime`): a
    reply edited before tracker first saw it looks later than it was, so the response time is an upper
    bound. Once stored, the core keeps the earliest reply time seen, so later edits do not move it.
    The reviews API has no field for a deleted or hidden review (Google just stops listing it), so no
    item is ever marked deleted. Nothing of the text or the reviewer reaches here.
    """
    return [CareItem(PLATFORM, Channel.REVIEW, r.name, r.created, r.replied) for r in reviews]


def _instant(answer: Endpoint, body: dict[str, Any], key: str) -> datetime:
    text = answer.text(body, key)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise answer.unreadable(f'expected an RFC 3339 time under "{key}", got {text[:40]!r}') from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _review(answer: Endpoint, body: dict[str, Any]) -> Review:
    name = answer.get_text(body, "name") or answer.text(body, "reviewId")
    created = _instant(answer, body, "createTime")
    updated = _instant(answer, body, "updateTime") if body.get("updateTime") is not None else created
    reply = answer.get_object(body, "reviewReply")
    replied = _instant(answer, reply, "updateTime") if reply is not None else None
    return Review(name, created, updated, replied)


def _count(answer: Endpoint, body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    return None if value is None else answer.number(value, f'under "{key}"')


def _reviews_url(opts: GoogleBusinessOptions) -> str:
    return f"{opts.reviews_base_url.rstrip('/')}/v4/accounts/{opts.account}/locations/{opts.location}/reviews"


def _totals(answer: Endpoint, body: dict[str, Any]) -> tuple[float | None, float | None]:
    """(averageRating, totalReviewCount); proto3 JSON leaves zero counts out, so a listing without reviews
    answers `{}`: no rating, and 0 reviews."""
    total = _count(answer, body, "totalReviewCount")
    if total is None and not answer.get_list(body, "reviews"):
        total = 0.0
    return _count(answer, body, "averageRating"), total


def list_reviews(client: _Client, changed_since: datetime) -> Reviews:
    """Reviews newest change first, page by page, until one changed before `changed_since` (a review's
    updateTime is never before its createTime, so every review created since then has been read)."""
    url = _reviews_url(client.opts)
    answer = Endpoint.of(REVIEWS, url)
    params = [("pageSize", str(REVIEW_PAGE)), ("orderBy", "updateTime desc")]
    first = body = client.get(url, params, REVIEWS)
    items: list[Review] = []
    seen: set[str] = set()
    while True:
        page = [_review(answer, r) for r in answer.objects(body, "reviews")]
        items += [r for r in page if r.updated >= changed_since]
        token = answer.get_text(body, "nextPageToken")
        if not token or not page or page[-1].updated < changed_since:
            break
        if token in seen:
            raise answer.unreadable("the same nextPageToken twice")
        seen.add(token)
        body = client.get(url, [*params, ("pageToken", token)], REVIEWS)
    return Reviews(*_totals(answer, first), items)


def review_totals(client: _Client) -> tuple[float | None, float | None]:
    """(rating, review count) from a one-review page: the cheapest authenticated read of the reviews API."""
    url = _reviews_url(client.opts)
    return _totals(Endpoint.of(REVIEWS, url), client.get(url, [("pageSize", "1")], REVIEWS))


def _start_of(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def review_samples(reviews: Reviews, window: Window) -> Iterator[list[Sample] | Unavailable]:
    """Rating and review count on today (snapshots), and new reviews per day of the account's time zone."""
    if window.since <= window.today <= window.until:
        if reviews.total is None:
            yield Unavailable(PLATFORM, "reviews_total", "the reviews answer had no totalReviewCount")
        else:
            yield [Sample(PLATFORM, "reviews_total", window.today, reviews.total, provisional=True)]
        if reviews.average is not None and reviews.average > 0:
            yield [Sample(PLATFORM, "rating", window.today, reviews.average, provisional=True)]
        elif reviews.total:
            yield Unavailable(PLATFORM, "rating", "the reviews answer had no averageRating")
    new = {d: 0 for d in window.days() if d <= window.today}
    for review in reviews.items:
        day = review.created.astimezone(window.timezone).date()
        if day in new:
            new[day] += 1
    yield [Sample(PLATFORM, "google_business.reviews_new", d, n) for d, n in new.items()]


# --- plugin -----------------------------------------------------------------------------------------------------


def reviews_since(opts: GoogleBusinessOptions, window: Window) -> datetime:
    """How far back reviews are read: the window, or the care lookback if that reaches further, so a late
    owner reply to an older review is seen even if Google does not move the review's updateTime for it."""
    care = window.today - timedelta(days=opts.care_lookback_days)
    return _start_of(min(window.since, care), window.timezone)


def _review_parts(
    client: _Client, window: Window
) -> Iterator[list[Sample] | list[CareItem] | Unavailable | Notice]:
    """Rating, review counts and care items; a 403 from the reviews API is one notice, not a failed account."""
    try:
        reviews = list_reviews(client, reviews_since(client.opts, window))
    except _Forbidden as exc:
        yield Notice(f"reviews not read (no rating, review counts or customer care this sync): {exc}")
        return
    yield from review_samples(reviews, window)
    yield care_facts(reviews.items)


def fetch(
    opts: GoogleBusinessOptions, window: Window, http: HttpSession, state: dict[str, Any]
) -> Iterator[list[Sample] | list[CareItem] | Unavailable | Notice]:
    client = _Client.of(opts, http)
    yield from _performance_samples(client, window, _Asked())
    if opts.account_id:
        yield from _review_parts(client, window)


def check(opts: GoogleBusinessOptions, http: HttpSession) -> str:
    client = _Client.of(opts, http)
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=6)
    series = performance(client, start, end, _Asked(list(CHECKED)))
    total = {m: sum(v or 0 for v in series.get(m, {}).values()) for m in CHECKED}
    text = (
        f"location {opts.location}: {total['CALL_CLICKS']:,.0f} calls, {total['BUSINESS_DIRECTION_REQUESTS']:,.0f} "
        f"direction requests, {total['WEBSITE_CLICKS']:,.0f} website clicks in the 7 days to {end}"
    )
    if opts.account_id:
        average, count = review_totals(client)
        rating = f"{average:.1f} stars from " if average else ""
        text += f"; {rating}{count or 0:,.0f} reviews"
    else:
        text += "; no account_id, so no rating or reviews"
    return f"{text}; read with {client.who}"


plugin = Plugin(
    name="google_business",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=GoogleBusinessOptions,
    description="Google Business Profile: listing views on Maps and Search, calls, direction requests, bookings "
    "and messages (as leads), website clicks, rating and reviews, and owner replies to reviews (customer care).",
    lookback_days=LOOKBACK_DAYS,
    day_rule="Business Profile days as Google reports them (plain dates, the location's own day; never shifted); "
    "rating, review count and new reviews on the account's timezone",
    conversion_source=ConversionSource.FIRST_PARTY,
    covers_all_platforms=False,
    attribution="Google's own count of taps on Call, Message, Book and Directions on the Business Profile in Maps "
    "and Search: intents, not sales (a call tap may go unanswered; a route is not a visit)",
    metrics={
        "profile_views": "Times the listing was shown on Maps and Search, desktop and mobile (Google's business "
        "impressions: one per person, surface and day); the sum of the four surfaces.",
        **{extra: f"Business impressions that day on {_surface(api)} (one per person per day)."
           for api, extra in IMPRESSIONS.items()},
        "leads": "Taps on Call, Message, Book (Reserve with Google) and Directions that day: intents to become "
        "a customer, not sales.",
        "google_business.calls": "Taps on the listing's Call button that day (CALL_CLICKS; a tap, not a call held).",
        "google_business.messaging_clicks": "Taps on the listing's chat or message buttons (MESSAGING_CLICKS).",
        "google_business.bookings": "Bookings made through Reserve with Google (BUSINESS_BOOKINGS).",
        "google_business.direction_requests": "Requests for a route to the shop (BUSINESS_DIRECTION_REQUESTS).",
        "link_clicks": "Taps on the listing's website link (WEBSITE_CLICKS); the visit itself is counted by analytics.",
        "google_business.menu_clicks": "People who opened the menu that day (BUSINESS_FOOD_MENU_CLICKS).",
        "orders": "Food orders through the listing (BUSINESS_FOOD_ORDERS, no amounts; Google removes it 2027-04-22).",
        "conversions": "Leads plus food orders.",
        "rating": "The average star rating of the reviews (averageRating), as read that day.",
        "reviews_total": "Reviews of the location in total (totalReviewCount), as read that day.",
        "google_business.reviews_new": "Reviews written that day (by createTime, in the account's timezone).",
    },
    check=check,
)
