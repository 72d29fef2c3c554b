"""One flat row per platform: the shape every output format shares.

JSON keys and CSV headers are these field names, so a script can switch
formats without renaming anything. None means "no data", never zero.

Every figure is computed and rounded here, once, to the precision people see
(`PRECISION`); the table, the sentences, JSON and CSV all print these values,
so one number never reads two ways.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from tracker.report.figures import (
    CareFigures,
    CareRules,
    CareStats,
    Figures,
    PlatformFigures,
    SourceFigure,
    care_only_figures,
)

if TYPE_CHECKING:
    from tracker.config import Effort

# Decimal places of each rounded figure; counts not listed are whole numbers from the platforms.
PRECISION = {
    "reach_daily_avg": 0,
    "revenue": 2,
    "revenue_offline": 2,
    "revenue_previous": 2,
    "conversion_rate": 1,
    "engagement_per_conversion": 0,
    "followers_per_conversion": 0,
    "hours": 1,
    "hours_per_week": 1,
    "cost": 2,
    "cost_per_conversion": 2,
    "hours_per_conversion": 1,
    "reply_rate": 0,
    "first_response_median_minutes": 0,
    "first_response_p90_minutes": 0,
}
# Sources that disagree by more than this share, or this many conversions, are both shown.
DISAGREE_SHARE = 0.20
DISAGREE_CONVERSIONS = 3


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
    engagement_per_conversion: float | None
    followers_per_conversion: float | None
    messages: float | None
    replies: float | None
    inbound: float | None
    answered: float | None
    reply_rate: float | None
    first_response_median_minutes: float | None
    first_response_p90_minutes: float | None
    unanswered_open: float | None
    care_source: str | None
    hours: float | None
    hours_per_week: float | None
    cost: float | None
    cost_per_conversion: float | None
    hours_per_conversion: float | None
    tracked: bool
    visits_source: str | None
    conversions_source: str | None
    conversions_basis: str
    sources: list[SourceFigure]
    sources_note: str
    attribution: str
    currency_note: str
    provisional: bool
    missing: str
    verdict: str
    verdict_text: str


@dataclass
class CareRow:
    """One platform's care on one channel (or `all` of them), for `tracker report --care`; None is no data."""

    platform: str
    channel: str
    inbound: float | None
    answered: float | None
    reply_rate: float | None
    first_response_median_minutes: float | None
    first_response_p90_minutes: float | None
    unanswered_open: float | None
    source: str


@dataclass(frozen=True)
class Trend:
    """A platform's daily engagement and conversions over the period, None where a day has no data."""

    engagement: list[float | None]
    conversions: list[float | None]


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
    today: date | None = None
    removed_accounts: list[str] = field(default_factory=list)
    trends: dict[str, Trend] = field(default_factory=dict)  # for people only: not in JSON or CSV
    days_per_trend_block: int = 1
    care_hours: str = ""  # how response times were counted: "business hours (Mon-Fri 09:00-18:00)"
    unanswered_hours: int | None = None
    care: list[CareRow] = field(default_factory=list)  # per platform and channel: `tracker report --care`

    @property
    def future_days(self) -> int:
        """Days of the period after the accounts' today: they have no data yet."""
        if self.today is None or self.end <= self.today:
            return 0
        return (self.end - max(self.today, self.start - date.resolution)).days

    def to_json(self) -> dict[str, Any]:
        return {
            "period": {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "days": self.days,
                "previous_start": self.previous_start.isoformat(),
                "previous_end": self.previous_end.isoformat(),
                "days_without_data_yet": self.future_days,
            },
            "currency": self.currency,
            "generated_at": self.generated_at,
            "removed_accounts": self.removed_accounts,
            "platforms": [dataclasses.asdict(r) for r in self.rows],
        }


    def care_json(self) -> dict[str, Any]:
        """`tracker report --care --format json`: the period, how times were counted, a row per platform and channel."""
        period = self.to_json()["period"]
        return {
            "period": period,
            "response_times": self.care_hours,
            "unanswered_hours": self.unanswered_hours,
            "generated_at": self.generated_at,
            "care": [dataclasses.asdict(r) for r in self.care],
        }


def columns() -> list[str]:
    return [f.name for f in dataclasses.fields(PlatformRow)]


def care_columns() -> list[str]:
    return [f.name for f in dataclasses.fields(CareRow)]


def _round(value: float | None, name: str) -> float | None:
    return None if value is None else round(value, PRECISION[name])


def _ratio(a: float | None, b: float | None, name: str, scale: float = 1.0) -> float | None:
    if a is None or not b:
        return None
    return round(a / b * scale, PRECISION[name])


@dataclass(frozen=True)
class Costs:
    """The owner's stated effort per platform and what an hour is worth."""

    effort: dict[str, Effort]
    hourly_rate: float = 0.0

    def for_period(self, platform: str, days: int) -> tuple[float | None, float | None]:
        """(hours, money) a platform took in a period of `days` days, unrounded; None where nothing is configured."""
        effort = self.effort.get(platform)
        if effort is None:
            return None, None
        hours = effort.hours_per_week * days / 7
        return hours, effort.monthly_cost * days * 12 / 365 + hours * self.hourly_rate

    def per_week(self, platform: str) -> float | None:
        effort = self.effort.get(platform)
        return effort.hours_per_week if effort else None


def disagreement(sources: list[SourceFigure], counted: float) -> str:
    """Name a source that was not counted and saw clearly different conversions; empty when they agree."""
    used = [s for s in sources if s.counted and s.kind != "manual"]
    others = [s for s in sources if not s.counted]
    if not used or not others:
        return ""
    lines = []
    for other in others:
        gap = abs(other.conversions - counted)
        if gap > DISAGREE_CONVERSIONS or gap > DISAGREE_SHARE * max(other.conversions, counted):
            lines.append(f"{other.account} ({_kind(other.kind)}) saw {other.conversions:,.0f}")
    if not lines:
        return ""
    names = ", ".join(s.account for s in used)
    return (
        f"sources disagree: counted {counted:,.0f} from {names} ({_kind(used[0].kind)}); {'; '.join(lines)}. "
        "The config's `precedence` decides which source counts (README: How sources combine)."
    )


def _kind(kind: str) -> str:
    return {"first_party": "first-party orders", "analytics": "web analytics"}.get(kind, kind)


def build_row(
    f: PlatformFigures,
    days: int,
    currency: str,
    costs: Costs | None = None,
    future: bool = False,
    care: CareFigures | None = None,
) -> PlatformRow:
    """One platform's figures, each rounded once; `future`: the period has not begun, so nothing is zero."""
    from tracker.report.verdict import Inputs, decide  # a report without rows (nothing stored) needs no verdict

    cur, prev = f.current, f.previous
    care_values = _care_values(care, future)
    costs = costs or Costs({})
    hours, cost = costs.for_period(f.platform, days)
    engagement = cur.engagement()
    conversions = cur.get("conversions")
    if f.tracked and conversions is None and not f.conversions_source and not future:
        conversions = 0.0  # a working source that saw nothing from here: zero, the verdict's point
    offline = cur.get("offline_conversions")
    revenue = _round(cur.get("revenue"), "revenue")
    per_conversion = {
        "engagement": _ratio(engagement, conversions, "engagement_per_conversion"),
        "hours": _ratio(hours, conversions, "hours_per_conversion"),
        "cost": _ratio(cost, conversions, "cost_per_conversion"),
    }
    verdict = decide(
        Inputs(
            platform=f.platform,
            days=days,
            tracked=f.tracked,
            engagement=engagement,
            followers=cur.get("followers"),
            visits=cur.get("visits"),
            conversions=conversions,
            revenue=revenue,
            conversions_previous=prev.get("conversions"),
            currency=currency,
            hours_per_week=_round(costs.per_week(f.platform), "hours_per_week") if hours else None,
            cost=_round(cost, "cost") or None,
            engagement_per_conversion=per_conversion["engagement"],
            hours_per_conversion=per_conversion["hours"],
            cost_per_conversion=per_conversion["cost"],
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
        engagement_previous=prev.engagement(),
        likes=cur.get("likes") if cur.get("likes") is not None else cur.get("post_likes"),
        comments=cur.get("comments"),
        shares=cur.get("shares"),
        reach_daily_avg=_round(cur.get("reach"), "reach_daily_avg"),
        impressions=cur.get("impressions"),
        views=cur.get("views"),
        profile_views=cur.get("profile_views"),
        link_clicks=cur.get("link_clicks"),
        visits=cur.get("visits"),
        visits_previous=prev.get("visits"),
        leads=cur.get("leads"),
        orders=cur.get("orders"),
        conversions=conversions,
        conversions_offline=offline,
        conversions_previous=prev.get("conversions"),
        conversion_rate=_ratio(conversions, cur.get("visits"), "conversion_rate", 100.0),
        revenue=revenue,
        revenue_offline=_round(cur.get("offline_revenue"), "revenue_offline"),
        revenue_previous=_round(prev.get("revenue"), "revenue_previous"),
        engagement_per_conversion=per_conversion["engagement"],
        followers_per_conversion=_ratio(cur.get("followers"), conversions, "followers_per_conversion"),
        messages=cur.get("messages"),
        replies=cur.get("replies"),
        **care_values,
        hours=_round(hours, "hours"),
        hours_per_week=_round(costs.per_week(f.platform), "hours_per_week"),
        cost=_round(cost, "cost"),
        cost_per_conversion=per_conversion["cost"],
        hours_per_conversion=per_conversion["hours"],
        tracked=f.tracked,
        visits_source=f.visits_source,
        conversions_source=f.conversions_source,
        conversions_basis=", ".join(f.bases),
        sources=[dataclasses.replace(x, revenue=_round(x.revenue, "revenue")) for x in f.sources],
        sources_note=disagreement(f.sources, (conversions or 0) - (offline or 0)),
        attribution=" ".join(dict.fromkeys(f.attribution)),
        currency_note=f"revenue includes {', '.join(foreign)}, not converted to {currency}" if foreign else "",
        provisional=cur.provisional,
        missing="; ".join(f.missing),
        verdict=verdict.code.value,
        verdict_text=verdict.text,
    )


def _care_values(care: CareFigures | None, future: bool) -> dict[str, Any]:
    """The row's care fields, rounded once; all None where no care source covers the platform (or not yet begun)."""
    if care is None or future:
        return {name: None for name in ("inbound", "answered", "reply_rate", "first_response_median_minutes",
                                         "first_response_p90_minutes", "unanswered_open", "care_source")}
    items = care.items
    return {
        "inbound": care.inbound,
        "answered": care.answered,
        "reply_rate": _ratio(care.answered, care.inbound, "reply_rate", 100.0),
        "first_response_median_minutes": _round(items.median, "first_response_median_minutes"),
        "first_response_p90_minutes": _round(items.p90, "first_response_p90_minutes"),
        "unanswered_open": float(items.open) if care.tracked else None,
        "care_source": care.source,
    }


def care_rows(care: dict[str, CareFigures]) -> list[CareRow]:
    """Per platform: a row per channel of its items, one for daily counts, and `all` when there are several."""
    found = []
    for platform, figures in care.items():
        rows = [_care_row(platform, channel, stats) for channel, stats in sorted(figures.channels.items())]
        if figures.messages is not None:
            rows.append(CareRow(platform, "daily counts", figures.messages, figures.counted_answered,
                                _ratio(figures.counted_answered, figures.messages, "reply_rate", 100.0),
                                None, None, None, "daily counts"))
        if figures.tracked and not figures.channels:
            rows.append(_care_row(platform, "all", CareStats()))
        elif len(rows) > 1:
            total = _care_row(platform, "all", figures.items)
            rows.append(dataclasses.replace(
                total, inbound=figures.inbound, answered=figures.answered, source=figures.source or "",
                reply_rate=_ratio(figures.answered, figures.inbound, "reply_rate", 100.0),
            ))
        found += rows
    return found


def _care_row(platform: str, channel: str, stats: CareStats) -> CareRow:
    return CareRow(
        platform=platform,
        channel=channel,
        inbound=float(stats.inbound),
        answered=float(stats.answered),
        reply_rate=_ratio(float(stats.answered), float(stats.inbound), "reply_rate", 100.0),
        first_response_median_minutes=_round(stats.median, "first_response_median_minutes"),
        first_response_p90_minutes=_round(stats.p90, "first_response_p90_minutes"),
        unanswered_open=float(stats.open),
        source="care items",
    )


def sort(rows: list[PlatformRow], key: str) -> list[PlatformRow]:
    """Largest `key` first (then engagement, then name); no data last; the buckets always after the platforms."""
    if not rows:
        return []  # the report of an empty store: the metric catalogue need not load
    from tracker import metrics

    bucket_order = {bucket: i for i, bucket in enumerate(metrics.BUCKETS)}

    def order(row: PlatformRow) -> tuple[bool, int, float, float, str]:
        value = None if key == "platform" else getattr(row, key)
        engagement = row.engagement
        return (
            row.platform in metrics.BUCKETS,
            bucket_order.get(row.platform, 0),
            -(value if value is not None else -1.0),
            -(engagement if engagement is not None else -1.0),
            row.platform,
        )

    return sorted(rows, key=order)


def build(
    figures: Figures,
    currency: str,
    costs: Costs | None = None,
    today: date | None = None,
    removed_accounts: list[str] | None = None,
    care: dict[str, CareFigures] | None = None,
    care_rules: CareRules | None = None,
) -> Report:
    """The report's rows; `care` (tracker.report.compute.care_figures) adds the care fields, and a row for a
    platform known only from care items."""
    period = figures.period
    previous = period.previous()
    future = today is not None and period.start > today
    care = care or {}
    shown = {f.platform for f in figures.platforms}
    busy = [c for p, c in care.items() if p not in shown and ((c.inbound or 0) > 0 or c.items.open > 0)]
    platforms = figures.platforms + [care_only_figures(c) for c in busy]
    return Report(
        start=period.start,
        end=period.end,
        previous_start=previous.start,
        previous_end=previous.end,
        days=period.days,
        currency=currency,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        rows=[build_row(f, period.days, currency, costs, future, care.get(f.platform)) for f in platforms],
        today=today,
        removed_accounts=removed_accounts or [],
        care_hours=care_rules.hours.describe() if care_rules else "",
        unanswered_hours=care_rules.unanswered_hours if care_rules else None,
        care=care_rows(care),
    )
