"""TikTok: a business account's daily numbers (Accounts API), or without `business_id` its lifetime counts
(Display API), and the lifetime counts of its videos.

The two APIs differ in what they can know. The Accounts API (API for
Business, `business_id` set) reports views, profile views, likes, comments,
shares and follower gains per UTC day, for the last 60 days only, 24 to 48
hours late: those days are kept as TikTok dates them, re-read every sync
(`post_lookback_days`, at least four) and the last four marked provisional.
The Display API, which a small shop can actually get
approved, has no history at all: follower, following, video and like totals
are "now" values, stored as a daily snapshot on the account's today. A
lifetime total read once a day is a running level, so it is stored as a gauge
(followers, posts_total) or as the extra `tiktok.total_likes`, never as a
day's likes.

Both list videos newest first with lifetime counts, so the counts are stored
on the day each video was published (account timezone) and re-read for
`post_lookback_days`, like the other per-post platforms. Beside the Accounts
API's daily likes, comments and shares they are extras (`tiktok.post_likes`),
or the report's engagement would count each like twice.

Tokens: TikTok access tokens live 24 hours (Accounts API) or 2 hours (Display
API) and neither API tells a caller when the one it holds expires, so no
`token_expires_at` is saved; tracker does not renew them, so the owner's
refresh job must keep the environment variable current. Every token error
says so in one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tracker.plugin import (
    ApiError,
    AuthError,
    Endpoint,
    HttpSession,
    Notice,
    Plugin,
    PluginError,
    RateLimited,
    Sample,
    Secret,
    State,
    Unavailable,
    Window,
    option,
)

from ._bounds import within

PLATFORM = "tiktok"
BUSINESS_HOST = "https://business-api.tiktok.com"
DISPLAY_HOST = "https://open.tiktokapis.com"
BUSINESS_ROOT = "/open_api/v1.3"
DISPLAY_ROOT = "/v2"
HISTORY_DAYS = 60  # the Accounts API serves daily metrics for the last 60 days only
MAX_DAYS = 30  # days per business/get request: not a documented limit, it keeps each answer small
MAX_POST_LOOKBACK = 365  # a year of videos re-read on every sync is the most that could still pay
REVISION_DAYS = 4  # data arrives T + 24-48 h (UTC): the last days are re-read and provisional
PAGE_SIZE = 20  # max_count: 1..20 on both APIs
RATE_WAIT = 60.0  # both APIs count requests per minute
THROTTLED = 40100  # Accounts API throttle code (HTTP 200)
NO_PERMISSION = 40001  # scope missing or Analytics off for this business_id
BUSINESS_SCOPES = "user.info.basic, user.info.stats, user.insights, video.list"
DISPLAY_SCOPES = "user.info.basic, user.info.stats, video.list"
COUNTED = "counted"  # state: {metric: whether the videos read carried its count}

# Accounts API top-level (lifetime, "now") -> tracker metric, stored on the account's today
BUSINESS_PROFILE = {
    "followers_count": "followers",
    "following_count": "following",
    "videos_count": "posts_total",
    "total_likes": "tiktok.total_likes",
}
# Display API user fields -> tracker metric, the same snapshot
DISPLAY_PROFILE = {
    "follower_count": "followers",
    "following_count": "following",
    "video_count": "posts_total",
    "likes_count": "tiktok.total_likes",
}
# Accounts API metrics[] (one object per UTC day) -> tracker metric
DAILY = {
    "video_views": "views",
    "unique_video_views": "reach",
    "profile_views": "profile_views",
    "likes": "likes",
    "comments": "comments",
    "shares": "shares",
    "daily_new_followers": "followers_gained",
    "daily_lost_followers": "followers_lost",
    "bio_link_clicks": "link_clicks",
    "daily_total_followers": "tiktok.followers_net",
    "engaged_audience": "tiktok.engaged_audience",
    "followers_count": "tiktok.followers_count_daily",
    "lead_submissions": "tiktok.lead_submissions",
    "phone_number_clicks": "tiktok.phone_number_clicks",
    "email_clicks": "tiktok.email_clicks",
    "address_clicks": "tiktok.address_clicks",
    "app_download_clicks": "tiktok.app_download_clicks",
}
# Which accounts TikTok gives a daily field to, for the note when it leaves the field out
DAILY_FOR = {
    "unique_video_views": "Business Accounts only",
    "daily_new_followers": "Business Accounts only",
    "daily_lost_followers": "Business Accounts only",
    "bio_link_clicks": "Registered Business Accounts only",
}
# tracker metric -> the video field holding its lifetime count, per API. With daily likes, comments and shares
# beside them, per-video counts under post_* would be counted twice in the report's engagement: extras here.
BUSINESS_VIDEO = {
    "tiktok.post_likes": "likes",
    "tiktok.post_comments": "comments",
    "tiktok.post_shares": "shares",
    "tiktok.post_views": "video_views",
    "tiktok.post_favorites": "favorites",
}
DISPLAY_VIDEO = {
    "post_likes": "like_count",
    "post_replies": "comment_count",
    "post_reposts": "share_count",
    "tiktok.post_views": "view_count",
}


@dataclass(frozen=True)
class TikTokOptions:
    token: Secret = option(
        help="Access token (act.…) of the TikTok account. It lasts 24 h (Accounts API) or 2 h (Display API) and "
        "tracker does not renew it: your refresh job keeps the environment variable current."
    )
    business_id: str | None = option(
        None,
        help="The account's open_id from the Accounts API token response: daily history (API for Business). "
        "Leave it out to use the Display API (lifetime counts only).",
    )
    base_url: str | None = option(
        None,
        help=f"API host; default {BUSINESS_HOST} with business_id, else {DISPLAY_HOST}. Tests point it at a fake.",
    )
    post_lookback_days: int = option(
        7, help="Days of recent videos (and daily numbers) re-read every sync and marked provisional; "
        f"{REVISION_DAYS} to {MAX_POST_LOOKBACK}."
    )

    def __post_init__(self) -> None:
        if self.token.reveal().startswith("rft."):
            raise ValueError(
                "token holds a refresh token (rft.…): give the access token (act.…) from the same token answer"
            )
        if self.business_id is not None and not re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", self.business_id):
            raise ValueError(
                "business_id must be the open_id from the Accounts API token answer (letters, digits, - _ . :), "
                f"not {self.business_id!r}"
            )
        within("post_lookback_days", self.post_lookback_days, REVISION_DAYS, MAX_POST_LOOKBACK,
               f"TikTok's figures settle within {REVISION_DAYS} days")


@dataclass(frozen=True)
class Profile:
    """The account's lifetime totals as read now, by tracker metric; what TikTok left out is absent."""

    name: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Video:
    """One video: when it was published and its lifetime counts by tracker metric (absent: not given)."""

    id: str
    published: datetime
    counts: dict[str, int]


@dataclass(frozen=True)
class DayRow:
    """One UTC day of the Accounts API's `metrics[]`, by TikTok field name."""

    day: date
    values: dict[str, float]


def _auth_fix(api: str, lifetime: str) -> str:
    return (
        f"TikTok refused the access token (option `token`): it is invalid or has expired. {api} access tokens "
        f"last {lifetime} and tracker does not renew them: refresh it with your app's refresh token (or "
        "authorize again) and put the new access token in the environment variable"
    )


BUSINESS_TOKEN_FIX = _auth_fix("Accounts API", "24 hours")
DISPLAY_TOKEN_FIX = _auth_fix("Display API", "2 hours")


def _rate_limited(api: str, detail: str) -> RateLimited:
    return RateLimited(
        f"TikTok's {api} asks to slow down ({detail}); it counts calls per minute", retry_after=RATE_WAIT
    )


# --- Accounts API (API for Business) -----------------------------------------------------------------


class BusinessApi:
    """Calls the Accounts API with the `Access-Token` header; its answers carry `code`, 0 meaning OK,
    often with HTTP 200 even when they are errors."""

    api = "Accounts API"

    def __init__(self, opts: TikTokOptions, http: HttpSession) -> None:
        self.opts, self.http = opts, http
        self.business_id = opts.business_id or ""
        self.root = (opts.base_url or BUSINESS_HOST).rstrip("/") + BUSINESS_ROOT

    def get(self, path: str, params: dict[str, Any], what: str) -> dict[str, Any]:
        url = f"{self.root}/{path}"
        response = self.http.get(url, params={"business_id": self.business_id, **params},
                                 headers={"Access-Token": self.opts.token.reveal()})
        if response.status_code == 429:
            raise _rate_limited(self.api, f"HTTP 429 while reading {what}")
        answer = Endpoint.of(f"TikTok's {self.api}", url)
        body = answer.object(answer.json(response))
        code = body.get("code")
        if isinstance(code, bool) or not isinstance(code, int):
            raise answer.unreadable(f'expected a number under "code", got {code!r:.20}')
        if code != 0:
            raise self.failure(code, str(body.get("message") or ""), str(body.get("request_id") or ""), what)
        if response.status_code >= 400:
            raise ApiError(f"TikTok's {self.api} answered HTTP {response.status_code} while reading {what}")
        return answer.get_object(body, "data", required=True) or {}

    def failure(self, code: int, message: str, request_id: str, what: str) -> PluginError:
        """Classify a non-zero `code` as the notes document it; the message only where TikTok gives no code."""
        detail = f"code {code}: {message}" if message else f"code {code}"
        if code == THROTTLED:
            return _rate_limited(self.api, detail)
        if code == NO_PERMISSION:
            return AuthError(
                f"TikTok refused to read business_id {self.business_id} ({detail}): the account must grant the "
                f"scopes {BUSINESS_SCOPES} to your app, have Analytics turned on in the TikTok app and have "
                "published a video; check business_id too (the open_id of the token answer)"
            )
        if "token" in message.lower():
            return AuthError(BUSINESS_TOKEN_FIX + f" ({detail})")
        return ApiError(f"TikTok's {self.api} could not answer {what} ({detail}; request_id {request_id or 'none'})")

    def answer(self, path: str) -> Endpoint:
        return Endpoint.of(f"TikTok's {self.api}", f"{self.root}/{path}")

    def profile(self) -> Profile:
        fields = ["username", "display_name", *BUSINESS_PROFILE]
        data = self.get("business/get/", {"fields": _json(fields)}, "the account")
        answer = self.answer("business/get/")
        name = answer.get_text(data, "username") or answer.get_text(data, "display_name") or self.business_id
        return Profile(name, _counts(answer, data, BUSINESS_PROFILE))

    def days(self, since: date, until: date) -> list[DayRow]:
        """The metrics[] of since..until (UTC dates, both included), as TikTok sends them."""
        params = {"start_date": since.isoformat(), "end_date": until.isoformat(), "fields": _json(list(DAILY))}
        data = self.get("business/get/", params, f"the daily numbers {since}..{until}")
        answer = self.answer("business/get/")
        return [_day_row(answer, row) for row in answer.objects(data, "metrics")]

    def videos(self, start: datetime) -> list[Video]:
        answer = self.answer("business/video/list/")
        fields = _json(["item_id", "create_time", *BUSINESS_VIDEO.values()])

        def page(cursor: int | None) -> dict[str, Any]:
            params: dict[str, Any] = {"fields": fields, "max_count": PAGE_SIZE}
            if cursor is not None:
                params["cursor"] = cursor
            return self.get("business/video/list/", params, "the videos")

        return _walk(answer, page, lambda v: _video(answer, v, "item_id", BUSINESS_VIDEO), start)


# --- Display API (Login Kit) ------------------------------------------------------------------------


class DisplayApi:
    """Calls the Display API with a Bearer token; every answer carries `error`, `code: "ok"` meaning OK."""

    api = "Display API"

    def __init__(self, opts: TikTokOptions, http: HttpSession) -> None:
        self.opts, self.http = opts, http
        self.root = (opts.base_url or DISPLAY_HOST).rstrip("/") + DISPLAY_ROOT

    def call(
        self, method: str, path: str, what: str, fields: list[str], body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        url = f"{self.root}/{path}"
        response = self.http.request(method, url, params={"fields": ",".join(fields)}, json=body,
                                     headers={"Authorization": f"Bearer {self.opts.token.reveal()}"})
        answer = self.answer(path)
        if response.status_code == 429:
            raise _rate_limited(self.api, f"{_error_code(response) or 'HTTP 429'} while reading {what}")
        envelope = answer.object(answer.json(response))
        error = answer.get_object(envelope, "error", required=True) or {}
        code = answer.text(error, "code")
        if code != "ok" or response.status_code >= 400:
            raise self.failure(response.status_code, code, str(error.get("message") or ""),
                               str(error.get("log_id") or ""), what)
        return answer.get_object(envelope, "data", required=True) or {}

    def failure(self, status: int, code: str, message: str, log_id: str, what: str) -> PluginError:
        detail = f"{code}: {message}" if message else code
        if code == "access_token_invalid":
            return AuthError(DISPLAY_TOKEN_FIX)
        if code in ("scope_not_authorized", "scope_permission_missed"):
            return AuthError(
                f"TikTok says the token lacks a permission ({detail}): authorize your app again with the scopes "
                f"{DISPLAY_SCOPES} and put the new access token in the environment variable"
            )
        if code == "rate_limit_exceeded":
            return _rate_limited(self.api, detail)
        return ApiError(f"TikTok's {self.api} answered HTTP {status} to {what} ({detail}; log_id {log_id or 'none'})")

    def answer(self, path: str) -> Endpoint:
        return Endpoint.of(f"TikTok's {self.api}", f"{self.root}/{path}")

    def profile(self) -> Profile:
        fields = ["open_id", "display_name", *DISPLAY_PROFILE]
        data = self.call("GET", "user/info/", "the account", fields)
        answer = self.answer("user/info/")
        user = answer.get_object(data, "user", required=True) or {}
        name = answer.get_text(user, "display_name") or "TikTok account"
        return Profile(name, _counts(answer, user, DISPLAY_PROFILE))

    def videos(self, start: datetime) -> list[Video]:
        answer = self.answer("video/list/")
        fields = ["id", "create_time", *DISPLAY_VIDEO.values()]

        def page(cursor: int | None) -> dict[str, Any]:
            body: dict[str, Any] = {"max_count": PAGE_SIZE}
            if cursor is not None:
                body["cursor"] = cursor
            return self.call("POST", "video/list/", "the videos", fields, body)

        return _walk(answer, page, lambda v: _video(answer, v, "id", DISPLAY_VIDEO), start)


# --- reading answers -----------------------------------------------------------------------------------


def _error_code(response: Any) -> str:
    """`error.code` of a Display API body, or "" when the body has none (a proxy's 429 page)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def _json(value: list[str]) -> str:
    """A JSON array for the query string, as the Accounts API takes `fields`."""
    return json.dumps(value, separators=(",", ":"))


def _counts(answer: Endpoint, body: dict[str, Any], fields: dict[str, str]) -> dict[str, int]:
    """Numbers of `body` by tracker metric; a field TikTok left out (or null) is left out."""
    return {
        metric: int(answer.number(body[key], f'under "{key}"'))
        for key, metric in fields.items()
        if body.get(key) is not None
    }


def _day_row(answer: Endpoint, row: dict[str, Any]) -> DayRow:
    text = answer.text(row, "date")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise answer.unreadable(f'expected a date (YYYY-MM-DD) under "date", got {text!r:.40}') from None
    values = {key: answer.number(row[key], f'under "{key}"') for key in DAILY if row.get(key) is not None}
    return DayRow(day, values)


def _video(answer: Endpoint, video: dict[str, Any], id_key: str, fields: dict[str, str]) -> Video:
    """A video with its publication time (epoch seconds; the Accounts API writes them as text)."""
    seconds = answer.number(video.get("create_time"), 'under "create_time"')
    try:
        published = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):  # no calendar day: year 0, or past what time_t holds
        raise answer.unreadable(f'expected a time in seconds under "create_time", got {seconds:g}') from None
    return Video(answer.text(video, id_key), published, _counts(answer, video, {v: k for k, v in fields.items()}))


def _walk(
    answer: Endpoint, read_page: Callable[[int | None], dict[str, Any]], parse: Callable[[dict[str, Any]], Video],
    start: datetime,
) -> list[Video]:
    """Every video down to the first page that reaches back before `start`, page by page.

    Pages can be short while `has_more` is true (TikTok drops videos it will not show), so only `has_more`
    ends the walk; the oldest video of a page, not the last, decides whether older pages are needed.
    """
    found: list[Video] = []
    cursor: int | None = None
    while True:
        data = read_page(cursor)
        videos = [parse(v) for v in answer.objects(data, "videos")]
        found += videos
        more = data.get("has_more")
        if not isinstance(more, bool):
            raise answer.unreadable(f'expected true/false under "has_more", got {more!r:.20}')
        if not more or (videos and min(v.published for v in videos) < start):
            return found
        following = int(answer.number(data.get("cursor"), 'under "cursor"'))
        if following == cursor:
            raise answer.unreadable(f'"has_more" is true but "cursor" stays {cursor}')
        cursor = following


# --- turning answers into samples ---------------------------------------------------------------------


def _snapshot(profile: Profile, window: Window, api: str) -> Iterator[list[Sample] | Unavailable]:
    """Lifetime totals as read now, on the account's today: levels, never a day's amount."""
    if not window.since <= window.today <= window.until:
        return
    yield [Sample(PLATFORM, metric, window.today, value, provisional=True) for metric, value in profile.counts.items()]
    if "followers" not in profile.counts:
        yield Unavailable(PLATFORM, "followers", f"TikTok's {api} returned no follower count: the token needs the "
                          "scope user.info.stats")


def _daily_span(window: Window) -> tuple[date, date]:
    """The UTC days the Accounts API can serve for this window: complete days, none older than 60 days."""
    earliest = window.today - timedelta(days=HISTORY_DAYS - 1)
    return max(window.since, earliest), min(window.until, window.today - timedelta(days=1))


def _daily(api: BusinessApi, window: Window) -> Iterator[list[Sample] | Unavailable | Notice]:
    since, until = _daily_span(window)
    if window.since < since <= window.until:
        yield Notice(
            f"TikTok keeps daily numbers for {HISTORY_DAYS} days only: {window.since}..{since - timedelta(days=1)} "
            "cannot be read (followers and video counts can)"
        )
    if since > until:
        return
    rows: list[DayRow] = []
    for chunk in replace(window, since=since, until=until).chunks(MAX_DAYS):
        found = [r for r in api.days(chunk.since, chunk.until) if chunk.since <= r.day <= chunk.until]
        rows += found
        yield [
            Sample(PLATFORM, DAILY[key], row.day, value, window.is_provisional(row.day, REVISION_DAYS))
            for row in found
            for key, value in row.values.items()
        ]
    yield from _left_out(rows)


def _left_out(rows: list[DayRow]) -> Iterator[Unavailable]:
    """A report metric TikTok left out of any day it sent is unknown there, never zero: say so."""
    for key, metric in DAILY.items():
        if "." in metric:
            continue
        days = sorted(r.day for r in rows if key not in r.values)
        if days:
            who = f" ({DAILY_FOR[key]})" if key in DAILY_FOR else ""
            yield Unavailable(PLATFORM, metric, f"TikTok left {key} out on {len(days)} day(s) from {days[0]}{who}")


def counted(videos: list[Video], metrics: list[str], state: dict[str, Any]) -> dict[str, bool]:
    """Which counts TikTok serves: one every video just read carries; with none read, what the last run that
    read one learnt; otherwise not known (no sample, not even a zero on a day without videos)."""
    if not videos:
        remembered = state.get(COUNTED)
        return {m: bool(v) for m, v in remembered.items() if m in metrics} if isinstance(remembered, dict) else {}
    return {metric: all(metric in v.counts for v in videos) for metric in metrics}


def _post_samples(videos: list[Video], window: Window, lookback: int, known: dict[str, bool]) -> list[Sample]:
    """Per publication day (account timezone): videos published, and the sum of their lifetime counts now.

    Every day of the window up to today gets a value: the list was read for those days, so no video means
    none was published (or it was deleted).
    """
    metrics = [m for m, kept in known.items() if kept]
    totals = {d: dict.fromkeys(["posts", *metrics], 0) for d in window.days() if d <= window.today}
    for video in videos:
        day = video.published.astimezone(window.timezone).date()
        if day not in totals:
            continue
        totals[day]["posts"] += 1
        for metric in metrics:
            totals[day][metric] += video.counts[metric]
    return [
        Sample(PLATFORM, metric, day, value, window.is_provisional(day, lookback))
        for day, values in totals.items()
        for metric, value in values.items()
    ]


def _posts(
    api: BusinessApi | DisplayApi, window: Window, opts: TikTokOptions, state: dict[str, Any]
) -> Iterator[list[Sample] | Unavailable | State]:
    first = window.since
    if first > window.today:
        return
    videos = api.videos(datetime.combine(first, time(), window.timezone))
    fields = BUSINESS_VIDEO if isinstance(api, BusinessApi) else DISPLAY_VIDEO
    known = counted(videos, list(fields), state)
    yield _post_samples(videos, window, opts.post_lookback_days, known)
    for metric in (m for m, kept in known.items() if not kept):
        yield Unavailable(PLATFORM, metric, f"TikTok's {api.api} returned videos without {fields[metric]}")
    if videos:
        yield State({**state, COUNTED: known})


def _client(opts: TikTokOptions, http: HttpSession) -> BusinessApi | DisplayApi:
    return BusinessApi(opts, http) if opts.business_id else DisplayApi(opts, http)


def fetch(opts: TikTokOptions, window: Window, http: HttpSession, state: dict[str, Any]) -> Iterator[Any]:
    api = _client(opts, http)
    yield from _snapshot(api.profile(), window, api.api)
    if isinstance(api, BusinessApi):
        yield from _daily(api, window)
    yield from _posts(api, window, opts, state)


def check(opts: TikTokOptions, http: HttpSession) -> str:
    api = _client(opts, http)
    profile = api.profile()
    followers = profile.counts.get("followers")
    count = f"{followers:,} followers" if followers is not None else "follower count not returned"
    if isinstance(api, BusinessApi):
        what = "Accounts API, daily history"
        expiry = "access tokens last 24 h, refresh tokens 365 days from the first consent"
    else:
        what = "Display API: lifetime counts only, set business_id for daily numbers"
        expiry = "access tokens last 2 h, refresh tokens 180 days and rotate"
    return (
        f"{profile.name}, {count} ({what}); token works, but TikTok does not say when it expires "
        f"({expiry}; tracker does not renew them)"
    )


plugin = Plugin(
    name="tiktok",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=TikTokOptions,
    description="A TikTok account: followers and lifetime totals as daily snapshots, per-video likes, comments, "
    "shares and views; with business_id (Accounts API) daily views, profile views, likes, comments, shares "
    "and follower gains/losses.",
    lookback_days=7,
    lookback_option="post_lookback_days",
    day_rule="UTC days for the Accounts API's daily numbers (as TikTok reports them); snapshots on the account's "
    "today; video counts on the day each video was published (account timezone)",
    metrics={
        "followers": "Followers (followers_count / follower_count), as read that day: a daily snapshot.",
        "following": "Accounts this account follows (following_count), as read that day.",
        "posts_total": "Public videos of the account (videos_count / video_count), as read that day.",
        "tiktok.total_likes": "Likes the account's videos have received in all (total_likes / likes_count), as "
        "read that day: a running level that can fall, never a day's likes and never to be added up.",
        "views": "Video views that UTC day, organic and paid (Accounts API video_views).",
        "reach": "Distinct viewers of the account's videos that UTC day (unique_video_views; Business Accounts).",
        "profile_views": "Profile views that UTC day (Accounts API profile_views).",
        "likes": "Likes received that UTC day; unlikes are not subtracted (Accounts API likes).",
        "comments": "Comments received that UTC day (Accounts API comments).",
        "shares": "Shares of the account's videos that UTC day (Accounts API shares).",
        "followers_gained": "New followers that UTC day (daily_new_followers; Business Accounts).",
        "followers_lost": "Followers lost that UTC day (daily_lost_followers; Business Accounts).",
        "link_clicks": "Taps on the profile's bio link that UTC day (bio_link_clicks; Registered Business Accounts).",
        "tiktok.followers_net": "Net follower change that UTC day, may be negative (daily_total_followers).",
        "tiktok.engaged_audience": "Distinct people who liked, commented or shared that UTC day (engaged_audience): "
        "people, never add days up.",
        "tiktok.followers_count_daily": "metrics[].followers_count as sent; TikTok calls it the total following on "
        "that date but its own example shows small daily numbers: meaning unconfirmed, not used for followers.",
        "tiktok.lead_submissions": "Lead forms submitted from the profile that UTC day (Registered Business "
        "Accounts); kept apart from conversions, which come from the shop or analytics.",
        "tiktok.phone_number_clicks": "Taps on the profile's phone button that UTC day: intent, not a customer.",
        "tiktok.email_clicks": "Taps on the profile's email button that UTC day: intent, not a customer.",
        "tiktok.address_clicks": "Taps on the profile's address button that UTC day: intent, not a customer.",
        "tiktok.app_download_clicks": "Taps on the profile's app download link that UTC day.",
        "posts": "Videos the account published that day (account timezone).",
        "post_likes": "Display API: lifetime likes of the videos published that day, as last read (like_count).",
        "post_replies": "Display API: lifetime comments on the videos published that day, as last read.",
        "post_reposts": "Display API: lifetime shares of the videos published that day, as last read.",
        "tiktok.post_likes": "Accounts API: lifetime likes of the videos published that day, as last read; an extra "
        "because the daily likes already count them.",
        "tiktok.post_comments": "Accounts API: lifetime comments on the videos published that day, as last read.",
        "tiktok.post_shares": "Accounts API: lifetime shares of the videos published that day, as last read.",
        "tiktok.post_views": "Lifetime views of the videos published that day, as last read.",
        "tiktok.post_favorites": "Lifetime favourites (saves) of the videos published that day, as last read "
        "(Accounts API only).",
    },
    check=check,
)
