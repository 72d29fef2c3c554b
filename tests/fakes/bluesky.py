"""A fake Bluesky AppView: app.bsky.actor.getProfile, app.bsky.feed.getAuthorFeed and app.bsky.feed.getPostThread.

It answers like the public AppView: XRPC error bodies `{"error", "message"}`
with "not found" as HTTP 400, parameters checked against the lexicon (actor
required, limit 1-100, the five filters), feed items newest first by sort
time (the earlier of createdAt and indexedAt; a repost sorts by repost time)
with an opaque cursor, and `ratelimit-*` headers (reset in epoch seconds).

Threads are served like the AppView's `getPostThread` (lexicon and
packages/bsky/src/views `thread`/`threadReplies`): `uri` required, `depth`
(default 6) and `parentHeight` (default 80) from 0 to 1000, the depth capped
by the server's `maxThreadDepth` when set (`max_thread_depth`), a post at the
cut without a `replies` key, deleted replies left out (or served as a
`notFoundPost`/`blockedPost` placeholder), the root's `threadgate` with its
`hiddenReplies`, and `NotFound` (HTTP 400) for a post that is gone. Record keys
are TIDs made from the post's creation time, as Bluesky clients make them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

DID = "did:plc:4k2x7m3qdw5e6rctbyau2i3o"
HANDLE = "baeckerei-lindner.bsky.social"
OTHER_DID = "did:plc:7h3j5k2lcmbn4p6qdras2t5v"
FILTERS = {"posts_with_replies", "posts_no_replies", "posts_with_media", "posts_and_author_threads", "posts_with_video"}
MAX_FEED_CALLS = 50
MAX_THREAD_CALLS = 1200
PARAMS = {
    "getProfile": ({"actor"}, set()),
    "getAuthorFeed": ({"actor"}, {"limit", "cursor", "filter", "includePins"}),
    "getPostThread": ({"uri"}, {"depth", "parentHeight"}),
}
NSIDS = {"getProfile": "app.bsky.actor.getProfile", "getAuthorFeed": "app.bsky.feed.getAuthorFeed",
         "getPostThread": "app.bsky.feed.getPostThread"}
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def tid(at: datetime, clock: int) -> str:
    """A record key as clients make it: microseconds since 1970 and a 10-bit clock id, base32-sortable."""
    micros = round((at - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)
    value, chars = (micros << 10) | (clock % 1024), []
    for _ in range(13):
        value, digit = divmod(value, 32)
        chars.append(TID_ALPHABET[digit])
    return "".join(reversed(chars))


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
    max_thread_depth: int | None = None  # the AppView's maxThreadDepth: a deeper `depth` is served this deep
    threads_need_login: bool = False  # a host that answers thread reads only with a session (401)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # every post view by uri
    replies: dict[str, list[str]] = field(default_factory=dict)  # parent uri -> reply uris
    placeholders: dict[str, str] = field(default_factory=dict)  # reply uri -> "notFound" | "blocked"
    hidden: dict[str, list[str]] = field(default_factory=dict)  # root uri -> its threadgate's hiddenReplies
    recorded_threads: dict[str, dict[str, Any]] = field(default_factory=dict)  # uri -> a real answer, served as is

    def __post_init__(self) -> None:
        for name, nsid in NSIDS.items():
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

    def reply(
        self,
        parent: dict[str, Any],
        created: datetime,
        by: str = OTHER_DID,
        handle: str = "erika-mustermann.bsky.social",
        name: str = "Erika Mustermann",
        text: str = "Habt ihr morgen Zimtschnecken?",
        indexed: datetime | None = None,
    ) -> dict[str, Any]:
        """A reply to `parent` by `by`; the parent's replyCount grows, and a reply by the account is in its feed."""
        indexed = indexed or created + timedelta(seconds=1)
        view = self._post_view(by, handle, created, indexed, 0, 0, 0, 0, name=name, text=text)
        root = parent["record"].get("reply", {}).get("root") or {"uri": parent["uri"], "cid": parent["cid"]}
        view["record"]["reply"] = {"root": root, "parent": {"uri": parent["uri"], "cid": parent["cid"]}}
        self.replies.setdefault(parent["uri"], []).append(view["uri"])
        parent["replyCount"] = parent.get("replyCount", 0) + 1
        if by == DID:
            self._add(min(created, indexed), {"post": view})
        return view

    def foreign_post(self, created: datetime, by: str = OTHER_DID, handle: str = "wochenmarkt-ost.bsky.social",
                     name: str = "Wochenmarkt Ost", text: str = "Samstag 8–13 Uhr") -> dict[str, Any]:
        """Someone else's post (not in the account's feed), for the account to reply to."""
        return self._post_view(by, handle, created, created + timedelta(seconds=1), 0, 0, 0, 0, name=name, text=text)

    def delete(self, view: dict[str, Any], placeholder: str | None = None) -> None:
        """The author deletes a reply: the AppView leaves it out (or, with `placeholder` "notFound" or
        "blocked", serves the lexicon's placeholder for it)."""
        if placeholder:
            self.placeholders[view["uri"]] = placeholder
            return
        parent = view["record"]["reply"]["parent"]["uri"]
        self.replies[parent].remove(view["uri"])
        self.views[parent]["replyCount"] -= 1
        del self.views[view["uri"]]

    def hide(self, view: dict[str, Any]) -> None:
        """The thread's owner hides a reply: its uri goes into the root's threadgate `hiddenReplies`."""
        self.hidden.setdefault(view["record"]["reply"]["root"]["uri"], []).append(view["uri"])

    def _post_view(self, did: str, handle: str, created: datetime, indexed: datetime, likes: int, reposts: int,
                   replies: int, quotes: int | None, name: str = "Bäckerei Lindner",
                   text: str = "Neue Dinkelbrötchen ab Samstag!") -> dict[str, Any]:
        rkey = tid(created, len(self.views))
        view: dict[str, Any] = {
            "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
            "cid": f"bafyreih{len(self.views):052d}",
            "author": {"did": did, "handle": handle, "displayName": name, "labels": [],
                       "createdAt": "2024-11-18T09:40:58.021Z"},
            "record": {"$type": "app.bsky.feed.post", "createdAt": created.isoformat().replace("+00:00", "Z"),
                       "langs": ["de"], "text": text},
            "bookmarkCount": 0, "replyCount": replies, "repostCount": reposts, "likeCount": likes,
            "quoteCount": quotes, "indexedAt": stamp(indexed), "labels": [],
        }
        if quotes is None:
            del view["quoteCount"]
        self.views[view["uri"]] = view
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
            reset = int(datetime.now(UTC).timestamp() + self.reset_in)
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
        if name == "getPostThread":
            return self._thread(request)
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

    def _thread(self, request: Request) -> Response:
        if sum(r.path.endswith("getPostThread") for r in self.requests) > MAX_THREAD_CALLS:
            return self._invalid("fake: too many getPostThread calls, the client is looping")  # a test guard
        if self.threads_need_login:
            return self._json({"error": "AuthenticationRequired", "message": "Authentication Required"}, 401)
        uri = request.args["uri"]
        if not uri.startswith("at://"):
            return self._invalid("Error: uri must be a valid at-uri")
        levels = {}
        for key, default in (("depth", 6), ("parentHeight", 80)):
            raw = request.args.get(key, str(default))
            if not raw.isdigit() or not 0 <= int(raw) <= 1000:
                return self._invalid(f"Error: {key} must be an integer from 0 to 1000")
            levels[key] = int(raw)
        if uri in self.recorded_threads:
            return self._json(self.recorded_threads[uri])
        view = self._find(uri)
        if view is None or uri in self.placeholders:
            return self._json({"error": "NotFound", "message": f"Post not found: {uri}"}, 400)
        depth = levels["depth"] if self.max_thread_depth is None else min(levels["depth"], self.max_thread_depth)
        thread = self._node(view, depth)
        parent = view["record"].get("reply", {}).get("parent", {}).get("uri")
        if parent and levels["parentHeight"] > 0 and (above := self._find(parent)) is not None:
            thread["parent"] = {"$type": "app.bsky.feed.defs#threadViewPost", "post": above, "threadContext": {}}
        body: dict[str, Any] = {"thread": thread}
        root = view["record"].get("reply", {}).get("root", {}).get("uri", uri)
        if root in self.hidden:
            body["threadgate"] = {
                "uri": root.replace("app.bsky.feed.post", "app.bsky.feed.threadgate"), "cid": "bafyreigate",
                "record": {"$type": "app.bsky.feed.threadgate", "post": root, "createdAt": "2026-11-01T08:00:00.000Z",
                           "hiddenReplies": list(self.hidden[root])},
                "lists": [],
            }
        return self._json(body)

    def _find(self, uri: str) -> dict[str, Any] | None:
        """A post by uri: one seeded here, or one a test put into the feed directly."""
        return self.views.get(uri) or next((i["post"] for _, i in self.items if i["post"]["uri"] == uri), None)

    def _node(self, view: dict[str, Any], depth: int) -> dict[str, Any]:
        """A threadViewPost with its replies `depth` levels down, newest first; no `replies` key at the cut."""
        node: dict[str, Any] = {"$type": "app.bsky.feed.defs#threadViewPost", "post": view, "threadContext": {}}
        if depth < 1:
            return node
        below = sorted((self.views[u] for u in self.replies.get(view["uri"], [])),
                       key=lambda v: v["record"]["createdAt"], reverse=True)
        node["replies"] = [self._placeholder(v) if v["uri"] in self.placeholders else self._node(v, depth - 1)
                           for v in below]
        return node

    def _placeholder(self, view: dict[str, Any]) -> dict[str, Any]:
        if self.placeholders[view["uri"]] == "notFound":
            return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": view["uri"], "notFound": True}
        return {"$type": "app.bsky.feed.defs#blockedPost", "uri": view["uri"], "blocked": True,
                "author": {"did": view["author"]["did"], "viewer": {"blockedBy": True}}}
