"""`tracker status`: last and next run per account, failing accounts, stale platforms."""

import dataclasses
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.cli.common import ConfigOption, Format, FormatOption, friendly, load_config, open_engine, stdout
from tracker.runs import RunStatus

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from rich.console import Console

    from tracker.status import Status


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _local(value: datetime | None, tz: "ZoneInfo") -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def to_json(status: "Status") -> dict[str, Any]:
    return {
        "generated_at": _plain(status.generated_at),
        "accounts": [{k: _plain(v) for k, v in dataclasses.asdict(a).items()} for a in status.accounts],
        "platforms": [{k: _plain(v) for k, v in dataclasses.asdict(p).items()} for p in status.platforms],
        "removed_accounts": [dataclasses.asdict(r) for r in status.removed],
    }


def write_csv(status: "Status") -> None:
    """One table: a `section` column says whether a row is an account, a platform or a removed account."""
    from tracker import output

    data = to_json(status)
    rows = [{"section": "account", **a} for a in data["accounts"]] + [
        {"section": "platform", **p} for p in data["platforms"]
    ]
    rows += [{"section": "removed_account", **r} for r in data["removed_accounts"]]
    output.write_csv(rows, sys.stdout)


def show_table(status: "Status", tz: "ZoneInfo", config_path: Path | None) -> None:
    console = stdout()
    if not status.accounts:
        where = f"in {config_path}" if config_path else "yet (no config file: `tracker init` writes one)"
        message = f"No accounts configured {where}: add an [accounts.NAME] table, then `tracker sync`."
        console.print(message, highlight=False, markup=False)
    else:
        _accounts_table(status, tz, console)
    _platforms_table(status, tz, console)
    for removed in status.removed:
        console.print(f"Note: {removed.note}", highlight=False, markup=False)


def _accounts_table(status: "Status", tz: "ZoneInfo", console: "Console") -> None:
    from rich.table import Table

    accounts = Table(title="Accounts", title_justify="left")
    for header in ("Account", "Last run", "Status", "Rows", "Why", "Last success", "Next run"):
        accounts.add_column(header, justify="right" if header == "Rows" else "left")
    for a in status.accounts:
        state = a.last_status or "never synced"
        if not a.enabled:
            state = "disabled"
        elif a.syncing_now:
            state = f"syncing now ({a.syncing_now})"
        elif a.failing_repeatedly:
            state = f"FAILING ({a.failures_in_a_row} runs in a row)"
        elif a.last_status == RunStatus.FAILED:
            state = "FAILED"
        rows = "" if a.last_rows is None else str(a.last_rows)
        accounts.add_row(
            a.account,
            _local(a.last_run_at, tz),
            state,
            rows,
            a.last_error,
            _local(a.last_success_at, tz),
            _local(a.next_run, tz),
        )
    console.print(accounts)


def _platforms_table(status: "Status", tz: "ZoneInfo", console: "Console") -> None:
    from rich.table import Table

    platforms = Table(title="Data freshness", title_justify="left")
    for header in ("Platform", "Latest day", "Days behind", "Last synced", "Accounts"):
        platforms.add_column(header, justify="right" if header == "Days behind" else "left")
    for p in status.platforms:
        behind = "" if p.days_behind is None else str(p.days_behind)
        platforms.add_row(p.platform, str(p.latest_day or ""), behind, _local(p.last_synced_at, tz), p.accounts)
    if status.platforms:
        console.print(platforms)
    elif status.accounts:
        console.print("No data yet: run `tracker sync`.")


@friendly
def status(config: ConfigOption = None, fmt: FormatOption = Format.table) -> None:
    """Show each account's last run and next scheduled run, repeated failures and how stale each platform is."""
    from tracker import status as status_mod

    cfg = load_config(config)
    engine = open_engine(cfg)
    try:
        result = status_mod.snapshot(cfg, engine, datetime.now().astimezone())
    finally:
        engine.dispose()
    if fmt is Format.json:
        from tracker import output

        output.write_json(to_json(result), sys.stdout)
    elif fmt is Format.csv:
        write_csv(result)
    else:
        show_table(result, cfg.timezone, cfg.path)
