"""A fake Mastodon server (4.6-like): account lookup and an account's statuses, paged by Link headers.

It answers like upstream: ids are snowflake-style strings, `limit` is capped at
40, the `next` link only appears after a full page, every answer carries the
X-RateLimit-* headers (reset as ISO 8601 with microseconds), errors are
`{"error": "..."}`, and a server that refuses anonymous API calls answers 401.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

MAX_LIMIT = 40
DEFAULT_LIMIT = 20
ACCOUNT_ID = "110523948112233445"


def snowflake(at: datetime, seq: int = 0) -> str:
    """Mastodon ids: milliseconds since the epoch shifted left 16 bits, plus a sequence."""
    return str((int(at.timestamp() * 1000) << 16) | (seq & 0xFFFF))


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass
class Recorded:
    path: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    url: str


@dataclass
class FakeMastodon:
    server: HTTPServer
    acct: str = "baeckerei"
    followers: int | None = 418  # None: an account entity without followers_count (some forks hide it)
    following: int = 97
    statuses_count: int = 356
    require_token: bool = False
    valid_token: str | None = None
    quotes: bool = True  # False: a pre-4.5 server without quotes_count
    rate_limited: bool = False
    reset_in: timedelta = timedelta(seconds=42)
    suspended: bool = False
    statuses: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.expect_request("/api/v1/accounts/lookup", method="GET").respond_with_handler(self._lookup)
        self.server.expect_request(
            re.compile(r"^/api/v1/accounts/[^/]+/statuses$"), method="GET"
        ).respond_with_handler(self._statuses)

    # --- seeding -----------------------------------------------------------

    def post(self, at: datetime, likes: int = 0, boosts: int = 0, replies: int = 0, quotes: int = 0) -> dict[str, Any]:
        """Publish an own post at `at` (aware) with these lifetime counts."""
        status = self._status(at, likes, boosts, replies, quotes)
        self._insert(status)
        return status

    def boost(self, at: datetime, likes: int = 99) -> None:
        """Boost someone else's post at `at`: a wrapper with zero counts, the original inside `reblog`."""
        original = self._status(at - timedelta(hours=5), likes, 7, 3, 1)
        original["account"] = {"id": "1", "username": "other", "acct": "other@example.net"}
        wrapper = self._status(at, 0, 0, 0, 0)
        wrapper.update(content="", reblog=original)
        self._insert(wrapper)

    def _status(self, at: datetime, likes: int, boosts: int, replies: int, quotes: int) -> dict[str, Any]:
        sid = snowflake(at, len(self.statuses))
        base = self.server.url_for("/").rstrip("/")
        status: dict[str, Any] = {
            "id": sid, "created_at": iso(at), "in_reply_to_id": None, "in_reply_to_account_id": None,
            "sensitive": False, "spoiler_text": "", "visibility": "public", "language": "de",
            "uri": f"{base}/users/{self.acct}/statuses/{sid}", "url": f"{base}/@{self.acct}/{sid}",
            "replies_count": replies, "reblogs_count": boosts, "favourites_count": likes, "quotes_count": quotes,
            "edited_at": None, "content": "<p>Frische Brötchen</p>", "filtered": [], "reblog": None,
            "account": self._account(), "media_attachments": [], "mentions": [], "tags": [], "emojis": [],
            "quote": None, "card": None, "poll": None,
        }
        if not self.quotes:
            del status["quotes_count"]
        return status

    def _insert(self, status: dict[str, Any]) -> None:
        self.statuses.append(status)
        self.statuses.sort(key=lambda s: int(s["id"]), reverse=True)

    def _account(self) -> dict[str, Any]:
        base = self.server.url_for("/").rstrip("/")
        account: dict[str, Any] = {
            "id": ACCOUNT_ID, "username": self.acct, "acct": self.acct, "display_name": "Bäckerei Lindner",
            "locked": False, "bot": False, "discoverable": None, "indexable": True, "group": False,
            "created_at": "2023-06-11T00:00:00.000Z", "note": "<p>Handwerksbäckerei</p>",
            "url": f"{base}/@{self.acct}", "uri": f"{base}/users/{self.acct}",
            "followers_count": self.followers, "following_count": self.following,
            "statuses_count": self.statuses_count, "last_status_at": "2026-11-21",
            "hide_collections": False, "noindex": False, "emojis": [], "roles": [], "fields": [],
        }
        if self.suspended:
            account["suspended"] = True
        if self.followers is None:
            del account["followers_count"]
        return account

    # --- handlers ------------------------------------------------------------

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        reset = (datetime.now(timezone.utc) + self.reset_in).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        base = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0" if status == 429 else "299",
                "X-RateLimit-Reset": reset}
        return Response(
            json.dumps(body), status=status, headers={**base, **(headers or {})},
            content_type="application/json; charset=utf-8",
        )

    def _refuse(self, request: Request) -> Response | None:
        """What upstream does before any controller: throttling, then token checks."""
        self.requests.append(
            Recorded(request.path, request.args.to_dict(flat=False), dict(request.headers), request.url)
        )
        if self.rate_limited:
            return self._json({"error": "Too many requests"}, 429)
        auth = request.headers.get("Authorization", "")
        if auth:
            if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") != self.valid_token:
                return self._json({"error": "The access token is invalid"}, 401)
        elif self.require_token:
            return self._json({"error": "This method requires an authenticated user"}, 401)
        return None

    def _lookup(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused:
            return refused
        acct = request.args.get("acct", "")
        host = self.server.host
        if acct not in (self.acct, f"{self.acct}@{host}", f"{self.acct}@{host}:{self.server.port}"):
            return self._json({"error": "Record not found"}, 404)
        return self._json(self._account())

    def _statuses(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused:
            return refused
        if request.path.split("/")[4] != ACCOUNT_ID:
            return self._json({"error": "Record not found"}, 404)
        limit = min(int(request.args.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        items = self.statuses
        if request.args.get("exclude_reblogs") == "true":
            items = [s for s in items if s["reblog"] is None]
        if "max_id" in request.args:
            items = [s for s in items if int(s["id"]) < int(request.args["max_id"])]
        page = items[:limit]
        return self._json(page, headers=self._link(request, page, limit))

    def _link(self, request: Request, page: list[dict[str, Any]], limit: int) -> dict[str, str]:
        if not page:
            return {}
        keep = {k: request.args[k] for k in ("limit", "exclude_reblogs") if k in request.args}
        base = self.server.url_for(request.path)
        links = []
        if len(page) == limit:
            links.append(f'<{base}?{urlencode({**keep, "max_id": page[-1]["id"]})}>; rel="next"')
        links.append(f'<{base}?{urlencode({**keep, "min_id": page[0]["id"]})}>; rel="prev"')
        return {"Link": ", ".join(links)}
