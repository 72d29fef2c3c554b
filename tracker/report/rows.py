"""One flat row per platform: the shape every output format shares.

JSON keys and CSV headers are these field names, so a script can switch
formats without renaming anything. None means "no data", never zero.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from tracker.config import Effort
from tracker.report.compute import ENGAGEMENT_PARTS, Figures, PlatformFigures, Totals
from tracker.report.verdict import Inputs, decide


@dataclass
class PlatformRow:
    platform: str
    accounts: str
    followers: float | None
    followers_change: float | None
    followers_since: str | None
    engagement: float | None
    engagement_previous: float | None
    likes: float | None
    comments: float | None
    shares: float | None
    reach_daily_avg: float | None
    impressions: float | None
    views: float | None
    profile_views: float | None
    link_clicks: float | None
    visits: float | None
    visits_previous: float | None
    leads: float | None
    orders: float | None
    conversions: float | None
    conversions_offline: float | None
    conversions_previous: float | None
    conversion_rate: float | None
    revenue: float | None
    revenue_offline: float | None
    revenue_previous: float | None
    likes_per_conversion: float | None
    followers_per_conversion: float | None
    messages: float | None
    replies: float | None
    hours: float | None
    cost: float | None
    cost_per_conversion: float | None
    hours_per_conversion: float | None
    tracked: bool
    visits_source: str | None
    conversions_source: str | None
    conversions_basis: str
    attribution: str
    currency_note: str
    provisional: bool
    missing: str
    verdict: str
    verdict_text: str


@dataclass
class Report:
    start: date
    end: date
    previous_start: date
    previous_end: date
    days: int
    currency: str
    generated_at: str
    rows: list[PlatformRow]

    def to_json(self) -> dict[str, Any]:
        return {
            "period": {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "days": self.days,
                "previous_start": self.previous_start.isoformat(),
                "previous_end": self.previous_end.isoformat(),
            },
            "currency": self.currency,
            "generated_at": self.generated_at,
            "platforms": [dataclasses.asdict(r) for r in self.rows],
        }


def columns() -> list[str]:
    return [f.name for f in dataclasses.fields(PlatformRow)]


def _engagement(t: Totals) -> float | None:
    if t.get("engagements") is not None:
        return t.get("engagements")
    parts = [t.get(m) for m in ENGAGEMENT_PARTS]
    present = [p for p in parts if p is not None]
    return sum(present) if present else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _ratio(a: float | None, b: float | None, scale: float = 1.0) -> float | None:
    if a is None or not b:
        return None
    return round(a / b * scale, 2)


@dataclass(frozen=True)
class Costs:
    """The owner's stated effort per platform and what an hour is worth."""

    effort: dict[str, Effort]
    hourly_rate: float = 0.0

    def for_period(self, platform: str, days: int) -> tuple[float | None, float | None]:
        """(hours, money) a platform took in a period of `days` days; None where nothing is configured."""
        effort = self.effort.get(platform)
        if effort is None:
            return None, None
        hours = effort.hours_per_week * days / 7
        return round(hours, 1), round(effort.monthly_cost * days * 12 / 365 + hours * self.hourly_rate, 2)


def build_row(f: PlatformFigures, days: int, currency: str, costs: Costs | None = None) -> PlatformRow:
    cur, prev = f.current, f.previous
    hours, cost = (costs or Costs({})).for_period(f.platform, days)
    engagement = _engagement(cur)
    likes = cur.get("likes") if cur.get("likes") is not None else cur.get("post_likes")
    conversions = cur.get("conversions")
    if f.tracked and conversions is None and f.conversions_source is None:
        conversions = 0.0  # a working source that saw nothing from here: zero, the verdict's point
    verdict = decide(
        Inputs(
            platform=f.platform,
            days=days,
            tracked=f.tracked,
            engagement=engagement,
            followers=cur.get("followers"),
            visits=cur.get("visits"),
            conversions=conversions,
            revenue=cur.get("revenue"),
            conversions_previous=prev.get("conversions"),
            currency=currency,
            hours=hours,
            cost=cost,
        )
    )
    foreign = [c for c in f.currencies if c != currency]
    return PlatformRow(
        platform=f.platform,
        accounts=", ".join(f.accounts),
        followers=cur.get("followers"),
        followers_change=cur.get("followers_change"),
        followers_since=f.followers_since.isoformat() if f.followers_since else None,
        engagement=engagement,
        engagement_previous=_engagement(prev),
        likes=likes,
        comments=cur.get("comments"),
        shares=cur.get("shares"),
        reach_daily_avg=_round(cur.get("reach"), 1),
        impressions=cur.get("impressions"),
        views=cur.get("views"),
        profile_views=cur.get("profile_views"),
        link_clicks=cur.get("link_clicks"),
        visits=cur.get("visits"),
        visits_previous=prev.get("visits"),
        leads=cur.get("leads"),
        orders=cur.get("orders"),
        conversions=conversions,
        conversions_offline=cur.get("offline_conversions"),
        conversions_previous=prev.get("conversions"),
        conversion_rate=_ratio(conversions, cur.get("visits"), 100.0),
        revenue=_round(cur.get("revenue"), 2),
        revenue_offline=_round(cur.get("offline_revenue"), 2),
        revenue_previous=_round(prev.get("revenue"), 2),
        likes_per_conversion=_ratio(likes, conversions),
        followers_per_conversion=_ratio(cur.get("followers"), conversions),
        messages=cur.get("messages"),
        replies=cur.get("replies"),
        hours=hours,
        cost=cost,
        cost_per_conversion=_ratio(cost, conversions),
        hours_per_conversion=_ratio(hours, conversions),
        tracked=f.tracked,
        visits_source=f.visits_source,
        conversions_source=f.conversions_source,
        conversions_basis=", ".join(f.bases),
        attribution=f.attribution,
        currency_note=f"revenue includes {', '.join(foreign)}, not converted to {currency}" if foreign else "",
        provisional=cur.provisional,
        missing="; ".join(f.missing),
        verdict=verdict.code.value,
        verdict_text=verdict.text,
    )


def build(figures: Figures, currency: str, costs: Costs | None = None) -> Report:
    period = figures.period
    previous = period.previous()
    return Report(
        start=period.start,
        end=period.end,
        previous_start=previous.start,
        previous_end=previous.end,
        days=period.days,
        currency=currency,
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        rows=[build_row(f, period.days, currency, costs) for f in figures.platforms],
    )
