"""Instagram professional-account insights from Meta's Graph API.

Three kinds of call, because Graph serves each number differently:
- the user node for followers, following and posts: "now" values, stored as a
  snapshot on the account's today;
- `reach` and `follower_count` as time series (one point per Pacific day, at
  most 30 days per call; `follower_count` only for the last 30 days and only
  for accounts with 100+ followers);
- views, interactions, likes, comments, shares, saves, profile views and
  website clicks only as `metric_type=total_value`: one number per call, so
  one call per Pacific day.
A retired metric fails Graph's whole call; the plugin then asks one by one and
reports the refused metric as unavailable, never as zero.

Customer care: the comments on the account's media of the last
`care_lookback_days` (`/{ig-media-id}/comments` with each comment's replies),
as care items; the account's own comments are those whose `from.id` is the
account's id, or that carry `user` (names are never read). Without `instagram_manage_comments`
care is skipped with one notice and the insights still sync.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

from tracker.plugin import (
    CareItem,
    Endpoint,
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
    number,
    optional_care,
    pacific_midnight,
    points,
    request_metrics,
    thread_items,
)

PLATFORM = "instagram"
MAX_DAYS = 30  # Graph refuses a wider since..until range
PROVISIONAL_DAYS = 3  # "may be delayed up to 48 hours": a Pacific day is final 48 h after it ends
GRAPH = Endpoint("Instagram: Graph")  # for parsing a body read elsewhere
MIN_FOLLOWERS = 100  # below this Graph gives no follower_count (nor demographics, which are not fetched)
CARE_LOOKBACK_DAYS = 28  # comments on a post keep coming (and getting answered) for weeks after it went out
MAX_CARE_LOOKBACK_DAYS = 365
PAGE_SIZE = 50
MEDIA_FIELDS = "id,timestamp,comments_count"
REPLY_FIELDS = "id,timestamp,from,user,hidden"
COMMENT_FIELDS = f"id,timestamp,from,user,hidden,replies{{{REPLY_FIELDS}}}"
COMMENTS_PERMISSION = "instagram_manage_comments (instagram_business_manage_comments with Instagram Login)"

NODE = {"followers_count": "followers", "follows_count": "following", "media_count": "posts_total"}
TIME_SERIES = {"reach": "reach"}
NEW_FOLLOWERS = ("follower_count", "followers_gained")
TOTAL_VALUE = {
    "views": "views",
    "total_interactions": "engagements",
    "likes": "likes",
    "comments": "comments",
    "shares": "shares",
    "saves": "instagram.saves",
    "profile_views": "profile_views",
    "website_clicks": "link_clicks",
}
DEFINITIONS: dict[str, str] = {
    "followers": "followers_count of the account, read once a day (snapshot on the account's today).",
    "following": "follows_count: accounts this account follows (snapshot on the account's today).",
    "posts_total": "media_count: posts the account has published (snapshot on the account's today).",
    "reach": "reach: distinct accounts that saw the account's content that Pacific day (estimated; unique: never "
             "sum days).",
    "followers_gained": "follower_count: accounts that started following that day (Graph serves only the last 30 "
                        "days, and nothing for accounts under 100 followers).",
    "views": "views: times the account's content was played or displayed (Meta's 2025 metric; it replaced "
             "impressions and is not the same thing).",
    "engagements": "total_interactions: likes, saves, comments, shares and replies on the account's content that day.",
    "likes": "likes on the account's posts, reels and videos that day.",
    "comments": "comments on the account's posts, reels and videos that day.",
    "shares": "shares of the account's posts, reels and videos that day.",
    "instagram.saves": "saves of the account's posts, reels and videos that day.",
    "profile_views": "profile_views: times the account's profile was visited that day.",
    "link_clicks": "website_clicks: taps on the website link in the account's profile that day.",
}


@dataclass(frozen=True)
class InstagramOptions:
    user_id: str = option(help="The Instagram professional account id (17841...), not the @username.")
    token: Secret = option(help="An access token with instagram_basic and instagram_manage_insights "
                                "(or instagram_business_* with Instagram Login), as ${ENV_VAR}.")
    api_version: str = option("v25.0", help="Graph API version, e.g. v25.0.")
    base_url: str = option(
        "https://graph.facebook.com",
        help="https://graph.facebook.com (Facebook Login tokens) or https://graph.instagram.com (Instagram Login).",
    )
    care_lookback_days: int = option(
        CARE_LOOKBACK_DAYS,
        help="Customer care: read the comments of media published up to this many days before the synced days "
             f"(0 to {MAX_CARE_LOOKBACK_DAYS}).",
    )

    def __post_init__(self) -> None:
        within("care_lookback_days", self.care_lookback_days, 0, MAX_CARE_LOOKBACK_DAYS)


def _graph(opts: InstagramOptions, http: HttpSession) -> Graph:
    target = Target(
        what=f"Instagram account {opts.user_id}",
        permissions="instagram_basic and instagram_manage_insights (instagram_business_basic and "
                    "instagram_business_manage_insights with Instagram Login)",
        token_hint="make a new access token and update the account's token",
    )
    return Graph(http, opts.base_url, opts.api_version, opts.token, target)


def _snapshot(node: dict, window: Window) -> list[Sample]:
    """'Now' values belong to the account's today, and only when today is in the window."""
    if not window.since <= window.today <= window.until:
        return []
    values = {NODE[k]: number(v) for k, v in node.items() if k in NODE}
    return [Sample(PLATFORM, m, window.today, v, provisional=True) for m, v in values.items() if v is not None]


def _series(
    graph: Graph, opts: InstagramOptions, names: dict[str, str], metrics: Sequence[str], window: Window
) -> list[Sample]:
    since, until = pacific_midnight(window.since), pacific_midnight(window.until + timedelta(days=1))
    params = {"metric": ",".join(metrics), "period": "day", "since": since, "until": until}
    found: dict[tuple[str, date], Sample] = {}
    for entry in graph.series(f"{opts.user_id}/insights", params, until):
        name = names.get(str(entry.get("name")))
        if name is None:
            continue
        for day, value in points(entry):
            if window.since <= day <= window.until:
                found[(name, day)] = Sample(PLATFORM, name, day, value, window.is_provisional(day, PROVISIONAL_DAYS))
    return list(found.values())


def _totals(graph: Graph, opts: InstagramOptions, metrics: Sequence[str], day: date, window: Window) -> list[Sample]:
    """One total_value call covering exactly one Pacific day (midnight to midnight in unix seconds)."""
    params = {
        "metric": ",".join(metrics), "period": "day", "metric_type": "total_value",
        "since": pacific_midnight(day), "until": pacific_midnight(day + timedelta(days=1)),
    }
    path = f"{opts.user_id}/insights"
    return _total_samples(graph.get(path, params), TOTAL_VALUE, day, window, graph.endpoint(path))


def _total_samples(
    body: dict, names: dict[str, str], day: date, window: Window, answer: Endpoint = GRAPH
) -> list[Sample]:
    """`total_value.value` is the figure; breakdown results overlap for unique metrics and are never summed."""
    out = []
    for entry in answer.objects(body, "data", required=True):
        name = names.get(str(entry.get("name")))
        value = number((answer.get_object(entry, "total_value") or {}).get("value")) if name else None
        if name and value is not None:  # an entry without total_value means "no data", not zero
            out.append(Sample(PLATFORM, name, day, value, window.is_provisional(day, PROVISIONAL_DAYS)))
    return out


def _refused(names: dict[str, str], refused: dict[str, str]) -> Iterator[Unavailable]:
    for metric, reason in refused.items():
        yield Unavailable(PLATFORM, names[metric], f"Graph refused {metric}: {reason}")


def fetch(
    opts: InstagramOptions, window: Window, http: HttpSession, state: dict
) -> Iterator[list[Sample] | Unavailable | list[CareItem] | Notice]:
    graph = _graph(opts, http)
    yield from _insights(graph, opts, window)
    yield from optional_care(_comments(graph, opts, window), "Comments on the account's media", COMMENTS_PERMISSION)


def _insights(graph: Graph, opts: InstagramOptions, window: Window) -> Iterator[list[Sample] | Unavailable]:
    node = graph.get(opts.user_id, {"fields": "id,username,followers_count,follows_count,media_count"})
    yield _snapshot(node, window)

    for chunk in window.chunks(MAX_DAYS):
        pages, refused = request_metrics(list(TIME_SERIES), partial(_series, graph, opts, TIME_SERIES, window=chunk))
        yield from _refused(TIME_SERIES, refused)
        yield from pages
        if refused:
            break

    yield from _new_followers(graph, opts, window, number(node.get("followers_count")))

    asked = list(TOTAL_VALUE)
    for day in window.days():
        pages, refused = request_metrics(asked, partial(_totals, graph, opts, day=day, window=window))
        yield from _refused(TOTAL_VALUE, refused)
        asked = [m for m in asked if m not in refused]
        yield from pages
        if not asked:
            return


def _new_followers(
    graph: Graph, opts: InstagramOptions, window: Window, followers: float | None
) -> Iterator[list[Sample] | Unavailable]:
    """follower_count is served for the last 30 Pacific days before today; the margin covers any account timezone."""
    metric, name = NEW_FOLLOWERS
    if followers is not None and followers < MIN_FOLLOWERS:
        yield Unavailable(PLATFORM, name, f"Instagram gives {metric} only to accounts with {MIN_FOLLOWERS}+ followers")
        return
    first = max(window.since, window.today - timedelta(days=28))
    last = min(window.until, window.today - timedelta(days=2))
    if first > last:
        return
    sub = Window(first, last, window.today, window.timezone)
    pages, refused = request_metrics([metric], lambda m: _series(graph, opts, {metric: name}, m, sub))
    yield from _refused({metric: name}, refused)
    yield from pages


def _media(graph: Graph, user_id: str, start: datetime, end: datetime) -> Iterator[str]:
    """Ids of the account's media published in [start, end) with comments; Graph lists the newest first."""
    path = f"{user_id}/media"
    answer = graph.endpoint(path)
    for page in graph.pages(path, {"fields": MEDIA_FIELDS, "limit": PAGE_SIZE}, optional=True):
        for media in page:
            created = graph_time(answer, media, "timestamp")
            if created < start:
                return
            if created < end and media.get("comments_count") != 0:  # absent: read it, to be sure
                yield answer.text(media, "id")


def _comment(answer: Endpoint, item: dict, user_id: str) -> Comment:
    """The account wrote it when `from.id` is its id, or when Graph sends `user`, which it does only for comments
    the token's own account wrote (Meta documents `from.id` as an Instagram-scoped id)."""
    own = (answer.get_object(item, "user") or {}).get("id")
    mine = author_id(answer, item) == user_id or (isinstance(own, str) and own == user_id)
    return Comment(answer.text(item, "id"), graph_time(answer, item, "timestamp"), mine, item.get("hidden") is True)


def _media_care(graph: Graph, user_id: str, media_id: str) -> list[CareItem]:
    """Each top-level comment with its replies (Instagram threads are one level deep), as care items.

    The first replies come nested in the comment (`replies{...}`); more are read from `/{comment-id}/replies`.
    """
    path = f"{media_id}/comments"
    answer = graph.endpoint(path)
    items: list[CareItem] = []
    for page in graph.pages(path, {"fields": COMMENT_FIELDS, "limit": PAGE_SIZE}, optional=True):
        for item in page:
            root = _comment(answer, item, user_id)
            nested = answer.get_object(item, "replies")
            replies: list[Comment] = []
            if nested is not None:
                more = f"{root.id}/replies"
                for batch in graph.pages(more, {"fields": REPLY_FIELDS, "limit": PAGE_SIZE}, optional=True,
                                         first=nested):
                    replies += [_comment(graph.endpoint(more), reply, user_id) for reply in batch]
            items += thread_items(PLATFORM, root, replies)
    return items


def _comments(graph: Graph, opts: InstagramOptions, window: Window) -> Iterator[list[CareItem]]:
    start = care_start(window.since, opts.care_lookback_days, window.timezone)
    end = datetime.combine(window.until + timedelta(days=1), time(), window.timezone)
    for media_id in list(_media(graph, opts.user_id, start, end)):
        try:
            items = _media_care(graph, opts.user_id, media_id)
        except NotFound:
            continue  # deleted since it was listed: its comments went with it
        if items:
            yield items


def check(opts: InstagramOptions, http: HttpSession) -> str:
    body = _graph(opts, http).get(opts.user_id, {"fields": "id,username,followers_count"})
    followers = number(body.get("followers_count"))
    count = f"{int(followers):,} followers" if followers is not None else "follower count hidden"
    return f"@{body.get('username') or opts.user_id}, {count}"


plugin = Plugin(
    name="instagram",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=InstagramOptions,
    description="Instagram professional-account insights (followers, reach, views, interactions) and customer care "
                "(comments) from the Graph API.",
    lookback_days=PROVISIONAL_DAYS,
    day_rule="Pacific time (America/Los_Angeles) for insights; followers snapshot on the account's today",
    metrics=DEFINITIONS,
    check=check,
)
