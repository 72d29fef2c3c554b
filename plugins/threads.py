"""Threads (Meta) insights from the Threads Graph API (graph.threads.net).

Threads serves its numbers in three shapes, so the plugin reads each its own way:
- user `views` (profile views, not post views) as one point per Pacific day;
- user likes, replies, reposts, quotes and link clicks only as one total for
  the whole since..until range, so they are asked one Pacific day per call
  (views come along in the same call);
- `followers_count` as the current total whatever the range: a daily snapshot.
Posts are listed (paging to the end) to count them per day, and each post's
lifetime views and shares are read for the last `post_lookback_days`.

Threads has no total of engagements and its per-post likes/replies/reposts
duplicate the daily account totals, so only the daily totals are stored under
the shared names: storing both would count each like twice in the report.
A metric Threads refuses (code 100, or code 1 "An unknown error has occurred"
for one a node does not serve) is asked alone once and then reported
unavailable, never zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tracker.plugin import (
    ApiError,
    Endpoint,
    HttpSession,
    Notice,
    Plugin,
    QuotaExhausted,
    Sample,
    Secret,
    Unavailable,
    Window,
    option,
)

from ._bounds import within
from ._graph import (
    PACIFIC,
    THROTTLE_CODES,
    Graph,
    MetricRejected,
    Target,
    checked_entry,
    number,
    pacific_midnight,
    points,
)

PLATFORM = "threads"
VERSION = "v1.0"  # the only Threads API version
PROVISIONAL_DAYS = 3  # Meta revises recent days (up to 48 h late, as on Instagram)
EARLIEST = date(2024, 4, 13)  # since/until before 1712991600 (this Pacific midnight) do not work
PAGE_SIZE = 100  # `limit` of the media list
MAX_POST_LOOKBACK = 365  # a year of posts re-read on every sync is the most that could still pay
REPOST = "REPOST_FACADE"  # someone else's post the account reposted: not its own, no insights

SERIES = {"views": "profile_views"}
TOTALS = {
    "likes": "likes",
    "replies": "comments",
    "reposts": "shares",
    "quotes": "threads.quotes",
    "clicks": "link_clicks",
}
USER_METRICS = {**SERIES, **TOTALS}
FOLLOWERS = {"followers_count": "followers"}
POST_METRICS = {"views": "threads.post_views", "shares": "threads.post_shares"}
DEFINITIONS: dict[str, str] = {
    "followers": "followers_count: people following the profile, read once a day (snapshot on the account's "
                 "today; Threads keeps no follower history).",
    "profile_views": "user views: times the profile was viewed that Pacific day (Threads' user-level 'views' are "
                     "profile views, not post views).",
    "likes": "likes on the account's posts that Pacific day.",
    "comments": "replies: replies to the account's posts that Pacific day.",
    "shares": "reposts: times the account's posts were reposted that Pacific day.",
    "threads.quotes": "quotes: times the account's posts were quoted that Pacific day.",
    "link_clicks": "clicks: clicks on links the account shared, summed over its links, that Pacific day.",
    "posts": "Posts the account published that day (reposts of others' posts excluded), account's timezone.",
    "threads.post_views": "Lifetime views of the posts published that day, as last read (Meta: 'in development').",
    "threads.post_shares": "Lifetime shares of the posts published that day, as last read (Meta: 'in development').",
}


@dataclass(frozen=True)
class ThreadsOptions:
    user_id: str = option(help="The Threads user id (numeric; GET /me?fields=id with the token), not the @username.")
    token: Secret = option(help="A long-lived Threads user token with threads_basic and threads_manage_insights, "
                                "as ${ENV_VAR}; it lasts 60 days unless refreshed.")
    base_url: str = option("https://graph.threads.net", help="Threads API host; change only for tests or a proxy.")
    post_lookback_days: int = option(
        7, help="Days of recent posts whose views still change; they are re-read and marked provisional "
        f"(1 to {MAX_POST_LOOKBACK})."
    )

    def __post_init__(self) -> None:
        if not self.user_id.isdigit():
            raise ValueError(f"user_id must be the numeric Threads user id (GET /me?fields=id), not {self.user_id!r}")
        within("post_lookback_days", self.post_lookback_days, 1, MAX_POST_LOOKBACK)


class Unserved(MetricRejected):
    """Code 1 "An unknown error has occurred": a metric the node does not serve, or a passing fault."""


class NothingServed(ApiError):
    """Every metric of a call got code 1: a passing fault, or a node with no insights at all."""


class ThreadsGraph(Graph):
    """Graph's rules with Threads' own codes: code 1 and "metric" code 100s name a metric, throttling stops."""

    def error_for(self, status: int, error: Mapping[str, Any]) -> Exception:
        if not isinstance(error, Mapping):
            return ApiError(f"{self.target.what}: Threads answered HTTP {status} with an error tracker cannot read")
        code, sub = _int(error.get("code")), _int(error.get("error_subcode"))
        message = self.http.redact(" ".join(str(error.get("message") or "no message").split()))[:200]
        said = f"(Graph error {code}{f'/{sub}' if sub else ''}: {message})"
        if code in THROTTLE_CODES:
            wait = self.usage.regain_seconds
            until = datetime.now(UTC) + timedelta(seconds=wait) if wait else None
            when = f"after {until:%H:%M} UTC" if until else "on the next run"
            return QuotaExhausted(f"{self.target.what}: Threads is throttling calls {said}; stopped this sync, "
                                  f"sync again {when}", until=until)
        if code == 1:
            return Unserved(f"Threads answered {said}")
        if code == 100 and not sub and "metric" in message.lower():
            return MetricRejected(f"Threads refused it {said}")
        return super().error_for(status, error)


def _int(value: Any) -> int:
    found = number(value)
    return int(found) if found is not None else 0


def _graph(opts: ThreadsOptions, http: HttpSession) -> ThreadsGraph:
    target = Target(
        what=f"Threads account {opts.user_id}",
        permissions="threads_basic and threads_manage_insights",
        token_hint="authorize tracker's app again (with the Threads app id and secret), exchange the code for a "
                   "long-lived token and update the account's token",
    )
    return ThreadsGraph(http, opts.base_url, VERSION, opts.token, target)


def _ask(
    metrics: Sequence[str], names: Mapping[str, str], call: Callable[[Sequence[str]], list[Sample]]
) -> tuple[list[Sample], list[str], list[Unavailable]]:
    """All metrics in one call; if Threads refuses, each alone once: (samples, refused metrics, unavailable).

    Code 1 is also Threads' answer to a passing fault, so it is blamed on a metric only when another metric of
    the same call was answered; when every one fails that way the call fails.
    """
    try:
        return call(metrics), [], []
    except MetricRejected as exc:
        whole = exc
    found: list[Sample] = []
    refused: dict[str, MetricRejected] = {metrics[0]: whole} if len(metrics) == 1 else {}
    for metric in metrics if len(metrics) > 1 else ():
        try:
            found += call([metric])
        except MetricRejected as exc:
            refused[metric] = exc
    if len(refused) == len(metrics) and all(isinstance(e, Unserved) for e in refused.values()):
        raise NothingServed(f"{next(iter(refused.values())).reason}; the next sync tries again")
    gone = [Unavailable(PLATFORM, names[m], f"Threads refused {m}: {e.reason}") for m, e in refused.items()]
    return found, list(refused), gone


def _total(answer: Endpoint, entry: Mapping[str, Any]) -> float | None:
    """The figure of a whole-range entry: `total_value.value`, or the sum over `link_total_values` for clicks.

    An entry without either (or with no links) has no figure: missing, not zero.
    """
    if entry.get("link_total_values") is not None:
        links = answer.objects(entry, "link_total_values")
        values = [answer.number(link.get("value"), 'under "link_total_values"') for link in links]
        return sum(values) if values else None
    value = (answer.get_object(entry, "total_value") or {}).get("value")
    return None if value is None else answer.number(value, 'under "total_value"')


def _user_day(
    graph: ThreadsGraph, opts: ThreadsOptions, metrics: Sequence[str], day: date, window: Window
) -> list[Sample]:
    """One call for one Pacific day; views points are keyed by their own `end_time`, which may be another day."""
    path = f"{opts.user_id}/threads_insights"
    params = {"metric": ",".join(metrics), "since": pacific_midnight(day),
              "until": pacific_midnight(day + timedelta(days=1))}
    answer = graph.endpoint(path)
    out: list[Sample] = []
    for entry in answer.objects(graph.get(path, params), "data", required=True):
        name = str(entry.get("name"))
        if name in SERIES:
            for point_day, value in points(checked_entry(answer, entry)):
                if window.since <= point_day <= window.until:
                    out.append(_sample(SERIES[name], point_day, value, window))
        elif name in TOTALS and (total := _total(answer, entry)) is not None:
            out.append(_sample(TOTALS[name], day, total, window))
    return out


def _sample(metric: str, day: date, value: float, window: Window) -> Sample:
    return Sample(PLATFORM, metric, day, value, window.is_provisional(day, PROVISIONAL_DAYS))


def _user_insights(graph: ThreadsGraph, opts: ThreadsOptions, window: Window) -> Iterator[Any]:
    begun = datetime.now(PACIFIC).date()  # an account east of Pacific time reaches a day before Threads does
    days = [d for d in window.days() if EARLIEST <= d <= begun]
    if any(d < EARLIEST for d in window.days()):
        yield Notice(f"Threads keeps insights from {EARLIEST} on: days before it were not asked for")
    asked = list(USER_METRICS)
    found: dict[tuple[str, date], Sample] = {}
    for day in days:
        samples, refused, gone = _ask(asked, USER_METRICS, partial(_user_day, graph, opts, day=day, window=window))
        yield from gone
        asked = [m for m in asked if m not in refused]
        for sample in samples:  # the call that asked for a day wins over a neighbour's stray point
            if sample.day == day or (sample.metric, sample.day) not in found:
                found[(sample.metric, sample.day)] = sample
        if not asked:
            break
    yield list(found.values())


def _followers_now(graph: ThreadsGraph, opts: ThreadsOptions) -> float | None:
    """followers_count is the current total; Threads ignores any range, so none is sent."""
    path = f"{opts.user_id}/threads_insights"
    answer = graph.endpoint(path)
    for entry in answer.objects(graph.get(path, {"metric": "followers_count"}), "data", required=True):
        if entry.get("name") == "followers_count":
            return _total(answer, entry)
    return None


def _followers(graph: ThreadsGraph, opts: ThreadsOptions, window: Window) -> Iterator[Any]:
    if not window.since <= window.today <= window.until:
        return

    def read(_: Sequence[str]) -> list[Sample]:
        value = _followers_now(graph, opts)
        return [] if value is None else [Sample(PLATFORM, "followers", window.today, value, provisional=True)]

    samples, _, gone = _ask(list(FOLLOWERS), FOLLOWERS, read)
    yield from gone
    yield samples


@dataclass(frozen=True)
class Post:
    id: str
    media_type: str
    published: datetime


def _media(graph: ThreadsGraph, opts: ThreadsOptions, start: datetime, end: datetime) -> Iterator[Post]:
    """The account's posts published in [start, end), every page: `paging.next` is there until the last one.

    `next` embeds the token, so only its `after` cursor is kept and our own request is sent.
    """
    path = f"{opts.user_id}/threads"
    answer = graph.endpoint(path)
    params: dict[str, Any] = {"fields": "id,media_type,timestamp", "since": int(start.timestamp()),
                              "until": int(end.timestamp()), "limit": PAGE_SIZE}
    while True:
        body = graph.get(path, params)
        yield from (_post(answer, item) for item in answer.objects(body, "data", required=True))
        following = answer.get_text(answer.get_object(body, "paging") or {}, "next")
        if not following:
            return
        after = dict(parse_qsl(urlsplit(following).query)).get("after")
        if not after or after == params.get("after"):
            raise answer.unreadable('expected a new "after" cursor in "paging.next"')
        params["after"] = after


def _post(answer: Endpoint, item: Mapping[str, Any]) -> Post:
    stamp = answer.text(item, "timestamp")
    try:
        published = datetime.fromisoformat(stamp)
    except ValueError:
        published = None
    if published is None or published.tzinfo is None:
        raise answer.unreadable(f'expected a time with its offset under "timestamp", got {stamp[:40]!r}')
    return Post(answer.text(item, "id"), answer.get_text(item, "media_type") or "", published)


def _post_insights(graph: ThreadsGraph, post: Post, metrics: Sequence[str], day: date) -> list[Sample]:
    """Lifetime values of one post (no `end_time`): one sample per metric, dated by the post's day."""
    path = f"{post.id}/insights"
    answer = graph.endpoint(path)
    out = []
    for entry in answer.objects(graph.get(path, {"metric": ",".join(metrics)}), "data", required=True):
        name = POST_METRICS.get(str(entry.get("name")))
        values = answer.objects(entry, "values")
        raw = values[0].get("value") if values else None
        if name and raw is not None:
            out.append(Sample(PLATFORM, name, day, answer.number(raw, 'under "values"')))
    return out


def _posts(graph: ThreadsGraph, opts: ThreadsOptions, window: Window) -> Iterator[Any]:
    """Posts per day and their lifetime views/shares per day, by publication time in the account's timezone.

    A day's views are stored only when every post of that day has them: a sum missing a post would be too small.
    """
    days = [d for d in window.days() if d <= window.today]
    if not days:
        return
    tz = window.timezone
    start = datetime.combine(days[0], time(), tz)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), tz)
    own = [p for p in _media(graph, opts, start, end) if p.media_type != REPOST and start <= p.published < end]
    by_day: dict[date, list[Post]] = {d: [] for d in days}
    for post in own:
        by_day[post.published.astimezone(tz).date()].append(post)
    yield [_post_sample(opts, "posts", d, len(posts), window) for d, posts in by_day.items()]

    asked = list(POST_METRICS)
    sums: dict[tuple[str, date], list[float]] = {}
    silent = 0
    for day, posts in by_day.items():
        for post in posts:
            if not asked:
                break
            try:
                samples, refused, gone = _ask(asked, POST_METRICS, partial(_post_insights, graph, post, day=day))
            except NothingServed:
                silent += 1  # its day's views stay missing; the next runs ask again
                continue
            yield from gone
            asked = [m for m in asked if m not in refused]
            for sample in samples:
                sums.setdefault((sample.metric, day), []).append(sample.value)
    if silent:
        yield Notice(f"Threads gave no insights for {silent} post(s) (error code 1): views of their days are missing")
    yield [
        _post_sample(opts, metric, day, sum(values), window)
        for (metric, day), values in sums.items()
        if metric in (POST_METRICS[m] for m in asked) and len(values) == len(by_day[day])
    ]


def _post_sample(opts: ThreadsOptions, metric: str, day: date, value: float, window: Window) -> Sample:
    return Sample(PLATFORM, metric, day, value, window.is_provisional(day, opts.post_lookback_days))


def fetch(opts: ThreadsOptions, window: Window, http: HttpSession, state: dict) -> Iterator[Any]:
    graph = _graph(opts, http)
    yield from _followers(graph, opts, window)
    yield from _user_insights(graph, opts, window)
    yield from _posts(graph, opts, window)


def check(opts: ThreadsOptions, http: HttpSession) -> str:
    """The profile (threads_basic) and its followers (threads_manage_insights): both permissions in two calls."""
    graph = _graph(opts, http)
    node = graph.get(opts.user_id, {"fields": "id,username"})
    followers = _followers_now(graph, opts)
    count = f"{int(followers):,} followers" if followers is not None else "follower count not given"
    return f"@{node.get('username') or opts.user_id}, {count}"


plugin = Plugin(
    name="threads",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=ThreadsOptions,
    description="Threads profile insights (followers, profile views, likes, replies, reposts, quotes, link clicks) "
                "and posts per day, from the Threads API.",
    lookback_days=7,
    lookback_option="post_lookback_days",
    day_rule="Pacific time (America/Los_Angeles) for insights; followers snapshot on the account's today; posts and "
             "their views on the day published, in the account's timezone",
    metrics=DEFINITIONS,
    check=check,
)
