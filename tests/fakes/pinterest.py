"""A fake Pinterest API v5: `GET /v5/user_account`, `/v5/user_account/analytics` and `/v5/pins`.

It answers as shared/apis/pinterest.md and the recorded bodies describe: a Bearer token or 401
`{"code": 2, "message": "Authentication failed.", "status": "failure"}`; analytics as an object keyed
`"all"` with `summary_metrics` and `daily_metrics`, one row per UTC day with a `data_status`; the last
`lag` days (today included) are PROCESSING and carry 0.0 placeholders for every asked metric, READY days
carry integers (rates as floats); `start_date` more than 90 days back, an end before the start or more
than 90 days after it, an unknown metric type or parameter is a 400 `{"code": 400, "message": "Invalid
user accounts analytics parameters."}`; pins come newest first, `page_size` (1-250, default 25) at a
time, with an opaque `bookmark` that is null on the last page; `pin_filter=exclude_repins` leaves out
saves of others' pins, `pin_metrics=true` adds `90d` and `lifetime_metrics` (null for image pins made
before 2023-03-20); `created_at` has no zone. A spent rate limit is a 429 with the same body shape.

Tests seed per-day numbers with `seed` (or `daily`), pins with `pin`, and read what was asked in
`requests`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "pina_test-token-7c1e"
METRICS = ("IMPRESSION", "SAVE", "PIN_CLICK", "OUTBOUND_CLICK", "ENGAGEMENT")
RATES = tuple(f"{m}_RATE" for m in ("SAVE", "PIN_CLICK", "OUTBOUND_CLICK", "ENGAGEMENT"))
ANALYTICS_PARAMS = {"start_date", "end_date", "from_claimed_content", "pin_format", "app_types", "content_type",
                    "source", "metric_types", "split_field", "ad_account_id"}
ENUMS = {"from_claimed_content": {"BOTH", "CLAIMED", "OTHER"}, "content_type": {"ALL", "PAID", "ORGANIC"},
         "source": {"ALL", "YOUR_PINS", "OTHER_PINS"}, "app_types": {"ALL", "MOBILE", "TABLET", "WEB"},
         "split_field": {"NO_SPLIT"}}
PIN_PARAMS = {"bookmark", "page_size", "pin_filter", "include_protected_pins", "pin_type", "creative_types",
              "ad_account_id", "pin_metrics"}
LIFETIME_SINCE = datetime(2023, 3, 20, tzinfo=UTC)  # older image pins have no lifetime metrics
AUTH_FAILED = (401, {"code": 2, "message": "Authentication failed.", "status": "failure"})
BAD_ANALYTICS = (400, {"code": 400, "message": "Invalid user accounts analytics parameters."})
RATE_LIMITED = (429, {"code": 429, "message": "The user has sent too many requests in a given amount of time and "
                      "is being rate limited"})
NOT_AUTHORIZED = (403, {"code": 403, "message": "Not authorized to access the user account analytics."})


def account_body() -> dict[str, Any]:
    return {"account_type": "BUSINESS", "id": "2783136121146311751", "username": "baeckerei_lindner",
            "business_name": "Bäckerei Lindner", "website_url": "https://lindner.example", "follower_count": 312,
            "following_count": 40, "pin_count": 339, "board_count": 14, "monthly_views": 5163,
            "profile_image": "https://i.pinimg.com/600x600_R/42/f5/36/42f536.jpg", "about": "Brot seit 1962."}


@dataclass
class Recorded:
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    url: str


@dataclass
class FakePin:
    id: str
    created_at: datetime  # UTC
    reactions: int = 0
    comments: int = 0
    video: bool = False
    repin: bool = False  # a save of someone else's pin


@dataclass
class FakePinterest:
    server: HTTPServer
    token: str = TOKEN
    today: date = field(default_factory=lambda: datetime.now(UTC).date())  # Pinterest's UTC today
    lag: int = 2  # today and the day before are still PROCESSING
    account: dict[str, Any] = field(default_factory=account_body)
    daily: dict[date, dict[str, int]] = field(default_factory=dict)  # unseeded days are READY zeros
    status: dict[date, str] = field(default_factory=dict)  # a day's data_status, when not the lag's
    extra_metrics: dict[str, int] = field(default_factory=dict)  # keys Pinterest may add to READY rows
    pins: list[FakePin] = field(default_factory=list)
    calls_left: int | None = None  # requests answered before every further one is a 429
    retry_after: str | None = None  # sent with each 429
    forced: dict[str, tuple[int, Any]] = field(default_factory=dict)  # path -> (status, body) answered instead
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        routes = {"/v5/user_account": self._account, "/v5/user_account/analytics": self._analytics,
                  "/v5/pins": self._pins}
        for path, handler in routes.items():
            self.server.expect_request(path, method="GET").respond_with_handler(self._guarded(handler))

    def url(self) -> str:
        return self.server.url_for("/v5")

    def seed(self, day: date, **values: int) -> None:
        self.daily[day] = {m: values.get(m, 0) for m in METRICS}

    def pin(self, pin_id: str, created_at: datetime, **kw: Any) -> None:
        self.pins.append(FakePin(pin_id, created_at.astimezone(UTC), **kw))

    def asked(self, path: str) -> list[dict[str, str]]:
        return [r.args for r in self.requests if r.path == path]

    # --- plumbing --------------------------------------------------------------------------------------

    def _json(self, answer: tuple[int, Any], headers: dict[str, str] | None = None) -> Response:
        status, body = answer
        return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")

    def _guarded(self, handler: Any) -> Any:
        def handle(request: Request) -> Response:
            self.requests.append(Recorded(request.path, request.args.to_dict(), dict(request.headers), request.url))
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return self._json(AUTH_FAILED)
            if self.calls_left is not None:
                if self.calls_left <= 0:
                    return self._json(RATE_LIMITED, {"Retry-After": self.retry_after} if self.retry_after else None)
                self.calls_left -= 1
            if request.path in self.forced:
                return self._json(self.forced[request.path])
            return handler(request)

        return handle

    # --- endpoints ------------------------------------------------------------------------------------------

    def _account(self, request: Request) -> Response:
        return self._json((200, self.account))

    def _analytics(self, request: Request) -> Response:
        args = request.args
        if set(args) - ANALYTICS_PARAMS or any(args[k] not in v for k, v in ENUMS.items() if k in args):
            return self._json(BAD_ANALYTICS)
        try:
            start, end = date.fromisoformat(args["start_date"]), date.fromisoformat(args["end_date"])
        except (KeyError, ValueError):
            return self._json(BAD_ANALYTICS)
        asked = args["metric_types"].split(",") if "metric_types" in args else [*METRICS, *RATES]
        if set(asked) - {*METRICS, *RATES}:
            return self._json(BAD_ANALYTICS)
        if start < self.today - timedelta(days=90) or end < start or end > start + timedelta(days=90):
            return self._json(BAD_ANALYTICS)
        rows = []
        day = start
        while day <= min(end, self.today):
            rows.append(self._row(day, asked))
            day += timedelta(days=1)
        summary = {m: sum(r["metrics"].get(m, 0) for r in rows if r["data_status"] == "READY") for m in asked}
        return self._json((200, {"all": {"summary_metrics": summary, "daily_metrics": rows}}))

    def _row(self, day: date, asked: list[str]) -> dict[str, Any]:
        status = self.status.get(day) or ("PROCESSING" if day > self.today - timedelta(days=self.lag) else "READY")
        if status not in ("READY", "ESTIMATE"):
            return {"date": day.isoformat(), "data_status": status, "metrics": dict.fromkeys(asked, 0.0)}
        counts = self.daily.get(day, dict.fromkeys(METRICS, 0))
        metrics: dict[str, Any] = {}
        for name in asked:
            if name in RATES:
                base = counts[name.removesuffix("_RATE")]
                metrics[name] = base / counts["IMPRESSION"] if counts["IMPRESSION"] else 0.0
            else:
                metrics[name] = counts[name]
        return {"date": day.isoformat(), "data_status": status, "metrics": {**metrics, **self.extra_metrics}}

    def _pins(self, request: Request) -> Response:
        args = request.args
        if set(args) - PIN_PARAMS:
            return self._json((400, {"code": 1, "message": "Invalid parameters."}))
        try:
            size = int(args.get("page_size", "25"))
            offset = _offset(args["bookmark"]) if "bookmark" in args else 0
        except ValueError:
            return self._json((400, {"code": 1, "message": "Invalid parameters."}))
        if not 1 <= size <= 250:
            return self._json((400, {"code": 1, "message": "page_size must be between 1 and 250."}))
        listed = sorted(self.pins, key=lambda p: p.created_at, reverse=True)
        if args.get("pin_filter") == "exclude_repins":
            listed = [p for p in listed if not p.repin]
        page = listed[offset:offset + size]
        more = offset + size < len(listed)
        items = [self._pin(p, args.get("pin_metrics") == "true") for p in page]
        return self._json((200, {"items": items, "bookmark": _bookmark(offset + size) if more else None}))

    def _pin(self, pin: FakePin, with_metrics: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": pin.id, "created_at": pin.created_at.strftime("%Y-%m-%dT%H:%M:%S"), "link": "https://lindner.example",
            "title": "Roggenbrot", "description": "Unser Roggenbrot", "board_id": "549755885175",
            "board_owner": {"username": "baeckerei_lindner"}, "is_owner": not pin.repin,
            "creative_type": "VIDEO" if pin.video else "REGULAR", "has_been_promoted": False,
            "media": {"media_type": "video" if pin.video else "image"},
        }
        if with_metrics:
            lifetime = None
            if pin.video or pin.created_at >= LIFETIME_SINCE:
                lifetime = {"pin_click": 7, "impression": 90, "clickthrough": 3, "reaction": pin.reactions,
                            "comment": pin.comments}
            body["pin_metrics"] = {"90d": {"pin_click": 7, "impression": 90, "clickthrough": 3},
                                   "lifetime_metrics": lifetime}
        return body


def _bookmark(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _offset(bookmark: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(bookmark.encode()))["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(bookmark) from exc
