"""Bluesky: profile snapshots, per-post counts and replies to one account, from the public AppView (no login).

Bluesky has no per-day history and no views: profile counts are "now"
values, stored as daily snapshots on the account's today, and the likes,
reposts, replies and quotes of each own post are stored on the day the post
was published (in the account's time zone), re-read on every run for the
last `post_lookback_days` so they catch up. A count the AppView leaves out
(all are optional in the lexicon) is reported missing and never stored as
zero; the run remembers which counts it serves for windows without a post.

Customer care: the reply threads of the account's posts of the last
`care_lookback_days` are read (`app.bsky.feed.getPostThread`, at most
`care_thread_reads` calls a run, newest posts first) and every reply by
someone else becomes a care item, answered when the account replied below it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tracker.plugin import (
    ApiError,
    Endpoint,
    HttpSession,
    NotFound,
    Notice,
    Plugin,
    PostStat,
    RateLimited,
    Sample,
    State,
    Unavailable,
    Window,
    option,
)

from ._bluesky_threads import Thread, add_answer, care_items
from ._bounds import within

PLATFORM = "bluesky"
PROFILE = "app.bsky.actor.getProfile"
FEED = "app.bsky.feed.getAuthorFeed"
PAGE_SIZE = 100  # the lexicon's maximum for getAuthorFeed
# Own posts and the account's replies, without reposts: the same set Mastodon's statuses list gives.
FEED_FILTER = "posts_with_replies"
DEFAULT_RATE_WAIT = 60.0
GONE = {"AccountTakedown": "has been suspended by Bluesky", "AccountDeactivated": "is deactivated"}
PROFILE_COUNTS = {"followers": "followersCount", "following": "followsCount", "posts_total": "postsCount"}
POST_COUNTS = {"post_likes": "likeCount", "post_reposts": "repostCount", "post_replies": "replyCount",
               "post_quotes": "quoteCount"}
COUNTED = "counted"  # state: {metric: whether the AppView's posts carry its count}
THREAD = "app.bsky.feed.getPostThread"
THREAD_DEPTH = 10  # reply levels a read asks for; the AppView may serve fewer, and the rest is read from the cut
MAX_POST_LOOKBACK = 365  # a year of posts re-read on every sync is the most that could still pay
MAX_CARE_LOOKBACK = 90
MAX_THREAD_READS = 1000
CARE_OPEN = "care_open"  # state: {thread root uri: its time}, threads with an unanswered reply, re-read later
OPEN_DAYS = 30  # how long such a thread is re-read: the core's unanswered gauge looks back as far


@dataclass(frozen=True)
class BlueskyOptions:
    handle: str = option(help="The account's handle (baeckerei-lindner.bsky.social) or, better, its DID (did:plc:...).")
    base_url: str = option("https://public.api.bsky.app", help="The public AppView; no login is needed.")
    post_lookback_days: int = option(
        7, help="Days of recent posts whose counts still change; they are re-read and marked provisional "
        f"(0 to {MAX_POST_LOOKBACK})."
    )

    care_lookback_days: int = option(
        7, help="Days of own posts (today included) whose reply threads are read for customer care (1 to 90)."
    )
    care_thread_reads: int = option(
        50, help="Most getPostThread calls per run (0 to 1000), newest posts first; 0 turns care off."
    )

    def __post_init__(self) -> None:
        within("post_lookback_days", self.post_lookback_days, 0, MAX_POST_LOOKBACK)
        within("care_lookback_days", self.care_lookback_days, 1, MAX_CARE_LOOKBACK)
        within("care_thread_reads", self.care_thread_reads, 0, MAX_THREAD_READS)


def _retry_after(response: Any) -> float:
    """Seconds until `ratelimit-reset` (epoch seconds); an edge proxy's 429 may carry no header at all."""
    try:
        reset = float(response.headers["ratelimit-reset"])
    except (KeyError, ValueError):
        return DEFAULT_RATE_WAIT
    return max(1.0, reset - datetime.now(UTC).timestamp())


def _call(http: HttpSession, opts: BlueskyOptions, nsid: str, params: dict[str, Any]) -> dict[str, Any]:
    """One XRPC query; errors are classified by status and `error` name, never by `message`.

    getProfile's only parameter is the actor, so its InvalidRequest means the
    handle or DID is unknown or malformed; fetch always asks it first.
    """
    return _read(opts, nsid, _get(http, opts, nsid, params))


def _get(http: HttpSession, opts: BlueskyOptions, nsid: str, params: dict[str, Any]) -> Any:
    response = http.get(f"{opts.base_url.rstrip('/')}/xrpc/{nsid}", params=params)
    if response.status_code == 429:
        raise RateLimited(f"Bluesky rate limit reached while calling {nsid}", retry_after=_retry_after(response))
    return response


def _error_name(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {}
    name = body.get("error", "") if isinstance(body, dict) else ""
    return name if isinstance(name, str) else ""


def _read(opts: BlueskyOptions, nsid: str, response: Any) -> dict[str, Any]:
    """The answer's object, or the error it stands for."""
    if response.status_code < 400:
        answer = _answer(opts, nsid)
        return answer.object(answer.json(response))
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    name = _error_name(response)
    if response.status_code == 400 and name in GONE:
        raise NotFound(f"the Bluesky account {opts.handle!r} {GONE[name]}")
    if response.status_code == 400 and name == "InvalidRequest" and nsid == PROFILE:
        raise NotFound(f"no Bluesky account {opts.handle!r}: check `handle` (a handle like name.bsky.social, or a DID)")
    detail = f"{name}: {body.get('message', '')}" if name else "no details"
    raise ApiError(f"Bluesky answered HTTP {response.status_code} to {nsid} ({detail})")


def _answer(opts: BlueskyOptions, nsid: str) -> Endpoint:
    return Endpoint.of("Bluesky", f"{opts.base_url.rstrip('/')}/xrpc/{nsid}")


def profile(opts: BlueskyOptions, http: HttpSession) -> dict[str, Any]:
    """The profile, with the DID and handle the rest relies on."""
    account = _call(http, opts, PROFILE, {"actor": opts.handle.strip().lstrip("@")})
    answer = _answer(opts, PROFILE)
    answer.text(account, "did")
    answer.text(account, "handle")
    return account


def _instant(value: str) -> datetime:
    """Bluesky times carry some offset (or `Z`); compare them as instants."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def published(post: dict[str, Any]) -> datetime:
    """The earlier of the client's `createdAt` (can be backdated or in the future) and the server's `indexedAt`."""
    times = [_instant(t) for t in (post.get("record", {}).get("createdAt"), post.get("indexedAt")) if t]
    return min(times)


def own_posts(opts: BlueskyOptions, http: HttpSession, did: str, start: datetime) -> Iterator[dict[str, Any]]:
    """The account's own posts, newest first, down to the first one older than `start`, which is yielded too:
    it shows which counts the AppView serves even when the window holds no post.

    Reposts (feed items with a `reason`) are skipped: their counts belong to
    the original author. The cursor is opaque and passed back unchanged.
    """
    params: dict[str, Any] = {"actor": did, "limit": PAGE_SIZE, "filter": FEED_FILTER}
    answer = _answer(opts, FEED)
    while True:
        page = _call(http, opts, FEED, params)
        feed = answer.objects(page, "feed", required=True)
        for item in feed:
            post = _checked_post(answer, item)
            if item.get("reason") or post["author"].get("did") != did:
                continue
            yield post
            if published(post) < start:
                return
        cursor = answer.get_text(page, "cursor")
        if not feed or not cursor:
            return
        params = {**params, "cursor": cursor}


def _checked_post(answer: Endpoint, item: dict[str, Any]) -> dict[str, Any]:
    """A feed item's post, with what the counting reads: its author, its uri, its record and a publication time."""
    answer.get_object(item, "reason")
    post = answer.get_object(item, "post", required=True) or {}
    answer.get_object(post, "author", required=True)
    answer.text(post, "uri")
    record = answer.get_object(post, "record") or {}
    times = [answer.get_text(record, "createdAt"), answer.get_text(post, "indexedAt")]
    try:
        published(post)
    except ValueError:
        raise answer.unreadable(f'expected times under "record.createdAt" and "indexedAt", got {times!r:.80}') from None
    return post


def _days(window: Window) -> list[date]:
    """Days of the window that have begun: no zeros for days that have not happened yet."""
    return [d for d in window.days() if d <= window.today]


def counted(read: list[dict[str, Any]], state: dict[str, Any]) -> dict[str, bool]:
    """Which counts the AppView serves: one every post just read carries (posts indexed before Aug 2024 had no
    `quoteCount`); with nothing read, what the last run that read a post learnt; otherwise not known."""
    if not read:
        remembered = state.get(COUNTED)
        return {m: bool(v) for m, v in remembered.items() if m in POST_COUNTS} if isinstance(remembered, dict) else {}
    return {metric: all(isinstance(p.get(key), int) for p in read) for metric, key in POST_COUNTS.items()}


def _post_samples(
    posts: list[dict[str, Any]], window: Window, opts: BlueskyOptions, known: dict[str, bool]
) -> list[Sample]:
    """Per-day sums of the counts the AppView serves; a count it leaves out (the lexicon makes them all
    optional) gets no sample on any day, not even a day without posts: unknown is not zero."""
    metrics = [m for m in POST_COUNTS if known.get(m)]
    totals = {day: dict.fromkeys(["posts", *metrics], 0) for day in _days(window)}
    for post in posts:
        day = published(post).astimezone(window.timezone).date()
        if day not in totals:
            continue
        totals[day]["posts"] += 1
        for metric in metrics:
            totals[day][metric] += post[POST_COUNTS[metric]]
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
            PLATFORM, post["uri"], web_url(post), day,
            *(_count(post, POST_COUNTS[metric]) for metric in ("post_likes", "post_reposts", "post_replies")),
        )
        for post in posts
        if (day := published(post).astimezone(window.timezone).date()) in days
    ]


def web_url(post: dict[str, Any]) -> str:
    """bsky.app's page of a post, from its at:// URI (at://DID/app.bsky.feed.post/RKEY); "" for another shape."""
    parts = post["uri"].removeprefix("at://").split("/")
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post":
        return ""
    return f"https://bsky.app/profile/{parts[0]}/post/{parts[2]}"


def _count(post: dict[str, Any], key: str) -> int | None:
    value = post.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _snapshot(account: dict[str, Any], window: Window) -> tuple[list[Sample], list[str]]:
    if not window.since <= window.today <= window.until:
        return [], []
    samples = [
        Sample(PLATFORM, metric, window.today, account[key], provisional=True)
        for metric, key in PROFILE_COUNTS.items()
        if isinstance(account.get(key), int)
    ]
    return samples, [metric for metric, key in PROFILE_COUNTS.items() if not isinstance(account.get(key), int)]


def fetch(opts: BlueskyOptions, window: Window, http: HttpSession, state: dict[str, Any]) -> Iterator[Any]:
    account = profile(opts, http)
    snapshot, missing = _snapshot(account, window)
    yield snapshot
    for metric in missing:
        yield Unavailable(PLATFORM, metric, "the AppView did not return this count for the profile")
    days = _days(window)
    if not days:
        return
    start = datetime.combine(days[0], datetime.min.time(), window.timezone)
    care_from = min(start, _care_start(opts, window))
    read = list(own_posts(opts, http, account["did"], care_from))
    for_counts = _through(read, start)
    known = counted(for_counts, state)
    recent = [p for p in read if published(p) >= start]
    yield _post_samples(recent, window, opts, known)
    yield _post_stats(recent, window)
    for metric in (m for m, kept in known.items() if not kept):
        yield Unavailable(PLATFORM, metric, f"the AppView returned posts without {POST_COUNTS[metric]}")
    saved = {**state, COUNTED: known} if for_counts else dict(state)
    if opts.care_thread_reads:
        posts = [p for p in read if published(p) >= care_from]
        since = datetime.combine(window.today - timedelta(days=OPEN_DAYS - 1), datetime.min.time(), window.timezone)
        roots = thread_roots(opts, posts) + remembered(state, since, care_from)
        saved[CARE_OPEN] = yield from care(opts, http, account["did"], roots)
    if saved != state:
        yield State(saved)


def _care_start(opts: BlueskyOptions, window: Window) -> datetime:
    first = window.today - timedelta(days=opts.care_lookback_days - 1)
    return datetime.combine(first, datetime.min.time(), window.timezone)


def _through(read: list[dict[str, Any]], start: datetime) -> list[dict[str, Any]]:
    """The posts from `start` on plus the first older one: what the counts are judged on, however far back
    the care lookback made the feed read go."""
    older = next((i for i, p in enumerate(read) if published(p) < start), None)
    return read if older is None else read[: older + 1]


# --- customer care ----------------------------------------------------------------------------------------------


class _LoginNeeded(Exception):
    """The AppView refused thread reads without a login: care is skipped, everything else is kept."""


def thread_roots(opts: BlueskyOptions, posts: list[dict[str, Any]]) -> list[tuple[str, datetime]]:
    """The posts whose threads to read, newest first: the account's posts that have replies (or an unknown
    count), except an own reply whose parent or root is one of them, as reading that one reads it too."""
    uris = {p["uri"] for p in posts}
    answer = _answer(opts, FEED)
    roots = []
    for post in posts:
        reply = answer.get_object(answer.get_object(post, "record") or {}, "reply") or {}
        refs = [answer.get_object(reply, key) or {} for key in ("parent", "root")]
        if any(answer.get_text(ref, "uri") in uris for ref in refs) or _count(post, "replyCount") == 0:
            continue
        roots.append((post["uri"], published(post)))
    return roots


def remembered(state: dict[str, Any], since: datetime, before: datetime) -> list[tuple[str, datetime]]:
    """Threads older than the care lookback that a run left with an unanswered reply, newest first, while they
    are younger than OPEN_DAYS: an answer given late is still picked up. An entry that is unreadable is dropped."""
    kept = []
    entries = state.get(CARE_OPEN)
    for uri, when in (entries.items() if isinstance(entries, dict) else []):
        try:
            at = _instant(when)
        except (TypeError, ValueError, AttributeError):
            continue
        if isinstance(uri, str) and since <= at < before:
            kept.append((uri, at))
    return sorted(kept, key=lambda pair: pair[1], reverse=True)


def care(
    opts: BlueskyOptions, http: HttpSession, did: str, roots: list[tuple[str, datetime]]
) -> Generator[Any, None, dict[str, str]]:
    """Care items from the reply threads of `roots`, one list per thread, within the run's thread reads.

    Returns the threads to re-read on later runs (for the state): those with an unanswered reply, not read to
    the end, or not read at all.
    """
    reads, unfinished = opts.care_thread_reads, 0
    still_open: dict[str, str] = {}
    for done, (root, at) in enumerate(roots):
        if reads == 0:
            yield _out_of_reads(opts, len(roots) - done, unfinished)
            return {**still_open, **{uri: _stamp(when) for uri, when in roots[done:]}}
        thread = Thread()
        try:
            reads -= _read_thread(opts, http, thread, root, reads)
        except _LoginNeeded as refused:
            yield Notice(str(refused))
            return {uri: _stamp(when) for uri, when in roots}
        if thread.nodes:
            got = care_items(thread, PLATFORM, did)
            unfinished += got.unfinished
            yield got.items
            if got.unfinished or any(i.first_reply_at is None and not i.deleted for i in got.items):
                still_open[root] = _stamp(at)
    if unfinished:
        yield _out_of_reads(opts, 0, unfinished)
    return still_open


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _read_thread(opts: BlueskyOptions, http: HttpSession, thread: Thread, root: str, reads: int) -> int:
    """Read a thread from `root`, then from every post the depth limit cut off, while reads last; the reads used.

    A post deleted since the feed was read answers NotFound: its thread (or the cut part) has nothing to read.
    """
    used, anchor = 0, root
    answer = _answer(opts, THREAD)
    while used < reads:
        used += 1
        body = _thread_answer(opts, http, anchor)
        if body is None:
            if anchor in thread.unread:
                thread.unread.remove(anchor)
        else:
            add_answer(thread, answer, body, anchor, published)
        if not thread.unread or (anchor == root and body is None):
            break
        anchor = thread.unread[0]
    return used


def _thread_answer(opts: BlueskyOptions, http: HttpSession, uri: str) -> dict[str, Any] | None:
    """getPostThread below `uri` (no parents); None when the post is gone (HTTP 400 `NotFound`)."""
    response = _get(http, opts, THREAD, {"uri": uri, "depth": THREAD_DEPTH, "parentHeight": 0})
    name = _error_name(response) if response.status_code >= 400 else ""
    if response.status_code in (401, 403):
        raise _LoginNeeded(
            f"Bluesky answered HTTP {response.status_code} ({name or 'no details'}) to {THREAD}: reading reply "
            "threads there needs a login, which this plugin does not have, so no replies were collected "
            "(customer care); the other metrics were synced. The public AppView needs none: check base_url"
        )
    if response.status_code == 400 and name == "NotFound":
        return None
    return _read(opts, THREAD, response)


def _out_of_reads(opts: BlueskyOptions, unread: int, unfinished: int) -> Notice:
    parts = [f"the threads of {unread} older posts" if unread else "",
             f"the rest of threads holding {unfinished} replies" if unfinished else ""]
    return Notice(
        f"Bluesky care: this run's {opts.care_thread_reads} thread reads (care_thread_reads) were used up; "
        f"{' and '.join(p for p in parts if p)} were not read and are left for the next run"
    )


def check(opts: BlueskyOptions, http: HttpSession) -> str:
    account = profile(opts, http)
    name = account.get("displayName") or account["handle"]
    followers = account.get("followersCount")
    counted = f"{followers:,} followers" if isinstance(followers, int) else "followers not shown"
    return f"@{account['handle']} ({name}, {account['did']}), {counted}"


plugin = Plugin(
    name="bluesky",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=BlueskyOptions,
    description=(
        "Followers, per-post likes, reposts, replies and quotes, and replies to the account (customer care) of a "
        "Bluesky account (public AppView)."
    ),
    lookback_days=7,
    lookback_option="post_lookback_days",
    day_rule="the account's timezone (snapshots on today; post counts on the day the post was published)",
    metrics={
        "followers": "Followers (followersCount) as read that day: a daily snapshot.",
        "following": "Accounts this account follows (followsCount), as read that day.",
        "posts_total": "Posts in the profile's count (postsCount), as read that day.",
        "posts": "Posts and replies the account published that day (reposts excluded).",
        "post_likes": "Lifetime likes (likeCount) of the posts published that day, as last read.",
        "post_reposts": "Lifetime reposts (repostCount) of the posts published that day, as last read.",
        "post_replies": "Lifetime replies (replyCount) to the posts published that day, as last read.",
        "post_quotes": "Lifetime quote posts (quoteCount) of the posts published that day, as last read.",
    },
    check=check,
)
