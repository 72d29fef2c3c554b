"""`tracker explain PLATFORM METRIC [DAY]`: a report figure traced to the stored days and runs behind it."""

import dataclasses
import re
import sys
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracker.cli.common import (
    ConfigOption,
    Format,
    FormatOption,
    friendly,
    load_config,
    load_registry,
    open_engine,
    stdout,
)

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from rich.console import Console

    from tracker.config import Config
    from tracker.explain import Explanation, Step

DEFAULT_DAYS = 30  # the report's default period, so `tracker explain` without options explains `tracker report`


@friendly
def explain(
    platform: Annotated[str, typer.Argument(help="Platform key, as in the report (instagram, ...).")],
    metric: Annotated[str, typer.Argument(help="Metric, as `tracker plugins show` names it (reach, likes, ...).")],
    day: Annotated[
        datetime | None,
        typer.Argument(formats=["%Y-%m-%d"], help="Explain this one day only (YYYY-MM-DD).", show_default=False),
    ] = None,
    config: ConfigOption = None,
    days: Annotated[
        int | None, typer.Option("--days", "-d", min=1, help="Days in the period, ending today (default: 30).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day of the period (default: today).")
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Show where a report figure comes from: each day's stored value, the run that wrote it, the arithmetic."""
    from tracker.errors import UsageError

    if day is not None and (days is not None or until is not None):
        raise UsageError("give either DAY or --days/--until, not both")
    cfg = load_config(config)
    found = build_explanation(cfg, platform, metric, *_period(cfg, day, days, until))
    if fmt is Format.json:
        from tracker.output import write_json

        write_json(to_json(found, cfg.currency), sys.stdout)
    elif fmt is Format.csv:
        write_csv(found, cfg.currency)
    else:
        show_table(found, cfg.currency, cfg.timezone, stdout())


def _period(cfg: "Config", day: datetime | None, days: int | None, until: datetime | None) -> tuple[date, date]:
    from tracker.windows import account_today

    if day is not None:
        return day.date(), day.date()
    end = until.date() if until else account_today(cfg.timezone)
    return end - timedelta(days=(days or DEFAULT_DAYS) - 1), end


def build_explanation(cfg: "Config", platform: str, metric: str, start: date, end: date) -> "Explanation":
    """The explanation of one figure of `tracker report` for the same config and period."""
    from tracker import explain as core
    from tracker.report.period import Period
    from tracker.windows import account_today

    registry = load_registry(cfg)
    plugins = {p.name: core.PluginDocs(p.name, p.day_rule, p.metrics, p.platforms) for p in registry.plugins()}
    declared = {p for a in cfg.accounts if a.plugin in plugins for p in registry.get(a.plugin).platforms if p != "*"}
    request = core.Request(
        platform=platform,
        metric=metric,
        period=Period(start, end),
        configured=frozenset(a.name for a in cfg.accounts),
        precedence=cfg.precedence,
        known_platforms=frozenset(cfg.attribution.platforms() | declared),
        plugins=plugins,
        today=account_today(cfg.timezone),
    )
    engine = open_engine(cfg)
    try:
        return core.explain(engine, request)
    finally:
        engine.dispose()


# --- words -------------------------------------------------------------------------------------------


def _num(value: float, metric: str) -> str:
    if metric == "revenue":
        return f"{value:,.2f}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _signed(value: float, metric: str) -> str:
    return ("+" if value > 0 else "") + _num(value, metric)


def label(e: "Explanation", currency: str, value: float | None = None) -> str:
    """The unit words after a figure: "reach/day", "likes", "1 conversion", "EUR"."""
    if e.metric == "revenue":
        return currency
    if e.kind == "unique":
        return f"{e.metric}/day"
    return _singular(e.metric) if value == 1 else e.metric


def _singular(metric: str) -> str:
    """"conversions" beside 1 reads "conversion"; names with an underscore are left as they are."""
    from tracker.words import IRREGULAR

    plural_of = {v: k for k, v in IRREGULAR.items()}
    if "_" in metric or not metric.endswith("s"):
        return metric
    return plural_of.get(metric, metric[:-1])


def _terms(values: list[float], metric: str) -> str:
    return " + ".join(_num(v, metric) for v in values)


CHANGE_STEPS = ("change", "add_change")


def step_text(step: "Step", e: "Explanation", currency: str, final: bool) -> str:
    """One line of the arithmetic, in words; `final`: its result is the figure the report shows, rounded as it is."""
    m = e.metric
    shown = e.change if step.how in CHANGE_STEPS else e.result
    value = shown if final and shown is not None else step.result
    result = _num(value, m)
    who = f"{step.account}: " if step.account else ""
    unit = f" {label(e, currency, value)}" if final and step.how not in CHANGE_STEPS else ""
    if step.how == "average":
        days = "day" if step.days == 1 else "days"
        return f"{who}daily average: ({_terms(step.terms, m)}) / {step.days} {days} with data = {result}{unit}"
    if step.how == "sum":
        if len(step.terms) == 1:
            return f"{who}1 day: {result}{unit}"
        return f"{who}sum of {len(step.terms)} days: {_terms(step.terms, m)} = {result}{unit}"
    if step.how == "last":
        return f"{who}last value on or before {e.end} (stored for {step.day}): {result}{unit}"
    if step.how == "change":
        end, before = step.terms
        return f"{who}change since {step.day}: {_num(end, m)} - {_num(before, m)} = {_signed(value, m)}"
    if step.how == "add_change":
        return f"change added across accounts: {' + '.join(_signed(t, m) for t in step.terms)} = {_signed(value, m)}"
    if step.how == "once":
        ids = ", ".join(step.ids)
        held = f"minus what two first-party sources both hold, counted once (order {ids})"
        return f"{held}: - {_terms(step.terms, m)} = {result}{unit}"
    return f"added across accounts: {_terms(step.terms, m)} = {result}{unit}"


def arithmetic(e: "Explanation", currency: str) -> list[str]:
    """The report's arithmetic, one line per step; the last step of the figure (and of the change) is the report's."""
    figure = [i for i, s in enumerate(e.steps) if s.how not in CHANGE_STEPS]
    change = [i for i, s in enumerate(e.steps) if s.how in CHANGE_STEPS]
    final = {found[-1] for found in (figure, change) if found}
    return [step_text(s, e, currency, final=i in final) for i, s in enumerate(e.steps)]


def headline(e: "Explanation", currency: str) -> str:
    what = f"{e.platform} {e.metric}"
    if not e.in_report:
        return f"The report has no row for {e.platform} from {e.start} to {e.end}: nothing counted is stored."
    if e.result is None:
        if e.missing:
            return f"The report shows {what} as missing, not 0 (see below)."
        period = f"from {e.start} to {e.end}"
        return f"No {e.metric} stored for {e.platform} {period}: the report shows it as missing, not 0."
    figure = f"{_num(e.result, e.metric)} {label(e, currency, e.result)}"
    if e.change is not None:
        figure += f", {_signed(e.change, e.metric)} over the period"
    if e.report_field is None:
        return f"The report has no column for {e.metric}; by its rules the period's figure is {figure}:"
    field = f" ({e.report_field} in JSON and CSV)" if e.report_field != e.metric else ""
    return f"The report shows {figure}{field}:"


def notes(e: "Explanation", currency: str) -> list[str]:
    """Why the platform's own app may show another number, and what was left out."""
    from tracker.store.forget import removed_note

    name = e.platform.capitalize()
    found = []
    counted = [d for d in e.days if d.counted and d.value is not None]
    if not counted:
        pass  # nothing was added up: how a kind adds up would explain nothing
    elif e.kind == "unique":
        found.append(
            f"{e.metric} counts distinct people per day. Distinct people cannot be added across days: one person seen "
            f"on 3 days is 3 in a sum and 1 for the month. {name}'s monthly figure counts each person once per month, "
            "so the report shows the daily average, labelled /day."
        )
        accounts = {d.account for d in counted}
        if len(accounts) == 1 and len(counted) > 1:
            busiest, summed = max(d.value or 0.0 for d in counted), sum(d.value or 0.0 for d in counted)
            found.append(
                f"{name}'s own figure for these {len(counted)} days counts each person once: it lies between the "
                f"busiest day ({_num(busiest, e.metric)}) and the sum of the days ({_num(summed, e.metric)})."
            )
    elif e.kind == "gauge":
        found.append(
            f"{e.metric} is a level, not an amount per day: the report shows the last value on or before {e.end}, "
            f"never a sum, and the change since the day before the period ({e.start - timedelta(days=1)})."
        )
    else:
        own = "a plugin's own metric, added up like " if e.kind == "extra" else ""
        found.append(
            f"{e.metric} is {own}a counter: the report adds the days. {name}'s app shows the same sum for the same "
            "days unless its days end at another hour (see the day rule above) or it revised a day since the last sync."
        )
    if e.sources:
        found.append("Conversions: first-party sources add, else one analytics source counts; logged offline sales add "
                     "(README: How sources combine).")
        for s in e.sources:
            total = _num(s.total, e.metric)
            if s.counted:
                found.append(f"counted: {s.account} ({_kind(s.kind)}): {total}.")
            else:
                found.append(f"not counted: {s.account} ({_kind(s.kind)}) stored {total}: {s.why_not}.")
    if e.tracked_zero:
        found.append(f"0, not missing: a working conversion source covers {e.platform} and saw no conversions from it.")
    for m in e.missing:
        whose = f" to {m.account}" if len(e.missing) > 1 or not m.counted else ""
        extra = f"; {removed_note(m.account)}" if not m.counted else ""
        said = re.match(r"Graph refused \S+: (.*)", m.reason, re.DOTALL)
        why = f"platform said: {said.group(1)}" if said else m.reason
        since = m.since.date()
        where = f"{e.metric} not reported by {name}{whose} since {since}"
        found.append(f"missing, not 0: {where} ({m.status}: {why}){extra}.")
    if e.provisional:
        found.append("provisional: the platform may still revise these days; every sync fetches them again.")
    found += [removed_note(a).capitalize() + "." for a in e.removed]
    return found


KIND_WORDS = {"first_party": "first-party orders", "analytics": "web analytics", "manual": "logged offline"}


def _kind(kind: str) -> str:
    return KIND_WORDS.get(kind, kind)


def definitions(e: "Explanation") -> list[str]:
    meaning = f" {e.meaning}" if e.meaning else ""
    found = [f"{e.metric}: {e.kind}{f' ({e.unit})' if e.unit else ''}.{meaning}"]
    for d in e.definitions:
        rule = f" Days follow {d.day_rule}." if d.day_rule else ""
        found.append(f"{', '.join(d.accounts)} (plugin {d.plugin or 'unknown'}): {d.meaning}{rule}")
    return found


# --- formats ------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_json(e: "Explanation", currency: str) -> dict[str, Any]:
    data = _plain(dataclasses.asdict(e))
    data["label"] = label(e, currency)
    data["provisional"] = e.provisional
    data["headline"] = headline(e, currency)
    data["arithmetic"] = arithmetic(e, currency)
    data["notes"] = notes(e, currency)
    return data


CSV_FIELDS = [
    "section", "day", "account", "plugin", "value", "provisional", "counted", "use", "run_id", "run_trigger",
    "run_started_at", "run_finished_at", "text",
]


def write_csv(e: "Explanation", currency: str) -> None:
    """One table: `section` says whether a row is a stored day, a step of the arithmetic, the result or a note."""
    from tracker import output

    runs = {r.id: r for r in e.runs}
    records: list[dict[str, Any]] = []
    for d in e.days:
        run = runs.get(d.run_id) if d.run_id is not None else None
        records.append(
            {
                "section": "day", "day": d.day.isoformat(), "account": d.account, "plugin": d.plugin, "value": d.value,
                "provisional": d.provisional, "counted": d.counted, "use": d.use, "run_id": d.run_id,
                "run_trigger": run.trigger if run else None,
                "run_started_at": run.started_at.isoformat() if run else None,
                "run_finished_at": run.finished_at.isoformat() if run and run.finished_at else None,
            }
        )
    for step, text in zip(e.steps, arithmetic(e, currency), strict=True):
        records.append({"section": "step", "account": step.account, "value": step.result, "text": text})
    records.append({"section": "result", "value": e.result, "use": e.report_field, "text": headline(e, currency)})
    if e.change is not None:
        records.append({"section": "change", "value": e.change, "use": f"{e.report_field}_change"})
    records += [{"section": "note", "text": line} for line in notes(e, currency)]
    output.write_csv(records, sys.stdout, CSV_FIELDS)


def _local(value: datetime | None, tz: "ZoneInfo") -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def show_table(e: "Explanation", currency: str, tz: "ZoneInfo", console: "Console") -> None:
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    def say(text: str = "") -> None:
        console.print(text, highlight=False, markup=False)

    say(f"{e.platform} {e.metric}, {e.start} to {e.end} ({e.period_days} {'day' if e.period_days == 1 else 'days'})")
    for line in definitions(e):
        say(line)
    say()
    days = Table(title="Stored values", title_justify="left")
    for header in ("Day", "Value", "Account", "Run", "State", "Report"):
        days.add_column(header, justify="right" if header in ("Value", "Run") else "left", overflow="fold")
    for d in e.days:
        value = "–" if d.value is None else _num(d.value, e.metric)
        account = f"{d.account} ({d.plugin})" if d.account and d.plugin and d.plugin != d.account else d.account or ""
        state = "" if d.value is None else "provisional" if d.provisional else "final"
        days.add_row(d.day.isoformat(), value, account, "" if d.run_id is None else str(d.run_id), state, d.use)
    console.print(days)
    if e.runs:
        runs = Table(title="Sync runs that wrote them", title_justify="left")
        for header in ("Run", "Trigger", "Started", "Finished", "Status"):
            runs.add_column(header, justify="right" if header == "Run" else "left", overflow="fold")
        for r in e.runs:
            runs.add_row(str(r.id), r.trigger, _local(r.started_at, tz), _local(r.finished_at, tz), r.status)
        console.print(runs)
    say()
    say(headline(e, currency))
    for line in arithmetic(e, currency):
        console.print(Padding(Text(line), (0, 0, 0, 2)))
    say()
    for line in notes(e, currency):
        say(line)
