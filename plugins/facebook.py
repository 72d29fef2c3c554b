"""Facebook Page insights from Meta's Graph API (`/{page-id}/insights`, period=day).

Only metrics that survived Meta's 2024-03-14, 2025-11-15 and 2026-06-15
retirements are asked for. Graph fails a whole call when one metric is retired,
so a refused call is repeated metric by metric and the refused metric is
reported as unavailable, never as zero. Days are Graph's own Pacific days.

Customer care: comments on the Page's posts of the last `care_lookback_days`
(`/{post-id}/comments?filter=stream`, every comment and reply with its
parent) and, when the token has `pages_messaging`, Messenger conversations
(`/{page-id}/conversations`, then each one's messages). Only ids and times are
read; an author is the Page when its id is the Page's id. A missing
permission skips that part with one notice; the insights still sync.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial

from tracker.plugin import (
    CareItem,
    Channel,
    HttpSession,
    NotFound,
    Notice,
    Plugin,
    Sample,
    Secret,
    Unavailable,
    Window,
    option,
)

from ._bounds import within
from ._graph import (
    Comment,
    Graph,
    Target,
    author_id,
    care_start,
    graph_time,
    optional_care,
    pacific_midnight,
    points,
    request_metrics,
    thread_items,
)

PLATFORM = "facebook"
MAX_DAYS = 90  # Graph refuses a wider since..until range
PROVISIONAL_DAYS = 3  # "most metrics update once every 24 hours" and recent days get revised
CARE_LOOKBACK_DAYS = 28  # a post's comments keep coming (and getting answered) for weeks after it went out
MAX_CARE_LOOKBACK_DAYS = 365
PAGE_SIZE = 100  # Graph's largest `limit` for posts, comments, conversations and messages
POST_FIELDS = "id,created_time"
COMMENT_FIELDS = "id,created_time,from{id},parent{id},is_hidden"
CONVERSATION_FIELDS = "id,updated_time"
MESSAGE_FIELDS = "id,created_time,from"

# Graph metric -> stored metric. page_total_actions counts clicks on the Page's contact info and
# call-to-action button (call, message, directions, website), not only links that leave Facebook,
# so it stays an extra instead of link_clicks.
METRICS: dict[str, str] = {
    "page_follows": "followers",
    "page_daily_follows_unique": "followers_gained",
    "page_daily_unfollows_unique": "followers_lost",
    "page_media_view": "views",
    "page_total_media_view_unique": "reach",
    "page_post_engagements": "engagements",
    "page_views_total": "profile_views",
    "page_total_actions": "facebook.page_total_actions",
}
DEFINITIONS: dict[str, str] = {
    "followers": "page_follows: people following the Page at the end of the Pacific day (gauge).",
    "followers_gained": "page_daily_follows_unique: people who started following the Page that day (estimated).",
    "followers_lost": "page_daily_unfollows_unique: people who stopped following the Page that day (estimated).",
    "views": "page_media_view: times any content from the Page was displayed or played (Meta's 2025 'views'; "
             "replaced page_impressions, not comparable with it).",
    "reach": "page_total_media_view_unique: distinct people who saw any content from the Page that day (unique: "
             "never sum days).",
    "engagements": "page_post_engagements: reactions, comments, shares and clicks on the Page's posts that day.",
    "profile_views": "page_views_total: times the Page's profile was viewed that day.",
    "facebook.page_total_actions": "page_total_actions: clicks on the Page's contact info and call-to-action "
                                   "button that day.",
}


@dataclass(frozen=True)
class FacebookOptions:
    page_id: str = option(help="The Page's numeric id (Page > About > Page transparency, or Graph `me/accounts`).")
    token: Secret = option(help="A Page access token with read_insights and pages_read_engagement, as ${ENV_VAR}.")
    api_version: str = option("v25.0", help="Graph API version, e.g. v25.0.")
    base_url: str = option("https://graph.facebook.com", help="Graph API host; change only for tests or a proxy.")
    care_lookback_days: int = option(
        CARE_LOOKBACK_DAYS,
        help="Customer care: read comments on posts published up to this many days before the synced days, and "
             f"Messenger conversations active since then (0 to {MAX_CARE_LOOKBACK_DAYS}).",
    )

    def __post_init__(self) -> None:
        within("care_lookback_days", self.care_lookback_days, 0, MAX_CARE_LOOKBACK_DAYS)


def _graph(opts: FacebookOptions, http: HttpSession) -> Graph:
    target = Target(
        what=f"Facebook page {opts.page_id}",
        permissions="read_insights and pages_read_engagement",
        token_hint="make a new Page access token (Graph API Explorer or me/accounts) and update the account's token",
    )
    return Graph(http, opts.base_url, opts.api_version, opts.token, target)


def _read(graph: Graph, page_id: str, metrics: Sequence[str], window: Window) -> list[Sample]:
    """One insights call (paging followed up to `until`) for the window's days; points outside it are dropped."""
    since, until = pacific_midnight(window.since), pacific_midnight(window.until) + 86400
    params = {"metric": ",".join(metrics), "period": "day", "since": since, "until": until}
    found: dict[tuple[str, object], Sample] = {}
    for entry in graph.series(f"{page_id}/insights", params, until):
        name = METRICS.get(str(entry.get("name")))
        if name is None or entry.get("period") != "day":
            continue
        for day, value in points(entry):
            if window.since <= day <= window.until:
                provisional = window.is_provisional(day, PROVISIONAL_DAYS)
                found[(name, day)] = Sample(PLATFORM, name, day, value, provisional)
    return list(found.values())


def _insights(graph: Graph, opts: FacebookOptions, window: Window) -> Iterator[list[Sample] | Unavailable]:
    asked = list(METRICS)
    for chunk in window.chunks(MAX_DAYS):
        pages, refused = request_metrics(asked, partial(_read, graph, opts.page_id, window=chunk))
        for metric, reason in refused.items():
            asked.remove(metric)
            yield Unavailable(PLATFORM, METRICS[metric], f"Graph refused {metric}: {reason}")
        yield from pages
        if not asked:
            return


def _posts(graph: Graph, page_id: str, start: datetime, end: datetime) -> Iterator[str]:
    """Ids of the Page's posts published in [start, end); Graph lists the newest first, so reading stops at start."""
    path = f"{page_id}/posts"
    answer = graph.endpoint(path)
    for page in graph.pages(path, {"fields": POST_FIELDS, "limit": PAGE_SIZE}, optional=True):
        for post in page:
            created = graph_time(answer, post, "created_time")
            if created < start:
                return
            if created < end:
                yield answer.text(post, "id")


def _post_care(graph: Graph, page_id: str, post_id: str) -> list[CareItem]:
    """Every comment and reply of one post (`filter=stream`, oldest first), grouped into threads by `parent`."""
    path = f"{post_id}/comments"
    answer = graph.endpoint(path)
    params = {"filter": "stream", "order": "chronological", "fields": COMMENT_FIELDS, "limit": PAGE_SIZE}
    comments: dict[str, Comment] = {}
    parents: dict[str, str] = {}
    for page in graph.pages(path, params, optional=True):
        for item in page:
            comment = Comment(answer.text(item, "id"), graph_time(answer, item, "created_time"),
                              author_id(answer, item) == page_id, item.get("is_hidden") is True)
            comments[comment.id] = comment
            parent = (answer.get_object(item, "parent") or {}).get("id")
            if isinstance(parent, str) and parent:
                parents[comment.id] = parent
    threads: dict[str, list[Comment]] = {}
    for comment in comments.values():
        threads.setdefault(_root(comment.id, parents), []).append(comment)
    items: list[CareItem] = []
    for root_id, thread in threads.items():
        if root_id in comments:  # a reply whose top-level comment was deleted has no thread left to answer
            items += thread_items(PLATFORM, comments[root_id], [c for c in thread if c.id != root_id])
    return items


def _root(comment_id: str, parents: dict[str, str]) -> str:
    """The top-level comment a comment hangs under (replies to replies included)."""
    seen = {comment_id}
    while comment_id in parents and parents[comment_id] not in seen:
        comment_id = parents[comment_id]
        seen.add(comment_id)
    return comment_id


def _comments(graph: Graph, opts: FacebookOptions, window: Window) -> Iterator[list[CareItem]]:
    start = care_start(window.since, opts.care_lookback_days, window.timezone)
    end = datetime.combine(window.until + timedelta(days=1), time(), window.timezone)
    for post_id in list(_posts(graph, opts.page_id, start, end)):
        try:
            items = _post_care(graph, opts.page_id, post_id)
        except NotFound:
            continue  # deleted since it was listed: its comments went with it
        if items:
            yield items


def _conversations(graph: Graph, opts: FacebookOptions, window: Window) -> Iterator[list[CareItem]]:
    """Messenger conversations active since the care start (Graph lists the most recently updated first)."""
    start = care_start(window.since, opts.care_lookback_days, window.timezone)
    path = f"{opts.page_id}/conversations"
    answer = graph.endpoint(path)
    params = {"platform": "messenger", "fields": CONVERSATION_FIELDS, "limit": PAGE_SIZE}
    active: list[str] = []
    for page in graph.pages(path, params, optional=True):
        fresh = [c for c in page if graph_time(answer, c, "updated_time") >= start]
        active += [answer.text(c, "id") for c in fresh]
        if len(fresh) < len(page):
            break
    for conversation_id in active:
        try:
            items = _message_runs(graph, opts.page_id, conversation_id, start)
        except NotFound:
            continue  # deleted since it was listed
        if items:
            yield items


def _message_runs(graph: Graph, page_id: str, conversation_id: str, start: datetime) -> list[CareItem]:
    """One care item per run of customer messages: from the first message after the Page's last answer (or the
    conversation's start) to the Page's next message, which is its first reply.

    The item's id is the run's first message, so it stays the same on every sync. Messages come newest
    first; reading stops once a Page message from before `start` has been read: every run after it then
    starts where it really started, and a run begun before `start` that the Page answered only now gets its
    late reply under its own id.
    """
    path = f"{conversation_id}/messages"
    answer = graph.endpoint(path)
    messages: list[Comment] = []
    for page in graph.pages(path, {"fields": MESSAGE_FIELDS, "limit": PAGE_SIZE}, optional=True):
        messages += [Comment(answer.text(m, "id"), graph_time(answer, m, "created_time"),
                             author_id(answer, m) == page_id) for m in page]
        if any(m.mine and m.created < start for m in messages):
            break
    messages.sort(key=lambda m: m.created)
    items: list[CareItem] = []
    for i, message in enumerate(messages):
        if message.mine or (i and not messages[i - 1].mine):
            continue
        answer_at = next((m.created for m in messages[i + 1:] if m.mine), None)
        items.append(CareItem(PLATFORM, Channel.MESSAGE, message.id, message.created, answer_at))
    return items


def fetch(
    opts: FacebookOptions, window: Window, http: HttpSession, state: dict
) -> Iterator[list[Sample] | Unavailable | list[CareItem] | Notice]:
    graph = _graph(opts, http)
    yield from _insights(graph, opts, window)
    yield from optional_care(_comments(graph, opts, window), "Comments on the Page's posts", "pages_read_engagement")
    yield from optional_care(_conversations(graph, opts, window), "Messenger conversations", "pages_messaging")


def check(opts: FacebookOptions, http: HttpSession) -> str:
    body = _graph(opts, http).get(opts.page_id, {"fields": "id,name,followers_count,fan_count"})
    followers = body.get("followers_count")
    count = f"{int(followers):,} followers" if isinstance(followers, (int, float)) else "follower count hidden"
    return f"page {body.get('name') or opts.page_id}, {count}"


plugin = Plugin(
    name="facebook",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=FacebookOptions,
    description="Facebook Page insights (followers, views, reach, engagements, page views) and customer care "
                "(comments, Messenger) from the Graph API.",
    lookback_days=PROVISIONAL_DAYS,
    day_rule="Pacific time (America/Los_Angeles), as Graph reports Page insights",
    metrics=DEFINITIONS,
    check=check,
)
