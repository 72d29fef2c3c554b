"""Facebook Page insights from Meta's Graph API (`/{page-id}/insights`, period=day).

Only metrics that survived Meta's 2024-03-14, 2025-11-15 and 2026-06-15
retirements are asked for. Graph fails a whole call when one metric is retired,
so a refused call is repeated metric by metric and the refused metric is
reported as unavailable, never as zero. Days are Graph's own Pacific days.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tracker.plugin import HttpSession, Plugin, Sample, Secret, Unavailable, Window, option

from ._graph import Graph, Target, pacific_midnight, points, request_metrics

PLATFORM = "facebook"
MAX_DAYS = 90  # Graph refuses a wider since..until range
PROVISIONAL_DAYS = 3  # "most metrics update once every 24 hours" and recent days get revised

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


def fetch(
    opts: FacebookOptions, window: Window, http: HttpSession, state: dict
) -> Iterator[list[Sample] | Unavailable]:
    graph = _graph(opts, http)
    asked = list(METRICS)
    for chunk in window.chunks(MAX_DAYS):
        pages, refused = request_metrics(asked, lambda metrics: _read(graph, opts.page_id, metrics, chunk))
        for metric, reason in refused.items():
            asked.remove(metric)
            yield Unavailable(PLATFORM, METRICS[metric], f"Graph refused {metric}: {reason}")
        yield from pages
        if not asked:
            return


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
    description="Facebook Page insights (followers, views, reach, engagements, page views) from the Graph API.",
    lookback_days=PROVISIONAL_DAYS,
    day_rule="Pacific time (America/Los_Angeles), as Graph reports Page insights",
    metrics=DEFINITIONS,
    check=check,
)
