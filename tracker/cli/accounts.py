"""`tracker accounts check`: is each account reachable, without syncing?"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tracker.cli.common import ConfigOption, Format, FormatOption, friendly, load_config, load_registry, stdout

if TYPE_CHECKING:
    from tracker.config import AccountConfig, Config
    from tracker.registry import Registry

app = typer.Typer(help="Check configured accounts.", no_args_is_help=True)


@dataclass
class CheckResult:
    account: str
    plugin: str
    status: str  # ok | failed | unchecked
    message: str


def check_account(cfg: Config, registry: Registry, account: AccountConfig) -> CheckResult:
    """One cheap call through the plugin's own check; every failure is a one-line message."""
    from tracker import options
    from tracker.http import HttpSession
    from tracker.collect import describe_error

    secrets: list[str] = []
    try:
        plugin = registry.get(account.plugin)
        where = f"{cfg.path or '<config>'}: accounts.{account.name}"
        opts, problems = options.build(plugin, account.options, where=where, attribution=cfg.attribution)
        if problems:
            return CheckResult(account.name, account.plugin, "failed", "; ".join(problems))
        secrets = options.secret_values(opts)
        if plugin.check is None:
            return CheckResult(account.name, account.plugin, "unchecked", "this plugin has no check; try `tracker sync --account`")
        with HttpSession(retries=1) as http:
            return CheckResult(account.name, account.plugin, "ok", plugin.check(opts, http))
    except Exception as exc:  # a check must never crash the listing, whatever the plugin raises
        return CheckResult(account.name, account.plugin, "failed", describe_error(exc, secrets))


@app.command("check")
@friendly
def check(
    name: Annotated[list[str] | None, typer.Argument(help="Accounts to check (default: all).", show_default=False)] = None,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Make one cheap authenticated call per account and say what is wrong, if anything."""
    from tracker.errors import UnknownAccount

    cfg = load_config(config, required=True)
    registry = load_registry(cfg)
    accounts = list(cfg.accounts)
    if name:
        unknown = [n for n in name if cfg.account(n) is None]
        if unknown:
            raise UnknownAccount(f"no account named {unknown[0]!r} in {cfg.path}")
        accounts = [a for a in accounts if a.name in name]
    results = [check_account(cfg, registry, a) for a in accounts]
    if fmt is Format.json:
        json.dump([asdict(r) for r in results], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt is Format.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=["account", "plugin", "status", "message"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(asdict(r) for r in results)
    else:
        table = Table(title="Accounts", title_justify="left")
        for header in ("Account", "Plugin", "Status", "Details"):
            table.add_column(header)
        for r in results:
            status = {"ok": "[green]ok[/]", "failed": "[bold red]FAILED[/]"}.get(r.status, r.status)
            table.add_row(r.account, r.plugin, status, r.message)
        stdout().print(table)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(code=1)
