"""X (API v2): the account's public counts, and optionally its recent posts' public metrics.

X keeps no history: followers and friends are "now" values, recorded as a daily snapshot on
the account's today. Post counts are lifetime totals per post, so they are stored on the day
each post was published (account timezone) and re-read for a week so they catch up.

X bills reads. A user lookup is one read per run; post metrics cost one read per post
returned, which is why they are off unless `post_metrics = true`. Three answers need care:
a 429 is either a 15-minute rate limit (wait until `x-rate-limit-reset`) or a spent monthly
usage cap (stop; waiting does not help), told apart by the body; unknown users come back as
HTTP 200 with an `errors` array.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tracker.plugin import (
    ApiError,
    AuthError,
    Endpoint,
    HttpSession,
    NotFound,
    Plugin,
    PostStat,
    QuotaExhausted,
    RateLimited,
    Sample,
    Secret,
    State,
    Unavailable,
    Window,
    option,
)

from ._bounds import within

PLATFORM = "x"
PAGE_SIZE = 100  # max_results: 5..100
MAX_POST_LOOKBACK = 365  # a year of posts re-read on every sync is the most that could still pay
POST_COUNTS = {
    "like_count": "post_likes",
    "retweet_count": "post_reposts",
    "reply_count": "post_replies",
    "quote_count": "post_quotes",
    "impression_count": "x.post_impressions",
}
FIELDS = {metric: field for field, metric in POST_COUNTS.items()}
COUNTED = "counted"  # state: {metric: whether X's posts carried its count}
X_API = Endpoint("X")  # for parsing a body read elsewhere


@dataclass(frozen=True, kw_only=True)
class XOptions:
    username: str | None = option(None, help="The account's handle without @ (give this or user_id).")
    user_id: str | None = option(None, help="The account's numeric id (give this or username).")
    token: Secret = option(help="App bearer token from the X developer console (app-only auth).")
    base_url: str = option("https://api.x.com", help="API root, without /2; tests point it at a fake server.")
    post_metrics: bool = option(
        False, help="Also read recent posts' likes, reposts, replies, quotes: X bills every post read."
    )
    post_lookback_days: int = option(
        7, help="Posts younger than this many days still gain likes: their days are marked provisional "
        f"(1 to {MAX_POST_LOOKBACK})."
    )

    def __post_init__(self) -> None:
        if bool(self.username) == bool(self.user_id):
            raise ValueError(
                "x needs exactly one of `username` (the handle without @, e.g. baecker_lindner) or `user_id`"
                + (", not both" if self.username else "")
            )
        if self.username and not re.fullmatch(r"[A-Za-z0-9_]{1,15}", self.username):
            raise ValueError(
                f"username must be an X handle without @ (letters, digits, _; up to 15), not {self.username!r}"
            )
        if self.user_id and not re.fullmatch(r"[0-9]{1,20}", self.user_id):
            raise ValueError(f"user_id must be the account's numeric id, not {self.user_id!r}")
        within("post_lookback_days", self.post_lookback_days, 1, MAX_POST_LOOKBACK)


@dataclass(frozen=True)
class User:
    id: str
    username: str
    name: str
    counts: dict[str, int]


def _body(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _rate_limited(response: Any, what: str) -> RateLimited:
    reset = response.headers.get("x-rate-limit-reset")
    wait = max(1.0, float(reset) - time.time()) if reset and reset.isdigit() else None
    when = f"in {wait:.0f} s" if wait is not None else "in 15 minutes"
    return RateLimited(f"X rate limit reached for {what}; it resets {when}", retry_after=wait)


def _error(response: Any, what: str) -> Exception:
    """Classify a non-200 X answer by status, then by the problem's title/type (never by host)."""
    body = _body(response)
    status, title = response.status_code, str(body.get("title") or "")
    kind = str(body.get("type") or "").rsplit("/", 1)[-1]
    detail = " ".join(str(body.get("detail") or title or response.reason or "").split())
    if status == 429 and (title == "UsageCapExceeded" or kind == "usage-capped"):
        period = str(body.get("period") or "monthly").lower()
        return QuotaExhausted(
            f"X says the {period} usage cap of your plan is spent ({detail}): nothing can be read until the billing "
            "cycle resets; raise the cap in the developer console, or set post_metrics = false to read less"
        )
    if status == 429:
        return _rate_limited(response, what)
    if status == 402 or kind in ("credits", "credits-depleted"):
        return QuotaExhausted(
            f"X says the developer account has no credits left ({detail}): buy credits at console.x.com, "
            "then sync again"
        )
    if status == 401:
        return AuthError("X rejected the bearer token (401 Unauthorized): copy a current app bearer token from the "
                         "developer console into the environment variable")
    if status == 403:
        return AuthError(f"X refused the app ({detail}): use a bearer token of an app attached to a project whose "
                         "plan includes user lookup and user timelines")
    return ApiError(f"X answered HTTP {status} to {what}: {detail}")


def _payload_errors(body: dict[str, Any], subject: str, answer: Endpoint = X_API) -> Exception:
    """The HTTP 200 + `errors` answer X gives for unknown, suspended or protected users."""
    problems = answer.objects(body, "errors", required=True)
    problem = problems[0] if problems else {}
    kind = str(problem.get("type") or "").rsplit("/", 1)[-1]
    detail = str(problem.get("detail") or problem.get("message") or "")
    if kind == "resource-not-found" and problem.get("title") == "Forbidden":
        return NotFound(f"X user {subject} is suspended ({detail})")
    if kind == "resource-not-found":
        return NotFound(f"X has no user {subject}: check the username or user_id option ({detail})")
    if kind == "not-authorized-for-resource":
        return AuthError(f"X does not let this app see user {subject} (protected account?): {detail}")
    return ApiError(f"X could not answer for user {subject}: {detail}")


class Client:
    """Calls X with the bearer token and stops before a call it already knows would hit the rate limit."""

    def __init__(self, opts: XOptions, http: HttpSession) -> None:
        self.opts, self.http = opts, http
        self.root = opts.base_url.rstrip("/") + "/2"
        self.exhausted: Any = None  # the last response, when it said no calls remain in this window

    def get(self, path: str, params: dict[str, Any], what: str) -> dict[str, Any]:
        if self.exhausted is not None:
            raise _rate_limited(self.exhausted, what)
        headers = {"Authorization": f"Bearer {self.opts.token.reveal()}"}
        response = self.http.get(f"{self.root}/{path}", params=params, headers=headers)
        if response.status_code != 200:
            raise _error(response, what)
        if response.headers.get("x-rate-limit-remaining") == "0":
            self.exhausted = response
        answer = self.answer(path)
        return answer.object(answer.json(response))

    def answer(self, path: str) -> Endpoint:
        return Endpoint.of("X", f"{self.root}/{path}")


def parse_user(body: dict[str, Any], subject: str, answer: Endpoint = X_API) -> User:
    if "data" not in body and body.get("errors"):
        raise _payload_errors(body, subject, answer)
    data = answer.get_object(body, "data", required=True) or {}
    answer.text(data, "id")
    metrics = answer.get_object(data, "public_metrics") or {}
    counts = {
        "followers": metrics.get("followers_count"),
        "following": metrics.get("following_count"),
        "posts_total": metrics.get("tweet_count", metrics.get("post_count")),
        "x.listed_count": metrics.get("listed_count"),
    }
    return User(data["id"], data.get("username", ""), data.get("name", ""),
                {k: v for k, v in counts.items() if isinstance(v, int)})


def lookup_user(client: Client) -> User:
    opts = client.opts
    path = f"users/by/username/{opts.username}" if opts.username else f"users/{opts.user_id}"
    subject = f"@{opts.username}" if opts.username else f"id {opts.user_id}"
    return parse_user(client.get(path, {"user.fields": "public_metrics"}, "user lookup"), subject, client.answer(path))


def _utc(day: date, window: Window) -> datetime:
    """Start of `day` in the account's timezone, in UTC (X's times are UTC)."""
    return datetime(day.year, day.month, day.day, tzinfo=window.timezone).astimezone(UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_posts(client: Client, user: User, window: Window) -> Iterator[list[dict[str, Any]]]:
    """Original posts published in the window, newest first, page by page until X gives no next_token.

    `start_time`/`end_time` are inclusive (a post at the next midnight is dropped by its day); `end_time` is
    left out when the window reaches today, as X refuses end times that are not in the past.
    """
    params: dict[str, Any] = {
        "tweet.fields": "public_metrics,created_at",
        "max_results": PAGE_SIZE,
        "exclude": "retweets,replies",
        "start_time": _rfc3339(_utc(window.since, window)),
    }
    if window.until < window.today:
        params["end_time"] = _rfc3339(_utc(window.until + timedelta(days=1), window))
    path = f"users/{user.id}/tweets"
    answer = client.answer(path)
    while True:
        body = client.get(path, params, "the user's posts")
        if "data" not in body and body.get("errors"):
            raise _payload_errors(body, f"@{user.username}", answer)
        # an empty page has no `data` key (shared/apis/x.md)
        yield [_checked_post(answer, post) for post in answer.objects(body, "data")]
        token = answer.get_text(answer.get_object(body, "meta") or {}, "next_token")
        if not token:
            return
        params["pagination_token"] = token


def _checked_post(answer: Endpoint, post: dict[str, Any]) -> dict[str, Any]:
    """A post with what the counting reads: its id, a publication time, and `public_metrics` as an object if present."""
    answer.text(post, "id")
    answer.get_object(post, "public_metrics")
    try:
        aware = datetime.fromisoformat(answer.text(post, "created_at").replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        aware = False
    if not aware:
        raise answer.unreadable(f'expected a time with its offset under "created_at", got {post["created_at"]!r:.40}')
    return post


def post_day(post: dict[str, Any], window: Window) -> date:
    created = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))
    return created.astimezone(window.timezone).date()


def counted(posts: list[dict[str, Any]], state: dict[str, Any]) -> dict[str, bool]:
    """Which counts X served: one every post just read carries in `public_metrics`; with no post in the
    window, what the last run that read one learnt; otherwise not known."""
    if not posts:
        remembered = state.get(COUNTED)
        return {m: bool(v) for m, v in remembered.items() if m in FIELDS} if isinstance(remembered, dict) else {}
    return {
        metric: all(isinstance((p.get("public_metrics") or {}).get(field), int) for p in posts)
        for metric, field in FIELDS.items()
    }


def post_samples(
    posts: list[dict[str, Any]], window: Window, lookback_days: int, known: dict[str, bool]
) -> list[Sample]:
    """Per publication day: posts published, and the sum of their lifetime counts as read now.

    Every day of the window up to today gets a value, zero included: the timeline was read
    for those days, so no post means none was published (or it was deleted). A count X left
    out of a post gets no sample on any day: a zero would claim X counted it.
    """
    metrics = [m for m in FIELDS if known.get(m)]
    totals = {d: dict.fromkeys(["posts", *metrics], 0) for d in window.days() if d <= window.today}
    for post in posts:
        day = post_day(post, window)
        if day not in totals:
            continue
        totals[day]["posts"] += 1
        for metric in metrics:
            totals[day][metric] += post["public_metrics"][FIELDS[metric]]
    return [
        Sample(PLATFORM, metric, day, value, window.is_provisional(day, lookback_days))
        for day, values in totals.items()
        for metric, value in values.items()
    ]


def post_stats(posts: list[dict[str, Any]], window: Window, user: User) -> list[PostStat]:
    """Each post of the window's days up to today, with its counts as read now, for the report's top posts.

    Only the id, the link and the counts leave here: never the post's text.
    """
    stats = []
    for post in posts:
        day = post_day(post, window)
        if window.since <= day <= min(window.until, window.today):
            counts = post.get("public_metrics") or {}
            stats.append(PostStat(
                PLATFORM, post["id"], post_url(user, post["id"]), day,
                *(_count(counts, field) for field in ("like_count", "retweet_count", "reply_count")),
            ))
    return stats


def post_url(user: User, post_id: str) -> str:
    """X's web address of a post; /i/web/status/ works without the handle."""
    return f"https://x.com/{user.username}/status/{post_id}" if user.username else f"https://x.com/i/web/status/{post_id}"


def _count(counts: dict[str, Any], field: str) -> int | None:
    value = counts.get(field)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def fetch(opts: XOptions, window: Window, http: HttpSession, state: dict[str, Any]) -> Iterator[Any]:
    client = Client(opts, http)
    user = lookup_user(client)
    if window.since <= window.today <= window.until:
        yield [Sample(PLATFORM, metric, window.today, value) for metric, value in user.counts.items()]
    if opts.post_metrics and window.since <= window.today:
        posts = [post for page in read_posts(client, user, window) for post in page]
        known = counted(posts, state)
        yield post_samples(posts, window, opts.post_lookback_days, known)
        yield post_stats(posts, window, user)
        for metric in (m for m, kept in known.items() if not kept):
            yield Unavailable(PLATFORM, metric, f"X returned posts without public_metrics.{FIELDS[metric]}")
        if posts:
            yield State({**state, COUNTED: known})


def check(opts: XOptions, http: HttpSession) -> str:
    user = lookup_user(Client(opts, http))
    followers = user.counts.get("followers")
    count = f"{followers:,} followers" if followers is not None else "follower count not public"
    return f"@{user.username} ({user.name}), {count}"


plugin = Plugin(
    name="x",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=XOptions,
    description="X account: followers, following and posts as daily snapshots; optional per-post metrics (billed).",
    lookback_days=7,
    lookback_option="post_lookback_days",
    day_rule="the account's timezone: snapshots on the day of the sync, post counts on the day each post was published",
    metrics={
        "followers": "Accounts following this account (followers_count), snapshot when the sync runs.",
        "following": "Accounts this account follows (following_count), snapshot when the sync runs.",
        "posts_total": "Posts the account has published, reposts included (tweet_count), snapshot.",
        "x.listed_count": "Public lists that include the account (listed_count), snapshot.",
        "posts": "Original posts (no reposts or replies) published that day; needs post_metrics.",
        "post_likes": "Lifetime likes of the posts published that day, as last read (like_count).",
        "post_reposts": "Lifetime reposts of the posts published that day, as last read (retweet_count).",
        "post_replies": "Lifetime replies to the posts published that day, as last read (reply_count).",
        "post_quotes": "Lifetime quote posts of the posts published that day, as last read (quote_count).",
        "x.post_impressions": "Lifetime times the posts published that day were seen, as last read "
        "(impression_count; public on X since 2023).",
    },
    check=check,
)
