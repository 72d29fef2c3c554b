"""A fake Google Business Profile: OAuth token endpoint, Performance API v1 and reviews (v4), on one server.

As documented (shared/apis/google-business-profile.md): the token endpoint
exchanges a refresh token (with its OAuth client) or a service account's
RS256 JWT for hour-long access tokens; `fetchMultiDailyMetricsTimeSeries`
takes `dailyMetrics` repeated and `dailyRange.start_date.year` (the
camelCase form too), nests its answer two arrays deep, writes values as
int64 strings and leaves `value` out on zero days, and lists days it has not
processed yet either without `value` or not at all; an unknown or removed
metric is a 400 naming the field `daily_metrics[i]`; unknown query
parameters are a 400. Reviews come newest change first, at most 50 a page,
with `averageRating` and `totalReviewCount` on every page and an opaque
`nextPageToken` (a token it did not issue is a 400); a location without
reviews answers `{}` (proto3 leaves zeros out). A review's one owner reply
carries only its last `updateTime`; whether a reply moves the review's own
`updateTime` is not documented, so the fake does it either way
(`reply_updates_review`). A review Google removed is simply not listed: the
resource has no deleted or hidden field. The reviews API can be refused on
its own (`reviews_refusal`: the v4 API not enabled in the Cloud project)
while the Performance API answers. Errors are google.rpc.Status bodies.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SCOPE = "https://www.googleapis.com/auth/business.manage"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PERFORMANCE_SERVICE = "businessprofileperformance.googleapis.com"
REVIEWS_SERVICE = "mybusiness.googleapis.com"
LOCATION = "4512345678901234567"
ACCOUNT = "107812345678901234567"
CLIENT_ID = "1234-bakery.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-client-secret-4d2a"
REFRESH_TOKEN = "1//0gFakeRefreshToken-bakery-9f3c"
DAILY_METRICS = (
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
    "BUSINESS_CONVERSATIONS",
    "BUSINESS_DIRECTION_REQUESTS",
    "CALL_CLICKS",
    "WEBSITE_CLICKS",
    "BUSINESS_BOOKINGS",
    "BUSINESS_FOOD_ORDERS",
    "BUSINESS_FOOD_MENU_CLICKS",
    "MESSAGING_CLICKS",
)
PERFORMANCE_PARAMS = {"dailyMetrics", "fields", "prettyPrint", "alt", "$.xgafv"} | {
    f"dailyRange.{end}.{part}"
    for end in ("start_date", "end_date", "startDate", "endDate")
    for part in ("year", "month", "day")
}
REVIEW_PARAMS = {"pageSize", "pageToken", "orderBy", "fields", "prettyPrint", "alt", "$.xgafv"}
STARS = {1: "ONE", 2: "TWO", 3: "THREE", 4: "FOUR", 5: "FIVE"}
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)


def status(code: int, grpc: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A google.rpc.Status error body."""
    error: dict[str, Any] = {"code": code, "message": message, "status": grpc}
    if details:
        error["details"] = details
    return {"error": error}


def quota_error(limit: str, per: str = "minute") -> dict[str, Any]:
    """429 RESOURCE_EXHAUSTED; a `quota_limit_value` of "0" means the project's API access is not approved."""
    message = (
        f"Quota exceeded for quota metric 'Requests' and limit 'Requests per {per}' of service "
        f"'{PERFORMANCE_SERVICE}' for consumer 'project_number:123456789012'."
    )
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {"quota_limit_value": limit, "service": PERFORMANCE_SERVICE, "consumer": "projects/123456789012"},
    }
    return status(429, "RESOURCE_EXHAUSTED", message, [info])


def service_disabled(title: str, service: str) -> dict[str, Any]:
    """403 PERMISSION_DENIED with reason SERVICE_DISABLED: the API is not enabled in the caller's Cloud project."""
    return status(
        403,
        "PERMISSION_DENIED",
        f"{title} has not been used in project 123456789012 before or it is disabled. Enable it by visiting "
        f"https://console.developers.google.com/apis/api/{service}/overview?project=123456789012 then retry.",
        [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {"service": service, "consumer": "projects/123456789012"},
            }
        ],
    )


SERVICE_DISABLED = service_disabled("Business Profile Performance API", PERFORMANCE_SERVICE)
REVIEWS_DISABLED = service_disabled("Google My Business API", REVIEWS_SERVICE)


def write_token_file(folder: Path, token_uri: str | None, **changes: str) -> Path:
    """An authorized-user file as `gcloud auth application-default login` writes it (made at test time)."""
    data = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN,
            "type": "authorized_user", **changes}
    if token_uri:
        data["token_uri"] = token_uri
    path = folder / "gbp-token.json"
    path.write_text(json.dumps(data))
    return path


def rfc3339(moment: datetime) -> str:
    """Google's timestamps: UTC, `Z`, fractional seconds when there are any."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakeReview:
    review_id: str
    stars: int
    created: datetime
    reply_at: datetime | None = None
    edited: datetime | None = None  # the reviewer changed it later
    comment: str = "Die besten Franzbrötchen der Stadt!"
    reviewer: str = "Erika Mustermann"

    @property
    def updated(self) -> datetime:
        return self.changed(reply_counts=True)

    def changed(self, reply_counts: bool) -> datetime:
        """The review's `updateTime`: its last edit, and the owner reply's if a reply counts as a change."""
        reply = self.reply_at if reply_counts else None
        return max(t for t in (self.created, self.edited, reply) if t is not None)

    def body(self, account: str, location: str, reply_counts: bool = True) -> dict[str, Any]:
        review: dict[str, Any] = {
            "name": f"accounts/{account}/locations/{location}/reviews/{self.review_id}",
            "reviewId": self.review_id,
            "reviewer": {"displayName": self.reviewer, "profilePhotoUrl": "https://lh3.googleusercontent.com/a/x",
                         "isAnonymous": False},
            "starRating": STARS[self.stars],
            "comment": self.comment,
            "createTime": rfc3339(self.created),
            "updateTime": rfc3339(self.changed(reply_counts)),
        }
        if self.reply_at:
            review["reviewReply"] = {"comment": "Danke, Erika!", "updateTime": rfc3339(self.reply_at)}
        return review


@dataclass
class Recorded:
    path: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    url: str


@dataclass
class FakeGoogleBusiness:
    server: HTTPServer
    public_key: rsa.RSAPublicKey | None = None  # set: service-account JWTs signed by its private half are accepted
    email: str = "tracker@bakery-123.iam.gserviceaccount.com"
    location_id: str = LOCATION
    account_id: str = ACCOUNT
    refresh_revoked: bool = False
    client_deleted: bool = False
    may_read: bool = True  # False: the signed-in person is no owner or manager of the location
    last_processed: date | None = None  # later days are listed without `value` (or left out: unprocessed_omitted)
    unprocessed_omitted: bool = False
    removed: set[str] = field(default_factory=lambda: {"BUSINESS_CONVERSATIONS"})
    daily: dict[str, dict[date, int]] = field(default_factory=dict)
    reviews: list[FakeReview] = field(default_factory=list)
    reply_updates_review: bool = True  # an owner reply moves the review's updateTime (not documented either way)
    reviews_refusal: dict[str, Any] | None = None  # set: the reviews API answers 403 with this body, the rest works
    failures: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    issued: set[str] = field(default_factory=set)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.expect_request("/token", method="POST").respond_with_handler(self._token)
        self.server.expect_request(
            re.compile(r"^/v1/locations/[^/:]+:fetchMultiDailyMetricsTimeSeries$"), method="GET"
        ).respond_with_handler(self._performance)
        self.server.expect_request(
            re.compile(r"^/v4/accounts/[^/]+/locations/[^/]+/reviews$"), method="GET"
        ).respond_with_handler(self._reviews)

    @property
    def token_uri(self) -> str:
        return self.server.url_for("/token")

    def seed(self, day: date, **values: int) -> None:
        """One day's numbers, by DailyMetric name; metrics not given are 0 that day."""
        for metric in DAILY_METRICS:
            self.daily.setdefault(metric, {})[day] = values.get(metric, 0)

    def fail_next(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.failures.append((code, body, headers or {}))

    def expire_tokens(self) -> None:
        self.issued.clear()

    def performance_calls(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(":fetchMultiDailyMetricsTimeSeries")]

    def review_calls(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/reviews")]

    # --- OAuth token endpoint -------------------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        self.token_requests.append(form)
        grant = form.get("grant_type")
        if grant == "refresh_token":
            problem = self._refresh_problem(form)
        elif grant == JWT_GRANT:
            problem = self._jwt_problem(form.get("assertion", ""))
        else:
            problem = (400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
        if problem:
            code, error, description = problem
            return _json({"error": error, "error_description": description}, code)
        token = "ya29." + secrets.token_urlsafe(24)
        self.issued.add(token)
        return _json({"access_token": token, "expires_in": 3599, "scope": SCOPE, "token_type": "Bearer"})

    def _refresh_problem(self, form: dict[str, str]) -> tuple[int, str, str] | None:
        if self.client_deleted or (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return 401, "invalid_client", "The OAuth client was not found."
        if self.refresh_revoked or form.get("refresh_token") != REFRESH_TOKEN:
            return 400, "invalid_grant", "Token has been expired or revoked."
        return None

    def _jwt_problem(self, assertion: str) -> tuple[int, str, str] | None:
        refused = (400, "invalid_grant", "Invalid JWT Signature.")
        parts = assertion.split(".")
        if self.public_key is None or len(parts) != 3:
            return refused
        try:
            claims = json.loads(_unb64(parts[1]))
            self.public_key.verify(_unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(),
                                   hashes.SHA256())
        except (ValueError, InvalidSignature):
            return refused
        if claims.get("iss") != self.email or claims.get("aud") != self.token_uri:
            return 400, "invalid_grant", "Invalid JWT: Failed audience check."
        if SCOPE not in str(claims.get("scope", "")).split():
            return 400, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
        if claims.get("exp", 0) - claims.get("iat", 0) > 3600 or abs(claims.get("iat", 0) - time.time()) > 300:
            return 400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a " \
                "reasonable timeframe. Check your iat and exp values in the JWT claim."
        return None

    # --- shared request handling ----------------------------------------------------------------------------
    def _refusal(self, request: Request, allowed: set[str]) -> Response | None:
        """What every API call checks first: the bearer token, forced failures, known query parameters."""
        self.requests.append(
            Recorded(request.path, request.args.to_dict(flat=False), dict(request.headers), request.url)
        )
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.issued:
            return _json(status(401, "UNAUTHENTICATED", UNAUTHENTICATED), 401)
        if self.failures:
            code, body, headers = self.failures.pop(0)
            return _json(body, code, headers)
        for name in sorted(set(request.args) - allowed):
            message = f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter.'
            return _json(status(400, "INVALID_ARGUMENT", message), 400)
        if not self.may_read:
            return _json(status(403, "PERMISSION_DENIED", "The caller does not have permission"), 403)
        return None

    def _not_found(self) -> Response:
        return _json(status(404, "NOT_FOUND", "Requested entity was not found."), 404)

    # --- Performance API ------------------------------------------------------------------------------------
    def _performance(self, request: Request) -> Response:
        refused = self._refusal(request, PERFORMANCE_PARAMS)
        if refused:
            return refused
        if request.path.split("/")[3].split(":")[0] != self.location_id:
            return self._not_found()
        metrics = request.args.getlist("dailyMetrics")
        for i, metric in enumerate(metrics):
            if metric not in DAILY_METRICS:
                message = (
                    f"Invalid value at 'daily_metrics[{i}]' "
                    f'(type.googleapis.com/google.businessprofileperformance.v1.DailyMetric), "{metric}"'
                )
                return _json(status(400, "INVALID_ARGUMENT", message, [_violation(i, message)]), 400)
            if metric in self.removed:
                violation = _violation(i, "This metric is no longer supported.")
                return _json(status(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", [violation]), 400)
        try:
            since, until = _day(request.args, "start"), _day(request.args, "end")
        except (KeyError, ValueError):
            return _json(status(400, "INVALID_ARGUMENT", "Request contains an invalid argument."), 400)
        if not metrics or since > until:
            return _json(status(400, "INVALID_ARGUMENT", "Request contains an invalid argument."), 400)
        series = [{"dailyMetric": m, "timeSeries": {"datedValues": self._dated(m, since, until)}} for m in metrics]
        return _json({"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": series}]})

    def _dated(self, metric: str, since: date, until: date) -> list[dict[str, Any]]:
        points = []
        day = since
        while day <= until:
            point: dict[str, Any] = {"date": {"year": day.year, "month": day.month, "day": day.day}}
            processed = self.last_processed is None or day <= self.last_processed
            value = self.daily.get(metric, {}).get(day, 0)
            if processed and value:
                point["value"] = str(value)  # int64 as a string; absent on zero days
            if processed or not self.unprocessed_omitted:
                points.append(point)
            day += timedelta(days=1)
        return points

    # --- reviews (v4) ---------------------------------------------------------------------------------------
    def _reviews(self, request: Request) -> Response:
        refused = self._refusal(request, REVIEW_PARAMS)
        if refused:
            return refused
        if self.reviews_refusal is not None:
            return _json(self.reviews_refusal, 403)
        _, _, _, account, _, location, _ = request.path.split("/")
        if (account, location) != (self.account_id, self.location_id):
            return self._not_found()
        order = request.args.get("orderBy", "updateTime desc")
        if order not in ("updateTime desc", "rating", "rating desc"):
            return _json(status(400, "INVALID_ARGUMENT", "Request contains an invalid argument."), 400)
        size = min(int(request.args.get("pageSize", 50)), 50)
        try:
            start = _page_start(request.args.get("pageToken"))
        except ValueError:
            return _json(status(400, "INVALID_ARGUMENT", "Request contains an invalid argument."), 400)
        bumped = self.reply_updates_review
        listed = sorted(self.reviews, key=lambda r: r.changed(bumped), reverse=True)
        if not listed:
            return _json({})
        page = listed[start : start + size]
        body: dict[str, Any] = {
            "reviews": [r.body(self.account_id, self.location_id, bumped) for r in page],
            "averageRating": round(sum(r.stars for r in listed) / len(listed), 1),
            "totalReviewCount": len(listed),
        }
        if start + size < len(listed):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return _json(body)


def _page_start(token: str | None) -> int:
    """The offset an issued `nextPageToken` stands for; anything else raises ValueError."""
    if token is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(token) from exc


def _violation(index: int, description: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": f"daily_metrics[{index}]", "description": description}],
    }


def _day(args: Any, end: str) -> date:
    """dailyRange.start_date.* (the documented examples) or dailyRange.startDate.* (the discovery document)."""
    for name in (f"{end}_date", f"{end}Date"):
        if f"dailyRange.{name}.year" in args:
            return date(*(int(args[f"dailyRange.{name}.{part}"]) for part in ("year", "month", "day")))
    raise KeyError(end)


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json(body: Any, code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), code, headers or {}, content_type="application/json; charset=UTF-8")
