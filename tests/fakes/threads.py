"""A fake Threads Graph API (graph.threads.net/v1.0) for the threads plugin, on pytest-httpserver.

It answers like /work/shared/apis/threads.md describes:
- `/{user-id}?fields=...`: the profile, which has no follower count;
- `/{user-id}/threads_insights?metric&since&until` (unix seconds, Pacific midnights; `until` exclusive): `views`
  as daily `values` whose `end_time` is the following Pacific midnight, likes/replies/reposts/quotes/
  followers_count as `total_value` for the whole range (`period` says "day" all the same), `clicks` as
  `link_total_values` per URL, `paging.previous/next` shifted by the range with the token inside; since/until
  before 1712991600 refused; optionally a stray `views` point for the day before `since` (the real body's quirk);
- `/{user-id}/threads?fields&since&until&limit&after`: posts newest first, `paging.cursors` always and
  `paging.next` (token inside) only while more pages follow;
- `/{media-id}/insights?metric=...`: lifetime `values` without `end_time`, `[]` for a REPOST_FACADE, code 1
  "An unknown error has occurred." for `clicks` (not a media metric);
- the error envelope, `THApiException` on Threads paths and `OAuthException` for tokens and unknown errors,
  190/463 for an expired token, and the `X-Business-Use-Case-Usage` header when set.

Stricter than Threads on one point: an unknown query parameter is refused, so a plugin typo fails a test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.fakes.graph import PACIFIC, end_time, pacific_seconds

TOKEN = "THAAfake-threads-token-0123456789abcdef"
EARLIEST = 1712991600  # 2024-04-13 00:00 Pacific: since/until before it do not work
USER_METRICS = ("views", "likes", "replies", "reposts", "quotes", "clicks", "followers_count", "follower_demographics")
DAILY = ("views", "likes", "replies", "reposts", "quotes")
MEDIA_METRICS = ("views", "likes", "replies", "reposts", "quotes", "shares")
DESCRIPTIONS = {
    "views": "The number of times your profile was viewed.",
    "likes": "The number of likes on your posts.",
    "replies": "The number of replies on your posts.",
    "reposts": "The number of times your posts were reposted.",
    "quotes": "The number of times your posts were quoted.",
    "clicks": "The number of clicks on the links you shared.",
    "followers_count": "This is your total number of followers on Threads.",
    "shares": "The number of shares of your post.",
}
UNKNOWN_ERROR = "An unknown error has occurred."


def threads_error(code: int, message: str, subcode: int | None = None, kind: str = "THApiException") -> dict:
    """The envelope Threads sends with every error."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AThreadsFakeTrace00000"
    return {"error": error}


def stamp(at: datetime) -> str:
    """A media `timestamp` as Threads writes it: UTC with +0000."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class FakePost:
    id: str
    published: datetime
    media_type: str = "TEXT_POST"
    insights: dict[str, int] = field(default_factory=dict)  # lifetime metric -> value; absent: not served


@dataclass
class FakeThreadsUser:
    id: str
    username: str = "acme.bakery"
    followers_count: int | None = 458
    daily: dict[str, dict[date, int]] = field(default_factory=dict)  # views/likes/... -> Pacific day -> value
    clicks: dict[str, dict[date, int]] = field(default_factory=dict)  # link_url -> Pacific day -> clicks
    posts: list[FakePost] = field(default_factory=list)


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it, so tests can check where the token went."""

    path: str
    params: dict[str, str]
    authorization: str | None
    url: str


class _Refused(Exception):
    def __init__(self, body: dict[str, Any], status: int = 400) -> None:
        self.body, self.status = body, status


class FakeThreads:
    def __init__(self, server: HTTPServer, token: str = TOKEN, today: date = date(2026, 11, 23)) -> None:
        self.server = server
        self.token = token
        self.today = today  # Pacific today: the default range without since/until
        self.expired = False
        self.insights_permission = True  # False: the token lacks threads_manage_insights
        self.users: dict[str, FakeThreadsUser] = {}
        self.refused_metrics: set[str] = set()  # user metrics answered with code 100 (not served any more)
        self.unserved_media: set[str] = set()  # media metrics answered with code 1
        self.stray_points = False  # views: also a point for the day before `since`
        self.page_size: int | None = None  # media list: at most this many posts a page, whatever `limit` says
        self.usage_headers: dict[str, str] = {}
        self.queued: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self.requests: list[Seen] = []
        server.expect_request(re.compile(r"^/v1\.0/.+")).respond_with_handler(self._handle)

    # --- what tests call ---------------------------------------------------

    def add_user(self, user: FakeThreadsUser) -> FakeThreadsUser:
        self.users[user.id] = user
        return user

    def fail_next(self, body: dict[str, Any], status: int = 400, headers: dict[str, str] | None = None) -> None:
        """Answer the next request with this error (in order), whatever it asks."""
        self.queued.append((status, body, headers or {}))

    def calls(self, suffix: str) -> list[Seen]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    # --- the server --------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        params = dict(request.args.items())
        self.requests.append(Seen(request.path, params, request.headers.get("Authorization"), request.url))
        try:
            if self.queued:
                status, body, headers = self.queued.pop(0)
                return self._json(body, status, headers)
            self._authorize(request, params)
            return self._json(self._route(request, params))
        except _Refused as refused:
            return self._json(refused.body, refused.status)

    def _json(self, body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(body), status=status, headers={**self.usage_headers, **(headers or {})},
                        content_type="application/json")

    def _authorize(self, request: Request, params: dict[str, str]) -> None:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else params.get("access_token")
        if not token:
            raise _Refused(threads_error(104, "An access token is required to request this resource.",
                                         kind="OAuthException"))
        if token != self.token:
            raise _Refused(threads_error(190, "Invalid OAuth access token - Cannot parse access token",
                                         kind="OAuthException"))
        if self.expired:
            raise _Refused(threads_error(
                190, "Error validating access token: Session has expired on Friday, 20-Nov-26 09:00:00 PST. "
                     "The current time is Saturday, 21-Nov-26 03:15:09 PST.", 463, kind="OAuthException"))

    def _route(self, request: Request, params: dict[str, str]) -> dict[str, Any]:
        parts = request.path.strip("/").split("/")[1:]
        owner = next(iter(self.users)) if parts[0] == "me" and self.users else parts[0]
        media = {p.id: p for u in self.users.values() for p in u.posts}
        if owner in media and parts[1:] == ["insights"]:
            return self._media_insights(media[owner], params)
        if owner not in self.users:
            raise _Refused(threads_error(
                100, f"Unsupported get request. Object with ID '{owner}' does not exist, cannot be loaded due to "
                     "missing permissions, or does not support this operation", 33))
        user = self.users[owner]
        if len(parts) == 1:
            return self._node(user, params)
        if parts[1:] == ["threads_insights"]:
            return self._user_insights(user, request, params)
        if parts[1:] == ["threads"]:
            return self._media_list(user, request, params)
        raise _Refused(threads_error(100, f"(#100) Tried accessing nonexisting field ({parts[1]})"))

    def _only(self, params: dict[str, str], allowed: set[str]) -> None:
        unknown = sorted(set(params) - allowed - {"access_token"})
        if unknown:
            raise _Refused(threads_error(100, f"(#100) fake Threads refuses unknown parameter {unknown[0]!r}"))

    def _node(self, user: FakeThreadsUser, params: dict[str, str]) -> dict[str, Any]:
        self._only(params, {"fields"})
        known = {"id": user.id, "username": user.username, "threads_biography": "Sourdough since 1987",
                 "threads_profile_picture_url": "https://scontent.example/pic.jpg"}
        fields = params.get("fields", "id").split(",")
        unknown = [f for f in fields if f not in known]
        if unknown:
            raise _Refused(threads_error(100, f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type "
                                              "(ThreadsUser)"))
        return {f: known[f] for f in fields}

    def _range(self, params: dict[str, str]) -> tuple[date, date]:
        """[first, end) as Pacific days; without since/until, yesterday through today."""
        if "since" not in params and "until" not in params:
            return self.today - timedelta(days=1), self.today + timedelta(days=1)
        try:
            since, until = int(params["since"]), int(params["until"])
        except (KeyError, ValueError):
            raise _Refused(threads_error(100, "(#100) since and until must be unix timestamps")) from None
        if since < EARLIEST or until < EARLIEST:
            raise _Refused(threads_error(100, f"(#100) since and until cannot be before {EARLIEST}"))
        return datetime.fromtimestamp(since, PACIFIC).date(), datetime.fromtimestamp(until, PACIFIC).date()

    def _user_insights(self, user: FakeThreadsUser, request: Request, params: dict[str, str]) -> dict[str, Any]:
        self._only(params, {"metric", "since", "until", "breakdown"})
        if not self.insights_permission:
            raise _Refused(threads_error(10, "(#10) Application does not have permission for this action"), 403)
        metrics = [m for m in params.get("metric", "").split(",") if m]
        if not metrics:
            raise _Refused(threads_error(100, "(#100) The parameter metric is required"))
        for metric in metrics:
            if metric not in USER_METRICS or metric in self.refused_metrics:
                served = [m for m in USER_METRICS if m not in self.refused_metrics]
                raise _Refused(threads_error(100, f"(#100) Param metric must be one of {{{', '.join(served)}}}"))
        first, end = self._range(params)
        data = [self._user_entry(user, m, first, end) for m in metrics]
        return {"data": data, "paging": self._paging(request, params, first, end)}

    def _user_entry(self, user: FakeThreadsUser, metric: str, first: date, end: date) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": metric, "period": "day"}
        days = [first + timedelta(days=i) for i in range((end - first).days)]
        if metric == "views":
            series = user.daily.get("views", {})
            shown = ([first - timedelta(days=1)] if self.stray_points else []) + days
            entry["values"] = [{"value": series[d], "end_time": end_time(d)} for d in shown if d in series]
        entry |= {"title": metric, "description": DESCRIPTIONS.get(metric, metric)}
        if metric in DAILY and metric != "views":
            series = user.daily.get(metric, {})
            if any(d in series for d in days):  # no day with data: no total_value at all
                entry["total_value"] = {"value": sum(series.get(d, 0) for d in days)}
        elif metric == "clicks":
            links = {url: sum(per_day.get(d, 0) for d in days) for url, per_day in user.clicks.items()
                     if any(d in per_day for d in days)}
            entry["link_total_values"] = [{"link_url": url, "value": n} for url, n in links.items()]
        elif metric == "followers_count" and user.followers_count is not None:
            entry["total_value"] = {"value": user.followers_count}
        entry["id"] = f"{user.id}/insights/{metric}/day"
        return entry

    def _paging(self, request: Request, params: dict[str, str], first: date, end: date) -> dict[str, str]:
        """Links with the token in them, shifted by the range's length, as Threads writes them."""
        span = max((end - first).days, 1)

        def link(a: date, b: date) -> str:
            query = {**params, "access_token": self.token, "since": pacific_seconds(a), "until": pacific_seconds(b)}
            return f"{request.host_url.rstrip('/')}{request.path}?{urlencode(query)}"

        return {"previous": link(first - timedelta(days=span), first), "next": link(end, end + timedelta(days=span))}

    def _media_list(self, user: FakeThreadsUser, request: Request, params: dict[str, str]) -> dict[str, Any]:
        self._only(params, {"fields", "since", "until", "limit", "before", "after"})
        fields = params.get("fields", "id").split(",")
        known = {"id", "media_type", "media_product_type", "timestamp", "permalink", "is_quote_post", "text"}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise _Refused(threads_error(100, f"(#100) Tried accessing nonexisting field ({unknown[0]})"))
        since = int(params.get("since", 0))
        until = int(params.get("until", 2**40))
        posts = sorted((p for p in user.posts if since <= p.published.timestamp() <= until),
                       key=lambda p: p.published, reverse=True)
        start = int(params["after"].removeprefix("c")) if "after" in params else 0
        size = min(int(params.get("limit", 25)), 100, self.page_size or 100)
        page = posts[start:start + size]
        body: dict[str, Any] = {"data": [self._post_fields(p, fields) for p in page]}
        paging: dict[str, Any] = {"cursors": {"before": f"c{start}", "after": f"c{start + len(page)}"}}
        if start + size < len(posts):
            query = {**params, "access_token": self.token, "after": f"c{start + len(page)}"}
            paging["next"] = f"{request.host_url.rstrip('/')}{request.path}?{urlencode(query)}"
        body["paging"] = paging
        return body

    def _post_fields(self, post: FakePost, fields: list[str]) -> dict[str, Any]:
        values = {"id": post.id, "media_type": post.media_type, "media_product_type": "THREADS",
                  "timestamp": stamp(post.published), "permalink": f"https://www.threads.net/@acme.bakery/post/{post.id}",
                  "is_quote_post": False, "text": "Fresh rolls at 7"}
        return {f: values[f] for f in fields}

    def _media_insights(self, post: FakePost, params: dict[str, str]) -> dict[str, Any]:
        self._only(params, {"metric"})
        if not self.insights_permission:
            raise _Refused(threads_error(10, "(#10) Application does not have permission for this action"), 403)
        metrics = [m for m in params.get("metric", "").split(",") if m]
        for metric in metrics:
            if metric == "clicks" or metric in self.unserved_media:
                raise _Refused(threads_error(1, UNKNOWN_ERROR, kind="OAuthException"), 500)
            if metric not in MEDIA_METRICS:
                raise _Refused(threads_error(100, f"(#100) Param metric must be one of {{{', '.join(MEDIA_METRICS)}}}"))
        if post.media_type == "REPOST_FACADE":
            return {"data": []}
        return {"data": [
            {"name": m, "period": "lifetime", "values": [{"value": post.insights[m]}], "title": m.capitalize(),
             "description": DESCRIPTIONS.get(m, m), "id": f"{post.id}/insights/{m}/lifetime"}
            for m in metrics if m in post.insights
        ]}
