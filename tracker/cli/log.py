"""`tracker log sale|lead|list|undo`: offline conversions in one command."""

import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.common import ConfigOption, Format, FormatOption, friendly, load_config, open_engine, stdout

app = typer.Typer(help="Log sales and leads that happened offline.", no_args_is_help=True)

PlatformOption = Annotated[
    str, typer.Option("--platform", "-p", help="Where the customer came from (instagram, xing, ...).")
]
AmountOption = Annotated[
    float | None,
    typer.Option(
        help="Amount of the sale; leave it out if unknown (that day's revenue then shows as missing, never 0)."
    ),
]
LeadValueOption = Annotated[float, typer.Option("--amount", help="What the lead is worth, if known (default 0).")]
DateOption = Annotated[
    datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="Day it happened (default: today).")
]
NoteOption = Annotated[str, typer.Option(help="A note for yourself (\"phone order, saw the reel\").")]


def _record(
    config: Path | None, platform: str, kind: str, amount: float | None, day: datetime | None, note: str
) -> None:
    from tracker import manual
    from tracker.windows import account_today

    cfg = load_config(config)
    engine = open_engine(cfg)
    try:
        today = account_today(cfg.timezone)
        when = day.date() if day else today
        record_id = manual.log(
            engine, platform=platform, kind=kind, day=when, amount=amount, currency=cfg.currency, note=note,
            known=cfg.attribution.platforms(), today=today,
        )
    finally:
        engine.dispose()
    money = f" of {amount:,.2f} {cfg.currency}" if amount else ""
    unknown = ", amount unknown (that day's revenue shows as missing)" if amount is None and kind == "order" else ""
    stdout().print(
        f"Logged {kind} {record_id}{money} from {platform} on {when}{unknown}. Undo: tracker log undo {record_id}",
        highlight=False,
    )


@app.command("sale")
@friendly
def sale(
    platform: PlatformOption, amount: AmountOption = None, date: DateOption = None, note: NoteOption = "",
    config: ConfigOption = None,
) -> None:
    """Record an offline sale from a platform ("I saw you on Instagram")."""
    _record(config, platform, "order", amount, date, note)


@app.command("lead")
@friendly
def lead(
    platform: PlatformOption,
    amount: LeadValueOption = 0.0,
    date: DateOption = None,
    note: NoteOption = "",
    config: ConfigOption = None,
) -> None:
    """Record an offline lead (an enquiry, a booking) from a platform."""
    _record(config, platform, "lead", amount, date, note)


ImportOption = Annotated[
    str | None,
    typer.Option("--account", "-a", help="An account that imports orders (a csv account), instead of the logged ones."),
]


@app.command("list")
@friendly
def list_(
    config: ConfigOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Include withdrawn entries.")] = False,
    account: ImportOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Show logged sales and leads (or, with --account, the orders an import holds)."""
    from rich.table import Table

    from tracker import manual, output

    engine = open_engine(load_config(config))
    try:
        entries = manual.listed(engine, include_withdrawn=all_, account=account or manual.ACCOUNT)
    finally:
        engine.dispose()
    rows = [{**asdict(e), "day": e.day.isoformat()} for e in entries]
    if fmt is Format.json:
        output.write_json(rows, sys.stdout)
        return
    if fmt is Format.csv:
        fields = ["id", "platform", "day", "kind", "amount", "currency", "note", "withdrawn", "ref"]
        output.write_csv([{k: r[k] for k in fields} for r in rows], sys.stdout, fields)
        return
    table = Table(title=f"Orders and leads of {account}" if account else "Logged conversions", title_justify="left")
    for header in ("Id", "Day", "Platform", "Kind", "Amount", "Note"):
        table.add_column(header, justify="right" if header == "Amount" else "left")
    for e in entries:
        kind = f"{e.kind} (withdrawn)" if e.withdrawn else e.kind
        amount = "unknown" if e.amount is None else f"{e.amount:,.2f}"
        table.add_row(e.id, e.day.isoformat(), e.platform, "sale" if kind == "order" else kind, amount, e.note or e.ref)
    stdout().print(table)


@app.command("undo")
@friendly
def undo(
    record_id: Annotated[
        str, typer.Argument(metavar="ID", help="The id `tracker log list` shows, or an imported order's number.")
    ],
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="The account holding the order, if several do.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Withdraw a logged sale or lead, or an imported order (kept, marked withdrawn, never counted again)."""
    from tracker import manual

    engine = open_engine(load_config(config))
    try:
        done = manual.undo(engine, record_id, account)
    finally:
        engine.dispose()
    where = ""
    if done.account != manual.ACCOUNT:
        where = f" ({done.account}: {done.ref})" if done.ref else f" ({done.account})"
    stdout().print(f"Withdrew {record_id}{where}.", highlight=False)
