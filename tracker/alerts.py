"""Alerts: what the owner should hear about, conversions first.

Conversion alerts compare periods that end yesterday (the last whole day):
- zero_conversions: a tracked platform had no conversions for
  `zero_conversion_days` days while it still got visits or interactions;
- vanity_up_conversions_down: over the last `trend_days` days against the
  `trend_days` before, interactions rose by at least `trend_percent` % or
  followers grew, while conversions fell by at least `trend_percent` %;
- conversion_rate_below_baseline: conversions per visit over the last
  `trend_days` days (with at least `min_visits` visits) are more than
  `rate_drop_percent` % below the platform's own rate over the
  `baseline_days` days before.

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

import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracker import metrics
from tracker.config import Config
from tracker.errors import AlertDeliveryFailed, ConfigError
from tracker.http import HttpSession
from tracker.report import compute, rows
from tracker.report.rows import PlatformRow
from tracker.status import as_utc, attempted, last_successes
from tracker.store.models import Account, MetricStatus
from tracker.windows import account_today

TOKEN_EXPIRES_KEY = "token_expires_at"


class Kind(str, Enum):
    ZERO_CONVERSIONS = "zero_conversions"
    VANITY_UP_CONVERSIONS_DOWN = "vanity_up_conversions_down"
    CONVERSION_RATE_BELOW_BASELINE = "conversion_rate_below_baseline"
    SYNC_STALE = "sync_stale"
    TOKEN_EXPIRING = "token_expiring"
    METRIC_RETIRED = "metric_retired"


@dataclass(frozen=True)
class Alert:
    kind: str
    platform: str  # "" when the alert is about an account as a whole
    account: str  # "" when it is about a platform's figures
    message: str


def columns() -> list[str]:
    return list(Alert.__dataclass_fields__)


def evaluate(cfg: Config, engine: Engine, now: datetime) -> list[Alert]:
    """Every alert that holds at `now`, conversion alerts first."""
    yesterday = account_today(cfg.timezone, now) - timedelta(days=1)
    return conversion_alerts(cfg, engine, yesterday) + operational_alerts(cfg, engine, now)


# --- conversions -----------------------------------------------------------


def _rows(cfg: Config, engine: Engine, period: compute.Period) -> dict[str, PlatformRow]:
    figures = compute.compute(engine, period, None, cfg.precedence)
    report = rows.build(figures, cfg.currency)
    return {r.platform: r for r in report.rows if r.platform not in metrics.BUCKETS}


def conversion_alerts(cfg: Config, engine: Engine, end: date) -> list[Alert]:
    t = cfg.alerts
    zero = _rows(cfg, engine, compute.Period(end - timedelta(days=t.zero_conversion_days - 1), end))
    recent_period = compute.Period(end - timedelta(days=t.trend_days - 1), end)
    recent = _rows(cfg, engine, recent_period)
    baseline_end = recent_period.start - timedelta(days=1)
    baseline = _rows(cfg, engine, compute.Period(baseline_end - timedelta(days=t.baseline_days - 1), baseline_end))
    found = [a for row in zero.values() if (a := zero_conversions(row, t.zero_conversion_days))]
    found += [a for row in recent.values() if (a := vanity_up_conversions_down(row, t.trend_days, t.trend_percent))]
    found += [
        a
        for platform, row in recent.items()
        if platform in baseline
        and (a := rate_below_baseline(row, baseline[platform], t.baseline_days, t.rate_drop_percent, t.min_visits))
    ]
    return found


def zero_conversions(row: PlatformRow, days: int) -> Alert | None:
    if not row.tracked or row.conversions != 0:
        return None
    visits, engagement = row.visits or 0, row.engagement or 0
    if visits <= 0 and engagement <= 0:
        return None
    return Alert(
        Kind.ZERO_CONVERSIONS.value,
        row.platform,
        "",
        f"{row.platform}: no conversions in {days} days despite {visits:g} visits and {engagement:g} interactions",
    )


def vanity_up_conversions_down(row: PlatformRow, days: int, percent: int) -> Alert | None:
    now, before = row.conversions, row.conversions_previous
    if now is None or not before or now * 100 > before * (100 - percent):
        return None
    eng, eng_before = row.engagement, row.engagement_previous
    interactions_up = eng is not None and eng_before is not None and eng > eng_before and eng * 100 >= eng_before * (100 + percent)
    followers_up = (row.followers_change or 0) > 0
    if not (interactions_up or followers_up):
        return None
    vanity = (
        f"interactions {eng_before:g} -> {eng:g}" if interactions_up else f"followers +{row.followers_change:g}"
    )
    return Alert(
        Kind.VANITY_UP_CONVERSIONS_DOWN.value,
        row.platform,
        "",
        f"{row.platform}: {vanity} while conversions fell {before:g} -> {now:g} (last {days} days vs the {days} before)",
    )


def rate_below_baseline(row: PlatformRow, base: PlatformRow, baseline_days: int, drop: int, min_visits: int) -> Alert | None:
    visits, conv = row.visits, row.conversions
    base_visits, base_conv = base.visits, base.conversions
    if not visits or visits < min_visits or conv is None or not base_visits or not base_conv:
        return None
    # conv/visits < base_conv/base_visits * (100 - drop)/100, without division
    if conv * base_visits * 100 >= base_conv * visits * (100 - drop):
        return None
    return Alert(
        Kind.CONVERSION_RATE_BELOW_BASELINE.value,
        row.platform,
        "",
        f"{row.platform}: conversion rate {conv / visits * 100:.1f} % is more than {drop} % below its "
        f"{baseline_days}-day baseline of {base_conv / base_visits * 100:.1f} %",
    )


# --- operations ------------------------------------------------------------


def operational_alerts(cfg: Config, engine: Engine, now: datetime) -> list[Alert]:
    enabled = [a.name for a in cfg.accounts if a.enabled]
    return stale_syncs(cfg, engine, now, enabled) + expiring_tokens(cfg, engine, now, enabled) + retired_metrics(engine, enabled)


def stale_syncs(cfg: Config, engine: Engine, now: datetime, accounts: list[str]) -> list[Alert]:
    limit = timedelta(days=cfg.alerts.stale_days)
    successes, tried = last_successes(engine), attempted(engine)
    found = []
    for name in accounts:
        last = successes.get(name)
        if last is None and name in tried:
            found.append(Alert(Kind.SYNC_STALE.value, "", name, f"{name}: has never synced successfully"))
        elif last is not None and now - last > limit:
            found.append(
                Alert(Kind.SYNC_STALE.value, "", name, f"{name}: no successful sync since {last:%Y-%m-%d %H:%M} UTC")
            )
    return found


def token_expiry(state_json: str) -> datetime | None:
    """The expiry a plugin saved under `token_expires_at` in its state, if any and readable."""
    try:
        value = json.loads(state_json or "{}").get(TOKEN_EXPIRES_KEY)
        return as_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
    except (ValueError, AttributeError):
        return None


def expiring_tokens(cfg: Config, engine: Engine, now: datetime, accounts: list[str]) -> list[Alert]:
    t = Account.__table__
    with engine.connect() as conn:
        stored = conn.execute(sa.select(t.c.name, t.c.state_json).where(t.c.name.in_(accounts))).all()
    found = []
    for name, state_json in stored:
        expires = token_expiry(state_json)
        if expires is None or expires - now > timedelta(days=cfg.alerts.token_expiry_days):
            continue
        when = "expired" if expires <= now else "expires"
        found.append(
            Alert(Kind.TOKEN_EXPIRING.value, "", name, f"{name}: the access token {when} on {expires:%Y-%m-%d %H:%M} UTC; renew it")
        )
    return found


def retired_metrics(engine: Engine, accounts: list[str]) -> list[Alert]:
    t = MetricStatus.__table__
    query = sa.select(t).where(t.c.account.in_(accounts)).order_by(t.c.account, t.c.platform, t.c.metric)
    with engine.connect() as conn:
        stored = conn.execute(query).mappings().all()
    return [
        Alert(
            Kind.METRIC_RETIRED.value,
            r["platform"],
            r["account"],
            f"{r['account']}: {r['platform']} no longer serves {r['metric']} (since {as_utc(r['since']):%Y-%m-%d}): {r['reason']}",
        )
        for r in stored
    ]


# --- delivery --------------------------------------------------------------


def resolve_webhook(url: str, env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    match = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", url)
    if not match:
        return url
    if not env.get(match.group(1)):
        raise ConfigError(f"alerts.webhook_url: environment variable {match.group(1)} is not set")
    return env[match.group(1)]


def post(url: str, found: list[Alert], now: datetime) -> None:
    """POST the alerts as JSON; the message names only the host, since webhook paths carry tokens."""
    target = resolve_webhook(url)
    where = "{0.scheme}://{0.netloc}".format(urlsplit(target))
    body = {"generated_at": now.astimezone(timezone.utc).isoformat(timespec="seconds"), "alerts": [asdict(a) for a in found]}
    try:
        with HttpSession(timeout=15, retries=2) as http:
            response = http.post(target, json=body)
    except requests.RequestException:
        raise AlertDeliveryFailed(f"alerts webhook at {where}: cannot reach it") from None
    if response.status_code >= 400:
        raise AlertDeliveryFailed(f"alerts webhook at {where}: answered HTTP {response.status_code}")
