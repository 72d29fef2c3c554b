"""A fake X API v2 for the user lookup and user timeline endpoints the x plugin reads.

It answers as shared/apis/x.md describes: a bearer token in the Authorization header, the
`data`/`meta` envelope with string ids, `public_metrics` and `created_at` only when asked for
in `tweet.fields`, unknown users as HTTP 200 with an `errors` array, `max_results` 5..100,
opaque `next_token`s (a page may be short and still have one; the last data page may point
at an empty page), `x-rate-limit-*` headers on every answer, and the documented 400, 401,
402 and 429 (rate limit or monthly usage cap) bodies.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PROBLEMS = "https://api.twitter.com/2/problems/"
USER_FIELDS = {"created_at", "description", "id", "location", "name", "pinned_tweet_id", "profile_image_url",
               "protected", "public_metrics", "url", "username", "verified", "withheld"}
TWEET_FIELDS = {"attachments", "author_id", "context_annotations", "conversation_id", "created_at",
                "edit_history_tweet_ids", "entities", "id", "lang", "public_metrics", "text"}
TIMELINE_PARAMS = {"tweet.fields", "max_results", "pagination_token", "since_id", "until_id", "start_time",
                   "end_time", "exclude", "expansions", "user.fields", "media.fields", "place.fields", "poll.fields"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


@dataclass
class Post:
    id: str
    created_at: datetime
    likes: int | None = 0  # None: the count is left out of public_metrics
    reposts: int | None = 0
    replies: int | None = 0
    quotes: int | None = 0
    impressions: int | None = 0
    kind: str = "post"  # post | retweet | reply


@dataclass
class FakeX:
    server: HTTPServer
    token: str = "x-test-bearer-91c2"
    user_id: str = "1509823471234567890"
    username: str = "baecker_lindner"
    name: str = "Bäckerei Lindner"
    counts: dict[str, int] = field(default_factory=lambda: {
        "followers_count": 1843, "following_count": 212, "tweet_count": 967, "listed_count": 14,
        "like_count": 3120, "media_count": 241,
    })
    posts: list[Post] = field(default_factory=list)
    short_page: int | None = None  # serve at most this many posts per page, whatever max_results says
    trailing_empty_page: bool = True  # the last data page still has a next_token, to an empty page
    rate_limit: int = 900
    remaining: int = 900
    reset_at: int = field(default_factory=lambda: int(time.time()) + 900)  # epoch seconds; the window then refills
    usage_capped: bool = False
    credits_depleted: bool = False
    requests: list[Request] = field(default_factory=list)
    issued_tokens: dict[str, int] = field(default_factory=dict)  # next_token -> offset, in the order issued

    def __post_init__(self) -> None:
        self.server.expect_request(re.compile(r"^/2/.*")).respond_with_handler(self._handle)

    def add_post(self, created_at: datetime, **counts: Any) -> Post:
        post = Post(str(2124035627808601298 + len(self.posts) * 7919), created_at, **counts)
        self.posts.append(post)
        return post

    def exhaust(self, reset_in: float, remaining: int = 0) -> None:
        """Leave `remaining` calls in the current 15-minute window, which ends in `reset_in` seconds."""
        self.remaining, self.reset_at = remaining, math.ceil(time.time() + reset_in)

    def calls(self, suffix: str) -> list[Request]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    # --- the server side ---------------------------------------------------

    def _handle(self, request: Request) -> Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            unauthorized = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
            return self._reply(unauthorized, 401)
        if self.credits_depleted:
            detail = "Your enrolled account [1234] does not have any credits to fulfill this request."
            return self._reply({"title": "CreditsDepleted", "type": f"{PROBLEMS}credits", "detail": detail}, 402)
        if self.usage_capped:
            return self._reply({
                "account_id": "REDACTED", "product_name": "standard-basic", "title": "UsageCapExceeded",
                "period": "Monthly", "scope": "Product", "detail": "Usage cap exceeded: Monthly product cap",
                "type": f"{PROBLEMS}usage-capped",
            }, 429)
        if time.time() >= self.reset_at:
            self.remaining, self.reset_at = self.rate_limit, int(time.time()) + 900
        self.remaining -= 1
        if self.remaining < 0:
            self.remaining = 0
            return self._reply({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                                "status": 429}, 429)
        args = request.args
        if match := re.fullmatch(r"/2/users/by/username/([^/]+)", request.path):
            return self._user(args, "username", match.group(1))
        if match := re.fullmatch(r"/2/users/([0-9]+)", request.path):
            return self._user(args, "id", match.group(1))
        if match := re.fullmatch(r"/2/users/([0-9]+)/tweets", request.path):
            return self._timeline(args, match.group(1))
        return self._reply({"title": "Not Found Error", "detail": f"Sorry, that page does not exist: {request.path}",
                            "type": "about:blank", "status": 404}, 404)

    def _user(self, args: Any, parameter: str, value: str) -> Response:
        problem = self._invalid(args, {"user.fields", "expansions", "tweet.fields"}, {"user.fields": USER_FIELDS})
        if problem:
            return problem
        if value != (self.username if parameter == "username" else self.user_id):
            return self._not_found(parameter, value)
        data: dict[str, Any] = {"id": self.user_id, "name": self.name, "username": self.username}
        if "public_metrics" in args.get("user.fields", "").split(","):
            data["public_metrics"] = dict(self.counts)
        return self._reply({"data": data})

    def _timeline(self, args: Any, user_id: str) -> Response:
        allowed = {"tweet.fields": TWEET_FIELDS, "exclude": {"retweets", "replies"}}
        problem = self._invalid(args, TIMELINE_PARAMS, allowed)
        if problem:
            return problem
        size = args.get("max_results", "10")
        if not size.isdigit() or not 5 <= int(size) <= 100:
            return self._invalid_request({"max_results": [size]},
                                         f"The `max_results` query parameter value [{size}] is not between 5 and 100")
        for name in ("start_time", "end_time"):
            if name in args and not RFC3339.match(args[name]):
                return self._invalid_request({name: [args[name]]}, f"Invalid {name} format")
            if name in args and _time(args[name]) > datetime.now(UTC):
                return self._invalid_request({name: [args[name]]}, f"Invalid '{name}':'{args[name]}'. '{name}' must be "
                                             "a minimum of 10 seconds prior to the request time.")
        if user_id != self.user_id:
            return self._not_found("id", user_id)  # unconfirmed for timelines; the same 200 + errors as lookups
        offset = 0
        if "pagination_token" in args:
            if args["pagination_token"] not in self.issued_tokens:
                return self._invalid_request({"pagination_token": [args["pagination_token"]]},
                                             "The `pagination_token` query parameter value is not valid")
            offset = self.issued_tokens[args["pagination_token"]]
        matching = self._matching(args)
        page = matching[offset:offset + min(int(size), self.short_page or int(size))]
        fields = set(args.get("tweet.fields", "").split(","))
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0].id, oldest_id=page[-1].id)
        end = offset + len(page)
        if page and (end < len(matching) or self.trailing_empty_page):
            token = f"7140dibdnow9c7btw{len(self.issued_tokens):04d}bm1r1jewsyzw3nrz9ncj6lv7"
            self.issued_tokens[token] = end
            meta["next_token"] = token
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [_post_body(p, fields) for p in page]
        return self._reply(body)

    def _matching(self, args: Any) -> list[Post]:
        excluded = set(args.get("exclude", "").split(","))
        posts = sorted(self.posts, key=lambda p: (p.created_at, int(p.id)), reverse=True)
        start = _time(args["start_time"]) if "start_time" in args else None
        end = _time(args["end_time"]) if "end_time" in args else None
        return [
            p for p in posts
            if {"retweet": "retweets", "reply": "replies"}.get(p.kind) not in excluded
            and (start is None or p.created_at >= start) and (end is None or p.created_at <= end)  # both inclusive
        ][:3200]

    def _invalid(self, args: Any, known: set[str], values: dict[str, set[str]]) -> Response | None:
        unknown = sorted(set(args) - known)
        if unknown:
            return self._invalid_request({unknown[0]: [args[unknown[0]]]},
                                         f"The query parameter [{unknown[0]}] is not one of {sorted(known)}")
        for name, allowed in values.items():
            wrong = sorted(set(args.get(name, "").split(",")) - allowed - {""})
            if wrong:
                message = f"The `{name}` query parameter value [{wrong[0]}] is not one of {sorted(allowed)}"
                return self._invalid_request({name: [args[name]]}, message)
        return None

    def _not_found(self, parameter: str, value: str) -> Response:
        """Unknown users are HTTP 200 with an `errors` array and no `data`."""
        return self._reply({"errors": [{
            "value": value, "detail": f"Could not find user with {parameter}: [{value}].", "title": "Not Found Error",
            "resource_type": "user", "parameter": parameter, "resource_id": value,
            "type": f"{PROBLEMS}resource-not-found",
        }]})

    def _invalid_request(self, parameters: dict[str, list[str]], message: str) -> Response:
        return self._reply({"errors": [{"parameters": parameters, "message": message}], "title": "Invalid Request",
                            "detail": "One or more parameters to your request was invalid.",
                            "type": f"{PROBLEMS}invalid-request"}, 400)

    def _reply(self, body: dict[str, Any], status: int = 200) -> Response:
        headers = {
            "x-rate-limit-limit": str(self.rate_limit),
            "x-rate-limit-remaining": str(max(self.remaining, 0)),
            "x-rate-limit-reset": str(self.reset_at),
        }
        content_type = "application/problem+json" if status != 200 else "application/json; charset=utf-8"
        return Response(json.dumps(body), status=status, headers=headers, content_type=content_type)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _post_body(post: Post, fields: set[str]) -> dict[str, Any]:
    text = {"post": "Neue Dinkelbrötchen ab Samstag!", "reply": "@kunde Danke!", "retweet": "RT @zeitung: Bäckerei"}
    body: dict[str, Any] = {"edit_history_tweet_ids": [post.id], "id": post.id, "text": text[post.kind]}
    if "created_at" in fields:
        body["created_at"] = post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if "public_metrics" in fields:
        metrics = {
            "retweet_count": post.reposts, "reply_count": post.replies, "like_count": post.likes,
            "quote_count": post.quotes, "bookmark_count": 0, "impression_count": post.impressions,
        }
        body["public_metrics"] = {k: v for k, v in metrics.items() if v is not None}  # None: X left it out
    return body
