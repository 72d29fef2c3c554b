"""A fake LinkedIn Community Management API (the /rest/ endpoints the linkedin plugin reads).

It answers like the real one as described in shared/apis/linkedin.md: the `LinkedIn-Version`
and `X-Restli-Protocol-Version: 2.0.0` headers are required, a sunset version gets 426
NONEXISTENT_VERSION, URNs must be percent-encoded while Rest.li syntax in `timeIntervals`
stays literal, start and end must be UTC midnights at least a day and less than 14 months
apart, statistics come back as one response whatever `paging.count` says, and a spent
daily quota is a 429 without any header. It is stricter than LinkedIn in two places, on
purpose: a missing protocol header is refused on every endpoint (LinkedIn only fails the
2.0-encoded ones), and bucket bounds must be midnights.

Tests seed per-day numbers with `seed_days` (or set the dicts directly) and read what was
asked in `requests`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

DAY_MS = 86_400_000
ACTIVE_VERSIONS = {"202512"} | {f"2026{m:02d}" for m in range(1, 12)}  # 202511 was sunset on 2026-11-16
INTERVALS = re.compile(r"^\(timeRange:\(start:(\d+),end:(\d+)\),timeGranularityType:(DAY|MONTH)\)$")


@dataclass
class Recorded:
    path: str
    raw_path: str
    query: str
    headers: dict[str, str]


def _millis(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def _months_apart_at_least_14(start: date, end: date) -> bool:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months > 14 or (months == 14 and end.day >= start.day)


@dataclass
class FakeLinkedIn:
    server: HTTPServer
    organization_id: str = "2414183"
    token: str = "li-test-token-5f8a"
    name: str = "Bäckerei Lindner"
    followers: int = 1873
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    token_error: str | None = None  # e.g. "EXPIRED_ACCESS_TOKEN"
    forbidden: bool = False
    quota: dict[str, int] = field(default_factory=dict)  # resource -> calls left today
    # (organic, paid) per day; None: the API leaves that gain out
    follower_gains: dict[date, tuple[int | None, int | None]] = field(default_factory=dict)
    page_views: dict[date, tuple[int, int]] = field(default_factory=dict)  # (desktop, mobile)
    shares: dict[date, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.expect_request(re.compile(r"^/rest/.*")).respond_with_handler(self._handle)

    def seed_days(self, since: date, until: date) -> None:
        """Distinct, day-dependent numbers for every day since..until, so a wrong day shows."""
        day = since
        while day <= until:
            n = day.toordinal()
            self.follower_gains[day] = (n % 7 + 1, n % 2)
            self.page_views[day] = (n % 11 + 20, n % 5 + 10)
            impressions, unique = 400 + n % 97, 300 + n % 53
            clicks, likes, comments, shares = n % 13, n % 17, n % 4, n % 3
            self.shares[day] = {
                "uniqueImpressionsCount": unique,
                "shareCount": shares,
                "engagement": (clicks + likes + comments + shares) / impressions,
                "clickCount": clicks,
                "likeCount": likes,
                "impressionCount": impressions,
                "commentCount": comments,
            }
            day += timedelta(days=1)

    def calls(self, resource: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(f"/rest/{resource}")]

    # --- the server side ---------------------------------------------------

    def _handle(self, request: Request) -> Response:
        raw_path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
        raw_path = raw_path.split("?", 1)[0]
        query = request.query_string.decode("latin-1")
        self.requests.append(Recorded(request.path, raw_path, query, dict(request.headers)))
        refusal = self._refuse(request, query)
        if refusal is not None:
            return refusal
        resource = request.path.removeprefix("/rest/").split("/", 1)[0]
        if resource in self.quota:
            if self.quota[resource] <= 0:
                return _error(
                    429, "TOO_MANY_REQUESTS",
                    "Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls to this resource is reached.",
                    service=101,
                )
            self.quota[resource] -= 1
        params = _params(query)
        urn = f"urn%3Ali%3Aorganization%3A{self.organization_id}"
        if resource == "networkSizes":
            if raw_path != f"/rest/networkSizes/{urn}":
                return self._not_found(raw_path)
            if params != {"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"}:
                return _error(400, "ILLEGAL_ARGUMENT", "Invalid query parameters passed to request")
            return _json({"firstDegreeSize": self.followers})
        if resource == "organizations":
            if request.path != f"/rest/organizations/{self.organization_id}" or params:
                return self._not_found(raw_path)
            org = {"vanityName": "baeckerei-lindner", "localizedName": self.name, "id": int(self.organization_id)}
            return _json(org)
        finders = {
            "organizationalEntityFollowerStatistics": ("organizationalEntity", self._followers),
            "organizationPageStatistics": ("organization", self._pages),
            "organizationalEntityShareStatistics": ("organizationalEntity", self._shares),
        }
        if resource not in finders or request.path != f"/rest/{resource}":
            return self._not_found(raw_path)
        key, build = finders[resource]
        if set(params) - {"q", key, "timeIntervals"} or params.get("q") != key or key not in params:
            return _error(400, "ILLEGAL_ARGUMENT", "Invalid query parameters passed to request")
        if params[key] != urn:
            if params[key].replace("%3A", ":") == urn.replace("%3A", ":"):
                return _error(400, "ILLEGAL_ARGUMENT", f"Parameter '{key}' is invalid")
            return _error(403, "ACCESS_DENIED", f"Not enough permissions to access: {resource}.FINDER-{key}")
        if "timeIntervals" not in params:
            return _json(_collection([build(None)]))
        match = INTERVALS.match(params["timeIntervals"])
        if not match:
            return _error(400, None, "Parameter 'timeIntervals' is invalid")
        start, end = int(match.group(1)), int(match.group(2))
        if match.group(3) != "DAY" or start % DAY_MS or end % DAY_MS or end - start < DAY_MS:
            return _error(400, None, f"Invalid timeIntervals parameter [{params['timeIntervals']}].")
        if _months_apart_at_least_14(_day(start), _day(end)):
            return _error(
                400, None,
                f"Invalid timeIntervals parameter [{params['timeIntervals']}]. "
                "Start time and end time must be less than 14 months apart.",
            )
        days = [_day(ms) for ms in range(start, end, DAY_MS)]
        return _json(_collection([e for e in (build(d) for d in days) if e is not None]))

    def _refuse(self, request: Request, query: str) -> Response | None:
        version = request.headers.get("LinkedIn-Version")
        if not version:
            return _error(
                400, "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
            )
        if version not in ACTIVE_VERSIONS:
            return _error(426, "NONEXISTENT_VERSION", f"Requested version {version}01 is not active")
        if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            name = "timeIntervals" if "timeIntervals=" in query else "X-Restli-Protocol-Version"
            return _error(400, None, f"Parameter '{name}' is invalid")
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", service=65600)
        if self.token_error == "EXPIRED_ACCESS_TOKEN":
            return _error(401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", service=65602)
        if self.forbidden:
            resource = request.path.removeprefix("/rest/").split("/", 1)[0]
            message = f"Not enough permissions to access: {resource}.GET.{version}"
            return _error(403, "ACCESS_DENIED", message, service=100)
        return None

    def _not_found(self, raw_path: str) -> Response:
        return _error(404, "RESOURCE_NOT_FOUND", f"No virtual resource found for {raw_path}")

    def _element(self, day: date, key: str = "organizationalEntity") -> dict[str, Any]:
        start = _millis(day)
        return {"timeRange": {"start": start, "end": start + DAY_MS}, key: self._plain_urn()}

    def _plain_urn(self) -> str:
        return f"urn:li:organization:{self.organization_id}"

    def _followers(self, day: date | None) -> dict[str, Any] | None:
        if day is None:
            facets = ("AssociationType", "Seniority", "Industry", "Function", "StaffCountRange", "GeoCountry", "Geo")
            lifetime: dict[str, Any] = {f"followerCountsBy{f}": [] for f in facets}
            return {**lifetime, "organizationalEntity": f"urn:li:organization:{self.organization_id}"}
        if day not in self.follower_gains:
            return None
        organic, paid = self.follower_gains[day]
        gains = {"organicFollowerGain": organic, "paidFollowerGain": paid}
        return {**self._element(day), "followerGains": {k: v for k, v in gains.items() if v is not None}}

    def _pages(self, day: date | None) -> dict[str, Any] | None:
        if day is not None and day not in self.page_views:
            return None
        desktop, mobile = self.page_views.get(day, (0, 0)) if day else (0, 0)
        views = {
            "allPageViews": {"pageViews": desktop + mobile},
            "allDesktopPageViews": {"pageViews": desktop},
            "allMobilePageViews": {"pageViews": mobile},
            "overviewPageViews": {"pageViews": desktop // 2},
        }
        stats = {"totalPageStatistics": {"clicks": {}, "views": views}}
        if day is None:
            return {**stats, "organization": f"urn:li:organization:{self.organization_id}"}
        return {**stats, **self._element(day, "organization")}

    def _shares(self, day: date | None) -> dict[str, Any] | None:
        if day is None:
            totals: dict[str, Any] = {"shareMentionsCount": 0, "commentMentionsCount": 0}
            for stats in self.shares.values():
                for k, v in stats.items():
                    totals[k] = totals.get(k, 0) + v
            totals["engagement"] = float(totals.get("engagement", 0.0))
            return {"totalShareStatistics": totals, "organizationalEntity": self._plain_urn()}
        if day not in self.shares or day < self.today - timedelta(days=365):
            return None  # share statistics cover a rolling 12 months
        return {**self._element(day), "totalShareStatistics": dict(self.shares[day])}


def _params(query: str) -> dict[str, str]:
    """The raw (still percent-encoded) query parameters, as LinkedIn's Rest.li parser sees them."""
    out = {}
    for part in query.split("&") if query else []:
        key, _, value = part.partition("=")
        out[key] = value
    return out


def _collection(elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"paging": {"start": 0, "count": 10, "links": []}, "elements": elements}


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _error(status: int, code: str | None, message: str, service: int | None = None) -> Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if service is not None:
        body["serviceErrorCode"] = service
    if code is not None:
        body["code"] = code
    return _json(body, status)
