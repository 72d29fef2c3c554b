"""A fake TikTok: the Accounts API (API for Business v1.3) and the Display API (v2), on one server.

It answers as shared/apis/tiktok.md describes:
- Accounts API: the `Access-Token` header; every answer is `{code, message, request_id, data}` and errors
  come with HTTP 200 (code 40001 no permission, 40002 bad parameter, 40100 throttled, 40105 bad token);
  `fields` is a JSON array in the query string (without it only display_name and profile_image);
  `business/get/` gives the lifetime totals at the top level and one `metrics[]` object per UTC day of
  start_date..end_date (default today-7..today-1, at most 60 days back), but only up to the last day TikTok
  has processed, and leaves Business-only and Registered-only fields out for other accounts;
  `business/video/list/` pages newest first by `cursor` (UTC ms, "posted before"), `max_count` 1..20,
  `create_time` as epoch-seconds text, and pages that are short while `has_more` is true.
- Display API: `Authorization: Bearer`; every body carries `error` (`code: "ok"` on success, else
  access_token_invalid 401, scope_not_authorized 401, invalid_params 400, rate_limit_exceeded 429);
  `GET /v2/user/info/?fields=` needs user.info.stats for the counts; `POST /v2/video/list/?fields=` takes
  `{max_count, cursor}` as JSON and answers `{videos, cursor, has_more}` with integer counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

BUSINESS_ID = "-000b3bWlU9CwYrC6UcfAuUHnz5nOpYYH7nP"
BUSINESS_TOKEN = "act.biz-test-token-7c1e"
DISPLAY_TOKEN = "act.display-test-token-3f9a"
HISTORY_DAYS = 60
TOP_FIELDS = {"username", "display_name", "profile_image", "followers_count", "following_count", "videos_count",
              "total_likes", "is_business_account", "bio_description", "is_verified", "profile_deep_link"}
DAILY_FIELDS = {"video_views", "unique_video_views", "profile_views", "likes", "comments", "shares",
                "daily_new_followers", "daily_lost_followers", "daily_total_followers", "engaged_audience",
                "bio_link_clicks", "phone_number_clicks", "email_clicks", "address_clicks", "lead_submissions",
                "app_download_clicks", "followers_count", "audience_activity"}
BUSINESS_ONLY = {"unique_video_views", "engaged_audience", "daily_new_followers", "daily_lost_followers",
                 "daily_total_followers"}
REGISTERED_ONLY = {"bio_link_clicks", "phone_number_clicks", "email_clicks", "address_clicks", "lead_submissions",
                   "app_download_clicks"}
BUSINESS_VIDEO_FIELDS = {"item_id", "create_time", "thumbnail_url", "share_url", "embed_url", "caption",
                         "video_views", "video_duration", "likes", "comments", "shares", "favorites", "reach"}
DISPLAY_USER_FIELDS = {"open_id", "union_id", "avatar_url", "display_name", "bio_description", "is_verified",
                       "follower_count", "following_count", "likes_count", "video_count", "username"}
DISPLAY_STATS = {"follower_count", "following_count", "likes_count", "video_count"}
DISPLAY_VIDEO_FIELDS = {"id", "create_time", "title", "cover_image_url", "share_url", "duration", "view_count",
                        "like_count", "comment_count", "share_count"}


@dataclass
class FakeVideo:
    id: str
    created: datetime  # aware
    views: int | None = 0  # None: the field is left out of this video
    likes: int | None = 0
    comments: int | None = 0
    shares: int | None = 0
    favorites: int | None = 0
    hidden: bool = False  # TikTok drops it from its page: the page comes back short


@dataclass
class Recorded:
    method: str
    path: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    url: str


@dataclass
class FakeTikTok:
    server: HTTPServer
    today: date  # TikTok's UTC today: what "60 days back" and the default date range count from
    business_id: str = BUSINESS_ID
    business_token: str = BUSINESS_TOKEN
    display_token: str = DISPLAY_TOKEN
    username: str = "acme.bakery"
    display_name: str = "Acme Bakery"
    followers: int | None = 2480  # None: the answer leaves followers_count out
    following: int = 31
    videos_count: int = 87
    total_likes: int = 15320
    business_account: bool = True  # False: a personal/creator account, without the Business-only fields
    registered: bool = True  # False: a Business Account that is not registered, without the click fields
    last_complete: date | None = None  # no daily numbers after this day yet (T + 24-48 h)
    daily: dict[date, dict[str, int]] = field(default_factory=dict)
    videos: list[FakeVideo] = field(default_factory=list)
    display_scopes: set[str] = field(default_factory=lambda: {"user.info.basic", "user.info.stats", "video.list"})
    analytics_off: bool = False  # Accounts API answers 40001 for this account
    throttled_calls: int = 0  # the next N Accounts API calls answer code 40100
    display_rate_limited: bool = False
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        expect = self.server.expect_request
        expect("/open_api/v1.3/business/get/", method="GET").respond_with_handler(self._business_get)
        expect("/open_api/v1.3/business/video/list/", method="GET").respond_with_handler(self._business_videos)
        expect("/v2/user/info/", method="GET").respond_with_handler(self._user_info)
        expect("/v2/video/list/", method="POST").respond_with_handler(self._display_videos)

    # --- seeding ---------------------------------------------------------------------------------

    def seed(self, day: date, **values: int) -> None:
        """One UTC day of metrics[]; fields not given are absent that day."""
        self.daily[day] = dict(values)

    def post(self, at: datetime, **counts: Any) -> FakeVideo:
        video = FakeVideo(str(7_300_000_000_000_000_000 + len(self.videos)), at, **counts)
        self.videos.append(video)
        return video

    # --- helpers ---------------------------------------------------------------------------------

    def _record(self, request: Request) -> None:
        body = request.get_json(silent=True) if request.data else None
        self.requests.append(Recorded(request.method, request.path, request.args.to_dict(flat=False),
                                      dict(request.headers), body, request.url))

    def _id(self) -> str:
        return f"20261123071108010245{len(self.requests):06d}DA3B2EB"

    def _business(self, code: int, message: str, data: dict[str, Any] | None = None) -> Response:
        body = {"code": code, "message": message, "request_id": self._id(), "data": data or {}}
        return Response(json.dumps(body), status=200, content_type="application/json")

    def _business_refusal(self, request: Request) -> Response | None:
        """What the Accounts API checks before the endpoint: token, throttle, permission."""
        self._record(request)
        if request.headers.get("Access-Token") != self.business_token:
            return self._business(40105, "The access token is invalid or has expired.")
        if self.throttled_calls > 0:
            self.throttled_calls -= 1
            return self._business(40100, "Too many requests. Please retry in some time.")
        business_id = request.args.get("business_id")
        if not business_id:
            return self._business(40002, "business_id: Missing data for required field.")
        if business_id != self.business_id or self.analytics_off:
            return self._business(40001, f"No permission to operate tiktok creator id: {business_id}")
        return None

    def _fields(self, request: Request, allowed: set[str], default: list[str]) -> list[str] | Response:
        raw = request.args.get("fields")
        if raw is None:
            return default
        try:
            fields = json.loads(raw)
        except ValueError:
            return self._business(40002, "fields: Not a valid JSON array.")
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            return self._business(40002, "fields: Not a valid list.")
        unknown = [f for f in fields if f not in allowed]
        if unknown:
            return self._business(40002, f"fields: Invalid field {unknown[0]}.")
        return fields

    def _served(self, name: str) -> bool:
        if name in BUSINESS_ONLY and not self.business_account:
            return False
        return not (name in REGISTERED_ONLY and not (self.business_account and self.registered))

    # --- Accounts API ----------------------------------------------------------------------------

    def _business_get(self, request: Request) -> Response:
        refused = self._business_refusal(request)
        if refused:
            return refused
        fields = self._fields(request, TOP_FIELDS | DAILY_FIELDS, ["display_name", "profile_image"])
        if isinstance(fields, Response):
            return fields
        try:
            start = date.fromisoformat(request.args.get("start_date", str(self.today - timedelta(days=7))))
            end = date.fromisoformat(request.args.get("end_date", str(self.today - timedelta(days=1))))
        except ValueError:
            return self._business(40002, "start_date: Not a valid date (YYYY-MM-DD).")
        if start > end:
            return self._business(40002, "start_date must not be later than end_date.")
        if start < self.today - timedelta(days=HISTORY_DAYS):
            return self._business(40002, f"start_date: Data can be queried for the last {HISTORY_DAYS} days only.")
        data: dict[str, Any] = {}
        top = {"username": self.username, "display_name": self.display_name,
               "profile_image": "https://p16.example.invalid/avatar.jpeg", "followers_count": self.followers,
               "following_count": self.following, "videos_count": self.videos_count, "total_likes": self.total_likes,
               "is_business_account": self.business_account}
        for name in fields:
            if name in top and top[name] is not None:
                data[name] = top[name]
        daily = [f for f in fields if f in DAILY_FIELDS]
        if daily:
            last = min(end, self.last_complete) if self.last_complete else end
            days = sorted(d for d in self.daily if start <= d <= last)
            data["metrics"] = [
                {"date": d.isoformat(), **{f: v for f, v in self.daily[d].items() if f in daily and self._served(f)}}
                for d in days
            ]
        return self._business(0, "OK", data)

    def _business_videos(self, request: Request) -> Response:
        refused = self._business_refusal(request)
        if refused:
            return refused
        fields = self._fields(request, BUSINESS_VIDEO_FIELDS, ["item_id"])
        if isinstance(fields, Response):
            return fields
        try:
            max_count = int(request.args.get("max_count", 10))
            cursor = int(request.args["cursor"]) if "cursor" in request.args else None
        except ValueError:
            return self._business(40002, "max_count/cursor: Not a valid integer.")
        if not 1 <= max_count <= 20:
            return self._business(40002, "max_count: Must be between 1 and 20.")
        page, data = self._page(cursor, max_count)
        values = {"item_id": lambda v: v.id, "create_time": lambda v: str(int(v.created.timestamp())),
                  "video_views": lambda v: v.views, "likes": lambda v: v.likes, "comments": lambda v: v.comments,
                  "shares": lambda v: v.shares, "favorites": lambda v: v.favorites,
                  "caption": lambda v: "Fresh bread", "share_url": lambda v: f"https://www.tiktok.com/@x/video/{v.id}"}
        data["videos"] = [_present({f: values[f](v) for f in fields if f in values}) for v in page]
        return self._business(0, "OK", data)

    def _page(self, cursor: int | None, max_count: int) -> tuple[list[FakeVideo], dict[str, Any]]:
        """Newest first, posted before `cursor` (ms); hidden videos leave the page short, `has_more` stays true."""
        ordered = sorted(self.videos, key=lambda v: v.created, reverse=True)
        if cursor is not None:
            ordered = [v for v in ordered if v.created.timestamp() * 1000 < cursor]
        taken, rest = ordered[:max_count], ordered[max_count:]
        next_cursor = int(taken[-1].created.timestamp() * 1000) if taken else (cursor or 0)
        return [v for v in taken if not v.hidden], {"cursor": next_cursor, "has_more": bool(rest)}

    # --- Display API -----------------------------------------------------------------------------

    def _display(self, status: int, code: str, message: str = "", data: dict[str, Any] | None = None) -> Response:
        return Response(json.dumps(self._display_body(code, message, data)), status=status,
                        content_type="application/json")

    def _display_body(self, code: str, message: str = "", data: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"data": data or {}, "error": {"code": code, "message": message, "log_id": self._id()}}

    def user_info(self, fields: list[str]) -> dict[str, Any]:
        """The body of a successful `GET /v2/user/info/` for these fields."""
        user = {"open_id": self.business_id, "display_name": self.display_name, "follower_count": self.followers,
                "following_count": self.following, "likes_count": self.total_likes, "video_count": self.videos_count}
        return self._display_body("ok", data={"user": {f: user[f] for f in fields if user.get(f) is not None}})

    def _display_refusal(self, request: Request, scopes: set[str]) -> Response | None:
        self._record(request)
        if request.headers.get("Authorization") != f"Bearer {self.display_token}":
            return self._display(401, "access_token_invalid",
                                 "The access token is invalid or not found in the request.")
        if self.display_rate_limited:
            return self._display(429, "rate_limit_exceeded", "Your app has exceeded the rate limit.")
        if not scopes <= self.display_scopes:
            return self._display(401, "scope_not_authorized",
                                 "The user did not authorize the scope required for completing this request.")
        return None

    def _display_fields(self, request: Request, allowed: set[str]) -> list[str] | Response:
        fields = [f for f in request.args.get("fields", "").split(",") if f]
        if not fields or set(fields) - allowed:
            return self._display(400, "invalid_params", "The request parameters are malformed.")
        return fields

    def _user_info(self, request: Request) -> Response:
        fields = [f for f in request.args.get("fields", "").split(",") if f]
        refused = self._display_refusal(request, {"user.info.stats"} if set(fields) & DISPLAY_STATS else set())
        if refused:
            return refused
        checked = self._display_fields(request, DISPLAY_USER_FIELDS)
        if isinstance(checked, Response):
            return checked
        return Response(json.dumps(self.user_info(checked)), status=200, content_type="application/json")

    def _display_videos(self, request: Request) -> Response:
        refused = self._display_refusal(request, {"video.list"})
        if refused:
            return refused
        fields = self._display_fields(request, DISPLAY_VIDEO_FIELDS)
        if isinstance(fields, Response):
            return fields
        body = request.get_json(silent=True) or {}
        max_count, cursor = body.get("max_count", 10), body.get("cursor")
        if not isinstance(max_count, int) or not 1 <= max_count <= 20 or not isinstance(cursor, (int, type(None))):
            return self._display(400, "invalid_params", "max_count must be between 1 and 20.")
        page, data = self._page(cursor, max_count)
        values = {"id": lambda v: v.id, "create_time": lambda v: int(v.created.timestamp()),
                  "view_count": lambda v: v.views, "like_count": lambda v: v.likes,
                  "comment_count": lambda v: v.comments, "share_count": lambda v: v.shares,
                  "title": lambda v: "Fresh bread"}
        data["videos"] = [_present({f: values[f](v) for f in fields if f in values}) for v in page]
        return self._display(200, "ok", data=data)


def _present(video: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in video.items() if v is not None}


def utc(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
