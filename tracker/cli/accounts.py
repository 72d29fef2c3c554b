"""`tracker accounts check|forget|rename`: is each account reachable; delete or rename one account's stored data."""

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.common import ConfigOption, Format, FormatOption, friendly, load_config, load_registry, stderr, stdout

if TYPE_CHECKING:
    from rich.console import Console

    from tracker.config import Config
    from tracker.store.forget import Rows

app = typer.Typer(help="Check configured accounts; forget or rename one's stored data.", no_args_is_help=True)


@app.command("check")
@friendly
def check(
    name: Annotated[
        list[str] | None, typer.Argument(help="Accounts to check (default: all).", show_default=False)
    ] = None,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Make one cheap authenticated call per account and say what is wrong, if anything."""
    from tracker import output
    from tracker.errors import UnknownAccount

    cfg = load_config(config, required=True)
    registry = load_registry(cfg)
    accounts = list(cfg.accounts)
    if name:
        unknown = [n for n in name if cfg.account(n) is None]
        if unknown:
            raise UnknownAccount(f"no account named {unknown[0]!r} in {cfg.path}")
        accounts = [a for a in accounts if a.name in name]
    from tracker.accounts import check_account

    results = [check_account(cfg, registry, a) for a in accounts]
    if fmt is Format.json:
        output.write_json([asdict(r) for r in results], sys.stdout)
    elif fmt is Format.csv:
        output.write_csv([asdict(r) for r in results], sys.stdout, ["account", "plugin", "status", "message"])
    elif not results:
        from tracker.cli.config import NO_ACCOUNTS

        stdout().print(NO_ACCOUNTS.format(path=cfg.path), markup=False, highlight=False)
    else:
        from rich.table import Table

        table = Table(title="Accounts", title_justify="left")
        for header in ("Account", "Plugin", "Status", "Details"):
            table.add_column(header)
        for r in results:
            status = {"ok": "[green]ok[/]", "failed": "[bold red]FAILED[/]"}.get(r.status, r.status)
            table.add_row(r.account, r.plugin, status, r.message)
        stdout().print(table)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(code=1)


def _warnings(cfg: "Config", name: str) -> list[str]:
    """What the owner should know before the delete: it may come back, or may not be fetchable at all."""
    from tracker.config import RESERVED_ACCOUNT

    found = []
    if cfg.account(name) is not None:
        found.append(
            f"{name} is still in {cfg.path}: the next sync fetches it again; "
            f"remove its [accounts.{name}] table to keep it gone"
        )
    if name == RESERVED_ACCOUNT:
        found.append(f"{name} holds the sales and leads logged with `tracker log`: no sync can bring them back")
    return found


@dataclass(frozen=True)
class Advice:
    """What the owner should know before a change to stored data, shown with the rows."""

    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"warning: {w}" for w in self.warnings] + [f"note: {n}" for n in self.notes]


def _show_plan(console: "Console", rows: "Rows", action: Callable[[str], str], advice: Advice) -> None:
    """Rows per table and what happens to them (`action` of a `Rows` field), before anything changes."""
    from rich.table import Table

    table = Table(title=f"Stored data of account {rows.account}", title_justify="left")
    table.add_column("Table")
    table.add_column("Rows", justify="right")
    table.add_column("Action")
    for field_name, table_name, count in rows.tables():
        table.add_row(table_name, f"{count:,}", action(field_name))
    console.print(table)
    for line in advice.lines():
        console.print(line, highlight=False, markup=False)


def _confirmed(yes: bool, verb: str, question: str) -> bool:
    """--yes, or the owner's answer on a terminal; off a terminal without --yes, a refusal naming the flag."""
    from tracker.errors import UsageError

    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"not {verb} without a confirmation: pass --yes (input is not a terminal)")
    return typer.confirm(question, default=False, err=True)


def _forget_action(field_name: str) -> str:
    return "kept (run history)" if field_name == "runs" else "delete"


@app.command("forget")
@friendly
def forget(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The account whose stored data to delete, exactly as stored.")
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking (needed when input is not a terminal).")
    ] = False,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    # One line: the command list in `tracker accounts --help` keeps a docstring's line breaks.
    """Delete one account's stored numbers, order records, statuses and state (shows the rows first; keeps run history)."""  # noqa: E501
    from tracker.cli.common import open_engine
    from tracker.errors import UnknownAccount
    from tracker.store import forget as store

    cfg = load_config(config)
    engine = open_engine(cfg)
    try:
        planned = store.plan(engine, name)
        if planned.stored == 0:
            stored = ", ".join(store.stored_accounts(engine)) or "none"
            raise UnknownAccount(f"account {name!r} has no stored data to forget; stored accounts: {stored}")
        warnings = _warnings(cfg, name)
        _show_plan(stdout() if fmt is Format.table else stderr(), planned, _forget_action, Advice(warnings))
        if not _confirmed(yes, f"forgetting {name}", f"Delete these rows of {name}?"):
            stderr().print("Nothing deleted.", highlight=False)
            raise typer.Exit(code=1)
        done = store.forget(engine, name)
    finally:
        engine.dispose()
    _show_result(done, warnings, fmt)


def _show_result(done: "Rows", warnings: list[str], fmt: Format) -> None:
    from tracker import output, words

    if fmt is Format.table:
        deleted, kept = words.count(done.deleted, "row"), words.count(done.runs, "row")
        stdout().print(f"Forgot {done.account}: deleted {deleted}; kept {kept} of run history.", highlight=False)
        return
    rows = [{"table": t, "rows": n, "action": "kept" if f == "runs" else "deleted"} for f, t, n in done.tables()]
    if fmt is Format.json:
        output.write_json({"account": done.account, "tables": rows, "warnings": warnings}, sys.stdout)
    else:
        output.write_csv(rows, sys.stdout, ["table", "rows", "action"])


def _rename_advice(cfg: "Config", old: str, new: str) -> Advice:
    """Whether the config already reads the new name: the usual order is config first, then the data."""
    where = cfg.path or "the config"
    has_old, has_new = cfg.account(old) is not None, cfg.account(new) is not None
    if has_old:
        fix = f"rename its [accounts.{old}] table to [accounts.{new}]"
        if has_new:
            fix = f"remove its [accounts.{old}] table"
        return Advice(warnings=[f"{old} is still in {where}: the next sync fetches it again under that name; {fix}"])
    if not has_new:
        left_out = f"reports leave its data out until an [accounts.{new}] table reads it"
        return Advice(warnings=[f"{new} is not in {where}: {left_out}"])
    return Advice(notes=[f"{where} already reads {new} instead of {old}: the rename gives {new} the history of {old}"])


@app.command("rename")
@friendly
def rename(
    old: Annotated[str, typer.Argument(metavar="OLD", help="The account's stored name (its old [accounts.OLD]).")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="The name to move its data to, as in [accounts.NEW].")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Rename without asking (needed off a terminal).")] = False,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Move one account's stored data, run history included, to a new name (shows the rows first).

    Rename its [accounts.OLD] table in the config to [accounts.NEW], then run this: the report keeps its history.
    """
    from tracker.cli.common import open_engine
    from tracker.store import rename as store

    cfg = load_config(config)
    engine = open_engine(cfg)
    try:
        planned = store.plan(engine, old, new)
        advice = _rename_advice(cfg, old, new)
        _show_plan(stdout() if fmt is Format.table else stderr(), planned, lambda _: f"move to {new}", advice)
        if not _confirmed(yes, f"renaming {old}", f"Move these rows of {old} to {new}?"):
            stderr().print("Nothing renamed.", highlight=False)
            raise typer.Exit(code=1)
        done = store.rename(engine, old, new)
    finally:
        engine.dispose()
    _show_renamed(done, new, advice, fmt)


def _show_renamed(done: "Rows", new: str, advice: Advice, fmt: Format) -> None:
    from tracker import output, words

    if fmt is Format.table:
        moved = words.count(done.total, "row")
        stdout().print(f"Renamed {done.account} to {new}: moved {moved}, run history included.", highlight=False)
        return
    rows = [{"table": t, "rows": n, "action": "moved"} for _, t, n in done.tables()]
    if fmt is Format.json:
        renamed = {"account": done.account, "renamed_to": new, "tables": rows}
        output.write_json({**renamed, "warnings": advice.warnings, "notes": advice.notes}, sys.stdout)
    else:
        output.write_csv(rows, sys.stdout, ["table", "rows", "action"])
