"""A fake Matomo Reporting API (index.php?module=API), answering like Matomo 5.

Seed it with visits per (day, referrer type, label) and the goal conversions
attributed to them. It merges GET and POST parameters like Matomo, refuses a
token_auth in the URL (secure-only tokens, Matomo 5), answers `period=day&
date=A,B` with an object keyed by date ([] for an empty day), pages each day
table with filter_limit/filter_offset (default 100 rows), and reports errors as
`{"result":"error","message":...}`: with 401/400 like Matomo 5, or with HTTP 200
like older versions (`legacy_errors=True`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TYPE_LABELS = {
    "direct": "Direct Entry",
    "search": "Search Engines",
    "website": "Websites",
    "campaign": "Campaigns",
    "social": "Social Networks",
    "ai": "AI Assistants",
}
SOCIAL_URLS = {
    "Facebook": "facebook.com",
    "Instagram": "instagram.com",
    "LinkedIn": "linkedin.com",
    "Twitter": "twitter.com",
    "XING": "xing.com",
    "reddit": "reddit.com",
}
REPORT_METHODS = {
    "Referrers.getReferrerType",
    "Referrers.getSocials",
    "Referrers.getWebsites",
    "Referrers.getCampaigns",
}
PERIODS = {"day", "week", "month", "year", "range"}
DATE_ERROR = (
    "Date format must be: YYYY-MM-DD, or 'today' or 'yesterday' or any keyword supported by the strtotime function "
    "(see http://php.net/strtotime for more information): {}"
)


@dataclass
class Visit:
    kind: str  # direct | search | website | social | campaign | ai
    label: str
    visits: int
    visitors: int
    goals: dict[str, tuple[int, float | None]]  # goal id ("1", "ecommerceOrder") -> (conversions, revenue)
    uniques: bool = True  # False: the row comes without nb_uniq_visitors (unique visitors not processed)


@dataclass
class FakeMatomo:
    server: HTTPServer
    token: str = "0123456789abcdef0123456789abcdef"
    site_id: int = 3
    legacy_errors: bool = False  # Matomo < 5: every error with HTTP 200
    data: dict[date, list[Visit]] = field(default_factory=lambda: defaultdict(list))
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.expect_request("/index.php").respond_with_handler(self._handle)

    def add(
        self,
        day: date,
        kind: str,
        label: str,
        visits: int,
        visitors: int | None = None,
        goals: dict[str, tuple[int, float | None]] | None = None,
        uniques: bool = True,
    ) -> None:
        """Seed visits; `uniques=False` serves their row without `nb_uniq_visitors`, as Matomo does where
        unique visitors are not processed; a goal revenue of None is left out of that goal's entry."""
        self.data[day].append(
            Visit(kind, label, visits, visits if visitors is None else visitors, goals or {}, uniques)
        )

    def _handle(self, request: Request) -> Response:
        self.requests.append({"url": request.url, "method": request.method, "form": dict(request.form)})
        params = {**request.args.to_dict(), **request.form.to_dict()}
        if "token_auth" in request.args or params.get("token_auth") != self.token:
            return self._error(
                401,
                f"You can't access this resource as it requires 'view' access for the website id = "
                f"{params.get('idSite', '')}.",
            )
        method = params.get("method", "")
        if params.get("module") != "API":
            return self._error(400, "The parameter module must be API.")
        if method not in REPORT_METHODS | {"SitesManager.getSiteFromId"}:
            module, _, name = method.partition(".")
            return self._error(400, f"The method '{name}' does not exist or is not available in the module '{module}'.")
        if str(params.get("idSite")) != str(self.site_id):
            return self._error(
                401,
                f"You can't access this resource as it requires 'view' access for the website id = "
                f"{params.get('idSite')}.",
            )
        if method == "SitesManager.getSiteFromId":
            return _json(
                {
                    "idsite": str(self.site_id),
                    "name": "Bäckerei Lindner",
                    "main_url": "https://baeckerei.example",
                    "timezone": "Europe/Berlin",
                    "currency": "EUR",
                }
            )
        if params.get("period") not in PERIODS:
            return self._error(
                200,
                f"The period '{params.get('period')}' is not supported. Try any of the following "
                "instead: day, week, month, year, range",
            )
        days = _dates(params.get("date", ""))
        if days is None:
            return self._error(200, DATE_ERROR.format(params.get("date", "")))
        limit, offset = int(params.get("filter_limit", 100)), int(params.get("filter_offset", 0))
        tables = {d.isoformat(): _page(self._rows(method, d), limit, offset) for d in days}
        multiple = "," in params["date"]
        return _json(tables if multiple else tables[days[0].isoformat()])

    def _rows(self, method: str, day: date) -> list[dict[str, Any]]:
        visits = self.data.get(day, [])
        if method == "Referrers.getReferrerType":
            groups = _group(visits, lambda v: v.kind)
            rows = [_row(TYPE_LABELS[kind], vs) | {"segment": f"referrerType=={kind}"} for kind, vs in groups.items()]
        else:
            kind = {
                "Referrers.getSocials": "social",
                "Referrers.getWebsites": "website",
                "Referrers.getCampaigns": "campaign",
            }[method]
            labels = _group(
                [v for v in visits if v.kind == kind], lambda v: v.label.lower() if kind == "campaign" else v.label
            )
            rows = [_row(label, vs) | _metadata(kind, label) for label, vs in labels.items()]
        for i, row in enumerate(rows, start=1):
            row["idsubdatatable"] = i
        return sorted(rows, key=lambda r: -r["nb_visits"])

    def _error(self, status: int, message: str) -> Response:
        return _json({"result": "error", "message": message}, 200 if self.legacy_errors else status)


def _group(visits: list[Visit], key: Any) -> dict[str, list[Visit]]:
    groups: dict[str, list[Visit]] = defaultdict(list)
    for v in visits:
        groups[key(v)].append(v)
    return groups


def _row(label: str, visits: list[Visit]) -> dict[str, Any]:
    n = sum(v.visits for v in visits)
    row: dict[str, Any] = {
        "label": label,
        "nb_uniq_visitors": sum(v.visitors for v in visits),
        "nb_visits": n,
        "nb_actions": 3 * n,
        "nb_users": 0,
        "max_actions": 7,
        "sum_visit_length": 120 * n,
        "bounce_count": n // 2,
    }
    if not all(v.uniques for v in visits):
        del row["nb_uniq_visitors"]
    goals: dict[str, dict[str, Any]] = {}
    for v in visits:
        for goal_id, (conversions, revenue) in v.goals.items():
            g = goals.setdefault(f"idgoal={goal_id}", {"nb_conversions": 0, "nb_visits_converted": 0, "revenue": 0})
            g["nb_conversions"] += conversions
            g["nb_visits_converted"] += conversions
            g["revenue"] = None if revenue is None or g["revenue"] is None else _money(g["revenue"] + revenue)
    counted = [g for k, g in goals.items() if k != "idgoal=ecommerceAbandonedCart"]
    row["nb_visits_converted"] = sum(g["nb_visits_converted"] for g in counted)
    if goals:
        row["goals"] = {k: {c: v for c, v in g.items() if v is not None} for k, g in goals.items()}
        row["nb_conversions"] = sum(g["nb_conversions"] for g in counted)
        row["revenue"] = _money(sum(g["revenue"] or 0 for g in counted))
    return row


def _metadata(kind: str, label: str) -> dict[str, Any]:
    if kind == "social":
        url = SOCIAL_URLS.get(label, f"{label.lower()}.com")
        return {
            "url": url,
            "logo": f"plugins/Morpheus/icons/dist/socials/{url}.png",
            "segment": f"referrerType==social;referrerName=={label}",
        }
    if kind == "campaign":
        return {"segment": f"referrerType==campaign;referrerName=={label.lower()}"}
    return {"segment": f"referrerName=={label}"}


def _money(value: float) -> float | int:
    """Matomo prints whole revenue as an int and the rest as a float."""
    return int(value) if float(value).is_integer() else round(value, 2)


def _page(rows: list[dict[str, Any]], limit: int, offset: int) -> list[dict[str, Any]]:
    return rows[offset:] if limit == -1 else rows[offset : offset + limit]


def _dates(value: str) -> list[date] | None:
    parts = value.split(",")
    if len(parts) > 2 or not all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", p) for p in parts):
        return None
    start, end = date.fromisoformat(parts[0]), date.fromisoformat(parts[-1])
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
