"""LinkedIn organization pages: followers, page views and post statistics (Community Management API).

LinkedIn buckets its statistics into UTC days; the plugin keeps those days as they are and
asks only for complete ones (up to yesterday), so a request never reaches into the future.
Total followers has no history: it is a snapshot on the account's today.

Three things trip up LinkedIn clients, and this module handles each on purpose:
- every call needs `LinkedIn-Version` and `X-Restli-Protocol-Version: 2.0.0`, and a sunset
  version answers 426, which only the user can fix (by updating `linkedin_version`);
- Rest.li 2.0 query values (`timeIntervals=(timeRange:(...))`) must keep their parentheses,
  colons and commas literal, so the query string is built here rather than by `requests`;
- a 429 is a daily quota without any header: waiting minutes is pointless, the account stops
  until 00:00 UTC.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.plugin import (
    ApiError,
    AuthError,
    Endpoint,
    HttpSession,
    NotFound,
    Plugin,
    QuotaExhausted,
    Sample,
    Secret,
    Unavailable,
    Window,
    next_midnight,
    option,
)

PLATFORM = "linkedin"
DEFAULT_VERSION = "202608"  # newest version the API notes saw; LinkedIn supports each for about a year
MAX_DAYS = 365  # timeIntervals: start and end must be less than 14 months apart
SHARE_HISTORY_DAYS = 364  # share statistics cover a rolling 12 months only
REVISION_DAYS = 3  # LinkedIn still updates the last couple of days; re-read and flag them

SHARE_METRICS = {
    "impressionCount": "impressions",
    "uniqueImpressionsCount": "reach",
    "likeCount": "likes",
    "commentCount": "comments",
    "shareCount": "shares",
    "clickCount": "linkedin.clicks",
    "engagement": "linkedin.engagement_rate",
}
QUOTA_ZONE = ZoneInfo("UTC")  # LinkedIn quotas reset at midnight UTC
NETWORK_SIZES = Endpoint("LinkedIn", "/rest/networkSizes")  # for parsing a body read elsewhere


@dataclass(frozen=True)
class LinkedInOptions:
    organization_id: str = option(help="Numeric id of the page, as in urn:li:organization:<id> (e.g. 2414183).")
    token: Secret = option(help="OAuth access token of a page ADMINISTRATOR, scope rw_organization_admin.")
    linkedin_version: str = option(
        DEFAULT_VERSION, help="LinkedIn API version, YYYYMM; each version is sunset about a year after release."
    )
    base_url: str = option("https://api.linkedin.com", help="API root; tests point it at a fake server.")

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9]+", self.organization_id):
            raise ValueError(
                f"organization_id must be the page's numeric id (the digits of urn:li:organization:<id>), "
                f"not {self.organization_id!r}"
            )
        if not re.fullmatch(r"20[0-9]{2}(0[1-9]|1[0-2])", self.linkedin_version):
            raise ValueError(
                f"linkedin_version must be a YYYYMM month like {DEFAULT_VERSION}, not {self.linkedin_version!r}"
            )


def _urn(opts: LinkedInOptions) -> str:
    """The organization URN, percent-encoded as LinkedIn wants it in paths and query values."""
    return f"urn%3Ali%3Aorganization%3A{opts.organization_id}"


def _millis(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp() * 1000)


def time_intervals(since: date, until: date) -> str:
    """Rest.li 2.0 form of whole UTC days since..until (inclusive); the API's end is exclusive."""
    end = _millis(until + timedelta(days=1))
    return f"(timeRange:(start:{_millis(since)},end:{end}),timeGranularityType:DAY)"


def _bucket_day(element: dict[str, Any]) -> date:
    """A bucket belongs to the UTC day its time range starts on."""
    start = float(element["timeRange"]["start"]) / 1000  # checked by _elements: a number, or its text
    return datetime.fromtimestamp(start, tz=UTC).date()


def _error(response: Any, opts: LinkedInOptions) -> Exception:
    """Turn a LinkedIn error answer into the domain error that tells the user what to do."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    status = response.status_code
    code = str(body.get("code") or "")
    message = " ".join(str(body.get("message") or response.reason or "").split())
    if status == 426 or code == "NONEXISTENT_VERSION":
        return ApiError(
            f"LinkedIn no longer serves API version {opts.linkedin_version} ({message}): "
            "set this account's linkedin_version to a current YYYYMM version (LinkedIn's versioning page lists them)"
        )
    if status == 401:
        what = "has expired (they last 60 days)" if code == "EXPIRED_ACCESS_TOKEN" else (
            "was revoked" if code == "REVOKED_ACCESS_TOKEN" else "is invalid"
        )
        return AuthError(
            f"LinkedIn says the access token {what} ({code or 'HTTP 401'}): create a new one for a page administrator "
            "with scope rw_organization_admin and put it in the environment variable"
        )
    if status == 403:
        return AuthError(
            f"LinkedIn denied access to page {opts.organization_id} ({message}): the token needs scope "
            "rw_organization_admin, its member must be an ADMINISTRATOR of the page, and the app needs the "
            "Community Management API product"
        )
    if status == 404:
        return NotFound(f"LinkedIn has no organization {opts.organization_id}: check organization_id ({message})")
    if status == 429:
        until = next_midnight(QUOTA_ZONE)
        return QuotaExhausted(
            f"LinkedIn's daily API quota for this app or member is used up ({message}); it resets at 00:00 UTC, "
            f"so this account is skipped until {until:%Y-%m-%d %H:%M} UTC",
            until=until,
        )
    return ApiError(f"LinkedIn answered HTTP {status} {code}: {message}".replace("  ", " "))


def _get(http: HttpSession, opts: LinkedInOptions, resource: str, query: str = "") -> dict[str, Any]:
    """One GET under /rest/, with the query string passed through untouched (Rest.li syntax)."""
    url = f"{opts.base_url.rstrip('/')}/rest/{resource}" + (f"?{query}" if query else "")
    headers = {
        "Authorization": f"Bearer {opts.token.reveal()}",
        "LinkedIn-Version": opts.linkedin_version,
        "X-Restli-Protocol-Version": "2.0.0",
    }
    response = http.get(url, headers=headers)
    if response.status_code != 200:
        raise _error(response, opts)
    answer = Endpoint.of("LinkedIn", url)
    return answer.object(answer.json(response))


def _answer(opts: LinkedInOptions, resource: str) -> Endpoint:
    return Endpoint.of("LinkedIn", f"{opts.base_url.rstrip('/')}/rest/{resource}")


def follower_count(body: dict[str, Any], answer: Endpoint = NETWORK_SIZES) -> int:
    return int(answer.number(body.get("firstDegreeSize"), 'under "firstDegreeSize"'))


def _elements(answer: Endpoint, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The buckets of a statistics answer, each with a time range and, where present, objects where the
    parsers below read objects."""
    elements = answer.objects(body, "elements", required=True)
    for element in elements:
        start = answer.number((answer.get_object(element, "timeRange", required=True) or {}).get("start"),
                              'under "timeRange.start"')
        try:
            datetime.fromtimestamp(start / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):  # no calendar day: year 0, or past what time_t holds
            raise answer.unreadable(f'expected a time in milliseconds under "timeRange.start", got {start:g}') from None
        answer.get_object(element, "followerGains")
        answer.get_object(element, "totalShareStatistics")
        answer.nested(element, "totalPageStatistics", "views", "allPageViews")
    return elements


def share_metrics(stats: dict[str, Any]) -> dict[str, float]:
    """totalShareStatistics -> our metric names; fields LinkedIn leaves out are left out."""
    return {name: stats[key] for key, name in SHARE_METRICS.items() if isinstance(stats.get(key), (int, float))}


def follower_metrics(element: dict[str, Any]) -> dict[str, float]:
    gains = element.get("followerGains") or {}
    organic, paid = gains.get("organicFollowerGain"), gains.get("paidFollowerGain")
    out: dict[str, float] = {}
    if isinstance(organic, int):
        out["linkedin.organic_followers_gained"] = organic
    if isinstance(paid, int):
        out["linkedin.paid_followers_gained"] = paid
    if len(out) == 2:  # a gain LinkedIn left out is unknown: organic alone is no total
        out["followers_gained"] = sum(out.values())
    return out


def page_metrics(element: dict[str, Any]) -> dict[str, float]:
    views = (element.get("totalPageStatistics") or {}).get("views") or {}
    all_views = (views.get("allPageViews") or {}).get("pageViews")
    return {"profile_views": all_views} if isinstance(all_views, int) else {}


def _samples(elements: list[dict[str, Any]], window: Window, parse: Any) -> list[Sample]:
    out = []
    for element in elements:
        day = _bucket_day(element)
        if window.since <= day <= window.until:
            provisional = window.is_provisional(day, REVISION_DAYS)
            out += [Sample(PLATFORM, metric, day, value, provisional) for metric, value in parse(element).items()]
    return out


def _finder(
    http: HttpSession, opts: LinkedInOptions, resource: str, key: str, chunk: Window
) -> list[dict[str, Any]]:
    """One statistics finder call for whole UTC days; it answers every bucket at once (no paging)."""
    intervals = time_intervals(chunk.since, chunk.until)
    body = _get(http, opts, resource, f"q={key}&{key}={_urn(opts)}&timeIntervals={intervals}")
    return _elements(_answer(opts, resource), body)


def _gains_left_out(elements: list[dict[str, Any]], window: Window) -> Unavailable | None:
    """followers_gained is unknown on days whose bucket lacks the organic or the paid gain."""
    days = sorted(
        _bucket_day(e)
        for e in elements
        if window.since <= _bucket_day(e) <= window.until and "followers_gained" not in follower_metrics(e)
    )
    if not days:
        return None
    return Unavailable(
        PLATFORM, "followers_gained", f"LinkedIn left a follower gain (organic or paid) out on {len(days)} day(s) "
        f"from {days[0]}: the total is unknown, not zero"
    )


def _statistics(http: HttpSession, opts: LinkedInOptions, window: Window) -> Iterator[list[Sample] | Unavailable]:
    """Follower gains and page views, in requests under the 14-month limit."""
    for chunk in window.chunks(MAX_DAYS):
        elements = _finder(http, opts, "organizationalEntityFollowerStatistics", "organizationalEntity", chunk)
        yield _samples(elements, chunk, follower_metrics)
        left_out = _gains_left_out(elements, chunk)
        if left_out:
            yield left_out
        elements = _finder(http, opts, "organizationPageStatistics", "organization", chunk)
        yield _samples(elements, chunk, page_metrics)


def _share_statistics(http: HttpSession, opts: LinkedInOptions, window: Window) -> Iterator[list[Sample]]:
    """Organic post statistics; LinkedIn keeps only the last 12 months, so older days are not asked for."""
    since = max(window.since, window.today - timedelta(days=SHARE_HISTORY_DAYS))
    if since > window.until:
        return
    for chunk in dataclasses.replace(window, since=since).chunks(MAX_DAYS):
        elements = _finder(http, opts, "organizationalEntityShareStatistics", "organizationalEntity", chunk)
        yield _samples(elements, chunk, lambda e: share_metrics(e.get("totalShareStatistics") or {}))


def fetch(
    opts: LinkedInOptions, window: Window, http: HttpSession, state: dict[str, Any]
) -> Iterator[list[Sample] | Unavailable]:
    if window.since <= window.today <= window.until:
        resource = f"networkSizes/{_urn(opts)}"
        body = _get(http, opts, resource, "edgeType=COMPANY_FOLLOWED_BY_MEMBER")
        yield [Sample(PLATFORM, "followers", window.today, follower_count(body, _answer(opts, resource)))]
    complete = dataclasses.replace(window, until=min(window.until, window.today - timedelta(days=1)))
    if complete.since > complete.until:
        return  # only today was asked for, and LinkedIn's today is not over yet
    yield from _statistics(http, opts, complete)
    yield from _share_statistics(http, opts, complete)


def check(opts: LinkedInOptions, http: HttpSession) -> str:
    org = _get(http, opts, f"organizations/{opts.organization_id}")
    followers = follower_count(_get(http, opts, f"networkSizes/{_urn(opts)}", "edgeType=COMPANY_FOLLOWED_BY_MEMBER"))
    name = org.get("localizedName") or org.get("vanityName") or opts.organization_id
    return f"page {name}, {followers:,} followers (API version {opts.linkedin_version})"


plugin = Plugin(
    name="linkedin",
    platforms=(PLATFORM,),
    fetch=fetch,
    options=LinkedInOptions,
    description="LinkedIn organization page: followers, follower gains, page views and organic post statistics.",
    lookback_days=REVISION_DAYS,
    day_rule="UTC days, as LinkedIn buckets them (only complete days); followers: a snapshot on the account's today",
    metrics={
        "followers": "Members following the page (networkSizes firstDegreeSize), snapshot when the sync runs.",
        "followers_gained": "New followers that UTC day, organic plus paid (followerGains).",
        "linkedin.organic_followers_gained": "New followers that day not attributed to ads (organicFollowerGain).",
        "linkedin.paid_followers_gained": "New followers that day from sponsored content (paidFollowerGain).",
        "profile_views": "Views of any of the page's tabs, desktop and mobile (allPageViews.pageViews).",
        "impressions": "Times the page's organic posts were shown that day (impressionCount).",
        "reach": "Distinct members who saw the page's organic posts that day (uniqueImpressionsCount).",
        "likes": "Reactions on the page's organic posts that day, net of removed ones (likeCount).",
        "comments": "Comments on the page's organic posts that day (commentCount).",
        "shares": "Reposts of the page's organic posts that day (shareCount).",
        "linkedin.clicks": "Clicks on the posts' content, the page name or logo (clickCount); not only links "
        "off LinkedIn, and no reactions, comments or shares.",
        "linkedin.engagement_rate": "(clicks + likes + comments + shares) / impressions that day, as a fraction "
        "(engagement); a ratio, never add days up.",
    },
    check=check,
)
