"""Pinterest: a business account's followers, its daily impressions, saves, pin clicks, outbound clicks and
engagement, and the pins it publishes (API v5).

Three things about Pinterest shape this module:
- Analytics days are UTC days, and each carries a `data_status`. Only READY numbers are final. A day still
  PROCESSING carries 0.0 placeholders, which are not zeros: it gets no sample and is read again by later
  syncs (lookback); an ESTIMATE is stored as provisional. The days a run left unfinished are remembered, so
  a later sync whose window no longer reaches them says so instead of losing them in silence.
- Nothing older than 90 days can ever be read. A window reaching further back is cut at that wall, and the
  sync says which days are lost for good, rather than storing nothing without a word.
- Account levels (followers) have no history: they are daily snapshots on the account's today. Pins are
  listed page by page to the end (Pinterest does not document the list's order) and counted on the day
  they were published, in the account's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tracker.plugin import (
    ApiError,
    AuthError,
    Endpoint,
    HttpSession,
    NotFound,
    Notice,
    Plugin,
    RateLimited,
    Sample,
    Secret,
    State,
    Unavailable,
    Window,
    option,
)

PLATFORM = "pinterest"
SERVICE = "Pinterest"
DEFAULT_BASE_URL = "https://api.pinterest.com/v5"
# start_date may be at most 90 days before Pinterest's (UTC) today; the account's today can be a day behind
# UTC, so counting from it, 89 days back is always inside the wall.
HISTORY_DAYS = 89
MAX_SPAN_DAYS = 90  # end_date at most 90 days after start_date
PAGE_SIZE = 250  # the documented maximum of GET /pins
LOOKBACK_DAYS = 7  # analytics lag about two days; a new pin's reactions keep coming for about a week
SCOPES = "user_accounts:read, pins:read and boards:read"
# Analytics metric -> tracker metric; the *_RATE twins are ratios and are neither asked for nor stored.
DAILY = {
    "IMPRESSION": "impressions",
    "SAVE": "pinterest.saves",
    "PIN_CLICK": "pinterest.pin_clicks",
    "OUTBOUND_CLICK": "link_clicks",
    "ENGAGEMENT": "engagements",
}
STORED = {"READY": False, "ESTIMATE": True}  # data_status -> provisional; any other status has no numbers
UNFINISHED = {"PROCESSING", "ESTIMATE"}  # statuses whose numbers are still to come or to change
SNAPSHOT = {
    "follower_count": "followers",
    "following_count": "following",
    "pin_count": "pinterest.pin_count",
    "monthly_views": "pinterest.monthly_views",
}
POST_COUNTS = {"reaction": "post_likes", "comment": "post_replies"}  # pin_metrics.lifetime_metrics keys
NOT_READY = "not_ready"  # state: UTC days (ISO) Pinterest had not finished when last read


@dataclass(frozen=True)
class PinterestOptions:
    token: Secret = option(
        help=f"OAuth access token (pina_...) of the Pinterest business account, with the scopes {SCOPES}."
    )
    base_url: str = option(DEFAULT_BASE_URL, help="API root, /v5 included; tests point it at a fake server.")


# --- HTTP ------------------------------------------------------------------------------------------------


def _message(response: Any) -> str:
    """Pinterest's own `message` (its `code` is its own number, not the HTTP status), on one line."""
    try:
        body = response.json()
    except ValueError:
        return ""
    text = body.get("message") if isinstance(body, dict) else None
    return " ".join(str(text).split())[:200] if text else ""


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def _error(response: Any, what: str) -> Exception:
    """The domain error for a failed answer; Pinterest is branched on by HTTP status, as it documents."""
    status, message = response.status_code, _message(response)
    if status == 401:
        return AuthError(
            "Pinterest refused the access token (option `token`): it has expired (access tokens last 30 days) or "
            f"was revoked; refresh it with your refresh token or authorize the app again (scopes {SCOPES}) and put "
            "the new token in the environment variable"
        )
    if status == 403:
        return AuthError(
            f"Pinterest denied access to {what} ({message or 'forbidden'}): the token needs the scopes {SCOPES}, "
            "and analytics need a business account (convert a personal one for free in Pinterest's settings)"
        )
    if status == 429:
        return RateLimited(
            f"Pinterest's rate limit was reached while reading {what} (an app with Trial access may make 1,000 "
            "requests a day); this sync stops here and the next one reads the same days again",
            retry_after=_retry_after(response),
        )
    if status == 404:
        return NotFound(f"Pinterest has no {what} for this token ({message or 'not found'})")
    return ApiError(f"Pinterest answered HTTP {status} while reading {what}: {message or 'no details'}")


def _get(
    http: HttpSession, opts: PinterestOptions, path: str, what: str, params: dict[str, Any] | None = None
) -> tuple[Endpoint, dict[str, Any]]:
    """One GET; the token travels only in the Authorization header."""
    url = f"{opts.base_url.rstrip('/')}/{path}"
    response = http.get(url, params=params, headers={"Authorization": f"Bearer {opts.token.reveal()}"})
    if response.status_code >= 400:
        raise _error(response, what)
    answer = Endpoint.of(SERVICE, url)
    return answer, answer.object(answer.json(response))


# --- the account -------------------------------------------------------------------------------------------


def user_account(opts: PinterestOptions, http: HttpSession) -> dict[str, Any]:
    """The account; its counts are nullable integers (null: Pinterest did not say, never 0)."""
    answer, body = _get(http, opts, "user_account", "the user account")
    for key in SNAPSHOT:
        if body.get(key) is not None:
            answer.number(body[key], f'under "{key}"')
    answer.get_text(body, "account_type")
    answer.get_text(body, "username")
    return body


def _snapshot(account: dict[str, Any], window: Window) -> Iterator[Sample | Unavailable]:
    if not window.since <= window.today <= window.until:
        return
    for key, metric in SNAPSHOT.items():
        if account.get(key) is not None:
            yield Sample(PLATFORM, metric, window.today, float(account[key]), provisional=True)
        elif metric == "followers":
            yield Unavailable(PLATFORM, metric, "Pinterest returned no follower_count for this account")


# --- daily analytics ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """One UTC day of account analytics as Pinterest reported it."""

    day: date
    status: str
    numbers: dict[str, float]  # tracker metric -> value; empty unless the status carries numbers


def _reachable(window: Window) -> tuple[date, date]:
    """(first, last) day analytics can be asked for: inside the 90-day wall, and complete days only."""
    return window.today - timedelta(days=HISTORY_DAYS), min(window.until, window.today - timedelta(days=1))


def _metric_name(key: str) -> str | None:
    """Our name for an analytics key; a key Pinterest adds later is kept as an extra, a ratio not at all."""
    if key in DAILY:
        return DAILY[key]
    if key.endswith("_RATE"):
        return None
    slug = re.sub(r"[^a-z0-9_]+", "_", key.lower()).strip("_")
    return f"{PLATFORM}.{slug}" if slug else None


def _count(value: float) -> float:
    """Counts arrive as 4 or 4.0: store whole numbers as integers."""
    return int(value) if float(value).is_integer() else value


def _day(answer: Endpoint, row: dict[str, Any]) -> Day:
    text = answer.text(row, "date")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise answer.unreadable(f'expected a day (YYYY-MM-DD) under "date", got {text!r:.40}') from None
    status = answer.text(row, "data_status")
    if status not in STORED:
        return Day(day, status, {})  # PROCESSING carries placeholder 0.0s: they are not read at all
    metrics = answer.get_object(row, "metrics", required=True) or {}
    numbers: dict[str, float] = {}
    for key, value in metrics.items():
        name = _metric_name(key)
        if name is not None:
            numbers[name] = _count(answer.number(value, f'under "metrics.{key}"'))
    return Day(day, status, numbers)


def analytics(opts: PinterestOptions, http: HttpSession, start: date, end: date) -> list[Day]:
    """Account analytics for the UTC days start..end (inclusive), in requests of at most 90 days."""
    days: list[Day] = []
    while start <= end:
        last = min(end, start + timedelta(days=MAX_SPAN_DAYS - 1))
        params = {"start_date": start.isoformat(), "end_date": last.isoformat(), "metric_types": ",".join(DAILY)}
        answer, body = _get(http, opts, "user_account/analytics", "the account's analytics", params)
        split = answer.get_object(body, "all", required=True) or {}
        rows = answer.objects(split, "daily_metrics", required=True)
        days += [d for d in (_day(answer, row) for row in rows) if start <= d.day <= last]
        start = last + timedelta(days=1)
    return days


def _daily_samples(days: list[Day]) -> list[Sample]:
    return [
        Sample(PLATFORM, metric, d.day, value, STORED[d.status])
        for d in days
        for metric, value in d.numbers.items()
        if d.status in STORED
    ]


def _lost(window: Window, first: date) -> Notice | None:
    """The days a window asks for that lie behind Pinterest's 90-day wall: said, never silently skipped."""
    if window.since >= first:
        return None
    last_lost = min(window.until, first - timedelta(days=1))
    read = f"analytics were read from {first} on" if window.until >= first else "no day of it is that recent"
    return Notice(
        f"Pinterest keeps account analytics for 90 days only: impressions, saves, clicks and engagement of "
        f"{window.since}..{last_lost} can no longer be read and were not stored (pins and followers were); "
        f"{read}. Sync at least every two months so that no day is lost"
    )


def _pending(state: dict[str, Any]) -> set[date]:
    out = set()
    for text in state.get(NOT_READY) or []:
        try:
            out.add(date.fromisoformat(str(text)))
        except ValueError:
            continue
    return out


def _unfinished(
    state: dict[str, Any], days: list[Day], asked: tuple[date, date] | None, window: Window, first: date
) -> tuple[State, Notice | None]:
    """Remember the days Pinterest has not finished; say which earlier ones this sync no longer reaches."""
    read = {d.day for d in days}
    not_asked = {d for d in _pending(state) if not (asked and asked[0] <= d <= asked[1])}
    earlier = {d for d in not_asked if d >= first and d not in read}
    now = {d.day for d in days if d.status in UNFINISHED}
    missed = sorted(d for d in earlier if d < window.since)
    notice = None
    if missed:
        notice = Notice(
            f"Pinterest had not finished its numbers for {len(missed)} day(s) from {missed[0]} to {missed[-1]} "
            f"when they were last read, and this sync starts after them: run `tracker sync --since {missed[0]}` "
            "for this account to read them again"
        )
    return State({**state, NOT_READY: [d.isoformat() for d in sorted(earlier | now)]}), notice


# --- pins ----------------------------------------------------------------------------------------------------


def _published(answer: Endpoint, pin: dict[str, Any]) -> datetime:
    """`created_at` comes without a zone ("2022-08-11T08:46:16"): it is UTC."""
    text = answer.text(pin, "created_at")
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise answer.unreadable(f'expected a time under "created_at", got {text!r:.40}') from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _lifetime(answer: Endpoint, pin: dict[str, Any]) -> dict[str, float]:
    """The pin's lifetime reaction and comment counts that Pinterest gave (none for older image pins)."""
    lifetime = answer.nested(pin, "pin_metrics", "lifetime_metrics") or {}
    return {key: answer.number(lifetime[key], f'under "lifetime_metrics.{key}"')
            for key in POST_COUNTS if lifetime.get(key) is not None}


@dataclass(frozen=True)
class Pin:
    published: datetime
    counts: dict[str, float]  # POST_COUNTS keys Pinterest gave for this pin


def pins(opts: PinterestOptions, http: HttpSession) -> Iterator[Pin]:
    """Every pin the account created (saves of others' pins left out), following `bookmark` to the end."""
    params: dict[str, Any] = {"page_size": PAGE_SIZE, "pin_filter": "exclude_repins", "pin_metrics": "true"}
    seen: set[str] = set()
    while True:
        answer, body = _get(http, opts, "pins", "the account's pins", params)
        for pin in answer.objects(body, "items", required=True):
            answer.text(pin, "id")
            yield Pin(_published(answer, pin), _lifetime(answer, pin))
        bookmark = answer.get_text(body, "bookmark")
        if not bookmark:
            return
        if bookmark in seen:
            raise answer.unreadable(f"the same bookmark came back twice ({bookmark[:20]!r}): the list never ends")
        seen.add(bookmark)
        params = {**params, "bookmark": bookmark}


def _post_samples(read: list[Pin], window: Window) -> list[Sample]:
    """Pins and their lifetime counts per day published; a day where a pin lacks a count gets no sample for it."""
    days = [d for d in window.days() if d <= window.today]
    totals = {day: dict.fromkeys(["posts", *POST_COUNTS.values()], 0.0) for day in days}
    unknown: set[tuple[date, str]] = set()
    for pin in read:
        day = pin.published.astimezone(window.timezone).date()
        if day not in totals:
            continue
        totals[day]["posts"] += 1
        for key, metric in POST_COUNTS.items():
            if key in pin.counts:
                totals[day][metric] += pin.counts[key]
            else:
                unknown.add((day, metric))
    return [
        Sample(PLATFORM, metric, day, _count(value), window.is_provisional(day, LOOKBACK_DAYS))
        for day, values in totals.items()
        for metric, value in values.items()
        if (day, metric) not in unknown
    ]


# --- the plugin ----------------------------------------------------------------------------------------------


def fetch(opts: PinterestOptions, window: Window, http: HttpSession, state: dict[str, Any]) -> Iterator[Any]:
    snapshot = list(_snapshot(user_account(opts, http), window))
    yield [s for s in snapshot if isinstance(s, Sample)]
    yield from (u for u in snapshot if isinstance(u, Unavailable))
    first, last = _reachable(window)
    start = max(window.since, first)
    asked = (start, last) if start <= last else None
    days = analytics(opts, http, start, last) if asked else []
    yield _daily_samples(days)
    lost = _lost(window, first)
    if lost:
        yield lost
    remembered, missed = _unfinished(state, days, asked, window, first)
    if missed:
        yield missed
    yield remembered
    yield _post_samples(list(pins(opts, http)), window)


def check(opts: PinterestOptions, http: HttpSession) -> str:
    account = user_account(opts, http)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    analytics(opts, http, yesterday, yesterday)  # proves the token may read this account's analytics
    name = account.get("username") or "?"
    business = account.get("business_name")
    who = f"@{name}" + (f" ({business})" if business else "")
    followers = account.get("follower_count")
    count = f"{int(followers):,} followers" if followers is not None else "follower count not returned"
    if account.get("account_type") == "BUSINESS":
        kind = "business account"
    else:
        kind = "not a business account (convert it for free in Pinterest's settings if analytics stop)"
    return f"{who}, {count}, {kind}; analytics readable"


plugin = Plugin(
    name="pinterest",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=PinterestOptions,
    description="A Pinterest business account's followers, daily impressions, saves, pin clicks, outbound clicks "
    "and engagement, and its pins with their reactions and comments (API v5; analytics reach back 90 days).",
    lookback_days=LOOKBACK_DAYS,
    day_rule="UTC days for analytics, as Pinterest reports them (READY days only); followers: a snapshot on the "
    "account's today; pins on the day published, in the account's timezone",
    metrics={
        "followers": "Followers of the account (follower_count), as read that day.",
        "following": "Accounts and boards the account follows (following_count), as read that day.",
        "pinterest.pin_count": "Pins on the account (pin_count), saved pins of others included, as read that day.",
        "pinterest.monthly_views": "Pinterest's rolling monthly views of the account (monthly_views), as read that "
        "day: a level, never a daily count.",
        "impressions": "Times the account's pins were shown that UTC day (IMPRESSION).",
        "pinterest.saves": "Saves of the account's pins to a board that UTC day (SAVE): a bookmark, not a like.",
        "pinterest.pin_clicks": "Opens of the pins' close-up inside Pinterest that UTC day (PIN_CLICK).",
        "link_clicks": "Clicks from the pins to their destination URL, off Pinterest, that UTC day (OUTBOUND_CLICK).",
        "engagements": "Pinterest's total of interactions with the account's pins that UTC day (ENGAGEMENT).",
        "posts": "Pins the account created that day (saves of others' pins excluded).",
        "post_likes": "Lifetime reactions of the pins created that day, as last read; missing for a day with an "
        "image pin from before 2023-03-20 (Pinterest keeps no lifetime numbers for those).",
        "post_replies": "Lifetime comments on the pins created that day, as last read; missing like post_likes.",
    },
    check=check,
)
