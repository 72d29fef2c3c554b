"""A fake Plausible Stats API v2 (POST /api/v2/query), answering like plausible.io.

Seed it with visits per (day, source) and conversions per (day, source, goal);
it validates the query the way the real schema does, answers with positional
`metrics`/`dimensions` arrays, leaves out empty days, paginates with
`pagination` + `include.total_rows`, and uses Plausible's `{"error": ...}`
envelopes for bad keys, bad queries and the hourly rate limit.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

METRICS = {
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "events",
    "scroll_depth",
    "percentage",
    "conversion_rate",
    "group_conversion_rate",
    "average_revenue",
    "total_revenue",
    "time_on_page",
}
DIMENSIONS = {
    "time",
    "time:hour",
    "time:day",
    "time:week",
    "time:month",
    "visit:source",
    "visit:referrer",
    "visit:channel",
    "visit:utm_source",
    "visit:utm_medium",
    "visit:utm_campaign",
    "event:goal",
    "event:page",
}
BODY_KEYS = {"site_id", "date_range", "metrics", "dimensions", "filters", "order_by", "include", "pagination"}
HOURLY_LIMIT_MESSAGE = (
    "Too many API requests. Your API key is limited to 600 requests per hour. "
    "Please contact us to request more capacity."
)


@dataclass
class FakePlausible:
    server: HTTPServer
    site_id: str = "example.com"
    key: str = "plausible-test-key"
    goals: set[str] = field(default_factory=lambda: {"Signup", "Purchase"})
    revenue_goals: set[str] = field(default_factory=lambda: {"Purchase"})
    visits: dict[tuple[date, str], tuple[int, int]] = field(default_factory=dict)
    conversions: dict[tuple[date, str, str], tuple[int, float]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    requests_left: int | None = None  # None = unlimited; 0 = every further request gets the hourly 429
    refuse_revenue: bool = False  # a plan/version without revenue metrics
    total_rows: bool = True  # False: a server that ignores include.total_rows (meta stays {})

    def __post_init__(self) -> None:
        self.server.expect_request("/api/v2/query", method="POST").respond_with_handler(self._handle)

    def add_visits(self, day: date, source: str, visits: int, visitors: int) -> None:
        self.visits[(day, source)] = (visits, visitors)

    def add_conversions(self, day: date, source: str, goal: str, events: int, revenue: float = 0.0) -> None:
        self.conversions[(day, source, goal)] = (events, revenue)

    def _handle(self, request: Request) -> Response:
        self.requests.append(
            {"url": request.url, "headers": dict(request.headers), "body": request.get_data(as_text=True)}
        )
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _error(401, "Missing API key. Please use a valid Plausible API key as a Bearer Token.")
        try:
            body = json.loads(request.get_data(as_text=True))
        except ValueError:
            return _error(400, "Invalid request body")
        if "site_id" not in body:
            return _error(400, "Missing site ID. Please provide the required site_id parameter with your request.")
        if auth.removeprefix("Bearer ") != self.key or body["site_id"] != self.site_id:
            return _error(
                401,
                "Invalid API key or site ID. Please make sure you're using a valid API key with access to the site "
                "you've requested.",
            )
        if self.requests_left is not None:
            if self.requests_left <= 0:
                return _error(429, HOURLY_LIMIT_MESSAGE)
            self.requests_left -= 1
        problem = self._validate(body)
        if problem:
            return _error(400, problem)
        return Response(json.dumps(self._answer(body)), status=200, content_type="application/json")

    def _validate(self, body: dict[str, Any]) -> str | None:
        unknown = set(body) - BODY_KEYS
        if unknown:
            return f"#/{sorted(unknown)[0]}: Unknown property"
        for i, metric in enumerate(body.get("metrics", [])):
            if metric not in METRICS:
                return f'#/metrics/{i}: Invalid metric "{metric}"'
        if not body.get("metrics"):
            return "#/metrics: Expected a minimum of 1 items"
        for i, dim in enumerate(body.get("dimensions", [])):
            if dim not in DIMENSIONS:
                return f'#/dimensions/{i}: Invalid dimension "{dim}"'
        if _range(body.get("date_range")) is None:
            return f"#/date_range: Invalid date range {json.dumps(body.get('date_range'))}"
        goals = _goal_filter(body)
        missing = [g for g in goals or [] if g not in self.goals]
        if missing:
            return f"Invalid filters. The goal `{missing[0]}` is not configured for this site."
        if "total_revenue" in body["metrics"] and self.refuse_revenue:
            return "The owner of this site does not have access to the revenue metrics feature."
        if "total_revenue" in body["metrics"] and goals is None and "event:goal" not in body.get("dimensions", []):
            return "Metric `total_revenue` can only be queried with event:goal filters or dimensions"
        limit = (body.get("pagination") or {}).get("limit", 10_000)
        if not 1 <= limit <= 10_000:
            return "#/pagination/limit: Expected the value to be between 1 and 10000"
        return None

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        since, until = _range(body["date_range"])  # type: ignore[misc]
        dims, metrics = body.get("dimensions", []), body["metrics"]
        rows = (
            self._goal_rows(body, since, until)
            if "event:goal" in dims
            else self._visit_rows(dims, metrics, since, until)
        )
        rows.sort(
            key=lambda r: (r["dimensions"][0] if dims and dims[0].startswith("time") else "", -_num(r["metrics"][0]))
        )
        pagination = {"offset": 0, "limit": 10_000, **(body.get("pagination") or {})}
        page = rows[pagination["offset"] : pagination["offset"] + pagination["limit"]]
        include = body.get("include") or {}
        meta = {"total_rows": len(rows)} if include.get("total_rows") and self.total_rows else {}
        query = {
            "site_id": body["site_id"],
            "metrics": metrics,
            "date_range": [f"{since}T00:00:00+00:00", f"{until}T23:59:59+00:00"],
            "filters": body.get("filters", []),
            "dimensions": dims,
            "order_by": [["time:day", "asc"], [metrics[0], "desc"]] if "time:day" in dims else [[metrics[0], "desc"]],
            "include": include,
            "pagination": pagination,
        }
        return {"results": page, "meta": meta, "query": query}

    def _visit_rows(self, dims: list[str], metrics: list[str], since: date, until: date) -> list[dict[str, Any]]:
        groups: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0])
        for (day, source), (visits, visitors) in self.visits.items():
            if since <= day <= until:
                key = tuple(day.isoformat() if d == "time:day" else source for d in dims)
                groups[key][0] += visits
                groups[key][1] += visitors
        values = {"visits": 0, "visitors": 1, "pageviews": 0, "events": 0}  # one pageview per visit
        return [{"metrics": [g[values[m]] for m in metrics], "dimensions": list(k)} for k, g in groups.items()]

    def _goal_rows(self, body: dict[str, Any], since: date, until: date) -> list[dict[str, Any]]:
        goals = _goal_filter(body)
        rows = []
        for (day, source, goal), (events, revenue) in self.conversions.items():
            if since <= day <= until and (goals is None or goal in goals):
                values = {
                    "events": events,
                    "visitors": events,
                    "total_revenue": _money(revenue, goal in self.revenue_goals),
                }
                dims = {"time:day": day.isoformat(), "visit:source": source, "event:goal": goal}
                rows.append(
                    {
                        "metrics": [values[m] for m in body["metrics"]],
                        "dimensions": [dims[d] for d in body["dimensions"]],
                    }
                )
        return rows


def _money(value: float, is_revenue_goal: bool) -> dict[str, Any] | None:
    if not is_revenue_goal:
        return None
    return {"value": value, "currency": "EUR", "short": f"€{value:.1f}", "long": f"€{value:,.2f}"}


def _num(value: Any) -> float:
    return float(value["value"]) if isinstance(value, dict) else float(value or 0)


def _goal_filter(body: dict[str, Any]) -> list[str] | None:
    for f in body.get("filters", []):
        if len(f) >= 3 and f[1] == "event:goal":
            return list(f[2])
    return None


def _range(value: Any) -> tuple[date, date] | None:
    if isinstance(value, list) and len(value) == 2:
        try:
            return date.fromisoformat(value[0][:10]), date.fromisoformat(value[1][:10])
        except (TypeError, ValueError):
            return None
    if value in {"day", "7d", "28d", "30d", "month", "6mo", "12mo", "year", "all"}:
        return date(2000, 1, 1), date(2100, 1, 1)
    return None


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status=status, content_type="application/json")
