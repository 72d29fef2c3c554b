"""The canonical metric vocabulary: one name, one meaning, one way to add up.

Every number tracker stores is a metric from this table, or an extra under a
plugin's own namespace (`facebook.page_total_actions`). The kind decides how a
period is summarised, which is where dashboards most often lie:

- gauge:   a level at a moment (followers). A period shows the last value and
           the change; never summed over days.
- counter: an amount per day (likes). A period shows the sum.
- unique:  distinct people per day (reach, visitors). Never summed over days;
           a period shows the daily average, labelled as such.

Every metric also has a plausible range, which the core checks before a number
is stored (tracker.collect): counts, levels and people are never negative and
only `revenue` may be (a day of refunds); no value passes PLAUSIBLE_MAX. A
number outside its range is a platform glitch or a typo (1e308 likes, -5
followers), and three of them would sum to infinity: it is dropped with a
notice, never stored. Extras (`plugin.name`) may have either sign, since the
vocabulary does not know what they count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

# Larger than any one account's daily count or amount (the largest platforms have ~3e9 users), and small enough
# that decades of such days still add up to a finite number.
PLAUSIBLE_MAX = 1e12

# No platform tracker reads, and no shop export it imports, has data from before this day (LinkedIn, the oldest
# of them, started in 2003): an earlier date is a typo (0001-01-01) or a spreadsheet's zero date (1899-12-30).
EARLIEST_DAY = date(2000, 1, 1)


class Side(StrEnum):
    VANITY = "vanity"
    CONVERSION = "conversion"
    CARE = "care"


class Kind(StrEnum):
    GAUGE = "gauge"
    COUNTER = "counter"
    UNIQUE = "unique"


@dataclass(frozen=True)
class Metric:
    name: str
    side: Side
    kind: Kind
    unit: str
    definition: str
    minimum: float = 0.0  # least plausible value: 0 for counts, levels and people; -PLAUSIBLE_MAX if it may go below
    maximum: float = PLAUSIBLE_MAX
    additive: bool = True  # False for a gauge that is a rate or an average (a rating): accounts are averaged, not added
    derived: bool = False  # computed by the core at report time (from care items), never yielded as a sample


V, C, K = Side.VANITY, Side.CONVERSION, Side.CARE
G, N, U = Kind.GAUGE, Kind.COUNTER, Kind.UNIQUE

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        # vanity
        Metric("followers", V, G, "people", "Followers (or subscribers, fans) at the end of the day."),
        Metric("following", V, G, "accounts", "Accounts this account follows."),
        Metric("posts_total", V, G, "posts", "Posts the account has published in total."),
        Metric("rating", V, G, "stars", "Average star rating of the reviews (1 to 5) as last read that day.",
               minimum=1.0, maximum=5.0, additive=False),
        Metric("reviews_total", V, G, "reviews", "Reviews the business has received in total, as last read that day."),
        Metric("followers_gained", V, N, "people", "New followers that day."),
        Metric("followers_lost", V, N, "people", "Followers who left that day."),
        Metric("impressions", V, N, "times", "Times content was shown (the pre-2025 meaning; kept apart from views)."),
        Metric("views", V, N, "times", "Times content was viewed or played, as the platform counts views "
               "(Meta's 2025 'views' metric, YouTube views)."),
        Metric("reach", V, U, "people", "Distinct people who saw content that day."),
        Metric("likes", V, N, "actions", "Likes and reactions received that day."),
        Metric("comments", V, N, "actions", "Comments and replies received on the account's posts that day."),
        Metric("shares", V, N, "actions", "Shares, reposts and boosts of the account's posts that day."),
        Metric("engagements", V, N, "actions", "All interactions with the account's content that day, as the "
               "platform totals them."),
        Metric("profile_views", V, N, "times", "Visits to the account's profile or page."),
        Metric("link_clicks", V, N, "clicks", "Clicks on links in the profile or posts that lead off the platform."),
        Metric("posts", V, N, "posts", "Posts published that day."),
        Metric("post_likes", V, N, "actions", "Lifetime likes of the posts published that day, as last read "
               "(per-post platforms)."),
        Metric("post_reposts", V, N, "actions", "Lifetime reposts/boosts of the posts published that day, as "
               "last read."),
        Metric("post_replies", V, N, "actions", "Lifetime replies to the posts published that day, as last read."),
        Metric("post_quotes", V, N, "actions", "Lifetime quotes of the posts published that day, as last read."),
        # conversion
        Metric("visits", C, N, "sessions", "Website visits (sessions) that came from the platform."),
        Metric("visitors", C, U, "people", "Distinct website visitors that came from the platform that day."),
        Metric("leads", C, N, "conversions", "Leads: enquiries, sign-ups, bookings and other non-purchase goals."),
        Metric("orders", C, N, "conversions", "Orders and sales."),
        Metric("conversions", C, N, "conversions", "All conversions: leads + orders + other goals."),
        Metric("revenue", C, N, "money", "Revenue from conversions, in the source's currency; negative on a day of "
               "refunds.", minimum=-PLAUSIBLE_MAX),
        # care: daily counts a plugin or an export may yield ...
        Metric("messages", K, N, "messages", "Messages and questions received from customers (a daily count; "
               "the report counts them as inbound where the account yields no care items)."),
        Metric("replies", K, N, "messages", "Replies the business sent to customers (a daily count; the report "
               "counts them as answered, up to the messages, where the account yields no care items)."),
        Metric("response_time", K, G, "minutes", "Median time to the first reply, in minutes, as a platform or "
               "an export states it for a day (not combined with first_response_minutes).", additive=False),
        # ... and what the core computes from care items (tracker.plugin.CareItem) for a period
        Metric("inbound", K, N, "items", "Comments, replies, mentions, direct messages and reviews from others "
               "that arrived in the period (the account's own and deleted ones left out).", derived=True),
        Metric("answered", K, N, "items", "Inbound items of the period the account replied to.", derived=True),
        Metric("reply_rate", K, G, "percent", "Answered per 100 inbound items.", maximum=100.0, additive=False,
               derived=True),
        Metric("first_response_minutes", K, G, "minutes", "Time from an inbound item to the account's first "
               "reply, in business minutes ([care] business_hours): the median and the 90th percentile of the "
               "period's answered items.", additive=False, derived=True),
        Metric("unanswered_open", K, G, "items", "Inbound items older than [care] unanswered_hours with no reply "
               "yet (of the last 30 days), at the end of the period: a level, never summed.", derived=True),
    )
}

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_EXTRA = re.compile(r"^[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_.-]{0,120}$")

# Buckets for conversions no platform can claim; shown after the platforms.
BUCKETS = ("direct", "other", "unattributed")


def is_platform(slug: str) -> bool:
    """Platforms are an open set: any lowercase slug names one."""
    return bool(_SLUG.match(slug))


def is_extra(name: str, plugin: str) -> bool:
    """True for `plugin.something`, the namespace for metrics outside the vocabulary."""
    return bool(_EXTRA.match(name)) and name.startswith(plugin + ".")


def get(name: str) -> Metric | None:
    return METRICS.get(name)


def plausible_range(name: str) -> tuple[float, float]:
    """(least, greatest) plausible value of a metric; extras may have either sign."""
    metric = METRICS.get(name)
    if metric is None:
        return (-PLAUSIBLE_MAX, PLAUSIBLE_MAX)
    return (metric.minimum, metric.maximum)


def is_derived(name: str) -> bool:
    """True for figures the core computes from care items: a plugin yields CareItem, never these as samples."""
    metric = METRICS.get(name)
    return metric is not None and metric.derived


def conversion_metrics() -> list[str]:
    return [m.name for m in METRICS.values() if m.side is Side.CONVERSION]
