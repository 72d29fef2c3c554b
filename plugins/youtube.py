"""YouTube: a channel's subscriber snapshot (Data API, API key), the comments people leave on it and
whether the channel answered them (customer care, Data API, API key) and, with an OAuth token, its daily
views, likes, comments, shares and subscriber gains and losses (Analytics API).

The Data API only knows lifetime totals "now", so they are daily snapshots on
the account's today; its subscriber count is rounded down to three
significant figures. The Analytics API reports per day, in Pacific days,
stopping at the last day it has finished processing (usually two to three
days ago); recent days can still change, so every run re-reads five days.

Care comes from the public comment threads of the channel (`commentThreads.list` with
`allThreadsRelatedToChannelId`, newest first, and `comments.list?parentId=` for threads longer than the
replies a thread carries): someone else's top-level comment is an inbound item, answered when the channel
itself replies in its thread (compared by channel id, never by name). Nothing of a comment but its id and
times leaves this module. Care is optional: a refusal of the comments (switched off, forbidden, a server
error) is one notice, and the account's other numbers still land.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.plugin import (
    ApiError,
    AuthError,
    CareItem,
    Channel,
    Endpoint,
    HttpSession,
    NotFound,
    Notice,
    Plugin,
    QuotaExhausted,
    RateLimited,
    Sample,
    Secret,
    Unavailable,
    Window,
    next_midnight,
    option,
)

from ._bounds import within

PLATFORM = "youtube"
PACIFIC = ZoneInfo("America/Los_Angeles")
REVISION_DAYS = 3  # Analytics days younger than this may still change
MAX_DAYS = 365  # not a documented limit: one report per year keeps each answer small
PAGE_ROWS = 200  # maxResults; startIndex pages through the rest
RATE_WAIT = 30.0
# Analytics metric -> tracker metric
DAILY = {
    "views": "views",
    "likes": "likes",
    "comments": "comments",
    "shares": "shares",
    "subscribersGained": "followers_gained",
    "subscribersLost": "followers_lost",
}
SCOPES = "yt-analytics.readonly and youtube.readonly"
CARE_LOOKBACK_DAYS = 14
CARE_MAX_DAYS = 90  # every thread page costs a quota unit: a year of comments on every sync would not pay
THREAD_PAGE = 100  # maxResults of commentThreads.list and comments.list (the documented maximum)
MAX_THREAD_PAGES = 50  # 5,000 threads per sync at most: each page costs a quota unit
MAX_REPLY_PAGES = 20  # 2,000 replies per thread at most
UNSEEN = {"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded", "userRateLimitExceeded", "API_KEY_INVALID",
          "keyInvalid", "keyExpired", "accessNotConfigured", "SERVICE_DISABLED"}  # these stop the account as before


@dataclass(frozen=True)
class YouTubeOptions:
    channel_id: str = option(help="The channel id (starts with UC), from YouTube Studio > Settings > Channel.")
    api_key: Secret = option(help="A Google Cloud API key with the YouTube Data API v3 enabled (public counts).")
    token: Secret | None = option(
        None, help=f"Optional OAuth access token of the channel owner ({SCOPES}) for daily Analytics numbers."
    )
    base_url: str = option("https://www.googleapis.com", help="Data API host (tests point it at a fake).")
    analytics_base_url: str = option(
        "https://youtubeanalytics.googleapis.com", help="Analytics API host (tests point it at a fake)."
    )
    care_lookback_days: int = option(
        CARE_LOOKBACK_DAYS,
        help=f"Days of comment threads re-read on every sync for customer care (0 to {CARE_MAX_DAYS}; 0: no care).",
    )

    def __post_init__(self) -> None:
        within("care_lookback_days", self.care_lookback_days, 0, CARE_MAX_DAYS)


def _envelope(response: Any) -> tuple[str, set[str], str]:
    """(first reason, every reason incl. details[], message) of a Google error envelope."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return "", set(), ""
    if not isinstance(error, dict):
        return "", set(), str(error)
    reasons = [e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)]
    details = {d.get("reason", "") for d in error.get("details", []) if isinstance(d, dict)}
    message = re.sub(r"<[^>]+>", "", str(error.get("message", "")))  # quota messages embed a link
    return (reasons[0] if reasons else ""), set(reasons) | details, message


def _raise_for(response: Any, api: str) -> None:
    """Classify on HTTP status and reason, as Google documents; never on the message text."""
    status = response.status_code
    if status < 400:
        return
    reason, reasons, message = _envelope(response)
    if reasons & {"quotaExceeded", "dailyLimitExceeded"}:
        until = next_midnight(PACIFIC)  # Google counts quota per Pacific day
        raise QuotaExhausted(
            f"the {api} daily quota (10,000 units per Google Cloud project) is used up; it resets at midnight "
            f"Pacific time ({until:%Y-%m-%d %H:%M %Z}): sync again after that",
            until=until,
        )
    if reasons & {"rateLimitExceeded", "userRateLimitExceeded"}:
        raise RateLimited(f"the {api} asks to slow down", retry_after=RATE_WAIT)
    if reasons & {"API_KEY_INVALID", "keyInvalid", "keyExpired"}:
        raise AuthError(
            "the YouTube API key (option `api_key`) is not valid: create a new key in the Google Cloud console"
        )
    if reasons & {"accessNotConfigured", "SERVICE_DISABLED"}:
        raise AuthError(f"the {api} is not enabled in the Google Cloud project of the key: enable it in the console")
    if status == 401:
        raise AuthError(
            f"the YouTube OAuth token (option `token`) is invalid or expired: get a new one with the scopes {SCOPES}"
        )
    if status == 403:
        raise AuthError(
            f"the {api} refused access ({reason or 'forbidden'}): the token needs the scopes {SCOPES} and must "
            "belong to the channel's owner"
        )
    raise ApiError(f"the {api} answered HTTP {status} ({reason or 'no reason'}): {message or 'no details'}")


def channel(opts: YouTubeOptions, http: HttpSession) -> dict[str, Any]:
    """The channel resource; the key goes in a header so it never appears in a URL."""
    url = f"{opts.base_url.rstrip('/')}/youtube/v3/channels"
    response = http.get(
        url,
        params={"part": "snippet,statistics", "id": opts.channel_id},
        headers={"X-Goog-Api-Key": opts.api_key.reveal()},
    )
    _raise_for(response, "YouTube Data API")
    answer = Endpoint.of("the YouTube Data API", url)
    items = answer.objects(answer.object(answer.json(response)), "items")  # an unknown id: a 200 without `items`
    if not items:
        raise NotFound(f"no YouTube channel with id {opts.channel_id!r}: check `channel_id` (it starts with UC)")
    stats = answer.get_object(items[0], "statistics") or {}
    for key in ("subscriberCount", "videoCount", "viewCount"):
        if key in stats:
            answer.number(stats[key], f'under "statistics.{key}"')
    answer.get_object(items[0], "snippet")
    return items[0]


def _snapshot(item: dict[str, Any], window: Window) -> Iterator[Sample | Unavailable]:
    if not window.since <= window.today <= window.until:
        return
    stats = item.get("statistics", {})
    day = window.today
    if stats.get("hiddenSubscriberCount"):
        yield Unavailable(PLATFORM, "followers", "the channel hides its subscriber count")
    elif "subscriberCount" not in stats:
        yield Unavailable(PLATFORM, "followers", "the Data API returned no subscriberCount for the channel")
    else:
        yield Sample(PLATFORM, "followers", day, int(stats["subscriberCount"]), provisional=True)
    if "videoCount" in stats:
        yield Sample(PLATFORM, "posts_total", day, int(stats["videoCount"]), provisional=True)
    if "viewCount" in stats:
        yield Sample(PLATFORM, "youtube.views_total", day, int(stats["viewCount"]), provisional=True)


def report_rows(
    opts: YouTubeOptions, token: Secret, http: HttpSession, start: date, end: date
) -> Iterator[dict[str, Any]]:
    """Rows of the daily channel report for start..end (inclusive), as {column: value}, page by page."""
    url = f"{opts.analytics_base_url.rstrip('/')}/v2/reports"
    answer = Endpoint.of("the YouTube Analytics API", url)
    index = 1
    while True:
        params: dict[str, str | int] = {
            "ids": f"channel=={opts.channel_id}",
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "metrics": ",".join(DAILY),
            "dimensions": "day",
            "sort": "day",
            "maxResults": PAGE_ROWS,
            "startIndex": index,
        }
        response = http.get(
            url,
            params=params,
            headers={"Authorization": f"Bearer {token.reveal()}"},
        )
        _raise_for(response, "YouTube Analytics API")
        body = answer.object(answer.json(response))
        names = [answer.text(c, "name") for c in answer.objects(body, "columnHeaders", required=True)]
        rows = answer.get_list(body, "rows")  # omitted when there is no data
        yield from (_row(answer, names, row) for row in rows)
        if len(rows) < PAGE_ROWS:
            return
        index += PAGE_ROWS


def _row(answer: Endpoint, names: list[str], row: Any) -> dict[str, Any]:
    """One report row as {column: value}: a day, then a number per metric column."""
    cells = answer.array(row, 'in "rows"')
    if len(cells) != len(names) or "day" not in names:
        raise answer.unreadable(f"expected rows of the columns {names} (day first), got {len(cells)} values")
    values = dict(zip(names, cells, strict=True))
    try:
        date.fromisoformat(values["day"])
    except (TypeError, ValueError):
        raise answer.unreadable(f'expected a day (YYYY-MM-DD) in the "day" column, got {values["day"]!r:.40}') from None
    for name in names:
        if name != "day":
            values[name] = answer.number(values[name], f'in the "{name}" column')
    return values


def _daily(opts: YouTubeOptions, token: Secret, http: HttpSession, window: Window) -> Iterator[list[Sample]]:
    for chunk in window.chunks(MAX_DAYS):
        end = min(chunk.until, window.today)
        if chunk.since > end:
            return
        page = []
        for row in report_rows(opts, token, http, chunk.since, end):
            day = date.fromisoformat(row["day"])  # a Pacific day: stored as such, never re-bucketed
            provisional = window.is_provisional(day, REVISION_DAYS)
            page += [Sample(PLATFORM, ours, day, row[k], provisional) for k, ours in DAILY.items() if k in row]
        yield page


class _CareSkipped(Exception):
    """The comments could not be read this run for a reason that must not cost the account its other numbers."""


@dataclass(frozen=True)
class _Comment:
    """What care needs of a comment: its id, who wrote it (a channel id) and when; never its text or names."""

    id: str
    author: str | None  # authorChannelId.value; absent for some old or closed accounts
    at: datetime
    hidden: bool  # the owner rejected it (moderationStatus), when YouTube says so


@dataclass(frozen=True)
class _Thread:
    top: _Comment
    replies: tuple[_Comment, ...]
    total_replies: int
    public: bool

    @property
    def latest(self) -> datetime:
        return max([self.top.at, *(r.at for r in self.replies)])

    @property
    def complete(self) -> bool:
        """A thread resource carries only some replies; totalReplyCount says whether to page the rest."""
        return len(self.replies) >= self.total_replies


def _care_refusal(response: Any) -> str | None:
    """The notice for an answer that ends care for this run but not the account; None to classify as usual."""
    status = response.status_code
    if status < 400:
        return None
    reason, reasons, _ = _envelope(response)
    if reasons & UNSEEN or status == 401:
        return None
    if "commentsDisabled" in reasons:
        return "YouTube comments are turned off for the channel, so no comment care was read"
    if status == 403:
        return (
            f"YouTube refused to list the channel's comment threads ({reason or 'forbidden'}): they are read with the "
            "API key (option `api_key`) as public comments; check that the channel and its videos are public and "
            "that the key may use the YouTube Data API v3. Comment care was not (fully) read this run; the other "
            "numbers were stored"
        )
    return (
        f"the YouTube Data API answered HTTP {status} ({reason or 'no reason'}) to a comment request: comment "
        "care was not (fully) read this run; the next sync reads it again"
    )


def _care_get(
    opts: YouTubeOptions, http: HttpSession, resource: str, params: dict[str, Any]
) -> tuple[Endpoint, dict[str, Any]]:
    """One comment request with the API key; a refusal that must not fail the account raises _CareSkipped."""
    url = f"{opts.base_url.rstrip('/')}/youtube/v3/{resource}"
    response = http.get(url, params=params, headers={"X-Goog-Api-Key": opts.api_key.reveal()})
    refusal = _care_refusal(response)
    if refusal:
        raise _CareSkipped(refusal)
    _raise_for(response, "YouTube Data API")
    answer = Endpoint.of("the YouTube Data API", url)
    return answer, answer.object(answer.json(response))


def _moment(answer: Endpoint, text: str, where: str) -> datetime:
    """An RFC 3339 time (`2026-11-20T17:00:00Z`, with or without milliseconds) as an aware datetime."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise answer.unreadable(f"expected an RFC 3339 time {where}, got {text!r:.40}") from None
    if moment.tzinfo is None:
        raise answer.unreadable(f"expected an RFC 3339 time with a zone {where}, got {text!r:.40}")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC has no UTC time
        raise answer.unreadable(f"expected an RFC 3339 time {where}, got {text!r:.40}") from None


def _comment(answer: Endpoint, value: Any) -> _Comment:
    resource = answer.object(value, "as a comment")
    snippet = answer.get_object(resource, "snippet", required=True) or {}
    author = answer.get_object(snippet, "authorChannelId")
    return _Comment(
        id=answer.text(resource, "id"),
        author=answer.get_text(author, "value") if author is not None else None,
        at=_moment(answer, answer.text(snippet, "publishedAt"), 'under "publishedAt"'),
        hidden=answer.get_text(snippet, "moderationStatus") == "rejected",
    )


def _thread(answer: Endpoint, value: Any) -> _Thread:
    resource = answer.object(value, 'in "items"')
    snippet = answer.get_object(resource, "snippet", required=True) or {}
    replies = answer.get_object(resource, "replies") or {}
    public = snippet.get("isPublic", True)
    if not isinstance(public, bool):
        raise answer.unreadable(f'expected true or false under "isPublic", got {public!r:.20}')
    return _Thread(
        top=_comment(answer, answer.get_object(snippet, "topLevelComment", required=True)),
        replies=tuple(_comment(answer, c) for c in answer.get_list(replies, "comments")),
        total_replies=int(answer.number(snippet.get("totalReplyCount", 0), 'under "totalReplyCount"')),
        public=public,
    )


def _pages(
    opts: YouTubeOptions, http: HttpSession, resource: str, params: dict[str, Any], limit: int, too_many: str
) -> Iterator[tuple[Endpoint, list[Any]]]:
    """The `items` of each page of a Data API list, following nextPageToken for at most `limit` pages."""
    token: str | None = None
    for _ in range(limit):
        answer, body = _care_get(opts, http, resource, {**params, **({"pageToken": token} if token else {})})
        yield answer, answer.get_list(body, "items")
        token = answer.get_text(body, "nextPageToken")
        if not token:
            return
    raise _CareSkipped(too_many)


def _replies(opts: YouTubeOptions, http: HttpSession, thread: _Thread) -> _Thread:
    """The thread with every reply, read with comments.list when the thread resource carried only some."""
    if thread.complete:
        return thread
    params = {"part": "snippet", "parentId": thread.top.id, "maxResults": THREAD_PAGE}
    too_many = f"a comment thread has more than {MAX_REPLY_PAGES * THREAD_PAGE:,} replies: care stopped reading there"
    pages = _pages(opts, http, "comments", params, MAX_REPLY_PAGES, too_many)
    replies = [_comment(answer, c) for answer, page in pages for c in page]
    return _Thread(thread.top, tuple(replies), thread.total_replies, thread.public)


def _threads(opts: YouTubeOptions, http: HttpSession, since: datetime) -> Iterator[list[_Thread]]:
    """Pages of the channel's threads with activity since `since`, newest first; stops at a page with none."""
    params = {"part": "snippet,replies", "allThreadsRelatedToChannelId": opts.channel_id,
              "maxResults": THREAD_PAGE, "order": "time"}
    too_many = (f"the channel has more than {MAX_THREAD_PAGES * THREAD_PAGE:,} comment threads with recent activity: "
                "only the newest were read for care (lower `care_lookback_days`)")
    for answer, page in _pages(opts, http, "commentThreads", params, MAX_THREAD_PAGES, too_many):
        recent = [t for t in (_thread(answer, item) for item in page) if t.latest >= since]
        yield [_replies(opts, http, t) for t in recent]
        if not recent:
            return


def _first_reply(mine: list[datetime], after: datetime) -> datetime | None:
    return next((m for m in mine if m >= after), None)


def care_items(thread: _Thread, me: str) -> list[CareItem]:
    """The thread's facts: someone else's comment and when the channel first answered it in the thread.

    The channel's own top-level comment is not inbound; the replies others give it are ("reply"), each
    answered by the channel's first reply after it. Replies among viewers in someone else's thread are
    their conversation, not questions to the channel, and are left out. A thread YouTube marks not public,
    or a comment the owner rejected, counts as hidden.
    """
    mine = sorted(r.at for r in thread.replies if r.author == me)
    top = thread.top
    if top.author != me:
        hidden = top.hidden or not thread.public
        return [CareItem(PLATFORM, Channel.COMMENT, top.id, top.at, _first_reply(mine, top.at), deleted=hidden)]
    items = [CareItem(PLATFORM, Channel.COMMENT, top.id, top.at, from_account=True)]
    for reply in thread.replies:
        if reply.author != me:
            hidden = reply.hidden or not thread.public
            first = _first_reply(mine, reply.at)
            items.append(CareItem(PLATFORM, Channel.REPLY, reply.id, reply.at, first, deleted=hidden))
    return items


def care_since(opts: YouTubeOptions, window: Window) -> datetime | None:
    """From when threads are read: the window or the care lookback, whichever starts first (at most
    CARE_MAX_DAYS back); None when care is off or the window is an old backfill comments cannot reach cheaply."""
    if opts.care_lookback_days == 0:
        return None
    recent = window.today - timedelta(days=opts.care_lookback_days)
    if window.until < recent:
        return None
    first = max(min(window.since, recent), window.today - timedelta(days=CARE_MAX_DAYS))
    return datetime.combine(first, time(0), window.timezone)


def _care(opts: YouTubeOptions, http: HttpSession, window: Window) -> Iterator[list[CareItem] | Notice]:
    since = care_since(opts, window)
    if since is None:
        return
    try:
        for page in _threads(opts, http, since):
            yield [item for thread in page for item in care_items(thread, opts.channel_id)]
    except _CareSkipped as skipped:
        yield Notice(str(skipped))


def fetch(opts: YouTubeOptions, window: Window, http: HttpSession, state: dict[str, Any]) -> Iterator[Any]:
    snapshot = list(_snapshot(channel(opts, http), window))
    yield [s for s in snapshot if isinstance(s, Sample)]
    yield from (u for u in snapshot if isinstance(u, Unavailable))
    if opts.token:
        yield from _daily(opts, opts.token, http, window)
    yield from _care(opts, http, window)


def check(opts: YouTubeOptions, http: HttpSession) -> str:
    item = channel(opts, http)
    stats = item.get("statistics", {})
    title = item.get("snippet", {}).get("title", opts.channel_id)
    if stats.get("hiddenSubscriberCount"):
        subscribers = "subscriber count hidden"
    elif "subscriberCount" not in stats:
        subscribers = "subscriber count not returned"
    else:
        subscribers = f"about {int(stats['subscriberCount']):,} subscribers"
    if opts.token:
        yesterday = datetime.now(PACIFIC).date() - timedelta(days=1)
        next(report_rows(opts, opts.token, http, yesterday, yesterday), None)  # proves the token works for this channel
        return f"channel {title}, {subscribers}; Analytics token works"
    return f"channel {title}, {subscribers}; no token, so no daily Analytics numbers"


plugin = Plugin(
    name="youtube",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=YouTubeOptions,
    description="A YouTube channel's subscribers (API key) and, with an OAuth token, daily views, likes, "
    "comments, shares and subscriber gains/losses (YouTube Analytics).",
    lookback_days=5,
    day_rule="Pacific days for Analytics numbers (as YouTube reports them); snapshots on the account's today",
    metrics={
        "followers": "Subscribers (Data API subscriberCount) as read that day; YouTube rounds it down to three "
        "significant figures (2,345 shows as 2,340), so small channels move in steps.",
        "posts_total": "Public videos on the channel (videoCount), as read that day.",
        "youtube.views_total": "Lifetime views of the channel (viewCount), as read that day: a level, not a daily sum.",
        "views": "Views that Pacific day (Analytics `views`; YouTube now counts a view when playback starts).",
        "likes": "Likes received on the channel's videos that Pacific day (Analytics `likes`).",
        "comments": "Comments posted on the channel's videos that Pacific day (Analytics `comments`).",
        "shares": "Times the channel's videos were shared via the Share button that Pacific day (Analytics `shares`).",
        "followers_gained": "Subscribers gained that Pacific day (Analytics `subscribersGained`).",
        "followers_lost": "Subscribers lost that Pacific day (Analytics `subscribersLost`).",
    },
    check=check,
)
