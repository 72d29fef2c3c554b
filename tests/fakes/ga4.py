"""A fake Google OAuth token endpoint and GA4 Data API (v1beta runReport).

The token endpoint verifies the service account's RS256 JWT with the public
half of the key the test generated (signature, kid, iss, aud, scope, lifetime)
and hands out access tokens. runReport checks the bearer token and the
property, validates the request like the real API (unknown fields, dimension
and metric names, `keyEvents` or the pre-2024 `conversions`), groups seeded
facts by the requested dimensions, drops all-zero rows, answers every value as
a string and `date` as YYYYMMDD, omits `rows` and `rowCount` when empty, and
pages with limit/offset against rowCount. Errors are google.rpc.Status bodies.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DIMENSIONS = {
    "date",
    "sessionSource",
    "sessionMedium",
    "sessionSourceMedium",
    "sessionDefaultChannelGroup",
    "eventName",
}
METRIC_TYPES = {
    "sessions": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "keyEvents": "TYPE_INTEGER",
    "conversions": "TYPE_INTEGER",
    "eventCount": "TYPE_INTEGER",
    "purchaseRevenue": "TYPE_CURRENCY",
}
BODY_KEYS = {
    "dateRanges",
    "dimensions",
    "metrics",
    "dimensionFilter",
    "metricFilter",
    "limit",
    "offset",
    "keepEmptyRows",
    "returnPropertyQuota",
    "orderBys",
    "currencyCode",
    "metricAggregations",
}
SCHEMA_HINT = (
    "For a list of valid dimensions and metrics, see "
    "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_key_file(
    folder: Path,
    token_uri: str,
    email: str = "tracker@bakery-123.iam.gserviceaccount.com",
    key: rsa.RSAPrivateKey | None = None,
) -> tuple[Path, rsa.RSAPublicKey]:
    """A service-account key file around a throwaway key made at test time (never committed)."""
    key = key or new_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = folder / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "bakery-123",
                "private_key_id": "kid-1",
                "private_key": pem.decode(),
                "client_email": email,
                "client_id": "1234567890",
                "token_uri": token_uri,
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            }
        )
    )
    return path, key.public_key()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class FakeGa4:
    server: HTTPServer
    public_key: rsa.RSAPublicKey
    email: str = "tracker@bakery-123.iam.gserviceaccount.com"
    property_id: str = "312345678"
    time_zone: str = "Europe/Berlin"
    key_events_known: bool = True  # False: a property/API version that only knows `conversions`
    conversions_known: bool = False  # the pre-2024 name, refused since keyEvents replaced it
    sessions: dict[tuple[date, str], tuple[int, int, float]] = field(default_factory=dict)
    events: dict[tuple[date, str, str], tuple[int, bool]] = field(default_factory=dict)
    issued: set[str] = field(default_factory=set)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[int, str, str]] = field(default_factory=list)  # served before normal answers
    valueless: set[str] = field(default_factory=set)  # metrics answered as {} (no `value`) in every row

    def __post_init__(self) -> None:
        self.server.expect_request("/token", method="POST").respond_with_handler(self._token)
        self.server.expect_request(
            re.compile(r"^/v1beta/properties/[^/:]+:runReport$"), method="POST"
        ).respond_with_handler(self._run_report)

    @property
    def token_uri(self) -> str:
        return self.server.url_for("/token")

    def add_sessions(self, day: date, source: str, sessions: int, users: int, revenue: float = 0.0) -> None:
        self.sessions[(day, source)] = (sessions, users, revenue)

    def add_events(self, day: date, source: str, event: str, count: int, key_event: bool = True) -> None:
        self.events[(day, source, event)] = (count, key_event)

    def fail_next(self, status: int, grpc_status: str, message: str) -> None:
        self.failures.append((status, grpc_status, message))

    # --- OAuth token endpoint -------------------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        self.token_requests.append(form)
        if form.get("grant_type") != JWT_GRANT:
            return _json(
                {
                    "error": "unsupported_grant_type",
                    "error_description": f"Invalid grant_type: {form.get('grant_type', '')}",
                },
                400,
            )
        problem = self._jwt_problem(form.get("assertion", ""))
        if problem:
            return _json({"error": "invalid_grant", "error_description": problem}, 400)
        token = "ya29." + secrets.token_urlsafe(24)
        self.issued.add(token)
        return _json({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _jwt_problem(self, assertion: str) -> str | None:
        parts = assertion.split(".")
        if len(parts) != 3:
            return "Invalid JWT: not a JWS compact serialization."
        try:
            header, claims = json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
            self.public_key.verify(
                _unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (ValueError, InvalidSignature):
            return "Invalid JWT Signature."
        if header.get("alg") != "RS256" or header.get("kid") != "kid-1":
            return "Invalid JWT Signature."
        if claims.get("iss") != self.email or claims.get("aud") != self.token_uri:
            return "Invalid JWT: Failed audience check."
        if SCOPE not in str(claims.get("scope", "")).split():
            return "Invalid OAuth scope or ID token audience provided."
        now, iat, exp = time.time(), claims.get("iat", 0), claims.get("exp", 0)
        if exp - iat > 3600 or abs(iat - now) > 300 or exp < now:
            return (
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                "Check your iat and exp values in the JWT claim."
            )
        return None

    # --- runReport ------------------------------------------------------------------------------------------
    def _run_report(self, request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True) or "{}")
        self.reports.append({"url": request.url, "headers": dict(request.headers), "body": body})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.issued:
            return _status(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 "
                "access token, login cookie or other valid authentication credential.",
            )
        if self.failures:
            return _status(*self.failures.pop(0))
        if request.path.split("/")[3].split(":")[0] != self.property_id:
            return _status(
                403,
                "PERMISSION_DENIED",
                "User does not have sufficient permissions for this property. To "
                "learn more about Property ID, see "
                "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
            )
        problem = self._validate(body)
        if problem:
            return _status(400, "INVALID_ARGUMENT", problem)
        return _json(self._answer(body))

    def _validate(self, body: dict[str, Any]) -> str | None:
        for key in body:
            if key not in BODY_KEYS:
                return f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.'
        ranges = body.get("dateRanges") or []
        if not 1 <= len(ranges) <= 4:
            return "Must specify at least one date range." if not ranges else "Requests are limited to 4 dateRanges."
        known = (
            set(METRIC_TYPES)
            - ({"keyEvents"} if not self.key_events_known else set())
            - ({"conversions"} if not self.conversions_known else set())
        )
        for metric in body.get("metrics", []):
            if metric["name"] not in known:
                return f"Field {metric['name']} is not a valid metric. {SCHEMA_HINT}"
        for dim in body.get("dimensions", []):
            if dim["name"] not in DIMENSIONS:
                return f"Field {dim['name']} is not a valid dimension. {SCHEMA_HINT}"
        if int(body.get("limit", 10_000)) > 250_000 or int(body.get("limit", 10_000)) < 0:
            return "limit must be between 0 and 250000."
        return None

    def _facts(self) -> list[dict[str, Any]]:
        facts = [
            {"date": d, "sessionSource": s, "sessions": n, "totalUsers": u, "purchaseRevenue": r}
            for (d, s), (n, u, r) in self.sessions.items()
        ]
        facts += [
            {
                "date": d,
                "sessionSource": s,
                "eventName": e,
                "eventCount": n,
                "keyEvents": n if key else 0,
                "conversions": n if key else 0,
            }
            for (d, s, e), (n, key) in self.events.items()
        ]
        return facts

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        dims = [d["name"] for d in body.get("dimensions", [])]
        metrics = [m["name"] for m in body["metrics"]]
        since, until = (_resolve(body["dateRanges"][0][k]) for k in ("startDate", "endDate"))
        groups: dict[tuple[str, ...], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for fact in self._facts():
            if not since <= fact["date"] <= until or not _passes(fact, body.get("dimensionFilter")):
                continue
            if any(d not in fact for d in dims):
                continue
            key = tuple(fact[d].strftime("%Y%m%d") if d == "date" else fact[d] for d in dims)
            for m in metrics:
                groups[key][m] += fact.get(m, 0)
        rows = [
            {
                "dimensionValues": [{"value": v} for v in key],
                "metricValues": [{} if m in self.valueless else {"value": _fmt(values[m])} for m in metrics],
            }
            for key, values in sorted(groups.items())
            if any(values[m] for m in metrics)  # keepEmptyRows=false drops all-zero rows
        ]
        offset, limit = int(body.get("offset", 0)), int(body.get("limit", 10_000)) or 10_000
        answer: dict[str, Any] = {
            "dimensionHeaders": [{"name": d} for d in dims],
            "metricHeaders": [{"name": m, "type": METRIC_TYPES[m]} for m in metrics],
        }
        if rows:
            answer["rows"] = rows[offset : offset + limit]
            answer["rowCount"] = len(rows)
        answer["metadata"] = {"currencyCode": "EUR", "timeZone": self.time_zone}
        answer["kind"] = "analyticsData#runReport"
        return answer


def _passes(fact: dict[str, Any], expression: dict[str, Any] | None) -> bool:
    if not expression:
        return True
    f = expression["filter"]
    value = fact.get(f["fieldName"])
    if "inListFilter" in f:
        return value in f["inListFilter"]["values"]
    return value == f["stringFilter"]["value"]


def _resolve(value: str) -> date:
    if value in ("today", "yesterday") or value.endswith("daysAgo"):
        return date(2000, 1, 1) if value.endswith("daysAgo") else date(2100, 1, 1)
    return date.fromisoformat(value)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(round(value, 2))


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _status(code: int, status: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message, "status": status}}, code)
