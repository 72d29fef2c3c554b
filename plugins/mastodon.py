"""Mastodon: follower snapshots and per-post counts of one account, read from its home server.

Mastodon has no per-day history for a normal user: counts are "now" values.
So followers, following and posts are daily snapshots on the account's today,
and the likes, boosts, replies and quotes of each post are stored on the day
the post was published (in the account's time zone), re-read on every run
for the last `post_lookback_days` so they catch up. A count the server does
not keep (quotes before Mastodon 4.5) is reported missing and never stored as
zero; the run remembers what the server counts for windows without a post.

Customer care: with a token that may read notifications, each mention of the
account (a reply to it, a mention, a direct message) is an inbound item, and
the thread below it (`/statuses/:id/context`) says when the account first
answered. Without such a token, the replies by others in the account's own
recent threads are the inbound items. Deleted statuses vanish from the API
(and their notifications with them), so nothing is ever marked deleted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tracker.plugin import (
    ApiError,
    AuthError,
    CareItem,
    Channel,
    Endpoint,
    HttpSession,
    NotFound,
    Notice,
    Plugin,
    PostStat,
    RateLimited,
    Sample,
    Secret,
    State,
    Unavailable,
    Window,
    option,
)

from ._bounds import within

PLATFORM = "mastodon"
PAGE_SIZE = 40  # the documented maximum of /accounts/:id/statuses
AUTH_REQUIRED = "requires an authenticated user"
DEFAULT_RATE_WAIT = 60.0
POST_COUNTS = {
    "post_likes": "favourites_count",
    "post_reposts": "reblogs_count",
    "post_replies": "replies_count",
    "post_quotes": "quotes_count",  # Mastodon 4.5+: older servers leave it out
}
COUNTED = "counted"  # state: {metric: whether this server's statuses carry its count}
NOTIFICATIONS_PAGE = 80  # the documented maximum of /notifications
POST_LOOKBACK_MAX = 365  # a year of statuses re-read on every sync is the most that could still pay
CARE_LOOKBACK_MAX = 60
CARE_THREADS_MAX = 250  # below the 300 requests a token may make in five minutes
RATE_RESERVE = 30  # requests left in the rate-limit window below which care stops: the metrics come first


@dataclass(frozen=True)
class MastodonOptions:
    instance: str = option(help="The account's home server, e.g. https://mastodon.social (its API base URL).")
    acct: str = option(help="The account name on that server, e.g. baeckerei (or baeckerei@mastodon.social).")
    token: Secret | None = option(
        None, help="Optional user token (scope read); needed only on servers that refuse anonymous API calls."
    )
    post_lookback_days: int = option(
        7, help="Days of recent posts whose counts still change; they are re-read and marked provisional "
        f"(0 to {POST_LOOKBACK_MAX})."
    )

    care_lookback_days: int = option(
        7, help=f"Days of mentions and replies re-read on every run for customer care (0 to {CARE_LOOKBACK_MAX})."
    )
    care_max_threads: int = option(
        100, help=f"At most this many threads (context calls) read per run for customer care (0 to {CARE_THREADS_MAX}; "
        "0 turns care off)."
    )

    def __post_init__(self) -> None:
        within("post_lookback_days", self.post_lookback_days, 0, POST_LOOKBACK_MAX)
        within("care_lookback_days", self.care_lookback_days, 0, CARE_LOOKBACK_MAX)
        within("care_max_threads", self.care_max_threads, 0, CARE_THREADS_MAX)


def _headers(opts: MastodonOptions) -> dict[str, str]:
    return {"Authorization": f"Bearer {opts.token.reveal()}"} if opts.token else {}


def _url(opts: MastodonOptions, path: str) -> str:
    return opts.instance.rstrip("/") + path


def _error_text(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _retry_after(response: Any) -> float:
    """Seconds until X-RateLimit-Reset (ISO 8601); Mastodon sends no Retry-After."""
    reset = response.headers.get("X-RateLimit-Reset")
    if not reset:
        return DEFAULT_RATE_WAIT
    try:
        at = datetime.fromisoformat(reset.replace("Z", "+00:00"))
    except ValueError:
        return DEFAULT_RATE_WAIT
    return max(1.0, (at - datetime.now(UTC)).total_seconds())


def _raise_for(response: Any, opts: MastodonOptions, what: str) -> None:
    """Turn a failed answer into the domain error that says what to do (branching on status, not text)."""
    status, server = response.status_code, opts.instance.rstrip("/")
    if status < 400:
        return
    if status == 429:
        raise RateLimited(f"{server} rate limit reached while reading {what}", retry_after=_retry_after(response))
    if status in (401, 422) and not opts.token:
        raise AuthError(
            f"{server} requires a token for its API: create one (Preferences > Development, scope read) "
            "and set the account's `token` option"
        )
    if status == 401:
        raise AuthError(
            f"the Mastodon token was refused by {server} (invalid or revoked): create a new one and update `token`"
        )
    if status == 403:
        raise AuthError(f"{server} does not allow reading {what}: check the token's scope (read)")
    if status in (404, 410):
        raise NotFound(
            f"no account {opts.acct!r} on {server}: check `acct`, and that `instance` is the account's home server"
        )
    raise ApiError(f"{server} answered HTTP {status} while reading {what}: {_error_text(response) or 'no details'}")


def _get(
    http: HttpSession, opts: MastodonOptions, url: str, what: str, params: dict[str, Any] | None = None
) -> Any:
    response = http.get(url, params=params, headers=_headers(opts))
    _raise_for(response, opts, what)
    return response


def lookup(opts: MastodonOptions, http: HttpSession) -> dict[str, Any]:
    """The account entity; its counts are the snapshot values."""
    acct = opts.acct.strip().lstrip("@")
    url = _url(opts, "/api/v1/accounts/lookup")
    answer = Endpoint.of("Mastodon", url)
    account = answer.object(answer.json(_get(http, opts, url, f"account {acct}", {"acct": acct})))
    if not isinstance(account.get("id"), (str, int)):
        raise answer.unreadable('expected the account\'s id under "id"')
    if account.get("suspended"):
        raise NotFound(f"the account {acct!r} is suspended on {opts.instance.rstrip('/')}")
    return account


def statuses(opts: MastodonOptions, http: HttpSession, account_id: str, start: datetime) -> Iterator[dict[str, Any]]:
    """The account's own posts, newest first, down to the first one older than `start`, which is yielded too:
    it shows which counts the server keeps even when the window holds no post.

    Pages are followed through the Link header exactly as given: the ids in it
    are the server's to choose.
    """
    url: str | None = _url(opts, f"/api/v1/accounts/{account_id}/statuses")
    params: dict[str, Any] | None = {"limit": PAGE_SIZE, "exclude_reblogs": "true"}
    answer = Endpoint.of("Mastodon", url)
    while url:
        response = _get(http, opts, url, "posts", params)
        page = answer.each_object(answer.array(answer.json(response), "of posts as the answer"), "as posts")
        for status in page:
            _check_status(answer, status)
            if status.get("reblog"):
                continue  # a boost that slipped through: its counts belong to someone else
            yield status
            if _published(status) < start:
                return
        url, params = (response.links.get("next", {}).get("url") if page else None), None


def _check_status(answer: Endpoint, status: dict[str, Any]) -> None:
    """What the counting relies on: an id, a publication time, and `reblog` null or the boosted post."""
    answer.text(status, "id")
    answer.get_object(status, "reblog")
    try:
        aware = _published({"created_at": answer.text(status, "created_at")}).tzinfo is not None
    except ValueError:
        aware = False
    if not aware:
        raise answer.unreadable(f'expected a time with its offset under "created_at", got {status["created_at"]!r:.40}')


def _published(status: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(status["created_at"].replace("Z", "+00:00"))


def _days(window: Window) -> list[date]:
    """Days of the window that have begun: no zeros for days that have not happened yet."""
    return [d for d in window.days() if d <= window.today]


def counted(read: list[dict[str, Any]], state: dict[str, Any]) -> dict[str, bool]:
    """Which counts this server keeps: a count every status just read carries (before 4.5 none has
    `quotes_count`); with nothing read, what the last run that read a status learnt. A count not
    known either way is left out (the account has never posted)."""
    if not read:
        remembered = state.get(COUNTED)
        return {m: bool(v) for m, v in remembered.items() if m in POST_COUNTS} if isinstance(remembered, dict) else {}
    return {metric: all(isinstance(s.get(key), int) for s in read) for metric, key in POST_COUNTS.items()}


def _post_samples(
    posts: list[dict[str, Any]], window: Window, opts: MastodonOptions, known: dict[str, bool]
) -> list[Sample]:
    """Per-day sums of the counts the server keeps; a count it does not keep gets no sample on any day,
    not even a day without posts, so that no zero stands in for "not counted"."""
    metrics = [m for m in POST_COUNTS if known.get(m)]
    totals = {day: dict.fromkeys(["posts", *metrics], 0) for day in _days(window)}
    for status in posts:
        day = _published(status).astimezone(window.timezone).date()
        if day not in totals:
            continue
        totals[day]["posts"] += 1
        for metric in metrics:
            totals[day][metric] += status[POST_COUNTS[metric]]
    return [
        Sample(PLATFORM, metric, day, value, window.is_provisional(day, opts.post_lookback_days))
        for day, values in totals.items()
        for metric, value in values.items()
    ]


def _post_stats(posts: list[dict[str, Any]], window: Window) -> list[PostStat]:
    """Each post of the window's days with its counts as read now, for the report's top posts: never its text."""
    days = set(_days(window))
    return [
        PostStat(
            PLATFORM, str(status["id"]), _web_url(status), day,
            *(_count(status, POST_COUNTS[metric]) for metric in ("post_likes", "post_reposts", "post_replies")),
        )
        for status in posts
        if (day := _published(status).astimezone(window.timezone).date()) in days
    ]


def _web_url(status: dict[str, Any]) -> str:
    """The post's page (`url`), else its ActivityPub `uri`, which servers also show; "" if neither is a web address."""
    for key in ("url", "uri"):
        value = status.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return ""


def _count(status: dict[str, Any], key: str) -> int | None:
    value = status.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _not_counted(metric: str) -> Unavailable:
    if metric == "post_quotes":
        return Unavailable(PLATFORM, metric, "this server does not count quotes (Mastodon 4.5 or later does)")
    return Unavailable(PLATFORM, metric, f"this server's posts carry no {POST_COUNTS[metric]}")


def _snapshot(account: dict[str, Any], window: Window) -> list[Sample]:
    if not window.since <= window.today <= window.until:
        return []
    fields = {"followers": "followers_count", "following": "following_count", "posts_total": "statuses_count"}
    return [
        Sample(PLATFORM, metric, window.today, int(account[key]), provisional=True)
        for metric, key in fields.items()
        if isinstance(account.get(key), int)
    ]


# --- customer care ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toot:
    """What care reads of a status: who wrote it, when, and where it hangs in its thread; never its text."""

    id: str
    parent: str | None  # in_reply_to_id
    author: str  # account.id
    created: datetime
    to_account: str | None  # in_reply_to_account_id
    direct: bool  # visibility "direct": a private message


class CareStopped(Exception):
    """Care collection ends for this run (budget, rate limit, a missing scope); the message is the notice."""


class Forbidden(Exception):
    """The token lacks the scope a care call needs (403 `This action is outside the authorized scopes`)."""


def _id(answer: Endpoint, body: dict[str, Any], key: str) -> str | None:
    """An id that servers write as text (Mastodon) or, in some forks, as a number; None when absent."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return answer.get_text(body, key) or None


def toot(answer: Endpoint, status: dict[str, Any]) -> Toot:
    """The care facts of a status, checked: an unreadable one fails the fetch rather than vanish."""
    _check_status(answer, status)
    author = _id(answer, answer.nested(status, "account") or {}, "id")
    if author is None:
        raise answer.unreadable('expected the author\'s id under "account"')
    return Toot(
        id=str(status["id"]),
        parent=_id(answer, status, "in_reply_to_id"),
        author=author,
        created=_published(status),
        to_account=_id(answer, status, "in_reply_to_account_id"),
        direct=answer.get_text(status, "visibility") == "direct",
    )


def first_replies(root: str, descendants: list[Toot], own: str) -> dict[str, datetime | None]:
    """For the root and each descendant: when the account first wrote below it (in its branch), else None.

    Walked without recursion: a thread read with a token may be thousands of replies deep.
    """
    children: dict[str, list[Toot]] = defaultdict(list)
    for reply in descendants:
        if reply.parent is not None:
            children[reply.parent].append(reply)
    ids = {root} | {reply.id for reply in descendants}
    # A reply below a status the reader may not see (followers-only) hangs from a parent not in the answer.
    orphans = [reply.id for reply in descendants if reply.parent not in ids]
    order, stack, seen = [], [root, *orphans], {root, *orphans}
    while stack:
        node = stack.pop()
        order.append(node)
        for child in children.get(node, []):
            if child.id not in seen:  # a loop in a broken answer is read once
                seen.add(child.id)
                stack.append(child.id)
    first: dict[str, datetime | None] = {}
    for node in reversed(order):
        times = [c.created for c in children.get(node, []) if c.author == own and c.id in seen]
        times += [t for c in children.get(node, []) if (t := first.get(c.id)) is not None]
        first[node] = min(times, default=None)
    return first


def _channel(item: Toot, own: str, default: Channel) -> Channel:
    if item.direct:
        return Channel.MESSAGE
    return Channel.REPLY if item.to_account == own else default


@dataclass
class CareCalls:
    """The care requests of one run: at most `care_max_threads` thread reads, none once the rate limit runs low."""

    opts: MastodonOptions
    http: HttpSession
    used: int = 0
    low: str = ""  # why the next call must not be made

    def get(self, url: str, what: str, params: dict[str, Any] | None = None, gone_ok: bool = False) -> Any:
        if self.low:
            raise CareStopped(self.low)
        response = self.http.get(url, params=params, headers=_headers(self.opts))
        if response.status_code == 403:
            raise Forbidden(what)
        if response.status_code == 429:
            raise CareStopped(
                f"{self.opts.instance.rstrip('/')} rate limit reached while reading {what}: customer care "
                "stopped there for this sync (the metrics are stored); the next sync continues"
            )
        if response.status_code in (404, 410) and not gone_ok:
            raise ApiError(
                f"{self.opts.instance.rstrip('/')} answered HTTP {response.status_code} while reading {what}: "
                f"{_error_text(response) or 'no details'}"
            )
        if response.status_code not in (404, 410):
            _raise_for(response, self.opts, what)
        remaining = response.headers.get("X-RateLimit-Remaining", "")
        if remaining.isdigit() and int(remaining) < RATE_RESERVE:
            self.low = (
                f"customer care stopped after {self.used} threads: only {remaining} requests are left in "
                f"{self.opts.instance.rstrip('/')}'s rate limit; the next sync continues"
            )
        return response

    def context(self, status_id: str) -> list[Toot] | None:
        """The replies below a status (its branch of the thread); None when it is gone (deleted, or private)."""
        if self.used >= self.opts.care_max_threads:
            raise CareStopped(
                f"customer care read {self.used} threads, the most `care_max_threads` allows per sync; "
                "older mentions and replies were not checked this time"
            )
        self.used += 1
        url = _url(self.opts, f"/api/v1/statuses/{status_id}/context")
        try:
            response = self.get(url, "a thread", gone_ok=True)
        except Forbidden:
            raise CareStopped(
                "customer care needs the token's scope read:statuses (or read) to read threads: "
                "no mention or reply was counted this sync"
            ) from None
        if response.status_code in (404, 410):
            return None
        answer = Endpoint.of("Mastodon", url)
        body = answer.object(answer.json(response))
        descendants = answer.each_object(answer.get_list(body, "descendants", required=True), 'under "descendants"')
        return [toot(answer, status) for status in descendants]


def mention_pages(calls: CareCalls, since: datetime) -> Iterator[list[Toot]]:
    """The statuses of mention notifications, newest first, until the notifications are older than `since`.

    Pages follow the Link header as given: notification ids are the server's own.
    """
    url: str | None = _url(calls.opts, "/api/v1/notifications")
    params: dict[str, Any] | None = {"types[]": "mention", "limit": NOTIFICATIONS_PAGE}
    answer = Endpoint.of("Mastodon", url)
    while url:
        response = calls.get(url, "mentions", params)
        listed = answer.array(answer.json(response), "of notifications as the answer")
        page = answer.each_object(listed, "as notifications")
        found: list[Toot] = []
        older = False
        for notification in page:
            if answer.text(notification, "type") != "mention":
                continue  # a server that ignores types[]: other kinds are not questions
            if _published({"created_at": answer.text(notification, "created_at")}) < since:
                older = True
                break
            status = answer.get_object(notification, "status")
            if status is not None:
                found.append(toot(answer, status))
        yield found
        url, params = (None if older or not page else response.links.get("next", {}).get("url")), None


def _resolved(
    calls: CareCalls, items: list[Toot], own: str, default: Channel, known: dict[str, datetime | None]
) -> tuple[list[CareItem], CareStopped | None]:
    """Care items for `items`, reading the thread below each not yet known; stops early, keeping what it has."""
    found: list[CareItem] = []
    for item in items:
        if item.author == own:
            continue
        if item.id not in known:
            try:
                thread = calls.context(item.id)
            except CareStopped as stop:
                return found, stop
            if thread is None:
                continue
            known.update(first_replies(item.id, thread, own))
        found.append(CareItem(PLATFORM, _channel(item, own, default), item.id, item.created, known[item.id]))
    return found, None


def mention_items(calls: CareCalls, own: str, since: datetime) -> Iterator[list[CareItem]]:
    """Mentions of the account (replies to it, mentions, direct messages) and the account's first answer."""
    known: dict[str, datetime | None] = {}
    for page in mention_pages(calls, since):
        found, stop = _resolved(calls, page, own, Channel.MENTION, known)
        yield found
        if stop:
            raise stop


def thread_items(calls: CareCalls, own: str, posts: list[dict[str, Any]]) -> Iterator[list[CareItem]]:
    """Replies by others below the account's own recent posts, newest post first, and its first answer."""
    seen: set[str] = set()
    for status in posts:
        count = status.get("replies_count")
        if str(status["id"]) in seen or (isinstance(count, int) and count == 0):
            continue  # read already as part of a thread, or no reply to read
        thread = calls.context(str(status["id"]))
        if thread is None:
            continue
        first = first_replies(str(status["id"]), thread, own)
        seen.update(t.id for t in thread)
        replies = [t for t in thread if t.author != own]
        yield [CareItem(PLATFORM, _channel(t, own, Channel.REPLY), t.id, t.created, first.get(t.id)) for t in replies]


def care(
    opts: MastodonOptions, http: HttpSession, own: str, since: datetime, posts: list[dict[str, Any]]
) -> Iterator[Any]:
    """Care items of the last `care_lookback_days`: from mentions with a token that reads notifications,
    else from the account's own threads; a missing scope or a run's limits end in one notice, never a failure."""
    if not opts.care_max_threads:
        return
    calls = CareCalls(opts, http)
    try:
        if opts.token:
            try:
                yield from mention_items(calls, own, since)
                return
            except Forbidden:
                yield Notice(
                    "customer care: the Mastodon token lacks the scope read:notifications (or read), so only "
                    "replies in the account's own threads are counted, not mentions elsewhere"
                )
        yield from thread_items(calls, own, [p for p in posts if _published(p) >= since])
    except CareStopped as stop:
        yield Notice(str(stop))


def fetch(opts: MastodonOptions, window: Window, http: HttpSession, state: dict[str, Any]) -> Iterator[Any]:
    account = lookup(opts, http)
    yield _snapshot(account, window)
    days = _days(window)
    if not days:
        return
    start = datetime.combine(days[0], time.min, window.timezone)
    care_since = datetime.combine(window.today - timedelta(days=opts.care_lookback_days), time.min, window.timezone)
    read = list(statuses(opts, http, str(account["id"]), min(start, care_since)))
    known = counted(read, state)
    recent = [s for s in read if _published(s) >= start]
    yield _post_samples(recent, window, opts, known)
    yield _post_stats(recent, window)
    yield from (_not_counted(metric) for metric, kept in known.items() if not kept)
    yield from care(opts, http, str(account["id"]), min(start, care_since), read)
    if read:
        yield State({**state, COUNTED: known})


def check(opts: MastodonOptions, http: HttpSession) -> str:
    account = lookup(opts, http)
    name = account.get("display_name") or account.get("username") or opts.acct
    followers = account.get("followers_count")
    count = f"{followers:,} followers" if isinstance(followers, int) else "follower count not shown"
    return f"@{account.get('acct', opts.acct)} ({name}) on {opts.instance.rstrip('/')}, {count}"


plugin = Plugin(
    name="mastodon",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=MastodonOptions,
    description="Followers and per-post likes, boosts, replies and quotes of a Mastodon account (public API), "
    "and its customer care: mentions and replies, and when the account first answered.",
    lookback_days=7,
    lookback_option="post_lookback_days",
    day_rule="the account's timezone (snapshots on today; post counts on the day the post was published)",
    metrics={
        "followers": "Followers (followers_count) as read that day: a daily snapshot.",
        "following": "Accounts this account follows (following_count), as read that day.",
        "posts_total": "Posts in the account's profile count (statuses_count; may include boosts), as read that day.",
        "posts": "Posts and replies the account published that day (boosts excluded).",
        "post_likes": "Lifetime favourites of the posts published that day, as last read.",
        "post_reposts": "Lifetime boosts (reblogs_count) of the posts published that day, as last read.",
        "post_replies": "Lifetime replies (replies_count) to the posts published that day, as last read.",
        "post_quotes": "Lifetime accepted quotes (quotes_count, Mastodon 4.5+) of the posts published that day; "
        "missing, not 0, on older servers.",
    },
    check=check,
)
