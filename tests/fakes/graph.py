"""A fake Meta Graph API for the Facebook and Instagram plugins, on pytest-httpserver.

It answers like /work/shared/apis/facebook.md and instagram.md describe: the
`/{version}/{id}` node, `/{version}/{id}/insights` with period/since/until (and
metric_type for Instagram), values keyed by Pacific days whose `end_time` is the
following Pacific midnight in UTC (`T07:00:00+0000` or `T08:00:00+0000`),
`paging` links that embed the token and never run out, the real error envelope
(code 100 for a retired metric failing the whole call, 190/463 for an expired
token, 80001/80002 for throttling) and the usage headers.

Stricter than Graph on one point: an unknown query parameter is refused, so a
plugin typo fails a test instead of being silently ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
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
    instant = datetime.combine(day + timedelta(days=1), time(), PACIFIC).astimezone(timezone.utc)
    return instant.strftime("%Y-%m-%dT%H:%M:%S+0000")


def pacific_seconds(day: date) -> int:
    return int(datetime.combine(day, time(), PACIFIC).timestamp())


def _pacific_day(value: str) -> date:
    """Graph reads since/until as unix seconds or as a date at Pacific midnight."""
    if value.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(value), PACIFIC).date()
    return date.fromisoformat(value)


@dataclass
class FakePage:
    id: str
    name: str = "Bäckerei Lindner"
    followers_count: int = 1459
    fan_count: int = 1402
    series: dict[str, dict[date, float]] = field(default_factory=dict)  # Graph metric -> Pacific day -> value


@dataclass
class FakeIgUser:
    id: str
    username: str = "baeckerei.lindner"
    followers_count: int = 2480
    follows_count: int = 311
    media_count: int = 412
    series: dict[str, dict[date, float]] = field(default_factory=dict)


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

    def insights_requests(self, owner: str) -> list[Seen]:
        return [r for r in self.requests if r.path.endswith(f"/{owner}/insights")]

    # --- the server --------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        params = {k: v for k, v in request.args.items()}
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
            raise _Refused(graph_error(
                100, f"Unsupported get request. Object with ID '{owner}' does not exist, cannot be loaded due to "
                     "missing permissions, or does not support this operation. Please read the Graph API "
                     "documentation at https://developers.facebook.com/docs/graph-api", 33))
        if len(parts) == 1:
            return self._node(self.pages.get(owner) or self.ig_users[owner], params)
        if parts[1:] != ["insights"]:
            raise _Refused(graph_error(100, f"(#100) Tried accessing nonexisting field ({parts[1]})"))
        if owner in self.pages:
            return self._page_insights(self.pages[owner], request, params)
        return self._ig_insights(self.ig_users[owner], request, params)

    def _node(self, obj: FakePage | FakeIgUser, params: dict[str, str]) -> dict[str, Any]:
        self._only(params, {"fields", "access_token"})
        fields = params.get("fields", "id,name").split(",")
        unknown = [f for f in fields if not hasattr(obj, f) or f == "series"]
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
