"""Load and validate the TOML config; find the files tracker uses.

Found by `--config`, then `TRACKER_CONFIG`, then the user config dir. Every
problem is one line: `file: key: what is wrong`. Plugin options are checked
against the plugin's declaration in `check()`, which needs the registry;
`load()` checks only what the core itself owns.
"""

from __future__ import annotations

import builtins
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.attribution import Attribution
from tracker.envref import is_env_ref
from tracker.errors import ConfigError
from tracker.windows import DEFAULT_INITIAL_DAYS, DEFAULT_LOOKBACK_DAYS

if TYPE_CHECKING:  # rate limits and schedules are read only where a config has them: every command loads the config
    from tracker.ratelimit import Rate

APP = "tracker"
MAX_DAYS = 10_000  # lookback_days, initial_days: about 27 years, back to 1999; more overflows a date
RESERVED_ACCOUNT = "manual"  # offline sales from `tracker log`
# Accounts fetched at once. A fetch mostly waits on the platform, so threads are cheap; 16 keep a 2-core box
# busy with 500 accounts of 50 ms requests, and [rate_limits] keeps every platform within its budget anyway.
DEFAULT_WORKERS = 16
ACCOUNT_KEYS = {"plugin", "lookback_days", "initial_days", "timezone", "enabled", "schedule"}
TOP_KEYS = {
    "database",
    "timezone",
    "currency",
    "lookback_days",
    "initial_days",
    "workers",
    "plugin_dirs",
    "precedence",
    "attribution",
    "accounts",
    "schedule",
    "alerts",
    "hourly_rate",
    "effort",
    "care",
    "rate_limits",
}


def config_dir() -> Path:
    import platformdirs  # only where no --config, TRACKER_CONFIG or database names the file

    return Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP))


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def default_database() -> str:
    return f"sqlite:///{data_dir() / 'tracker.db'}"


def local_timezone() -> ZoneInfo:
    name = os.environ.get("TZ", "")
    if name:
        try:
            return ZoneInfo(name.lstrip(":"))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        link = os.readlink("/etc/localtime")
        return ZoneInfo(link.split("zoneinfo/", 1)[1])
    except (OSError, IndexError, ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class AccountConfig:
    name: str
    plugin: str
    options: dict[str, Any]
    timezone: ZoneInfo
    lookback_days: int | None
    initial_days: int
    enabled: bool
    position: int
    schedule: str | None = None  # a cron expression; None: the [schedule] sync


@dataclass(frozen=True)
class ScheduleConfig:
    """When `tracker schedule` syncs: `sync` is a cron expression read in `timezone`."""

    sync: str = "30 6 * * *"
    timezone: ZoneInfo | None = None  # None: the config's timezone
    misfire_grace_minutes: int = 60


@dataclass(frozen=True)
class Effort:
    """What one platform costs: money per month (ads, tools) and the owner's hours per week."""

    monthly_cost: float = 0.0
    hours_per_week: float = 0.0


@dataclass(frozen=True)
class AlertsConfig:
    """Thresholds for `tracker alerts`; `webhook_url` may be a ${ENV_VAR} reference."""

    zero_conversion_days: int = 14
    zero_conversions_min_activity: int = 30
    trend_days: int = 28
    trend_percent: int = 10
    baseline_days: int = 90
    rate_drop_percent: int = 30
    min_visits: int = 30
    stale_days: int = 2
    token_expiry_days: int = 7
    repeated_failures: int = 3
    webhook_url: str | None = None


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "always"


@dataclass(frozen=True)
class BusinessHours:
    """When the business answers customers: opening intervals per weekday, and holidays without any.

    Response times count only these hours, read in each account's time zone: a question on Friday at
    17:00 answered on Monday at 10:00 took 2 business hours with "Mon-Fri 09:00-18:00". `ALWAYS`
    counts every minute.
    """

    text: str = "Mon-Fri 09:00-18:00"
    # weekday (0 = Monday) -> (open, close) as minutes after midnight; close may be 1440 (24:00)
    intervals: tuple[tuple[int, int, int], ...] = tuple((d, 9 * 60, 18 * 60) for d in range(5))
    holidays: frozenset[date] = frozenset()

    @property
    def always(self) -> bool:
        return self.text == ALWAYS

    def describe(self) -> str:
        """"business hours (Mon-Fri 09:00-18:00, holidays excepted)", or "calendar time"."""
        if self.always:
            return "calendar time (every hour counts)"
        return f"business hours ({self.text}{', holidays excepted' if self.holidays else ''})"

    def minutes_between(self, start: datetime, end: datetime, tz: ZoneInfo) -> float:
        """Business minutes from `start` to `end` (aware), opening hours read as wall-clock time in `tz`.

        Compared in UTC, so a day on which the clocks change counts the hours that really passed.
        """
        if end <= start:
            return 0.0
        if self.always:
            return (end - start).total_seconds() / 60
        start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
        total = 0.0
        day = start.astimezone(tz).date()
        last = end.astimezone(tz).date()
        while day <= last:
            if day not in self.holidays:
                for weekday, opens, closes in self.intervals:
                    if weekday != day.weekday():
                        continue
                    begin = _at(day, opens, tz)
                    finish = _at(day, closes, tz)
                    overlap = (min(finish, end_utc) - max(begin, start_utc)).total_seconds()
                    total += max(overlap, 0.0) / 60
            day += timedelta(days=1)
        return total


def _at(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """`minutes` after midnight of `day`, as wall-clock time in `tz` (24:00 is the next midnight), in UTC."""
    return (datetime.combine(day, time(0), tz) + timedelta(minutes=minutes)).astimezone(UTC)


@dataclass(frozen=True)
class CareConfig:
    """`[care]`: how response times are counted, and when an unanswered item is late."""

    business_hours: BusinessHours = field(default_factory=BusinessHours)
    unanswered_hours: int = 48


@dataclass(frozen=True)
class Config:
    path: Path | None
    database: str
    timezone: ZoneInfo
    currency: str = "EUR"
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    initial_days: int = DEFAULT_INITIAL_DAYS
    workers: int = DEFAULT_WORKERS
    plugin_dirs: tuple[Path, ...] = ()
    precedence: tuple[str, ...] = ()
    attribution: Attribution = field(default_factory=Attribution)
    accounts: tuple[AccountConfig, ...] = ()
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    hourly_rate: float = 0.0
    effort: dict[str, Effort] = field(default_factory=dict)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    care: CareConfig = field(default_factory=CareConfig)
    rate_limits: dict[str, Rate | None] = field(default_factory=dict)  # plugin name -> its budget; None: no limit

    def account(self, name: str) -> AccountConfig | None:
        return next((a for a in self.accounts if a.name == name), None)


def find_path(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    env = os.environ.get("TRACKER_CONFIG")
    return Path(env) if env else default_config_path()


def empty(database: str | None = None) -> Config:
    """The config used when there is no file: default database, no accounts."""
    return Config(path=None, database=database or default_database(), timezone=local_timezone())


def load(explicit: Path | None = None, *, required: bool = False) -> Config:
    path = find_path(explicit)
    if not path.exists():
        if required or explicit is not None:
            raise ConfigError(f"{path}: no config file here; run `tracker init` to write one")
        return empty()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply to read") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse(raw, path)


class _Reader:
    """Collects one-line problems while reading typed values out of a table."""

    def __init__(self, path: Path | None) -> None:
        self.where = str(path) if path else "<config>"
        self.problems: list[str] = []

    def problem(self, key: str, reason: str) -> None:
        self.problems.append(f"{self.where}: {key}: {reason}")

    def int(
        self, table: Mapping[str, Any], key: str, label: str, default: int, minimum: int = 0, maximum: int | None = None
    ) -> int:
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.problem(label, f"must be a whole number >= {minimum}, not {value!r}")
            return default
        if maximum is not None and value > maximum:
            self.problem(label, f"must be a whole number <= {maximum:,}, not {value!r}")
            return default
        return value

    def str(self, table: Mapping[str, Any], key: str, label: str, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value:
            self.problem(label, f"must be non-empty text, not {value!r}")
            return default
        return value

    def tz(
        self, table: Mapping[builtins.str, Any], key: builtins.str, label: builtins.str, default: ZoneInfo
    ) -> ZoneInfo:
        if key not in table:
            return default
        try:
            return ZoneInfo(str(table[key]))
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(label, f"unknown time zone {table[key]!r} (use a name like \"Europe/Berlin\")")
            return default


def parse(raw: Mapping[str, Any], path: Path | None = None) -> Config:
    r = _Reader(path)
    for key in sorted(set(raw) - TOP_KEYS):
        r.problem(key, f"unknown setting (known: {', '.join(sorted(TOP_KEYS))})")
    tz = r.tz(raw, "timezone", "timezone", local_timezone())
    base = path.parent if path else Path.cwd()
    database = _database(r, raw, base)
    currency = r.str(raw, "currency", "currency", "EUR").upper()
    if len(currency) != 3 or not currency.isalpha():
        r.problem("currency", f"must be a three-letter currency code like \"EUR\", not {raw.get('currency')!r}")
    lookback = r.int(raw, "lookback_days", "lookback_days", DEFAULT_LOOKBACK_DAYS, maximum=MAX_DAYS)
    initial = r.int(raw, "initial_days", "initial_days", DEFAULT_INITIAL_DAYS, minimum=1, maximum=MAX_DAYS)
    workers = r.int(raw, "workers", "workers", DEFAULT_WORKERS, minimum=1)
    plugin_dirs = tuple(_paths(r, raw.get("plugin_dirs", []), base))
    precedence = raw.get("precedence", [])
    if not isinstance(precedence, list) or not all(isinstance(p, str) for p in precedence):
        r.problem("precedence", "must be a list of account names, like [\"shop\", \"ga4\"]")
        precedence = []
    attribution = _attribution(r, raw.get("attribution", {}))
    accounts = _accounts(r, raw.get("accounts", {}), tz, lookback, initial)
    schedule = _schedule(r, raw.get("schedule", {}))
    alerts = _alerts(r, raw.get("alerts", {}))
    hourly_rate = _money(r, raw, "hourly_rate", "hourly_rate")
    effort = _effort(r, raw.get("effort", {}))
    care = _care(r, raw.get("care", {}))
    rate_limits = _rate_limits(r, raw.get("rate_limits", {}))
    for name in precedence:
        if not any(a.name == name for a in accounts):
            r.problem("precedence", f"names account {name!r}, which is not configured")
    if r.problems:
        raise ConfigError(r.problems)
    return Config(
        path=path,
        database=database,
        timezone=tz,
        currency=currency,
        lookback_days=lookback,
        initial_days=initial,
        workers=workers,
        plugin_dirs=plugin_dirs,
        precedence=tuple(precedence),
        attribution=attribution,
        accounts=tuple(accounts),
        schedule=schedule,
        alerts=alerts,
        hourly_rate=hourly_rate,
        effort=effort,
        care=care,
        rate_limits=rate_limits,
    )


def _rate_limits(r: _Reader, value: Any) -> dict[str, Rate | None]:
    """`[rate_limits]`: plugin name = "N/second|minute|hour|day" (or "none"), each checked on its own."""
    if not isinstance(value, dict):
        r.problem("rate_limits", 'must be a table like [rate_limits] with facebook = "200/hour"')
        return {}
    if not value:
        return {}
    from tracker.ratelimit import parse_rate  # its locks and logging serve the sync alone

    rates: dict[str, Rate | None] = {}
    for name, text in value.items():
        try:
            rates[name] = parse_rate(text)
        except ValueError as exc:
            r.problem(f"rate_limits.{name}", str(exc))
    return rates


def _money(r: _Reader, table: Mapping[str, Any], key: str, label: str) -> float:
    value = table.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or not math.isfinite(value):
        r.problem(label, f"must be a number >= 0, not {value!r}")
        return 0.0
    return float(value)


def _effort(r: _Reader, value: Any) -> dict[str, Effort]:
    if not isinstance(value, dict):
        r.problem("effort", "must be tables like [effort.instagram] with monthly_cost and hours_per_week")
        return {}
    effort = {}
    for platform, table in value.items():
        label = f"effort.{platform}"
        if not isinstance(table, dict):
            r.problem(label, "must be a table with monthly_cost and/or hours_per_week")
            continue
        for key in sorted(set(table) - {"monthly_cost", "hours_per_week"}):
            r.problem(f"{label}.{key}", "unknown setting (known: monthly_cost, hours_per_week)")
        effort[platform] = Effort(
            _money(r, table, "monthly_cost", f"{label}.monthly_cost"),
            _money(r, table, "hours_per_week", f"{label}.hours_per_week"),
        )
    return effort


def _database(r: _Reader, raw: Mapping[str, Any], base: Path) -> str:
    """The database URL; the default one (in the user data dir) is worked out only when the config has none."""
    if "database" not in raw:
        return default_database()
    value = r.str(raw, "database", "database", "")
    if not value:
        return default_database()
    if "://" in value:
        return value
    path = _local_path(r, "database", value, base, resolve=True)
    return f"sqlite:///{path}" if path else default_database()


def _local_path(r: _Reader, label: str, value: str, base: Path, *, resolve: bool = False) -> Path | None:
    """`value` with `~` expanded, relative to the config's folder; None (and a problem) where no file can be."""
    if "\x00" in value:
        r.problem(label, f"holds a NUL character, which no file name can: {value!r}")
        return None
    try:
        path = Path(value).expanduser()
    except RuntimeError as exc:  # ~name of a user this machine does not know
        r.problem(label, f"cannot expand {value!r}: {exc}")
        return None
    if path.is_absolute():
        return path
    return (base / path).resolve() if resolve else base / path


def _paths(r: _Reader, value: Any, base: Path) -> list[Path]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        r.problem("plugin_dirs", "must be a list of folder paths, like [\"~/tracker-plugins\"]")
        return []
    return [p for p in (_local_path(r, "plugin_dirs", v, base) for v in value) if p is not None]


def _attribution(r: _Reader, value: Any) -> Attribution:
    if not isinstance(value, dict):
        r.problem("attribution", "must be a table with `hosts` and/or `sources`")
        return Attribution()
    tables: dict[str, dict[str, str]] = {}
    for key in ("hosts", "sources"):
        table = value.get(key, {})
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            r.problem(f"attribution.{key}", 'must map text to a platform key, like { "social.example" = "mastodon" }')
            table = {}
        tables[key] = table
    for key in sorted(set(value) - {"hosts", "sources"}):
        r.problem(f"attribution.{key}", "unknown setting (known: hosts, sources)")
    return Attribution().extended(tables["hosts"], tables["sources"])


def _accounts(r: _Reader, value: Any, tz: ZoneInfo, lookback: int, initial: int) -> list[AccountConfig]:
    if not isinstance(value, dict):
        r.problem("accounts", "must be tables like [accounts.my_page]")
        return []
    accounts = []
    for position, (name, table) in enumerate(value.items()):
        label = f"accounts.{name}"
        if not isinstance(table, dict):
            r.problem(label, "must be a table with at least `plugin = \"...\"`")
            continue
        if name == RESERVED_ACCOUNT:
            r.problem(
                label, f"the name {RESERVED_ACCOUNT!r} is reserved for sales logged with `tracker log`; rename it"
            )
            continue
        plugin = table.get("plugin")
        if not isinstance(plugin, str) or not plugin:
            r.problem(f"{label}.plugin", "missing: say which plugin reads this account, like plugin = \"facebook\"")
            continue
        enabled = table.get("enabled", True)
        if not isinstance(enabled, bool):
            r.problem(f"{label}.enabled", f"must be true or false, not {enabled!r}")
        accounts.append(
            AccountConfig(
                name=name,
                plugin=plugin,
                options={k: v for k, v in table.items() if k not in ACCOUNT_KEYS},
                timezone=r.tz(table, "timezone", f"{label}.timezone", tz),
                lookback_days=r.int(table, "lookback_days", f"{label}.lookback_days", lookback, maximum=MAX_DAYS)
                if "lookback_days" in table
                else None,
                initial_days=r.int(
                    table, "initial_days", f"{label}.initial_days", initial, minimum=1, maximum=MAX_DAYS
                ),
                enabled=enabled is not False,
                position=position,
                schedule=_cron(r, table["schedule"], f"{label}.schedule", account=True)
                if "schedule" in table
                else None,
            )
        )
    return accounts


SCHEDULE_KEYS = ("sync", "timezone", "misfire_grace_minutes")


ALERT_KEYS = tuple(f.name for f in fields(AlertsConfig))


def _cron(r: _Reader, value: Any, label: str, *, account: bool = False) -> str | None:
    """"HH:MM", "hourly", "daily" or cron (five fields, or six with seconds first); None means the [schedule] sync."""
    text = " ".join(str(value).split()) if isinstance(value, str) else ""
    if account and text == "daily":
        return None
    hhmm = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    cron = {"hourly": "0 * * * *", "daily": "30 6 * * *"}.get(text) or (
        f"{int(hhmm.group(2))} {int(hhmm.group(1))} * * *" if hhmm else text
    )
    from tracker.schedules import schedule_trigger

    try:
        schedule_trigger(cron, "UTC")
        return cron
    except ValueError as exc:
        r.problem(label, f"must be \"HH:MM\", \"hourly\", \"daily\" or cron like \"30 6 * * *\", not {value!r} ({exc})")
        return None


def _schedule(r: _Reader, value: Any) -> ScheduleConfig:
    if not isinstance(value, dict):
        r.problem("schedule", "must be a table like [schedule] with sync = \"06:30\"")
        return ScheduleConfig()
    for key in sorted(set(value) - set(SCHEDULE_KEYS)):
        r.problem(f"schedule.{key}", f"unknown setting (known: {', '.join(SCHEDULE_KEYS)})")
    default = ScheduleConfig()
    sync = _cron(r, value["sync"], "schedule.sync") if "sync" in value else default.sync
    return ScheduleConfig(
        sync=sync or default.sync,
        timezone=r.tz(value, "timezone", "schedule.timezone", None),  # type: ignore[arg-type]
        misfire_grace_minutes=r.int(value, "misfire_grace_minutes", "schedule.misfire_grace_minutes", 60, minimum=1),
    )


def _alerts(r: _Reader, value: Any) -> AlertsConfig:
    if not isinstance(value, dict):
        r.problem("alerts", "must be a table like [alerts] with zero_conversion_days = 14")
        return AlertsConfig()
    for key in sorted(set(value) - set(ALERT_KEYS)):
        r.problem(f"alerts.{key}", f"unknown setting (known: {', '.join(ALERT_KEYS)})")
    default = AlertsConfig()
    numbers = {
        key: r.int(value, key, f"alerts.{key}", getattr(default, key), minimum=1)
        for key in ALERT_KEYS
        if key != "webhook_url"
    }
    url = value.get("webhook_url")
    if url is not None and not (
        isinstance(url, str) and (url.startswith(("http://", "https://")) or is_env_ref(url))
    ):
        r.problem("alerts.webhook_url", "must be an http(s) URL or a ${ENV_VAR} reference holding one")
        url = None
    if numbers["baseline_days"] < numbers["trend_days"]:
        # the baseline needs trend_days days with visits: a shorter one could never hold them
        r.problem(
            "alerts.baseline_days",
            f"must be at least trend_days ({numbers['trend_days']}), not {numbers['baseline_days']}",
        )
    return AlertsConfig(**numbers, webhook_url=url)


CARE_KEYS = ("business_hours", "holidays", "unanswered_hours")
# A pattern, not a compiled one: re compiles it at the first [care] business_hours (every command loads the config).
_HOURS_GROUP = r"([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})"
HOURS_FORMAT = (
    'must be days and hours like "Mon-Fri 09:00-18:00" (several joined by commas: '
    '"Mon-Fri 09:00-18:00, Sat 10:00-14:00") or "always"'
)


def _care(r: _Reader, value: Any) -> CareConfig:
    if not isinstance(value, dict):
        r.problem("care", 'must be a table like [care] with business_hours = "Mon-Fri 09:00-18:00"')
        return CareConfig()
    for key in sorted(set(value) - set(CARE_KEYS)):
        r.problem(f"care.{key}", f"unknown setting (known: {', '.join(CARE_KEYS)})")
    default = CareConfig()
    hours = value.get("business_hours", default.business_hours.text)
    parsed = _business_hours(hours) if isinstance(hours, str) else None
    if parsed is None:
        r.problem("care.business_hours", f"{HOURS_FORMAT}, not {hours!r}")
        parsed = default.business_hours
    holidays = _holidays(r, value.get("holidays", []))
    return CareConfig(
        business_hours=BusinessHours(parsed.text, parsed.intervals, holidays),
        unanswered_hours=r.int(value, "unanswered_hours", "care.unanswered_hours", default.unanswered_hours, minimum=1),
    )


def _business_hours(text: str) -> BusinessHours | None:
    """"Mon-Fri 09:00-18:00, Sat 10:00-14:00" or "always"; None if it reads otherwise."""
    if " ".join(text.split()).lower() == ALWAYS:
        return BusinessHours(ALWAYS, ())
    intervals: list[tuple[int, int, int]] = []
    for group in text.split(","):
        match = re.fullmatch(_HOURS_GROUP, group.strip().lower())
        if match is None or match.group(1) not in WEEKDAYS or (match.group(2) or "mon") not in WEEKDAYS:
            return None
        first = WEEKDAYS.index(match.group(1))
        last = WEEKDAYS.index(match.group(2)) if match.group(2) else first
        h1, m1, h2, m2 = (int(match.group(i)) for i in range(3, 7))
        opens, closes = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or h1 > 23 or closes > 1440 or opens >= closes:
            return None
        days = range(first, first + (last - first) % 7 + 1)  # "Fri-Mon" wraps over the weekend
        intervals += [(d % 7, opens, closes) for d in days]
    return BusinessHours(" ".join(text.split()), tuple(sorted(intervals)))


def _holidays(r: _Reader, value: Any) -> frozenset[date]:
    """ISO dates, quoted ("2026-12-25") or as TOML dates (2026-12-25)."""
    if not isinstance(value, list):
        r.problem("care.holidays", f'must be a list of dates like ["2026-12-25", "2026-12-26"], not {value!r}')
        return frozenset()
    days = set()
    for item in value:
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)
        elif isinstance(item, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", item) and _iso_day(item):
            days.add(date.fromisoformat(item))
        else:
            r.problem("care.holidays", f'{item!r} is not a date like "2026-12-25"')
    return frozenset(days)


def _iso_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
