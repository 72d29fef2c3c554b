"""A fake Mastodon server (4.6-like): account lookup, an account's statuses, paged by Link headers, threads
(`/statuses/:id/context`) and mention notifications.

It answers like upstream: ids are snowflake-style strings, `limit` is capped at
40 (80 for notifications), the `next` link only appears after a full page,
every answer carries the X-RateLimit-* headers (reset as ISO 8601 with
microseconds), errors are `{"error": "..."}`, a server that refuses anonymous
API calls answers 401, and a token without the scope an endpoint needs gets
403 "This action is outside the authorized scopes". A thread read without a
token holds at most 60 descendants, 20 levels deep (a token: 4,096). A
deleted status is gone: from its thread, from the notifications, and its
context answers 404.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

MAX_LIMIT = 40
DEFAULT_LIMIT = 20
NOTIFICATIONS_MAX_LIMIT = 80
NOTIFICATIONS_DEFAULT_LIMIT = 40
ANONYMOUS_DESCENDANTS, ANONYMOUS_DEPTH = 60, 20
TOKEN_DESCENDANTS = 4096
ACCOUNT_ID = "110523948112233445"
OUTSIDE_SCOPES = "This action is outside the authorized scopes"


def snowflake(at: datetime, seq: int = 0) -> str:
    """Mastodon ids: milliseconds since the epoch shifted left 16 bits, plus a sequence."""
    return str((int(at.timestamp() * 1000) << 16) | (seq & 0xFFFF))


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


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
    scopes: frozenset[str] = frozenset({"read"})  # what the valid token was granted
    remaining: int = 299  # X-RateLimit-Remaining on answers that are not 429
    statuses: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    everything: dict[str, dict[str, Any]] = field(default_factory=dict)  # every status by id: own and others'
    notifications: list[dict[str, Any]] = field(default_factory=list)  # newest first

    def __post_init__(self) -> None:
        self.server.expect_request("/api/v1/accounts/lookup", method="GET").respond_with_handler(self._lookup)
        self.server.expect_request(
            re.compile(r"^/api/v1/accounts/[^/]+/statuses$"), method="GET"
        ).respond_with_handler(self._statuses)
        self.server.expect_request(
            re.compile(r"^/api/v1/statuses/[^/]+/context$"), method="GET"
        ).respond_with_handler(self._context)
        self.server.expect_request("/api/v1/notifications", method="GET").respond_with_handler(self._notifications)

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

    def person(self, name: str, display_name: str) -> dict[str, Any]:
        """Someone on another server (`name@kunden.example`), with a stable id of their own."""
        digits = str(zlib.crc32(name.encode())).zfill(10)
        return {
            "id": f"1097{digits}", "username": name, "acct": f"{name}@kunden.example", "display_name": display_name,
            "locked": False, "bot": False, "discoverable": True, "indexable": True, "group": False,
            "created_at": "2024-02-03T00:00:00.000Z", "note": "", "url": f"https://kunden.example/@{name}",
            "uri": f"https://kunden.example/users/{name}", "followers_count": 12, "following_count": 40,
            "statuses_count": 77, "last_status_at": "2026-11-20", "hide_collections": False, "noindex": False,
            "emojis": [], "roles": [], "fields": [],
        }

    def reply(
        self, to: dict[str, Any], at: datetime, by: dict[str, Any] | None = None, text: str = "<p>Danke!</p>",
        visibility: str = "public",
    ) -> dict[str, Any]:
        """A reply to `to` at `at`: by `by` (a `person`), or by the account itself when `by` is None.

        Like upstream, it mentions the author of `to` and whoever `to` mentioned; a reply by someone else
        that mentions the account notifies it.
        """
        status = self._status(at, 0, 0, 0, 0)
        author = by["id"] if by else ACCOUNT_ID
        mentioned = [to["account"], *to["mentions"]]
        status.update(
            in_reply_to_id=to["id"], in_reply_to_account_id=to["account"]["id"], content=text, visibility=visibility,
            mentions=[self._mention(a) for a in {m["id"]: m for m in mentioned}.values() if a["id"] != author],
        )
        to["replies_count"] += 1
        return self._publish(status, by)

    def mention(self, at: datetime, by: dict[str, Any], text: str, visibility: str = "public") -> dict[str, Any]:
        """A post of someone else that names the account (a private message when `visibility` is "direct")."""
        status = self._status(at, 0, 0, 0, 0)
        status.update(content=text, visibility=visibility, mentions=[self._mention(self._account())])
        return self._publish(status, by)

    def delete(self, status: dict[str, Any]) -> None:
        """Delete a status: it leaves its thread, the account's statuses and the notifications."""
        del self.everything[status["id"]]
        self.statuses = [s for s in self.statuses if s["id"] != status["id"]]
        self.notifications = [n for n in self.notifications if n["status"]["id"] != status["id"]]
        parent = self.everything.get(status["in_reply_to_id"] or "")
        if parent is not None:
            parent["replies_count"] -= 1

    def _mention(self, account: dict[str, Any]) -> dict[str, Any]:
        return {key: account[key] for key in ("id", "username", "url", "acct")}

    def _publish(self, status: dict[str, Any], by: dict[str, Any] | None) -> dict[str, Any]:
        if by is None:
            self._insert(status)
            return status
        sid = status["id"]
        status.update(account=by, uri=f"{by['uri']}/statuses/{sid}", url=f"{by['url']}/{sid}")
        self.everything[sid] = status
        if any(m["id"] == ACCOUNT_ID for m in status["mentions"]):
            at = datetime.fromisoformat(status["created_at"].replace("Z", "+00:00")) + timedelta(milliseconds=600)
            number = str(int(at.timestamp()) * 100 + len(self.notifications) % 100)  # sequential, by creation
            self.notifications.insert(0, {
                "id": number, "type": "mention", "created_at": iso(at), "group_key": f"ungrouped-{number}",
                "account": by, "status": status,
            })
            self.notifications.sort(key=lambda n: int(n["id"]), reverse=True)
        return status

    def _status(self, at: datetime, likes: int, boosts: int, replies: int, quotes: int) -> dict[str, Any]:
        sid = snowflake(at, len(self.statuses) + len(self.everything))
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
        self.everything[status["id"]] = status
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
        reset = (datetime.now(UTC) + self.reset_in).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        base = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0" if status == 429 else str(self.remaining),
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

    def _outside(self, request: Request, *scopes: str) -> Response | None:
        """403 when a token is sent without one of `scopes` (upstream checks scopes only of tokens sent)."""
        if request.headers.get("Authorization") and not self.scopes & {"read", *scopes}:
            return self._json({"error": OUTSIDE_SCOPES}, 403)
        return None

    def _lookup(self, request: Request) -> Response:
        refused = self._refuse(request) or self._outside(request, "read:accounts")
        if refused:
            return refused
        acct = request.args.get("acct", "")
        host = self.server.host
        if acct not in (self.acct, f"{self.acct}@{host}", f"{self.acct}@{host}:{self.server.port}"):
            return self._json({"error": "Record not found"}, 404)
        return self._json(self._account())

    def _statuses(self, request: Request) -> Response:
        refused = self._refuse(request) or self._outside(request, "read:statuses")
        if refused:
            return refused
        if request.path.split("/")[4] != ACCOUNT_ID:
            return self._json({"error": "Record not found"}, 404)
        limit = min(int(request.args.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        items = [s for s in self.statuses if self._visible(s, bool(request.headers.get("Authorization")))]
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

    def _context(self, request: Request) -> Response:
        refused = self._refuse(request) or self._outside(request, "read:statuses")
        if refused:
            return refused
        token = bool(request.headers.get("Authorization"))
        status = self.everything.get(request.path.split("/")[4])
        if status is None or not self._visible(status, token):
            return self._json({"error": "Record not found"}, 404)
        ancestors: list[dict[str, Any]] = []
        parent = self.everything.get(status["in_reply_to_id"] or "")
        while parent is not None and len(ancestors) < (TOKEN_DESCENDANTS if token else 40):
            if self._visible(parent, token):
                ancestors.insert(0, parent)
            parent = self.everything.get(parent["in_reply_to_id"] or "")
        return self._json({"ancestors": ancestors, "descendants": self._descendants(status["id"], token)})

    def _visible(self, status: dict[str, Any], token: bool) -> bool:
        return token or status["visibility"] in ("public", "unlisted")

    def _descendants(self, root: str, token: bool) -> list[dict[str, Any]]:
        """Depth first, oldest reply first at each level; anonymous readers get 60 at most, 20 levels deep."""
        children: dict[str, list[dict[str, Any]]] = {}
        for status in sorted(self.everything.values(), key=lambda s: int(s["id"])):
            if status["in_reply_to_id"]:
                children.setdefault(status["in_reply_to_id"], []).append(status)
        limit, depth_limit = (TOKEN_DESCENDANTS, None) if token else (ANONYMOUS_DESCENDANTS, ANONYMOUS_DEPTH)
        found: list[dict[str, Any]] = []
        stack = [(child, 1) for child in reversed(children.get(root, []))]
        while stack and len(found) < limit:
            status, depth = stack.pop()
            if depth_limit is not None and depth > depth_limit:
                continue
            if self._visible(status, token):
                found.append(status)
            stack.extend((child, depth + 1) for child in reversed(children.get(status["id"], [])))
        return found

    def _notifications(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused:
            return refused
        if not request.headers.get("Authorization"):
            return self._json({"error": "The access token is invalid"}, 401)
        outside = self._outside(request, "read:notifications")
        if outside:
            return outside
        limit = min(int(request.args.get("limit", NOTIFICATIONS_DEFAULT_LIMIT)), NOTIFICATIONS_MAX_LIMIT)
        types = request.args.getlist("types[]")
        items = [n for n in self.notifications if not types or n["type"] in types]
        if "max_id" in request.args:
            items = [n for n in items if int(n["id"]) < int(request.args["max_id"])]
        if "since_id" in request.args:
            items = [n for n in items if int(n["id"]) > int(request.args["since_id"])]
        if "min_id" in request.args:
            items = [n for n in items if int(n["id"]) > int(request.args["min_id"])][-limit:]
        page = items[:limit]
        return self._json(page, headers=self._notification_link(request, page, limit))

    def _notification_link(self, request: Request, page: list[dict[str, Any]], limit: int) -> dict[str, str]:
        """Like Rails: the kept parameters (limit, types[]) sorted by name, then the cursor."""
        if not page:
            return {}
        keep = {k: request.args.getlist(k) for k in ("limit", "types[]") if k in request.args}
        base = self.server.url_for(request.path)

        def link(cursor: str, value: str, rel: str) -> str:
            query = urlencode(sorted({**keep, cursor: [value]}.items()), doseq=True)
            return f'<{base}?{query}>; rel="{rel}"'

        links = [link("max_id", page[-1]["id"], "next")] if len(page) == limit else []
        links.append(link("min_id", page[0]["id"], "prev"))
        return {"Link": ", ".join(links)}
