"""What the report's computation hands to its rows: each platform's figures per period, and its customer care.

Plain data: the SQL that fills it is tracker.report.compute. Rendering a report, or the empty report of a
database that holds nothing, therefore imports no database library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tracker.report.period import Period

if TYPE_CHECKING:
    from tracker.config import BusinessHours, Config

DAILY_ENGAGEMENT = ("likes", "comments", "shares")
POST_ENGAGEMENT = ("post_likes", "post_reposts", "post_replies", "post_quotes")
DAILY_COUNTS = "daily counts"  # the channel of figures from messages/replies samples: no times known


@dataclass
class Totals:
    """One platform's figures for one period; None means no data, never zero."""

    values: dict[str, float] = field(default_factory=dict)
    provisional: bool = False  # a provisional day counted; read for the current period only (shown only there)
    unknown: set[str] = field(default_factory=set)  # figures some source could not give for every day

    def get(self, metric: str) -> float | None:
        return self.values.get(metric)

    def engagement(self) -> float | None:
        """Interactions: the platform's own total where it gives one, else the sum of the parts it has."""
        if self.get("engagements") is not None:
            return self.get("engagements")
        for parts in (DAILY_ENGAGEMENT, POST_ENGAGEMENT):  # per-post counts only where no daily ones: never both
            present = [v for m in parts if (v := self.get(m)) is not None]
            if present:
                return sum(present)
        return None


@dataclass(frozen=True)
class SourceFigure:
    """What one account says a platform brought in the period, whether or not it was counted."""

    account: str
    kind: str  # first_party | analytics | manual | none
    conversions: float
    revenue: float | None
    counted: bool


@dataclass
class PlatformFigures:
    platform: str
    accounts: list[str]
    current: Totals
    previous: Totals
    tracked: bool
    visits_source: str | None
    conversions_source: str | None  # the counted order sources, joined with ", "
    followers_since: date | None
    missing: list[str]
    extras: dict[str, float]
    attribution: list[str] = field(default_factory=list)  # each counted source's own explanation
    bases: list[str] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)
    sources: list[SourceFigure] = field(default_factory=list)


@dataclass
class Figures:
    period: Period
    platforms: list[PlatformFigures]


@dataclass(frozen=True)
class CareRules:
    """How care figures are counted: business hours and holidays, the late threshold, each account's zone."""

    hours: BusinessHours
    unanswered_hours: int
    zones: dict[str, ZoneInfo]
    default_zone: ZoneInfo

    @classmethod
    def of(cls, cfg: Config) -> CareRules:
        zones = {a.name: a.timezone for a in cfg.accounts}
        return cls(cfg.care.business_hours, cfg.care.unanswered_hours, zones, cfg.timezone)

    def zone(self, account: str) -> ZoneInfo:
        return self.zones.get(account, self.default_zone)


@dataclass(frozen=True)
class CareStats:
    """Inbound items of a period and how they were answered; `minutes` are business minutes, sorted."""

    inbound: int = 0
    answered: int = 0
    minutes: tuple[float, ...] = ()
    open: int = 0  # older than the threshold and unanswered at the end of the period (a level)

    def plus(self, other: CareStats) -> CareStats:
        return CareStats(
            self.inbound + other.inbound,
            self.answered + other.answered,
            tuple(sorted(self.minutes + other.minutes)),
            self.open + other.open,
        )

    @property
    def median(self) -> float | None:
        from statistics import median  # here: most reports never ask, and the module takes milliseconds to load

        return median(self.minutes) if self.minutes else None

    @property
    def p90(self) -> float | None:
        """The nearest-rank 90th percentile: the time within which 90 % of the answered items got a reply."""
        if not self.minutes:
            return None
        return self.minutes[math.ceil(0.9 * len(self.minutes)) - 1]


@dataclass
class CareFigures:
    """One platform's care in a period: from care items per channel, plus daily counts of accounts without items."""

    platform: str
    accounts: list[str]
    channels: dict[str, CareStats]
    tracked: bool  # some account stores care items for the platform: no item in the period is 0, not missing
    messages: float | None = None  # daily `messages` of accounts without items in the period
    replies: float | None = None

    @property
    def items(self) -> CareStats:
        total = CareStats()
        for stats in self.channels.values():
            total = total.plus(stats)
        return total

    @property
    def counted_answered(self) -> float | None:
        """Replies sent can outnumber the messages (two replies to one); answered never exceeds inbound."""
        if self.messages is None:
            return None
        return min(self.replies or 0.0, self.messages)

    @property
    def inbound(self) -> float | None:
        if not self.tracked and self.messages is None:
            return None
        return self.items.inbound + (self.messages or 0.0)

    @property
    def answered(self) -> float | None:
        if self.inbound is None:
            return None
        return self.items.answered + (self.counted_answered or 0.0)

    @property
    def source(self) -> str | None:
        parts = (["care items"] if self.tracked else []) + ([DAILY_COUNTS] if self.messages is not None else [])
        return ", ".join(parts) or None


def care_only_figures(care: CareFigures) -> PlatformFigures:
    """A report row for a platform known only from care items: every other figure is missing, not zero."""
    return PlatformFigures(
        platform=care.platform,
        accounts=sorted(care.accounts),
        current=Totals(),
        previous=Totals(),
        tracked=False,
        visits_source=None,
        conversions_source=None,
        followers_since=None,
        missing=[],
        extras={},
    )
