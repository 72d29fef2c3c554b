"""A fake YouTube: Data API v3 `channels.list`, `commentThreads.list` and `comments.list`, and Analytics API
v2 `reports.query`, on one server.

It answers like Google: counts in the Data API are strings and the subscriber
count is rounded down to three significant figures; an unknown channel id is
a 200 without `items`; unknown query parameters are a 400; the API key is
accepted as `key=` or the `X-Goog-Api-Key` header; Analytics needs a Bearer
token of the channel's owner, returns rows (dimension strings, metric
numbers) only up to the last fully processed day, pages with
maxResults/startIndex, and omits `rows` when there is none. Errors use the
Google envelope with the documented reasons.

Comment threads (`allThreadsRelatedToChannelId`, newest first) page with maxResults (1-100, default 20)
and an opaque pageToken/nextPageToken; a thread carries at most five replies (the newest) beside its
totalReplyCount, and `comments.list?parentId=` pages through all of them, newest first, like the recorded
answers of the real API. Times are RFC 3339 with milliseconds (`2026-11-20T17:00:00.000Z`). Every comment
carries a text, an author name, a channel URL and an avatar URL, so tests can show none is stored.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CHANNEL_ID = "UCq1l2X3k4J5h6G7f8D9s0Aw"
QUOTA_MESSAGE = (
    'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">'
    "quota</a>."
)
CHANNEL_PARAMS = {"part", "id", "forHandle", "forUsername", "mine", "maxResults", "pageToken", "key", "hl",
                  "managedByMe", "onBehalfOfContentOwner", "fields", "prettyPrint", "alt", "quotaUser"}
REPORT_PARAMS = {"ids", "startDate", "endDate", "metrics", "dimensions", "filters", "sort", "maxResults",
                 "startIndex", "currency", "includeHistoricalChannelData", "fields", "prettyPrint", "alt"}
THREAD_PARAMS = {"part", "allThreadsRelatedToChannelId", "channelId", "id", "videoId", "maxResults", "moderationStatus",
                 "order", "pageToken", "searchTerms", "textFormat", "key", "fields", "prettyPrint", "alt", "quotaUser"}
COMMENT_PARAMS = {"part", "id", "parentId", "maxResults", "pageToken", "textFormat", "key", "fields", "prettyPrint",
                  "alt", "quotaUser"}
REPLIES_IN_THREAD = 5  # a commentThread resource carries at most this many replies; comments.list has them all
METRICS = ("views", "likes", "comments", "shares", "subscribersGained", "subscribersLost", "estimatedMinutesWatched")


def round_subscribers(n: int) -> int:
    """YouTube's public subscriber count: rounded down to three significant figures (since 2019-09)."""
    if n < 1000:
        return n
    step = 10 ** (len(str(n)) - 3)
    return n // step * step


def error(code: int, reason: str, message: str, domain: str = "global", status: str | None = None,
          details: list[dict[str, Any]] | None = None) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"code": code, "message": message,
                            "errors": [{"message": message, "domain": domain, "reason": reason}]}
    if status:
        body["status"] = status
    if details:
        body["details"] = details
    return code, {"error": body}


INVALID_KEY = error(
    400, "badRequest", "API key not valid. Please pass a valid API key.", status="INVALID_ARGUMENT",
    details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
              "domain": "googleapis.com", "metadata": {"service": "youtube.googleapis.com"}}],
)
MISSING_KEY = error(403, "forbidden", "The request is missing a valid API key.", status="PERMISSION_DENIED")
QUOTA = error(403, "quotaExceeded", QUOTA_MESSAGE, domain="youtube.quota")
RATE = error(403, "rateLimitExceeded", "The request cannot be completed because you have exceeded your rate limit.",
             domain="youtube.quota")
BAD_TOKEN = error(
    401, "authError",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    status="UNAUTHENTICATED",
)
NOT_OWNER = error(403, "forbidden", "Forbidden", status="PERMISSION_DENIED")
COMMENTS_DISABLED = error(
    403, "commentsDisabled",
    'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list#videoId">videoId</a></code> '
    "parameter has disabled comments.",
    domain="youtube.commentThread",
)
COMMENTS_FORBIDDEN = error(
    403, "forbidden",
    "The comment thread could not be retrieved due to insufficient permissions. The request might not be properly "
    "authorized.", domain="youtube.commentThread",
)
INSUFFICIENT_SCOPE = error(
    403, "insufficientPermissions", "Request had insufficient authentication scopes.", status="PERMISSION_DENIED",
    details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
              "domain": "googleapis.com", "metadata": {"service": "youtube.googleapis.com",
                                                       "method": "youtube.api.v3.V3DataCommentThreadService.List"}}],
)
BACKEND_ERROR = error(500, "backendError", "Backend Error", status="INTERNAL")


def rfc3339(moment: datetime) -> str:
    """Google's way of writing a time: UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class FakeComment:
    """One comment as YouTube keeps it, with the personal data a real one carries."""

    id: str
    author_id: str
    at: datetime
    text: str = "Wann habt ihr sonntags offen?"
    author_name: str = "Erika Musterfrau"
    handle: str = "@erikamusterfrau"
    moderation_status: str | None = None  # only the channel owner is told; "rejected" when the owner hid it
    published: str | None = None  # publishedAt as written, when a test needs another RFC 3339 form than rfc3339()


@dataclass
class FakeThread:
    top: FakeComment
    video_id: str = "dQw4w9WgXcQ"
    replies: list[FakeComment] = field(default_factory=list)  # oldest first, as they were written
    public: bool = True


@dataclass
class Recorded:
    path: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    url: str


@dataclass
class FakeYouTube:
    server: HTTPServer
    api_key: str = "yt-key-abc"
    token: str | None = "yt-oauth-xyz"
    subscribers: int | None = 2345  # None: statistics without subscriberCount, though not hidden
    hidden: bool = False
    views_total: int = 184223
    videos: int = 87
    token_owns_channel: bool = True  # False: the token belongs to another Google account
    last_complete: date | None = None  # Analytics has no rows after this day (processing lag)
    daily: dict[date, dict[str, int]] = field(default_factory=dict)
    data_error: tuple[int, dict[str, Any]] | None = None  # forced answer of the Data API
    analytics_error: tuple[int, dict[str, Any]] | None = None
    comments_error: tuple[int, dict[str, Any]] | None = None  # forced answer of commentThreads and comments
    threads: list[FakeThread] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.expect_request("/youtube/v3/channels", method="GET").respond_with_handler(self._channels)
        self.server.expect_request("/youtube/v3/commentThreads", method="GET").respond_with_handler(self._threads)
        self.server.expect_request("/youtube/v3/comments", method="GET").respond_with_handler(self._comments)
        self.server.expect_request("/v2/reports", method="GET").respond_with_handler(self._reports)

    def add_thread(self, comment_id: str, author_id: str, at: datetime, **kw: Any) -> FakeThread:
        """A top-level comment (a new thread); `kw` goes to FakeThread (video_id, public) or FakeComment."""
        thread_kw = {k: kw.pop(k) for k in ("video_id", "public") if k in kw}
        thread = FakeThread(FakeComment(comment_id, author_id, at, **kw), **thread_kw)
        self.threads.append(thread)
        return thread

    def reply(self, thread: FakeThread, author_id: str, at: datetime, **kw: Any) -> FakeComment:
        comment = FakeComment(f"{thread.top.id}.{len(thread.replies):022d}", author_id, at, **kw)
        thread.replies.append(comment)
        return comment

    def comment_requests(self, path: str) -> list[dict[str, list[str]]]:
        return [r.args for r in self.requests if r.path == f"/youtube/v3/{path}"]

    def seed(self, day: date, **values: int) -> None:
        """Analytics numbers for one Pacific day; missing metrics are 0."""
        self.daily[day] = {m: values.get(m, 0) for m in METRICS}

    def _json(self, answer: tuple[int, Any]) -> Response:
        status, body = answer
        return Response(json.dumps(body), status=status, content_type="application/json; charset=UTF-8")

    def _record(self, request: Request) -> None:
        self.requests.append(
            Recorded(request.path, request.args.to_dict(flat=False), dict(request.headers), request.url)
        )

    def _unknown(self, request: Request, allowed: set[str]) -> Response | None:
        for name in sorted(set(request.args) - allowed):
            message = f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter.'
            return self._json(error(400, "badRequest", message, status="INVALID_ARGUMENT"))
        return None

    def _key_refused(self, request: Request) -> Response | None:
        key = request.headers.get("X-Goog-Api-Key") or request.args.get("key")
        if not key:
            return self._json(MISSING_KEY)
        if key != self.api_key:
            return self._json(INVALID_KEY)
        return None

    def _channels(self, request: Request) -> Response:
        self._record(request)
        refused = self._key_refused(request)
        if refused:
            return refused
        if self.data_error:
            return self._json(self.data_error)
        refused = self._unknown(request, CHANNEL_PARAMS)
        if refused:
            return refused
        if "part" not in request.args:
            return self._json(error(400, "required", "Required parameter: part", status="INVALID_ARGUMENT"))
        body: dict[str, Any] = {"kind": "youtube#channelListResponse", "etag": "q3Zt8mZl1p0cX2hS7fY4Rk9WbVQ"}
        ids = request.args.get("id", "").split(",")
        if CHANNEL_ID not in ids:
            body["pageInfo"] = {"totalResults": 0, "resultsPerPage": 5}
            return self._json((200, body))
        body["pageInfo"] = {"totalResults": 1, "resultsPerPage": 5}
        body["items"] = [self._channel(request.args["part"].split(","))]
        return self._json((200, body))

    def _channel(self, parts: list[str]) -> dict[str, Any]:
        item: dict[str, Any] = {"kind": "youtube#channel", "etag": "Yq0r1v8dCq2mP1nV0tJwE3xQ4aU", "id": CHANNEL_ID}
        if "snippet" in parts:
            item["snippet"] = {"title": "Bäckerei Lindner", "description": "Handwerksbäckerei seit 1962.",
                               "customUrl": "@baeckereilindner", "publishedAt": "2019-03-02T10:14:27Z", "country": "DE"}
        if "statistics" in parts:
            stats: dict[str, Any] = {"viewCount": str(self.views_total), "hiddenSubscriberCount": self.hidden,
                                     "videoCount": str(self.videos)}
            if not self.hidden and self.subscribers is not None:
                stats["subscriberCount"] = str(round_subscribers(self.subscribers))
            item["statistics"] = stats
        return item

    def _reports(self, request: Request) -> Response:
        self._record(request)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") != self.token:
            return self._json(BAD_TOKEN)
        if self.analytics_error:
            return self._json(self.analytics_error)
        refused = self._unknown(request, REPORT_PARAMS)
        if refused:
            return refused
        for name in ("ids", "startDate", "endDate", "metrics"):
            if name not in request.args:
                return self._json(error(400, "required", f"Required {name}", status="INVALID_ARGUMENT"))
        if not self.token_owns_channel or request.args["ids"] not in ("channel==MINE", f"channel=={CHANNEL_ID}"):
            return self._json(NOT_OWNER)
        metrics = request.args["metrics"].split(",")
        if request.args.get("dimensions") != "day" or set(metrics) - set(METRICS):
            return self._json(error(400, "badRequest", "The query is not supported.", status="INVALID_ARGUMENT"))
        start, end = date.fromisoformat(request.args["startDate"]), date.fromisoformat(request.args["endDate"])
        if self.last_complete:
            end = min(end, self.last_complete)
        days = sorted(d for d in self.daily if start <= d <= end)
        rows = [[d.isoformat(), *(self.daily[d][m] for m in metrics)] for d in days]
        first = int(request.args.get("startIndex", 1)) - 1
        if "maxResults" in request.args:
            rows = rows[first:first + int(request.args["maxResults"])]
        else:
            rows = rows[first:]
        headers = [{"name": "day", "columnType": "DIMENSION", "dataType": "STRING"}] + [
            {"name": m, "columnType": "METRIC", "dataType": "INTEGER"} for m in metrics
        ]
        body: dict[str, Any] = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers}
        if rows:
            body["rows"] = rows
        return self._json((200, body))

    def _list_refused(self, request: Request, allowed: set[str], filters: tuple[str, ...]) -> Response | None:
        """The checks commentThreads.list and comments.list share: key, parameters, one filter, page size."""
        refused = self._key_refused(request) or self._unknown(request, allowed)
        if refused:
            return refused
        if self.comments_error:
            return self._json(self.comments_error)
        if "part" not in request.args:
            return self._json(error(400, "missingRequiredParameter", "No filter selected. Expected one of: part"))
        if sum(f in request.args for f in filters) != 1:
            return self._json(error(400, "incompatibleParameters",
                                    f"Incompatible parameters specified: expected exactly one of {', '.join(filters)}"))
        size = request.args.get("maxResults", "20")
        if not size.isdigit() or not 1 <= int(size) <= 100:
            return self._json(error(400, "invalidParameter", "Invalid value for parameter maxResults"))
        if "pageToken" in request.args and self._offset(request) is None:
            return self._json(error(400, "invalidPageToken", "The request specifies an invalid page token."))
        return None

    def _offset(self, request: Request) -> int | None:
        token = request.args.get("pageToken")
        if token is None:
            return 0
        try:
            kind, offset = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return int(offset) if kind == request.path and offset.isdigit() else None

    def _page(self, request: Request, kind: str, resources: list[dict[str, Any]]) -> Response:
        first = self._offset(request) or 0
        size = int(request.args.get("maxResults", "20"))
        body: dict[str, Any] = {"kind": kind, "etag": "Fv1Qd2j5ZtH0kq3x8bN6oWmRvYs"}
        if first + size < len(resources):
            body["nextPageToken"] = base64.urlsafe_b64encode(f"{request.path}:{first + size}".encode()).decode()
        body["pageInfo"] = {"totalResults": len(resources), "resultsPerPage": size}
        body["items"] = resources[first:first + size]
        return self._json((200, body))

    def _threads(self, request: Request) -> Response:
        self._record(request)
        filters = ("allThreadsRelatedToChannelId", "channelId", "id", "videoId")
        refused = self._list_refused(request, THREAD_PARAMS, filters)
        if refused:
            return refused
        if request.args.get("allThreadsRelatedToChannelId", CHANNEL_ID) != CHANNEL_ID:
            message = ("The channel identified by the <code>allThreadsRelatedToChannelId</code> parameter could not be "
                       "found.")
            return self._json(error(404, "channelNotFound", message, domain="youtube.commentThread"))
        parts = request.args["part"].split(",")
        newest = sorted(self.threads, key=lambda t: t.top.at, reverse=True)
        return self._page(request, "youtube#commentThreadListResponse", [self._thread(t, parts) for t in newest])

    def _comments(self, request: Request) -> Response:
        self._record(request)
        refused = self._list_refused(request, COMMENT_PARAMS, ("id", "parentId"))
        if refused:
            return refused
        thread = next((t for t in self.threads if t.top.id == request.args.get("parentId")), None)
        replies = sorted(thread.replies, key=lambda c: c.at, reverse=True) if thread else []
        return self._page(request, "youtube#commentListResponse", [self._comment(c, thread) for c in replies])

    def _thread(self, thread: FakeThread, parts: list[str]) -> dict[str, Any]:
        resource: dict[str, Any] = {"kind": "youtube#commentThread", "etag": "W4DPat_BSfoIcTpeSjXLpOq8mRw",
                                    "id": thread.top.id}
        if "snippet" in parts:
            resource["snippet"] = {"channelId": CHANNEL_ID, "videoId": thread.video_id,
                                   "topLevelComment": self._comment(thread.top, None, thread.video_id),
                                   "canReply": True, "totalReplyCount": len(thread.replies), "isPublic": thread.public}
        if "replies" in parts and thread.replies:
            newest = sorted(thread.replies, key=lambda c: c.at, reverse=True)[:REPLIES_IN_THREAD]
            resource["replies"] = {"comments": [self._comment(c, thread) for c in newest]}
        return resource

    def _comment(self, comment: FakeComment, parent: FakeThread | None, video_id: str | None = None) -> dict[str, Any]:
        snippet: dict[str, Any] = {
            "authorDisplayName": comment.author_name,
            "authorProfileImageUrl": f"https://yt3.ggpht.com/ytc/{comment.handle[1:]}=s48-c-k-c0x00ffffff-no-rj",
            "authorChannelUrl": f"http://www.youtube.com/{comment.handle}",
            "authorChannelId": {"value": comment.author_id},
            "textDisplay": comment.text,
            "textOriginal": comment.text,
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": comment.published or rfc3339(comment.at),
            "updatedAt": rfc3339(comment.at),
        }
        if parent is None:
            snippet.update({"channelId": CHANNEL_ID, "videoId": video_id} if video_id else {"channelId": CHANNEL_ID})
        if parent is not None:
            snippet["parentId"] = parent.top.id
        if comment.moderation_status:
            snippet["moderationStatus"] = comment.moderation_status
        return {"kind": "youtube#comment", "etag": "dQGpRBbLeR7VSsV4-nNtA7qKCcI", "id": comment.id, "snippet": snippet}
