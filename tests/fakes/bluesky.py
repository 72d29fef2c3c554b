"""A fake Bluesky AppView: app.bsky.actor.getProfile and app.bsky.feed.getAuthorFeed.

It answers like the public AppView: XRPC error bodies `{"error", "message"}`
with "not found" as HTTP 400, parameters checked against the lexicon (actor
required, limit 1-100, the five filters), feed items newest first by sort
time (the earlier of createdAt and indexedAt; a repost sorts by repost time)
with an opaque cursor, and `ratelimit-*` headers (reset in epoch seconds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

DID = "did:plc:4k2x7m3qdw5e6rctbyau2i3o"
HANDLE = "baeckerei-lindner.bsky.social"
OTHER_DID = "did:plc:7h3j5k2lcmbn4p6qdras2t5v"
FILTERS = {"posts_with_replies", "posts_no_replies", "posts_with_media", "posts_and_author_threads", "posts_with_video"}
MAX_FEED_CALLS = 50
PARAMS = {
    "getProfile": ({"actor"}, set()),
    "getAuthorFeed": ({"actor"}, {"limit", "cursor", "filter", "includePins"}),
}


def stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass
class Recorded:
    path: str
    args: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FakeBluesky:
    server: HTTPServer
    followers: int | None = 612
    follows: int = 140
    posts_count: int = 233
    status: str | None = None  # "AccountTakedown" or "AccountDeactivated"
    rate_limited: bool = False
    rate_headers: bool = True
    reset_in: float = 30.0
    cursor_on_last_page: bool = True  # reported for the real AppView: a last page that still has a cursor
    items: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)  # (sort time, feed item)
    requests: list[Recorded] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)  # every cursor handed out, in order

    def __post_init__(self) -> None:
        for name in PARAMS:
            nsid = f"app.bsky.actor.{name}" if name == "getProfile" else f"app.bsky.feed.{name}"
            self.server.expect_request(f"/xrpc/{nsid}", method="GET").respond_with_handler(
                lambda request, name=name: self._handle(name, request)
            )

    # --- seeding -----------------------------------------------------------

    def post(
        self,
        created: datetime,
        likes: int = 0,
        reposts: int = 0,
        replies: int = 0,
        quotes: int | None = 0,
        indexed: datetime | None = None,
        reply_to_other: bool = False,
    ) -> dict[str, Any]:
        """An own post whose record says `created` (client time) and that the server indexed at `indexed`."""
        indexed = indexed or created + timedelta(seconds=1)
        post = self._post_view(DID, HANDLE, created, indexed, likes, reposts, replies, quotes)
        if reply_to_other:
            parent = f"at://{OTHER_DID}/app.bsky.feed.post/3parent"
            ref = {"uri": parent, "cid": "bafyparent"}
            post["record"]["reply"] = {"root": ref, "parent": ref}
        self._add(min(created, indexed), {"post": post})
        return post

    def repost(self, at: datetime, likes: int = 52) -> None:
        """The account reposts someone else's post at `at`: the counts in the item are the original's."""
        original = self._post_view(OTHER_DID, "wochenmarkt-ost.bsky.social", at - timedelta(hours=3),
                                   at - timedelta(hours=3), likes, 9, 0, 1)
        reason = {
            "$type": "app.bsky.feed.defs#reasonRepost", "by": {"did": DID, "handle": HANDLE}, "indexedAt": stamp(at),
        }
        self._add(at, {"post": original, "reason": reason})

    def _post_view(self, did: str, handle: str, created: datetime, indexed: datetime, likes: int, reposts: int,
                   replies: int, quotes: int | None) -> dict[str, Any]:
        rkey = f"3n{len(self.items):011d}"
        view: dict[str, Any] = {
            "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
            "cid": f"bafyreih{len(self.items):052d}",
            "author": {"did": did, "handle": handle, "displayName": "Bäckerei Lindner", "labels": [],
                       "createdAt": "2024-11-18T09:40:58.021Z"},
            "record": {"$type": "app.bsky.feed.post", "createdAt": created.isoformat().replace("+00:00", "Z"),
                       "langs": ["de"], "text": "Neue Dinkelbrötchen ab Samstag!"},
            "bookmarkCount": 0, "replyCount": replies, "repostCount": reposts, "likeCount": likes,
            "quoteCount": quotes, "indexedAt": stamp(indexed), "labels": [],
        }
        if quotes is None:
            del view["quoteCount"]
        return view

    def _add(self, sort_at: datetime, item: dict[str, Any]) -> None:
        self.items.append((sort_at, item))
        self.items.sort(key=lambda pair: pair[0], reverse=True)

    def profile(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "did": DID, "handle": HANDLE, "displayName": "Bäckerei Lindner",
            "description": "Handwerksbäckerei seit 1962.",
            "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False},
            "indexedAt": "2024-11-18T09:41:12.337Z", "createdAt": "2024-11-18T09:40:58.021Z", "labels": [],
            "followersCount": self.followers, "followsCount": self.follows, "postsCount": self.posts_count,
        }
        if self.followers is None:
            del body["followersCount"]
        return body

    # --- handlers ------------------------------------------------------------

    def _json(self, body: Any, status: int = 200) -> Response:
        headers = {}
        if self.rate_headers:
            reset = int(datetime.now(timezone.utc).timestamp() + self.reset_in)
            headers = {"ratelimit-limit": "3000", "ratelimit-remaining": "0" if status == 429 else "2999",
                       "ratelimit-reset": str(reset), "ratelimit-policy": "3000;w=300"}
        return Response(
            json.dumps(body), status=status, headers=headers, content_type="application/json; charset=utf-8"
        )

    def _invalid(self, message: str) -> Response:
        return self._json({"error": "InvalidRequest", "message": message}, 400)

    def _handle(self, name: str, request: Request) -> Response:
        self.requests.append(Recorded(request.path, request.args.to_dict(flat=False), dict(request.headers)))
        if self.rate_limited:
            if not self.rate_headers:  # an edge proxy's 429: HTML, no ratelimit-* headers
                return Response("<html><body>429 Too Many Requests</body></html>", status=429, content_type="text/html")
            return self._json({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429)
        required, optional = PARAMS[name]
        for key in sorted(required - set(request.args)):
            return self._invalid(f'Error: Params must have the property "{key}"')
        if request.args["actor"] not in (DID, HANDLE):
            return self._invalid("Profile not found")
        if self.status:
            message = {"AccountTakedown": "Account has been suspended", "AccountDeactivated": "Account is deactivated"}
            return self._json({"error": self.status, "message": message[self.status]}, 400)
        if name == "getProfile":
            return self._json(self.profile())
        return self._feed(request)

    def _feed(self, request: Request) -> Response:
        if sum(r.path.endswith("getAuthorFeed") for r in self.requests) > MAX_FEED_CALLS:
            return self._invalid("fake: too many getAuthorFeed calls, the client is looping")  # a test guard
        limit = int(request.args.get("limit", 50))
        if not 1 <= limit <= 100:
            return self._invalid(f"Error: limit can not be {'greater than 100' if limit > 100 else 'less than 1'}")
        kind = request.args.get("filter", "posts_with_replies")
        if kind not in FILTERS:
            return self._invalid(f"Error: filter must be one of {', '.join(sorted(FILTERS))}")
        items = self.items
        if kind == "posts_no_replies":
            items = [(t, i) for t, i in items if "reply" not in i["post"]["record"]]
        if "cursor" in request.args:
            items = [(t, i) for t, i in items if stamp(t) < request.args["cursor"]]
        page = items[:limit]
        body: dict[str, Any] = {"feed": [item for _, item in page]}
        if page and (len(page) == limit or self.cursor_on_last_page):
            body["cursor"] = stamp(page[-1][0])
            self.cursors.append(body["cursor"])
        elif self.cursor_on_last_page and "cursor" in request.args:
            body["cursor"] = request.args["cursor"]  # an empty last page that still carries a cursor
        return self._json(body)
