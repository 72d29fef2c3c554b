"""A fake YouTube: Data API v3 `channels.list` and Analytics API v2 `reports.query`, on one server.

It answers like Google: counts in the Data API are strings and the subscriber
count is rounded down to three significant figures; an unknown channel id is
a 200 without `items`; unknown query parameters are a 400; the API key is
accepted as `key=` or the `X-Goog-Api-Key` header; Analytics needs a Bearer
token of the channel's owner, returns rows (dimension strings, metric
numbers) only up to the last fully processed day, pages with
maxResults/startIndex, and omits `rows` when there is none. Errors use the
Google envelope with the documented reasons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
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
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.expect_request("/youtube/v3/channels", method="GET").respond_with_handler(self._channels)
        self.server.expect_request("/v2/reports", method="GET").respond_with_handler(self._reports)

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

    def _channels(self, request: Request) -> Response:
        self._record(request)
        key = request.headers.get("X-Goog-Api-Key") or request.args.get("key")
        if not key:
            return self._json(MISSING_KEY)
        if key != self.api_key:
            return self._json(INVALID_KEY)
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
