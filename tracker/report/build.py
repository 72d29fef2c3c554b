"""The report as a use case: from a config and a period to the rows every output shows.

`tracker report`, `tracker chart`, `tracker demo`, `tracker db migrate` (which compares reports) and the
alerts all build their figures here, so each counts the same accounts with the same precedence. Nothing
here parses options or prints: the command modules under tracker/cli/ do that.

The database libraries are imported only where the store is opened, so that the report of a database
that holds nothing starts as fast as the command line itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from tracker.report.figures import CareFigures, CareRules, Figures
from tracker.report.period import Period

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tracker.config import Config
    from tracker.report.rows import Report, Trend
    from tracker.report.series import Series

TREND_BLOCKS = 15  # at most this many blocks per sparkline, so it fits beside the figures


@dataclass
class Computed:
    """What the store gives the report: figures, care, removed accounts and, for a person, trends."""

    figures: Figures
    care: dict[str, CareFigures] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    trends: dict[str, Trend] = field(default_factory=dict)


def build_report(
    cfg: Config,
    days: int,
    until: date | None,
    platforms: list[str] | None,
    sort: str = "conversions",
    trends: bool = False,
) -> Report:
    """The report for the period; `trends` adds the sparklines a person sees in a wide terminal.

    A database that holds nothing (or no file yet) gives the empty report without being opened: there is
    nothing to compute, and nothing stored that a migration could change.
    """
    from tracker.report import rows
    from tracker.store.probe import holds_nothing
    from tracker.windows import account_today

    today = account_today(cfg.timezone)
    end = until or today
    period = Period(end - timedelta(days=days - 1), end)
    care_rules = CareRules.of(cfg)
    if holds_nothing(cfg.database):
        found = Computed(Figures(period, []))
    else:
        found = _compute(cfg, period, platforms, trends)
    if platforms:
        refuse_unknown(platforms, cfg, {f.platform for f in found.figures.platforms} | set(found.care))
        found.figures.platforms = [f for f in found.figures.platforms if f.platform in platforms]
    costs = rows.Costs(cfg.effort, cfg.hourly_rate)
    report = rows.build(found.figures, cfg.currency, costs, today, found.removed, found.care, care_rules)
    report.rows = rows.sort(report.rows, sort)
    report.trends = found.trends
    report.days_per_trend_block = trend_block(period)
    return report


def platform_figures(cfg: Config, engine: Engine, period: Period) -> Figures:
    """Every platform's figures for `period` and the one before, from the configured accounts (and logged sales)."""
    from tracker.report import compute

    return compute.compute(engine, period, None, cfg.precedence, _configured(cfg))


def care_figures(
    cfg: Config, engine: Engine, period: Period, now: datetime, platforms: list[str] | None = None
) -> dict[str, CareFigures]:
    """Customer care per platform for `period`, from the configured accounts, read at `now`."""
    from tracker.report import compute

    return compute.care_figures(engine, period, CareRules.of(cfg), now, _configured(cfg), platforms)


def _configured(cfg: Config) -> set[str]:
    return {a.name for a in cfg.accounts}


def _compute(cfg: Config, period: Period, platforms: list[str] | None, trends: bool) -> Computed:
    """The report's figures from the store, which is opened (and migrated if it is out of date) here."""
    from tracker.store.db import open_engine
    from tracker.store.forget import removed_accounts

    configured = _configured(cfg)
    engine = open_engine(cfg.database)
    try:
        return Computed(
            platform_figures(cfg, engine, period),
            care_figures(cfg, engine, period, datetime.now(UTC), platforms),
            removed_accounts(engine, configured),
            _trends(engine, period, cfg, configured) if trends else {},
        )
    finally:
        engine.dispose()


def trend_block(period: Period) -> int:
    """Days per sparkline block: the period in at most TREND_BLOCKS blocks."""
    return -(-period.days // TREND_BLOCKS)


def _trends(engine: Engine, period: Period, cfg: Config, configured: set[str]) -> dict[str, Trend]:
    """Engagement and conversions per day (or per few days, as a daily average) for each platform."""
    from tracker.report.rows import Trend
    from tracker.report.series import series

    size = trend_block(period)
    found = series(engine, period, size, precedence=cfg.precedence, configured=configured, currency=cfg.currency)

    def per_day(s: Series, field: str) -> list[float | None]:
        return [None if v is None else v / p.days for v, p in zip(s.values(field), s.periods(), strict=True)]

    return {s.platform: Trend(per_day(s, "engagement"), per_day(s, "conversions")) for s in found}


def refuse_unknown(platforms: list[str], cfg: Config, stored: set[str]) -> None:
    """A typo in --platform must not read as "no data": name the keys that exist."""
    from tracker import metrics
    from tracker.errors import UsageError

    known = cfg.attribution.platforms() | set(metrics.BUCKETS) | stored
    unknown = [p for p in platforms if p not in known]
    if unknown:
        raise UsageError(f"--platform {unknown[0]!r} is not a platform key; use one of {', '.join(sorted(known))}")
