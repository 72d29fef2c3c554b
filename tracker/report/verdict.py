"""The plain-language verdict per platform: does it bring customers?

The order of the checks is the product's point of view: a platform with no
conversion source is "not tracked" whatever its likes; a tracked platform with
zero conversions is "likes, no customers", however popular.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tracker import metrics
from tracker.words import count, plural

# Above this many interactions per conversion a platform "converts little".
LOW_YIELD_ENGAGEMENT_PER_CONVERSION = 500


class Code(StrEnum):
    CONVERTS = "converts"
    LOW_YIELD = "converts_little"
    VANITY_ONLY = "vanity_only"
    NOT_TRACKED = "not_tracked"
    NO_DATA = "no_data"
    BUCKET = "bucket"


@dataclass(frozen=True)
class Verdict:
    code: Code
    text: str


@dataclass(frozen=True)
class Inputs:
    """The row's figures, already rounded: the sentence prints them as the table does."""

    platform: str
    days: int
    tracked: bool
    engagement: float | None
    followers: float | None
    visits: float | None
    conversions: float | None
    revenue: float | None
    conversions_previous: float | None
    currency: str
    hours_per_week: float | None = None
    cost: float | None = None
    engagement_per_conversion: float | None = None
    hours_per_conversion: float | None = None
    cost_per_conversion: float | None = None


def _n(value: float | None, word: str) -> str:
    if value is None:
        return f"no {plural(word, 0)}"
    return count(value, word)


def _trend(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return ""
    if before == 0:
        return " (none in the period before)" if now else ""
    change = (now - before) / before * 100
    return f" ({change:+.0f}% on the period before)"


def _spent(i: Inputs) -> str:
    """", for 6.0 h/week and 150.00 EUR": what the silence cost, where effort is configured."""
    parts = []
    if i.hours_per_week:
        parts.append(f"{i.hours_per_week:,.1f} h/week")
    if i.cost:
        parts.append(f"{i.cost:,.2f} {i.currency}")
    return f" for {' and '.join(parts)}" if parts else ""


def _per_conversion(i: Inputs) -> str:
    parts = []
    if i.hours_per_conversion:
        parts.append(f"{i.hours_per_conversion:,.1f} h")
    if i.cost_per_conversion:
        parts.append(f"{i.cost_per_conversion:,.2f} {i.currency}")
    return f"; {' and '.join(parts)} per conversion" if parts else ""


def _period(days: int) -> str:
    return f"in {count(days, 'day')}"


def decide(i: Inputs) -> Verdict:
    if i.platform in metrics.BUCKETS:
        return Verdict(Code.BUCKET, f"{i.platform.capitalize()}: visits and conversions no platform can claim.")
    if not i.tracked:
        if i.engagement is None and i.followers is None:
            return Verdict(Code.NO_DATA, "No data in this period.")
        return Verdict(
            Code.NOT_TRACKED,
            f"Conversions not tracked: {_n(i.engagement, 'interaction')}, {_n(i.followers, 'follower')}{_spent(i)}, "
            "but nothing measures customers from here. Connect web analytics or a shop export, "
            f"post tagged links (`tracker link URL --platform {i.platform}`) or log sales "
            f"(`tracker log sale --platform {i.platform}`).",
        )
    if i.conversions is None:
        return Verdict(Code.NO_DATA, "No data in this period yet.")
    conversions = i.conversions
    if conversions == 0 and i.engagement is None and i.followers is None:
        return Verdict(
            Code.VANITY_ONLY,
            f"Visits, no customers: {_n(i.visits, 'visit')} from here, 0 conversions {_period(i.days)}{_spent(i)}.",
        )
    if conversions == 0:
        return Verdict(
            Code.VANITY_ONLY,
            f"Likes, no customers: {_n(i.engagement, 'interaction')} and {_n(i.visits, 'visit')}, "
            f"0 conversions {_period(i.days)}{_spent(i)}.",
        )
    money = f", {i.revenue:,.2f} {i.currency}" if i.revenue else ""
    trend = _trend(conversions, i.conversions_previous) + _per_conversion(i)
    per = i.engagement_per_conversion
    if i.engagement and per is not None and per > LOW_YIELD_ENGAGEMENT_PER_CONVERSION:
        return Verdict(
            Code.LOW_YIELD,
            f"Few customers: {count(conversions, 'conversion')}{money} for {count(i.engagement, 'interaction')} "
            f"({per:,.0f} per conversion){trend}.",
        )
    visits = f" from {count(i.visits, 'visit')}" if i.visits else ""
    return Verdict(Code.CONVERTS, f"Brings customers: {count(conversions, 'conversion')}{money}{visits}{trend}.")
