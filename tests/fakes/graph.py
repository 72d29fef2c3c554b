"""A fake Meta Graph API for the Facebook and Instagram plugins, on pytest-httpserver.

It answers like /work/shared/apis/facebook.md and instagram.md describe: the
`/{version}/{id}` node, `/{version}/{id}/insights` with period/since/until (and
metric_type for Instagram), values keyed by Pacific days whose `end_time` is the
following Pacific midnight in UTC (`T07:00:00+0000` or `T08:00:00+0000`),
`paging` links that embed the token and never run out, the real error envelope
(code 100 for a retired metric failing the whole call, 190/463 for an expired
token, 80001/80002 for throttling) and the usage headers.

Customer care: a Page's posts (`/{page-id}/posts`) and their comments
(`/{post-id}/comments`, `filter=toplevel|stream`, `order`, `parent`,
`is_hidden`), its Messenger conversations (`/{page-id}/conversations`,
`/{conversation-id}/messages`, newest first), an Instagram account's media
(`/{ig-user-id}/media`) and their comments (`/{ig-media-id}/comments` with a
nested `replies{...}` edge, `/{ig-comment-id}/replies`). Every edge pages by
cursor like Graph: `limit` (at most 100), `paging.cursors.before/after`, and a
`paging.next` link (token embedded) only while more remains. Only the fields
asked for are served (an unknown one is refused as Graph refuses it), and a
token without the permission gets Graph's envelope for it: code 100 naming
pages_read_engagement, 230 for pages_messaging, 10 for
instagram_manage_comments.

Stricter than Graph on one point: an unknown query parameter is refused, so a
plugin typo fails a test instead of being silently ignored.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PACIFIC = ZoneInfo("America/Los_Angeles")
TOKEN = "EAAB-fake-page-token-0123456789"
FB_METRICS = {
    "page_follows": "Lifetime Total Follows",
    "page_daily_follows_unique": "Daily New Follows",
    "page_daily_unfollows_unique": "Daily Unfollows",
    "page_daily_follows": "Daily Follows",
    "page_media_view": "Facebook views",
    "page_total_media_view_unique": None,  # Graph sends a null title for it [obs]
    "page_post_engagements": "Post engagements",
    "page_views_total": "Daily Total views count per Page",
    "page_total_actions": "Daily Total Action Count Per Page",
    "page_video_views": "Daily Total Video Views",
}
IG_TIME_SERIES = {"reach", "follower_count"}
IG_TOTAL_VALUE = {
    "reach", "views", "total_interactions", "likes", "comments", "shares", "saves", "replies", "reposts",
    "accounts_engaged", "profile_links_taps", "follows_and_unfollows", "profile_views", "website_clicks",
}
FB_PARAMS = {"metric", "period", "since", "until", "date_preset", "access_token", "appsecret_proof"}
IG_PARAMS = {"metric", "period", "metric_type", "breakdown", "since", "until", "timeframe", "access_token"}
EDGE_PARAMS = {"fields", "limit", "after", "before", "access_token"}
MAX_LIMIT = 100
DEFAULT_LIMIT = 25
NESTED_LIMIT = 25  # a nested edge (`replies{...}`) carries its first 25 entries
FB_PAGE_PERMISSIONS = frozenset({"read_insights", "pages_read_engagement", "pages_messaging"})
IG_PERMISSIONS = frozenset({"instagram_basic", "instagram_manage_insights", "instagram_manage_comments"})
NO_ENGAGEMENT = (  # the real body: shared/fixtures/real/facebook/error_100_missing_permission.json
    "(#100) Object does not exist, cannot be loaded due to missing permission or reviewable feature, or does not "
    "support this operation. This endpoint requires the 'pages_read_engagement' permission or the 'Page Public "
    "Content Access' feature or the 'Page Public Metadata Access' feature. Refer to "
    "https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages, "
    "https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS and "
    "https://developers.facebook.com/docs/apps/review/feature#page-public-metadata-access for details."
)


def graph_error(code: int, message: str, subcode: int | None = None, **extra: Any) -> dict[str, Any]:
    """The envelope Graph sends with every error."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    error["fbtrace_id"] = "AFakeTrace0000000000"
    return {"error": error}


def end_time(day: date) -> str:
    """Graph stamps the value of Pacific day D with D+1 00:00 Pacific, written in UTC."""
    instant = datetime.combine(day + timedelta(days=1), time(), PACIFIC).astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_stamp(at: datetime) -> str:
    """How Graph writes `created_time`, `updated_time` and Instagram's `timestamp`: UTC with `+0000`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def pacific_seconds(day: date) -> int:
    return int(datetime.combine(day, time(), PACIFIC).timestamp())


def _pacific_day(value: str) -> date:
    """Graph reads since/until as unix seconds or as a date at Pacific midnight."""
    if value.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(value), PACIFIC).date()
    return date.fromisoformat(value)


@dataclass
class FakeComment:
    """A comment or reply; `parent` is the comment it answers (Instagram: always the top-level one)."""

    id: str
    created: datetime
    author_id: str
    author_name: str = "Erika Mustermann"  # Facebook's from.name, Instagram's from.username
    text: str = "Habt ihr morgen Zimtschnecken?"
    parent: str | None = None
    hidden: bool = False


@dataclass
class FakePost:
    """A Page post, or (on Instagram) a media object, with every comment and reply on it."""

    id: str
    created: datetime
    comments: list[FakeComment] = field(default_factory=list)


@dataclass
class FakeMessage:
    id: str
    created: datetime
    author_id: str
    author_name: str = "Max Power"
    text: str = "Wann habt ihr Sonntag offen?"


@dataclass
class FakeConversation:
    id: str
    messages: list[FakeMessage] = field(default_factory=list)

    @property
    def updated(self) -> datetime:
        return max(m.created for m in self.messages) if self.messages else datetime(2020, 1, 1, tzinfo=UTC)


@dataclass
class FakePage:
    id: str
    name: str = "Bäckerei Lindner"
    followers_count: int = 1459
    fan_count: int = 1402
    series: dict[str, dict[date, float]] = field(default_factory=dict)  # Graph metric -> Pacific day -> value
    posts: list[FakePost] = field(default_factory=list)
    conversations: list[FakeConversation] = field(default_factory=list)
    permissions: set[str] = field(default_factory=lambda: set(FB_PAGE_PERMISSIONS))


@dataclass
class FakeIgUser:
    id: str
    username: str = "baeckerei.lindner"
    followers_count: int = 2480
    follows_count: int = 311
    media_count: int = 412
    series: dict[str, dict[date, float]] = field(default_factory=dict)
    media: list[FakePost] = field(default_factory=list)
    permissions: set[str] = field(default_factory=lambda: set(IG_PERMISSIONS))


NOT_FIELDS = {"series", "posts", "conversations", "permissions", "media"}


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


class FakeGraph:
    def __init__(self, server: HTTPServer, token: str = TOKEN, today: date = date(2026, 11, 23)) -> None:
        self.server = server
        self.token = token
        self.today = today  # Pacific today: Instagram's follower_count stops the day before
        self.expired = False
        self.pages: dict[str, FakePage] = {}
        self.ig_users: dict[str, FakeIgUser] = {}
        self.retired: set[str] = set()
        self.page_days: int | None = None  # serve at most this many days per insights page
        self.usage_headers: dict[str, str] = {}
        self.queued: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self.failing: dict[str, tuple[int, dict[str, Any]]] = {}  # path suffix -> the error every call to it gets
        self.scoped_from = False  # Instagram comments' from.id as an Instagram-scoped id, not the account id
        self.requests: list[Seen] = []
        server.expect_request(re.compile(r"^/v\d+\.\d+/.+")).respond_with_handler(self._handle)

    # --- what tests call ---------------------------------------------------

    def add_page(self, page: FakePage) -> FakePage:
        self.pages[page.id] = page
        return page

    def add_ig_user(self, user: FakeIgUser) -> FakeIgUser:
        self.ig_users[user.id] = user
        return user

    def fail_next(self, body: dict[str, Any], status: int = 400, headers: dict[str, str] | None = None) -> None:
        """Answer the next request with this error (in order), whatever it asks."""
        self.queued.append((status, body, headers or {}))

    def fail_on(self, suffix: str, body: dict[str, Any], status: int = 500) -> None:
        """Answer every request whose path ends with `suffix` (e.g. "/posts") with this error."""
        self.failing[suffix] = (status, body)

    def insights_requests(self, owner: str) -> list[Seen]:
        return [r for r in self.requests if r.path.endswith(f"/{owner}/insights")]

    def edge_requests(self, edge: str) -> list[Seen]:
        """Requests to any `/{id}/{edge}` (posts, comments, replies, media, conversations, messages)."""
        return [r for r in self.requests if r.path.rsplit("/", 1)[-1] == edge]

    # --- the server --------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        params = {k: v for k, v in request.args.items()}
        self.requests.append(Seen(request.path, params, request.headers.get("Authorization"), request.url))
        try:
            if self.queued:
                status, body, headers = self.queued.pop(0)
                return self._json(body, status, headers)
            self._authorize(request, params)
            for suffix, (status, body) in self.failing.items():
                if request.path.endswith(suffix):
                    return self._json(body, status)
            return self._json(self._route(request, params))
        except _Refused as refused:
            return self._json(refused.body, refused.status)

    def _json(self, body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
        all_headers = {**self.usage_headers, **(headers or {})}
        return Response(json.dumps(body), status=status, headers=all_headers, content_type="application/json")

    def _authorize(self, request: Request, params: dict[str, str]) -> None:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else params.get("access_token")
        if not token:
            raise _Refused(graph_error(104, "An access token is required to request this resource."))
        if token != self.token:
            raise _Refused(graph_error(190, "Invalid OAuth access token - Cannot parse access token"))
        if self.expired:
            raise _Refused(graph_error(
                190, "Error validating access token: Session has expired on Friday, 20-Nov-26 09:00:00 PST. "
                     "The current time is Saturday, 21-Nov-26 03:15:09 PST.", 463))

    def _route(self, request: Request, params: dict[str, str]) -> dict[str, Any]:
        parts = request.path.strip("/").split("/")[1:]
        owner = parts[0]
        if owner not in self.pages and owner not in self.ig_users:
            if len(parts) == 2:
                return self._care_edge(request, params, owner, parts[1])
            raise _Refused(_no_object(owner))
        if len(parts) == 1:
            return self._node(self.pages.get(owner) or self.ig_users[owner], params)
        if owner in self.pages and parts[1:] == ["posts"]:
            page = self.pages[owner]
            self._need(page.permissions, "pages_read_engagement", graph_error(100, NO_ENGAGEMENT))
            posts = sorted(page.posts, key=lambda p: p.created, reverse=True)
            return self._edge(request, params, [self._fb_post(p, params) for p in posts], set())
        if owner in self.pages and parts[1:] == ["conversations"]:
            return self._conversations(self.pages[owner], request, params)
        if owner in self.ig_users and parts[1:] == ["media"]:
            media = sorted(self.ig_users[owner].media, key=lambda m: m.created, reverse=True)
            return self._edge(request, params, [self._ig_media(m, params) for m in media], set())
        if parts[1:] != ["insights"]:
            raise _Refused(graph_error(100, f"(#100) Tried accessing nonexisting field ({parts[1]})"))
        if owner in self.pages:
            return self._page_insights(self.pages[owner], request, params)
        return self._ig_insights(self.ig_users[owner], request, params)

    # --- customer care: posts, media, comments, conversations -----------------

    def _need(self, granted: set[str], permission: str, refusal: dict[str, Any]) -> None:
        if permission not in granted:
            raise _Refused(refusal, 403 if refusal["error"]["code"] != 100 else 400)

    def _care_edge(self, request: Request, params: dict[str, str], owner: str, edge: str) -> dict[str, Any]:
        """`/{post-id}/comments`, `/{ig-media-id}/comments`, `/{ig-comment-id}/replies` and
        `/{conversation-id}/messages`."""
        for page in self.pages.values():
            post = next((p for p in page.posts if p.id == owner), None)
            if post is not None and edge == "comments":
                self._need(page.permissions, "pages_read_engagement", graph_error(100, NO_ENGAGEMENT))
                return self._fb_comments(post, request, params)
            talk = next((c for c in page.conversations if c.id == owner), None)
            if talk is not None and edge == "messages":
                self._need(page.permissions, "pages_messaging", _no_messaging())
                messages = sorted(talk.messages, key=lambda m: m.created, reverse=True)
                return self._edge(request, params, [self._message(page, m, params) for m in messages], set())
        for user in self.ig_users.values():
            media = next((m for m in user.media if m.id == owner), None)
            if media is not None and edge == "comments":
                self._need(user.permissions, "instagram_manage_comments", _no_comments_permission())
                top = sorted((c for c in media.comments if c.parent is None), key=lambda c: c.created, reverse=True)
                return self._edge(request, params, [self._ig_comment(request, media, c, params) for c in top], set())
            parent = next((c for m in user.media for c in m.comments if c.id == owner), None)
            if parent is not None and edge == "replies":
                self._need(user.permissions, "instagram_manage_comments", _no_comments_permission())
                media = next(m for m in user.media if parent in m.comments)
                return self._edge(request, params, [self._ig_comment(request, media, c, params)
                                                    for c in _replies(media, parent.id)], set())
        raise _Refused(_no_object(owner))

    def _fields(self, params: dict[str, str], allowed: set[str], node: str) -> dict[str, str | None]:
        """`id,from{id},replies{id,timestamp}` -> {"id": None, "from": "id", "replies": "id,timestamp"}."""
        found: dict[str, str | None] = {}
        for name, sub in _split_fields(params.get("fields", "id")):
            if name not in allowed:
                raise _Refused(graph_error(100, f"(#100) Tried accessing nonexisting field ({name}) on node type "
                                                f"({node})"))
            found[name] = sub
        return found

    def _fb_post(self, post: FakePost, params: dict[str, str]) -> dict[str, Any]:
        fields = self._fields(params, {"id", "created_time", "message"}, "PagePost")
        row = {"created_time": graph_stamp(post.created), "message": "Frische Brezeln!", "id": post.id}
        return {k: v for k, v in row.items() if k in fields}

    def _fb_comments(self, post: FakePost, request: Request, params: dict[str, str]) -> dict[str, Any]:
        self._only(params, EDGE_PARAMS | {"filter", "order", "summary", "live_filter"})
        if params.get("filter", "toplevel") not in ("toplevel", "stream"):
            raise _Refused(graph_error(100, "(#100) filter must be one of the following values: toplevel, stream"))
        if params.get("order", "chronological") not in ("chronological", "reverse_chronological"):
            raise _Refused(graph_error(100, "(#100) order must be one of the following values: chronological, "
                                            "reverse_chronological"))
        chosen = [c for c in post.comments if params.get("filter") == "stream" or c.parent is None]
        chosen.sort(key=lambda c: c.created, reverse=params.get("order") == "reverse_chronological")
        fields = self._fields(params, {"id", "created_time", "from", "message", "parent", "is_hidden"}, "Comment")
        rows = []
        for c in chosen:
            author = {"name": c.author_name, "id": c.author_id}
            row: dict[str, Any] = {
                "created_time": graph_stamp(c.created), "from": _pick(author, fields.get("from")), "message": c.text,
                "is_hidden": c.hidden, "id": c.id,
            }
            if c.parent is not None:
                row["parent"] = {"id": c.parent}
            rows.append({k: v for k, v in row.items() if k in fields})
        return self._edge(request, params, rows, set(), validated=True)

    def _conversations(self, page: FakePage, request: Request, params: dict[str, str]) -> dict[str, Any]:
        self._need(page.permissions, "pages_messaging", _no_messaging())
        if params.get("platform", "messenger") not in ("messenger", "instagram"):
            raise _Refused(graph_error(100, "(#100) param platform must be one of {MESSENGER, INSTAGRAM}"))
        fields = self._fields(params, {"id", "updated_time", "link", "message_count"}, "Conversation")
        talks = [] if params.get("platform") == "instagram" else page.conversations
        talks = sorted(talks, key=lambda c: c.updated, reverse=True)
        rows = [{k: v for k, v in {"id": c.id, "updated_time": graph_stamp(c.updated),
                                   "message_count": len(c.messages)}.items() if k in fields} for c in talks]
        return self._edge(request, params, rows, {"platform", "folder", "user_id"})

    def _message(self, page: FakePage, m: FakeMessage, params: dict[str, str]) -> dict[str, Any]:
        fields = self._fields(params, {"id", "created_time", "from", "to", "message"}, "Message")
        name = page.name if m.author_id == page.id else m.author_name
        author = {"name": name, "email": f"{m.author_id}@facebook.com", "id": m.author_id}
        row = {"created_time": graph_stamp(m.created), "from": _pick(author, fields.get("from")),
               "message": m.text, "id": m.id}
        return {k: v for k, v in row.items() if k in fields}

    def _ig_media(self, media: FakePost, params: dict[str, str]) -> dict[str, Any]:
        fields = self._fields(params, {"id", "timestamp", "comments_count", "media_type", "caption"}, "Media")
        row = {"id": media.id, "timestamp": graph_stamp(media.created), "comments_count": len(media.comments),
               "media_type": "IMAGE", "caption": "Frische Brezeln!"}
        return {k: v for k, v in row.items() if k in fields}

    def _ig_comment(self, request: Request, media: FakePost, c: FakeComment, params: dict[str, str]) -> dict:
        allowed = {"id", "timestamp", "from", "user", "text", "hidden", "like_count", "parent_id", "replies",
                   "username"}
        fields = self._fields(params, allowed, "IGComment")
        sender = f"IGSID{c.author_id[::-1]}" if self.scoped_from else c.author_id
        row: dict[str, Any] = {"id": c.id, "timestamp": graph_stamp(c.created), "text": c.text, "hidden": c.hidden,
                               "from": _pick({"id": sender, "username": c.author_name}, fields.get("from")),
                               "username": c.author_name, "like_count": 0}
        if c.author_id in self.ig_users:  # `user` only for comments the app user wrote
            row["user"] = {"id": c.author_id}
        if c.parent is not None:
            row["parent_id"] = c.parent
        replies = _replies(media, c.id) if c.parent is None else []
        if replies and "replies" in fields:
            nested = {"fields": fields["replies"] or "id", "limit": str(NESTED_LIMIT)}
            sub = [self._ig_comment(request, media, r, nested) for r in replies]
            row["replies"] = self._page_of(request.host_url.rstrip("/") + request.path.rsplit("/", 2)[0]
                                           + f"/{c.id}/replies", nested, sub)
        return {k: v for k, v in row.items() if k in fields}

    def _edge(
        self, request: Request, params: dict[str, str], rows: list[dict[str, Any]], extra: set[str],
        validated: bool = False,
    ) -> dict[str, Any]:
        if not validated:
            self._only(params, EDGE_PARAMS | extra)
        return self._page_of(request.host_url.rstrip("/") + request.path, params, rows)

    def _page_of(self, url: str, params: dict[str, str], rows: list[dict[str, Any]]) -> dict[str, Any]:
        """One page of `rows` after `params["after"]`, with Graph's cursors and a `next` link while more remains."""
        try:
            limit = min(MAX_LIMIT, max(1, int(params.get("limit", DEFAULT_LIMIT))))
        except ValueError:
            raise _Refused(graph_error(100, "(#100) Param limit must be a number")) from None
        start = _cursor_index(params["after"]) + 1 if params.get("after") else 0
        chunk = rows[start:start + limit]
        body: dict[str, Any] = {"data": chunk}
        if chunk:
            paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk) - 1)}}
            if start + limit < len(rows):
                query = {**params, "access_token": self.token, "after": _cursor(start + len(chunk) - 1)}
                paging["next"] = f"{url}?{urlencode(query)}"
            if start:
                query = {**params, "access_token": self.token, "before": _cursor(start)}
                query.pop("after", None)
                paging["previous"] = f"{url}?{urlencode(query)}"
            body["paging"] = paging
        return body

    def _node(self, obj: FakePage | FakeIgUser, params: dict[str, str]) -> dict[str, Any]:
        self._only(params, {"fields", "access_token"})
        fields = params.get("fields", "id,name").split(",")
        unknown = [f for f in fields if not hasattr(obj, f) or f in NOT_FIELDS]
        if unknown:
            raise _Refused(graph_error(100, f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type "
                                            f"({'Page' if isinstance(obj, FakePage) else 'User'})"))
        return {f: getattr(obj, f) for f in fields}

    def _only(self, params: dict[str, str], allowed: set[str]) -> None:
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise _Refused(graph_error(100, f"(#100) fake Graph refuses unknown parameter {unknown[0]!r}"))

    def _range(self, params: dict[str, str], max_days: int, too_long: dict[str, Any]) -> tuple[date, date]:
        """[first day, end day) as Pacific days; without since/until, the last two complete days."""
        if "since" not in params or "until" not in params:
            return self.today - timedelta(days=2), self.today
        first, end = _pacific_day(params["since"]), _pacific_day(params["until"])
        if (end - first).days > max_days:
            raise _Refused(too_long)
        return first, end

    def _paging(self, request: Request, params: dict[str, str], first: date, end: date, served_end: date) -> dict:
        """Links with the token in them, as Graph writes them; `next` always exists."""
        span = (end - first).days
        next_first = served_end if served_end < end else end

        def link(a: date, b: date) -> str:
            query = {**params, "access_token": self.token, "since": pacific_seconds(a), "until": pacific_seconds(b)}
            return f"{request.host_url.rstrip('/')}{request.path}?{urlencode(query)}"

        return {
            "previous": link(first - timedelta(days=span), first),
            "next": link(next_first, next_first + timedelta(days=span)),
        }

    def _served(self, first: date, end: date) -> date:
        if self.page_days is None:
            return end
        return min(end, first + timedelta(days=self.page_days))

    def _values(self, series: dict[date, float], first: date, end: date) -> list[dict[str, Any]]:
        days = (first + timedelta(days=i) for i in range((end - first).days))
        return [{"value": series[d], "end_time": end_time(d)} for d in days if d in series]

    def _page_insights(self, page: FakePage, request: Request, params: dict[str, str]) -> dict[str, Any]:
        self._only(params, FB_PARAMS)
        if not params.get("metric"):
            raise _Refused(graph_error(3001, "Invalid query", 1504028))
        period = params.get("period")
        if period not in (None, "day", "week", "days_28"):
            raise _Refused(graph_error(100, "(#100) For field 'insights': Param period must be one of "
                                            "{day, week, days_28}"))
        metrics = params["metric"].split(",")
        if any(m in self.retired or m not in FB_METRICS for m in metrics):
            raise _Refused(graph_error(100, "(#100) The value must be a valid insights metric"))
        first, end = self._range(params, 90, graph_error(100, "Invalid parameter", 1504016))
        served_end = self._served(first, end)
        data = [
            {
                "name": m, "period": p,
                "values": self._values(page.series.get(m, {}), first, served_end) if p == "day" else [],
                "title": FB_METRICS[m], "description": f"Fake description of {m}",
                "id": f"{page.id}/insights/{m}/{p}",
            }
            for m in metrics
            for p in ([period] if period else ["day", "week", "days_28"])
        ]
        return {"data": data, "paging": self._paging(request, params, first, end, served_end)}

    def _ig_insights(self, user: FakeIgUser, request: Request, params: dict[str, str]) -> dict[str, Any]:
        self._only(params, IG_PARAMS)
        if not params.get("metric"):
            raise _Refused(graph_error(100, "(#100) The parameter metric is required"))
        if params.get("period") not in ("day", "week", "days_28", "lifetime"):
            raise _Refused(graph_error(100, "(#100) Param period must be one of {day, week, days_28, lifetime}"))
        metrics = params["metric"].split(",")
        known = sorted(IG_TIME_SERIES | IG_TOTAL_VALUE)
        for i, m in enumerate(metrics):
            if m == "impressions":
                raise _Refused(graph_error(100, "(#100) Starting from version v22.0 and above, the impressions "
                                                "metric is no longer supported for this API."))
            if m in self.retired or m not in known:
                raise _Refused(graph_error(100, f"(#100) metric[{i}] must be one of the following values: "
                                                + ", ".join(known)))
        total = params.get("metric_type") == "total_value"
        if not total and any(m not in IG_TIME_SERIES for m in metrics):
            names = ",".join(m for m in metrics if m not in IG_TIME_SERIES)
            raise _Refused(graph_error(100, f"(#100) The following metrics ({names}) should be specified with "
                                            "parameter metric_type=total_value"))
        if total and "follower_count" in metrics:
            raise _Refused(graph_error(100, "(#100) follower_count does not support metric_type=total_value"))
        first, end = self._range(params, 30, graph_error(
            100, "(#100) There cannot be more than 30 days (2592000 s) between since and until"))
        if "follower_count" in metrics and (first < self.today - timedelta(days=30) or end > self.today):
            raise _Refused(graph_error(100, "(#100) (follower_count) metric only supports querying data for the "
                                            "last 30 days excluding the current day"))
        served_end = end if total else self._served(first, end)
        data = [self._ig_entry(user, m, params["period"], total, first, served_end) for m in metrics]
        return {"data": data, "paging": self._paging(request, params, first, end, served_end)}

    def _ig_entry(self, user: FakeIgUser, metric: str, period: str, total: bool, first: date, end: date) -> dict:
        series = user.series.get(metric, {})
        if metric == "follower_count" and user.followers_count < 100:
            series = {}
        entry: dict[str, Any] = {"name": metric, "period": period, "title": metric.replace("_", " ").capitalize(),
                                 "description": f"Fake description of {metric}"}
        if total:
            days = [first + timedelta(days=i) for i in range((end - first).days)]
            if any(d in series for d in days):
                entry["total_value"] = {"value": sum(series.get(d, 0) for d in days)}
        else:
            entry["values"] = self._values(series, first, end)
        entry["id"] = f"{user.id}/insights/{metric}/{period}"
        return entry


def _no_object(owner: str) -> dict[str, Any]:
    return graph_error(
        100, f"Unsupported get request. Object with ID '{owner}' does not exist, cannot be loaded due to "
             "missing permissions, or does not support this operation. Please read the Graph API "
             "documentation at https://developers.facebook.com/docs/graph-api", 33)


def _no_messaging() -> dict[str, Any]:
    return graph_error(230, "(#230) Requires pages_messaging permission to manage the object")


def _no_comments_permission() -> dict[str, Any]:
    return graph_error(10, "(#10) Application does not have permission for this action")


def _replies(media: FakePost, comment_id: str) -> list[FakeComment]:
    return sorted((c for c in media.comments if c.parent == comment_id), key=lambda c: c.created)


def _pick(obj: dict[str, Any], sub: str | None) -> dict[str, Any]:
    """A nested object with only the subfields asked for (`from{id}`), or all of it (`from`)."""
    return obj if sub is None else {k: v for k, v in obj.items() if k in sub.split(",")}


def _split_fields(text: str) -> list[tuple[str, str | None]]:
    """Graph's field list, split at the commas outside braces: `a,b{c,d}` -> [("a", None), ("b", "c,d")]."""
    out: list[tuple[str, str | None]] = []
    depth, current = 0, ""
    for char in text + ",":
        if char == "," and depth == 0:
            name, _, sub = current.partition("{")
            if name.strip():
                out.append((name.strip(), sub[:-1] if sub else None))
            current = ""
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        current += char
    return out


def _cursor(index: int) -> str:
    """An opaque cursor, base64 like Graph's."""
    return base64.urlsafe_b64encode(f"fake-cursor:{index}".encode()).decode().rstrip("=")


def _cursor_index(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")[1])
    except (ValueError, IndexError):
        raise _Refused(graph_error(100, "(#100) The parameter after is not a valid cursor")) from None
