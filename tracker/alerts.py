"""Alerts: what the owner should hear about, conversions first, each with the figures it used.

Conversion alerts compare periods that end yesterday (the last whole day).
An alert that would rest on too little data stays silent: a false alarm on a
new install teaches the owner to ignore the real one.

- zero_conversions: a tracked platform had no conversions for
  `zero_conversion_days` days while it got at least
  `zero_conversions_min_activity` visits, or at least that many interactions.
  Logged (`tracker log`) and imported conversions count, and so do those
  stored for today: a sale logged today means the platform is not without
  conversions, although today is not a whole day yet.
- vanity_up_conversions_down: over the last `trend_days` days against the
  `trend_days` before, interactions rose by at least `trend_percent` % or
  followers grew, while conversions fell by at least `trend_percent` %.
  Both periods need data: conversions above 0 in the previous period, and
  for the rising figure either interactions above 0 in the previous period
  from accounts whose stored interactions start on or before its first day
  (a half-synced previous period would make any period look like a rise), or
  a followers count stored inside the previous period.
- conversion_rate_below_baseline: conversions per visit over the last
  `trend_days` days are more than `rate_drop_percent` % below the platform's
  own rate over the `baseline_days` days before. Both periods need at least
  `min_visits` visits, and the baseline at least `trend_days` days of
  history: days on which the platform's visits source stored a visits sample
  (a stored 0 is a day with data; a day the source never reported is not).

Customer care:
- unanswered: inbound items (comments, messages, mentions, reviews) of the
  last 30 days that have waited more than `[care] unanswered_hours` (calendar
  hours, default 48) without a reply, at the time the alerts run. Deleted
  items and the account's own do not count. Only platforms whose plugins
  yield care items can have it; daily message counts know no waiting times.

Operational alerts:
- sync_stale: an enabled account synced before but has had no successful
  sync for more than `stale_days` days;
- token_expiring: a plugin reported its token's expiry (the state key
  `token_expires_at`, an ISO 8601 time) and it falls within
  `token_expiry_days` days;
- metric_retired: the platform stopped serving a metric (table metric_status).

Comparisons are made in whole numbers (percent times counts), so a case
exactly at a threshold fires the same way on every machine.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracker import metrics
from tracker.config import RESERVED_ACCOUNT, AlertsConfig, Config
from tracker.envref import env_name
from tracker.errors import AlertDeliveryFailed, ConfigError
from tracker.http import HttpSession
from tracker.redact import Redactor, webhook_secrets
from tracker.report import build, compute
from tracker.status import as_utc, attempted, last_successes
from tracker.store import samples
from tracker.store.models import ACCOUNT, METRIC_STATUS, SERIES, SERIES_DAY
from tracker.windows import account_today
from tracker.words import count

TOKEN_EXPIRES_KEY = "token_expires_at"
INTERACTION_METRICS = ("engagements", *compute.ENGAGEMENT_PARTS)
CONVERSION_METRIC = "conversions"


class Kind(StrEnum):
    ZERO_CONVERSIONS = "zero_conversions"
    VANITY_UP_CONVERSIONS_DOWN = "vanity_up_conversions_down"
    CONVERSION_RATE_BELOW_BASELINE = "conversion_rate_below_baseline"
    UNANSWERED = "unanswered"
    SYNC_STALE = "sync_stale"
    TOKEN_EXPIRING = "token_expiring"
    METRIC_RETIRED = "metric_retired"


Value = int | float | str | None


@dataclass(frozen=True)
class Figure:
    """One figure an alert used, so the owner can check it and a script can read it; None is missing, not 0."""

    name: str
    value: Value


@dataclass(frozen=True)
class Alert:
    kind: str
    platform: str  # "" when the alert is about an account as a whole
    account: str  # "" when it is about a platform's figures
    message: str
    evidence: tuple[Figure, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON (and webhook) shape: evidence as an object, in the order the alert used it."""
        return {
            "kind": self.kind,
            "platform": self.platform,
            "account": self.account,
            "message": self.message,
            "evidence": {f.name: f.value for f in self.evidence},
        }

    def evidence_text(self) -> str:
        """The evidence on one line, `name=value; ...`, for people and CSV."""
        return "; ".join(f"{f.name}={_text(f.value)}" for f in self.evidence)


def _text(value: Value) -> str:
    return "missing" if value is None else str(value)


def _num(value: float | None) -> int | float | None:
    """Whole numbers as integers, so 70 visits read `70`, not `70.0`."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 2)


def _fmt(value: float) -> str:
    """A count as the owner reads it: 3,287; a fraction keeps two decimals."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def columns() -> list[str]:
    return list(Alert.__dataclass_fields__)


def evaluate(cfg: Config, engine: Engine, now: datetime) -> list[Alert]:
    """Every alert that holds at `now`, conversion alerts first, redacted for printing, logging and posting.

    Redacted here too, although the store keeps reasons redacted: a reason stored by an older tracker may
    still hold a token, and an alert is shown, logged and posted to a third party.
    """
    yesterday = account_today(cfg.timezone, now) - timedelta(days=1)
    found = conversion_alerts(cfg, engine, yesterday) + care_alerts(cfg, engine, now)
    found += operational_alerts(cfg, engine, now)
    redactor = Redactor.for_config(cfg)
    return [redacted(a, redactor) for a in found]


def redacted(alert: Alert, redactor: Redactor) -> Alert:
    evidence = tuple(
        Figure(f.name, redactor.text(f.value) if isinstance(f.value, str) else f.value) for f in alert.evidence
    )
    return dataclasses.replace(alert, message=redactor.text(alert.message), evidence=evidence)


# --- conversions -----------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One platform's figures in one period, as the alerts read them; None means no data, never zero."""

    platform: str
    period: compute.Period
    tracked: bool
    visits: float | None
    visits_source: str | None
    conversions: float | None
    interactions: float | None
    followers_change: float | None


def _side(f: compute.PlatformFigures, period: compute.Period, totals: compute.Totals) -> Side:
    conversions = totals.get("conversions")
    if f.tracked and conversions is None and not f.conversions_source:
        conversions = 0.0  # a covering source that saw nothing from here: zero, as in the report
    return Side(
        platform=f.platform,
        period=period,
        tracked=f.tracked,
        visits=totals.get("visits"),
        visits_source=f.visits_source,
        conversions=conversions,
        interactions=totals.engagement(),
        followers_change=totals.get("followers_change"),
    )


def _sides(cfg: Config, engine: Engine, period: compute.Period) -> dict[str, tuple[Side, Side]]:
    """Per platform (never a bucket): its figures in `period` and the period before, from configured accounts only."""
    figures = build.platform_figures(cfg, engine, period)
    previous = period.previous()
    return {
        f.platform: (_side(f, period, f.current), _side(f, previous, f.previous))
        for f in figures.platforms
        if f.platform not in metrics.BUCKETS
    }


def _counted(cfg: Config) -> list[str]:
    """Accounts whose stored data counts: the configured ones and the logged offline sales."""
    return [a.name for a in cfg.accounts] + [RESERVED_ACCOUNT]


@dataclass(frozen=True)
class History:
    """What period totals hide and the alerts need: which days hold data. Read from the store directly."""

    conn: Connection
    accounts: list[str]

    def days_with_visits(self, account: str | None, platform: str, period: compute.Period) -> int:
        """Days in `period` on which `account` stored a visits sample for `platform` (a stored 0 counts)."""
        if account is None:
            return 0
        s, d = SERIES, SERIES_DAY
        query = sa.select(sa.func.count()).select_from(samples.joined()).where(
            s.c.account == account, s.c.platform == platform, s.c.metric == "visits",
            _within(d, period.start, period.end),
        )
        return int(self.conn.execute(query).scalar_one())

    def interactions_start(self, platform: str, until: date) -> date | None:
        """The latest first day among the accounts that stored interactions for `platform` up to `until`.

        The latest, not the earliest: totals add every account, so one account that started late makes
        the earlier period look smaller than it was.
        """
        s, d = SERIES, SERIES_DAY
        query = (
            sa.select(s.c.account, sa.func.min(d.c.day))
            .select_from(samples.joined())
            .where(s.c.account.in_(self.accounts), s.c.platform == platform, s.c.metric.in_(INTERACTION_METRICS))
            .where(d.c.day <= samples.day_number(until))
            .group_by(s.c.account)
        )
        return max((samples.day_of(first) for _account, first in self.conn.execute(query)), default=None)

    def has_followers_in(self, platform: str, period: compute.Period) -> bool:
        s, d = SERIES, SERIES_DAY
        query = sa.select(sa.func.count()).select_from(samples.joined()).where(
            s.c.account.in_(self.accounts), s.c.platform == platform, s.c.metric == "followers",
            _within(d, period.start, period.end),
        )
        return int(self.conn.execute(query).scalar_one()) > 0

    def conversions_after(self, platform: str, end: date, today: date) -> float:
        """Conversions any conversion source (logged, imported or analytics) stored after `end`, up to `today`."""
        s, d, a = SERIES, SERIES_DAY, ACCOUNT
        sources = sa.select(a.c.name).where(a.c.name.in_(self.accounts), a.c.conversion_source != "none")
        query = sa.select(sa.func.coalesce(sa.func.sum(d.c.value), 0)).select_from(samples.joined()).where(
            s.c.account.in_(sources), s.c.platform == platform, s.c.metric == CONVERSION_METRIC,
            _within(d, end + timedelta(days=1), today),
        )
        return float(self.conn.execute(query).scalar_one())


def _within(days: sa.Table, first: date, last: date) -> sa.ColumnElement[bool]:
    """The stored days from `first` to `last`, both included."""
    return days.c.day.between(samples.day_number(first), samples.day_number(last))


def conversion_alerts(cfg: Config, engine: Engine, end: date) -> list[Alert]:
    t = cfg.alerts
    today = end + timedelta(days=1)
    zero = _sides(cfg, engine, compute.Period(end - timedelta(days=t.zero_conversion_days - 1), end))
    recent_period = compute.Period(end - timedelta(days=t.trend_days - 1), end)
    recent = _sides(cfg, engine, recent_period)
    baseline_end = recent_period.start - timedelta(days=1)
    baseline_period = compute.Period(baseline_end - timedelta(days=t.baseline_days - 1), baseline_end)
    baseline = _sides(cfg, engine, baseline_period)
    found: list[Alert] = []
    with engine.connect() as conn:
        history = History(conn, _counted(cfg))
        for side, _ in zero.values():
            if a := zero_conversions(side, history.conversions_after(side.platform, end, today), t):
                found.append(a)
        for now, before in recent.values():
            if a := vanity_up_conversions_down(now, before, history, t):
                found.append(a)
        for platform, (now, _) in recent.items():
            if platform not in baseline:
                continue
            base = baseline[platform][0]
            days = history.days_with_visits(base.visits_source, platform, base.period)
            if a := rate_below_baseline(now, base, days, t):
                found.append(a)
    return found


def _period_figures(prefix: str, period: compute.Period) -> tuple[Figure, ...]:
    return (Figure(f"{prefix}start", period.start.isoformat()), Figure(f"{prefix}end", period.end.isoformat()))


def zero_conversions(side: Side, conversions_today: float, t: AlertsConfig) -> Alert | None:
    if not side.tracked or side.conversions != 0 or conversions_today > 0:
        return None
    visits, interactions = side.visits, side.interactions
    floor = t.zero_conversions_min_activity
    if (visits or 0) < floor and (interactions or 0) < floor:
        return None
    seen = [count(v, word) for v, word in ((visits, "visit"), (interactions, "interaction")) if v is not None]
    return Alert(
        Kind.ZERO_CONVERSIONS.value,
        side.platform,
        "",
        f"{side.platform}: no conversions in {count(side.period.days, 'day')} despite {' and '.join(seen)}",
        (
            *_period_figures("period_", side.period),
            Figure("conversions", _num(side.conversions)),
            Figure("conversions_today", _num(conversions_today)),
            Figure("visits", _num(visits)),
            Figure("interactions", _num(interactions)),
            Figure("min_activity", floor),
        ),
    )


def _interactions_rose(now: Side, before: Side, history: History, percent: int) -> bool:
    eng, eng_before = now.interactions, before.interactions
    if eng is None or not eng_before or eng <= eng_before or eng * 100 < eng_before * (100 + percent):
        return False
    start = history.interactions_start(now.platform, now.period.end)
    return start is not None and start <= before.period.start


def vanity_up_conversions_down(now: Side, before: Side, history: History, t: AlertsConfig) -> Alert | None:
    conv, conv_before = now.conversions, before.conversions
    if conv is None or not conv_before or conv * 100 > conv_before * (100 - t.trend_percent):
        return None
    interactions_up = _interactions_rose(now, before, history, t.trend_percent)
    followers_up = (now.followers_change or 0) > 0 and history.has_followers_in(now.platform, before.period)
    if not (interactions_up or followers_up):
        return None
    vanity = (
        f"interactions {_fmt(before.interactions or 0)} -> {_fmt(now.interactions or 0)}"
        if interactions_up
        else f"followers +{_fmt(now.followers_change or 0)}"
    )
    return Alert(
        Kind.VANITY_UP_CONVERSIONS_DOWN.value,
        now.platform,
        "",
        f"{now.platform}: {vanity} while conversions fell {_fmt(conv_before)} -> {_fmt(conv)} "
        f"(last {count(now.period.days, 'day')} vs the {now.period.days} before)",
        (
            *_period_figures("period_", now.period),
            *_period_figures("previous_", before.period),
            Figure("interactions", _num(now.interactions)),
            Figure("interactions_previous", _num(before.interactions)),
            Figure("followers_change", _num(now.followers_change)),
            Figure("conversions", _num(conv)),
            Figure("conversions_previous", _num(conv_before)),
            Figure("trend_percent", t.trend_percent),
        ),
    )


def rate_below_baseline(now: Side, base: Side, base_days: int, t: AlertsConfig) -> Alert | None:
    """`base_days`: days with a stored visits sample in the baseline period (see the module docstring)."""
    visits, conv = now.visits, now.conversions
    base_visits, base_conv = base.visits, base.conversions
    if visits is None or visits < t.min_visits or conv is None:
        return None
    if base_visits is None or base_visits < t.min_visits or not base_conv or base_days < t.trend_days:
        return None
    # conv/visits < base_conv/base_visits * (100 - drop)/100, without division
    if conv * base_visits * 100 >= base_conv * visits * (100 - t.rate_drop_percent):
        return None
    rate, base_rate = round(conv / visits * 100, 1), round(base_conv / base_visits * 100, 1)
    return Alert(
        Kind.CONVERSION_RATE_BELOW_BASELINE.value,
        now.platform,
        "",
        f"{now.platform}: conversion rate {rate:.1f} % is more than {t.rate_drop_percent} % below its "
        f"{base.period.days}-day baseline of {base_rate:.1f} %",
        (
            *_period_figures("period_", now.period),
            Figure("visits", _num(visits)),
            Figure("conversions", _num(conv)),
            Figure("rate_percent", rate),
            *_period_figures("baseline_", base.period),
            Figure("baseline_visits", _num(base_visits)),
            Figure("baseline_conversions", _num(base_conv)),
            Figure("baseline_rate_percent", base_rate),
            Figure("baseline_days_with_visits", base_days),
            Figure("rate_drop_percent", t.rate_drop_percent),
            Figure("min_visits", t.min_visits),
            Figure("min_days", t.trend_days),
        ),
    )


# --- customer care ---------------------------------------------------------


def care_alerts(cfg: Config, engine: Engine, now: datetime) -> list[Alert]:
    """Per platform: items that waited more than `unanswered_hours` for a reply, among those of the last 30 days."""
    today = account_today(cfg.timezone, now)
    period = compute.Period(today - timedelta(days=compute.OPEN_DAYS - 1), today)
    care = build.care_figures(cfg, engine, period, now)
    found = []
    for platform, figures in care.items():
        if a := unanswered(platform, figures.items, period, cfg.care.unanswered_hours):
            found.append(a)
    return found


def unanswered(platform: str, stats: compute.CareStats, period: compute.Period, hours: int) -> Alert | None:
    if stats.open == 0:
        return None
    return Alert(
        Kind.UNANSWERED.value,
        platform,
        "",
        f"{count(stats.open, 'question')} on {platform} unanswered for more than {count(hours, 'hour')}",
        (
            Figure("unanswered", stats.open),
            Figure("unanswered_hours", hours),
            *_period_figures("period_", period),
            Figure("inbound", stats.inbound),
            Figure("answered", stats.answered),
        ),
    )


# --- operations ------------------------------------------------------------


def operational_alerts(cfg: Config, engine: Engine, now: datetime) -> list[Alert]:
    enabled = [a.name for a in cfg.accounts if a.enabled]
    return (
        stale_syncs(cfg, engine, now, enabled)
        + expiring_tokens(cfg, engine, now, enabled)
        + retired_metrics(engine, enabled)
    )


def stale_syncs(cfg: Config, engine: Engine, now: datetime, accounts: list[str]) -> list[Alert]:
    limit = timedelta(days=cfg.alerts.stale_days)
    successes, tried = last_successes(engine), attempted(engine)
    found = []
    for name in accounts:
        last = successes.get(name)
        if last is None and name in tried:
            found.append(
                Alert(
                    Kind.SYNC_STALE.value, "", name, f"{name}: has never synced successfully", _stale_figures(None, cfg)
                )
            )
        elif last is not None and now - last > limit:
            found.append(
                Alert(
                    Kind.SYNC_STALE.value, "", name, f"{name}: no successful sync since {last:%Y-%m-%d %H:%M} UTC",
                    _stale_figures(last, cfg),
                )
            )
    return found


def _stale_figures(last: datetime | None, cfg: Config) -> tuple[Figure, ...]:
    when = None if last is None else last.astimezone(UTC).isoformat(timespec="seconds")
    return (Figure("last_success", when), Figure("stale_days", cfg.alerts.stale_days))


def token_expiry(state_json: str) -> datetime | None:
    """The expiry a plugin saved under `token_expires_at` in its state, if any and readable."""
    try:
        value = json.loads(state_json or "{}").get(TOKEN_EXPIRES_KEY)
        return as_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
    except (ValueError, AttributeError):
        return None


def expiring_tokens(cfg: Config, engine: Engine, now: datetime, accounts: list[str]) -> list[Alert]:
    t = ACCOUNT
    with engine.connect() as conn:
        stored = conn.execute(sa.select(t.c.name, t.c.state_json).where(t.c.name.in_(accounts))).all()
    found = []
    for name, state_json in stored:
        expires = token_expiry(state_json)
        if expires is None or expires - now > timedelta(days=cfg.alerts.token_expiry_days):
            continue
        when = "expired" if expires <= now else "expires"
        found.append(
            Alert(
                Kind.TOKEN_EXPIRING.value,
                "",
                name,
                f"{name}: the access token {when} on {expires:%Y-%m-%d %H:%M} UTC; renew it",
                (
                    Figure("expires_at", expires.isoformat(timespec="seconds")),
                    Figure("token_expiry_days", cfg.alerts.token_expiry_days),
                ),
            )
        )
    return found


def retired_metrics(engine: Engine, accounts: list[str]) -> list[Alert]:
    t = METRIC_STATUS
    query = sa.select(t).where(t.c.account.in_(accounts)).order_by(t.c.account, t.c.platform, t.c.metric)
    with engine.connect() as conn:
        stored = conn.execute(query).mappings().all()
    return [
        Alert(
            Kind.METRIC_RETIRED.value,
            r["platform"],
            r["account"],
            f"{r['account']}: {r['platform']} no longer serves {r['metric']} "
            f"(since {as_utc(r['since']):%Y-%m-%d}): {r['reason']}",
            (
                Figure("metric", r["metric"]),
                Figure("since", f"{as_utc(r['since']):%Y-%m-%d}"),
                Figure("reason", r["reason"]),
            ),
        )
        for r in stored
    ]


# --- delivery --------------------------------------------------------------


def resolve_webhook(url: str, env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    name = env_name(url)
    if name is None:
        return url
    if not env.get(name):
        raise ConfigError(f"alerts.webhook_url: environment variable {name} is not set")
    return env[name]


def post(url: str, found: list[Alert], now: datetime) -> None:
    """POST the alerts as JSON.

    Its messages name only the webhook's host (credentials hidden), since webhook paths carry tokens.
    """
    target = resolve_webhook(url)
    where = Redactor.of(webhook_secrets(target)).url("{0.scheme}://{0.netloc}".format(urlsplit(target)))
    body: dict[str, Any] = {
        "generated_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "alerts": [a.to_json() for a in found],
    }
    try:
        with HttpSession(timeout=15, retries=2) as http:
            response = http.post(target, json=body)
    except requests.RequestException:
        raise AlertDeliveryFailed(f"alerts webhook at {where}: cannot reach it") from None
    if response.status_code >= 400:
        raise AlertDeliveryFailed(f"alerts webhook at {where}: answered HTTP {response.status_code}")
