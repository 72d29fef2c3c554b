"""Print a report as a Rich table, JSON or CSV.

The table is for people: colour only marks the verdict, and every meaning is
also in words, so it reads the same with NO_COLOR or in a pipe. JSON and CSV
are for scripts and carry every field.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import IO

from rich.console import Console
from rich.table import Table

from tracker.report.rows import PlatformRow, Report, columns

VERDICT_STYLE = {
    "converts": "bold green",
    "converts_little": "yellow",
    "vanity_only": "bold red",
    "not_tracked": "magenta",
    "no_data": "dim",
    "bucket": "dim",
}
VERDICT_LABEL = {
    "converts": "brings customers",
    "converts_little": "few customers",
    "vanity_only": "likes, no customers",
    "not_tracked": "not tracked",
    "no_data": "no data",
    "bucket": "",
}


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _change(value: float | None) -> str:
    if value is None:
        return ""
    return f" ({value:+,.0f})"


def _pct_change(now: float | None, before: float | None) -> str:
    if now is None or before in (None, 0):
        return ""
    return f" ({(now - before) / before * 100:+.0f}%)"  # type: ignore[operator]


def _table(report: Report) -> Table:
    table = Table(
        title=f"Social media: likes vs customers, {report.start} to {report.end} ({report.days} days)",
        caption=f"(±) change on the {report.days} days before. Reach is a daily average. * provisional days included.",
        title_justify="left",
        caption_justify="left",
    )
    for header, justify in (
        ("Platform", "left"),
        ("Followers", "right"),
        ("Engagement", "right"),
        ("Reach/day", "right"),
        ("Visits", "right"),
        ("Conversions", "right"),
        ("Conv. rate", "right"),
        ("Revenue", "right"),
        ("Likes/conv.", "right"),
        ("Verdict", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in report.rows:
        style = VERDICT_STYLE.get(row.verdict, "")
        table.add_row(
            row.platform + ("*" if row.provisional else ""),
            _num(row.followers) + _change(row.followers_change),
            _num(row.engagement) + _pct_change(row.engagement, row.engagement_previous),
            _num(row.reach_daily_avg),
            _num(row.visits) + _pct_change(row.visits, row.visits_previous),
            _num(row.conversions) + _pct_change(row.conversions, row.conversions_previous),
            f"{row.conversion_rate:.1f}%" if row.conversion_rate is not None else "–",
            _num(row.revenue, 2),
            _num(row.likes_per_conversion),
            f"[{style}]{VERDICT_LABEL.get(row.verdict, row.verdict)}[/]" if style else row.verdict,
        )
    return table


def _notes(rows: list[PlatformRow], report: Report) -> list[str]:
    notes = []
    for row in rows:
        notes.append(f"{row.platform}: {row.verdict_text}")
        sources = [f"visits from {row.visits_source}" if row.visits_source else "", f"conversions from {row.conversions_source}" if row.conversions_source else ""]
        if any(sources):
            notes.append(f"  source: {', '.join(s for s in sources if s)}")
        if row.conversions_offline:
            notes.append(f"  of which logged offline: {row.conversions_offline:,.0f} conversions, {row.revenue_offline or 0:,.2f} {report.currency}")
        if row.conversions_basis or row.attribution:
            basis = f"attributed by {row.conversions_basis}" if row.conversions_basis else ""
            notes.append("  " + "; ".join(p for p in (basis, row.attribution) if p))
        if row.hours or row.cost:
            notes.append("  effort: " + _effort(row, report.currency))
        if row.messages:
            answered = f" ({row.replies / row.messages:.0%} answered)" if row.replies is not None else ""
            notes.append(f"  care: {row.messages:,.0f} customer messages, {row.replies or 0:,.0f} replies{answered}")
        if row.currency_note:
            notes.append(f"  note: {row.currency_note}")
        if row.followers_since and row.followers_since > report.start.isoformat():
            notes.append(f"  follower history starts {row.followers_since}; earlier days cannot be recovered")
        if row.missing:
            notes.append(f"  missing (the platform no longer serves it): {row.missing}")
    notes.append(f"Revenue in {report.currency}.")
    return notes


def _effort(row: PlatformRow, currency: str) -> str:
    """"8.6 h in the period, 0.3 h per conversion": money only where some is configured."""
    spent = [f"{row.hours:,.1f} h"] if row.hours else []
    per = [f"{row.hours_per_conversion:,.1f} h"] if row.hours_per_conversion else []
    if row.cost:
        spent.append(f"{row.cost:,.2f} {currency}")
        if row.cost_per_conversion:
            per.append(f"{row.cost_per_conversion:,.2f} {currency}")
    text = f"{' and '.join(spent)} in the period"
    return text + (f", {' and '.join(per)} per conversion" if per else "")


def table(report: Report, console: Console) -> None:
    if not report.rows:
        console.print("No data for this period. Run `tracker sync` first, or `tracker demo` to see an example.")
        return
    console.print(_table(report))
    for line in _notes(report.rows, report):
        console.print(line, highlight=False, markup=False)


def as_json(report: Report, out: IO[str]) -> None:
    json.dump(report.to_json(), out, indent=2, ensure_ascii=False)
    out.write("\n")


def as_csv(report: Report, out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=columns(), lineterminator="\n")
    writer.writeheader()
    for row in report.to_json()["platforms"]:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})


RENDERERS: dict[str, Callable[[Report, IO[str]], None]] = {"json": as_json, "csv": as_csv}
