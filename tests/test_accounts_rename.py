"""`tracker accounts rename`: one account's stored data moved to a new name, shown first, never mixed with
another's; `tracker config check` points out a config change that looks like a rename."""

import json
import os
import pty
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime

import pytest

from tracker import config as cfgmod
from tracker.locks import Leases
from tracker.registry import discover
from tracker.store import writes
from tracker.store.db import open_engine
from tracker.store.rename import rename as rename_rows
from tracker.sync import Syncer

from .conftest import fast_http, noon
from .test_accounts_forget import rows_per_table
from .test_cli import invoke

TODAY = date(2026, 11, 27)
TOKEN = "kiosk-token-0123456789abcdef"
KIOSK = '''
from dataclasses import dataclass
from datetime import datetime, time, timezone

from tracker.plugin import (
    CareItem, Conversion, ConversionSource, Plugin, PostStat, Sample, Secret, State, Unavailable, option,
)


@dataclass(frozen=True)
class KioskOptions:
    shop: str = option(help="The shop's id at the kiosk service.")
    token: Secret = option(help="The kiosk service's API token.")
    platform: str = option("instagram", help="The platform every number is about.")
    base_url: str = option("https://api.kiosk.example", help="The kiosk service's address.")


def fetch(opts, window, http, state):
    """Something for every table a sync writes: a gauge and a counter, a retired metric, an order, state."""
    yield [Sample(opts.platform, "followers", day, 1465) for day in window.days()]
    yield [Sample(opts.platform, "likes", day, 3) for day in window.days()]
    yield Unavailable(opts.platform, "profile_views", "retired by the platform")
    yield [Conversion(id=opts.shop + "-1", platform=opts.platform, day=window.until, amount=10.0)]
    yield [PostStat(opts.platform, opts.shop + "-post-1", "", window.until, 5, 1, 0)]
    yield [CareItem(opts.platform, "comment", "c-1", datetime.combine(window.until, time(9), timezone.utc))]
    yield State({"last_day": window.until.isoformat()})


plugin = Plugin(
    name="kiosk", platforms=("*",), fetch=fetch, options=KioskOptions, conversion_source=ConversionSource.FIRST_PARTY
)
'''
BAKERY = {"shop": "42", "token": "${KIOSK_TOKEN}", "platform": "xing"}
SHOP = {"shop": "7", "token": "${KIOSK_TOKEN}", "platform": "instagram"}


def write_config(tmp_path, db_url, accounts):
    """A real config file reading the kiosk plugin from a plugin folder; `accounts` maps a name to its options."""
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    (folder / "kiosk.py").write_text(textwrap.dedent(KIOSK), encoding="utf-8")
    tables = ""
    for name, options in accounts.items():
        lines = [f"{key} = {json.dumps(value)}" for key, value in options.items()]
        tables += f'\n[accounts.{name}]\nplugin = "kiosk"\ninitial_days = 3\n' + "\n".join(lines) + "\n"
    path = tmp_path / "config.toml"
    database = db_url.removeprefix("sqlite:///")
    top = f'database = "{database}"\ntimezone = "UTC"\nplugin_dirs = ["{folder}"]\n'
    path.write_text(top + tables, encoding="utf-8")
    return path


def sync(config, accounts=None):
    """The real sync of a config file, with the kiosk plugin from its plugin folder, on TODAY."""
    cfg = cfgmod.load(config, required=True)
    engine = open_engine(cfg.database)
    try:
        syncer = Syncer(cfg, discover(cfg.plugin_dirs), engine, now=noon(TODAY), http_factory=fast_http)
        return syncer.run(accounts, None, None)
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def kiosk_token(monkeypatch):
    monkeypatch.setenv("KIOSK_TOKEN", TOKEN)


@pytest.fixture
def synced(tmp_path, db_url):
    """bakery and shop synced into a real SQLite file; returns the sync's run id."""
    result = sync(write_config(tmp_path, db_url, {"bakery": BAKERY, "shop": SHOP}))
    assert result.ok
    return result.run_id


@pytest.fixture
def stocked(synced, db_url):
    """bakery and shop synced, bakery also with a quota block and a stale lock: a row in every table."""
    engine = open_engine(db_url)
    try:
        writes.block_account(engine, synced, "bakery", datetime(2099, 1, 1, tzinfo=UTC), "quota spent")
        Leases(engine, now=lambda: datetime(2020, 1, 1, tzinfo=UTC)).acquire("bakery")
    finally:
        engine.dispose()
    return db_url


def rename(cli, config, *args):
    return invoke(cli, "accounts", "rename", *args, "--config", str(config))


def renamed_config(tmp_path, db_url):
    """The usual first step: the owner renamed [accounts.bakery] to [accounts.bakehouse] in the config."""
    return write_config(tmp_path, db_url, {"bakehouse": BAKERY, "shop": SHOP})


def one_line(text):
    return " ".join(text.split())


def test_rename_moves_every_table_row_of_the_account_and_nothing_of_another(cli, tmp_path, stocked):
    before, other = rows_per_table(stocked, "bakery"), rows_per_table(stocked, "shop")
    assert all(before.values()), before  # every table, run history included, held something to move
    result = rename(cli, renamed_config(tmp_path, stocked), "bakery", "bakehouse", "--yes")
    assert result.exit_code == 0, result.output
    assert rows_per_table(stocked, "bakehouse") == before
    assert rows_per_table(stocked, "bakery") == dict.fromkeys(before, 0)
    assert rows_per_table(stocked, "shop") == other


def report_json(cli, config):
    result = invoke(cli, "report", "--config", str(config), "--until", TODAY.isoformat(), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    data.pop("generated_at")
    return data


def renamed(report, old, new):
    """The report with the account's name changed wherever it names a source, and nothing else."""
    return json.loads(json.dumps(report).replace(json.dumps(old), json.dumps(new)))


def xing(report):
    return next(row for row in report["platforms"] if row["platform"] == "xing")


def test_report_after_the_rename_equals_the_report_before(cli, tmp_path, stocked):
    before = report_json(cli, write_config(tmp_path, stocked, {"bakery": BAKERY, "shop": SHOP}))
    config = renamed_config(tmp_path, stocked)
    assert rename(cli, config, "bakery", "bakehouse", "--yes").exit_code == 0
    after = report_json(cli, config)
    assert after == renamed(before, "bakery", "bakehouse")
    assert xing(after)["sources"][0]["account"] == "bakehouse"


def test_a_sync_after_the_rename_gives_the_figures_the_old_name_would_have_not_doubled(cli, tmp_path, synced, db_url):
    old_config = write_config(tmp_path, db_url, {"bakery": BAKERY, "shop": SHOP})
    assert sync(old_config, ["bakery"]).ok  # what the old name's next sync would give
    before = report_json(cli, old_config)
    config = renamed_config(tmp_path, db_url)
    assert rename(cli, config, "bakery", "bakehouse", "--yes").exit_code == 0
    assert sync(config, ["bakehouse"]).ok  # the same window, continued from the moved cursor
    after = report_json(cli, config)
    assert after == renamed(before, "bakery", "bakehouse")
    assert xing(after)["followers"] == 1465


def test_status_keeps_the_run_history_of_the_renamed_account(cli, tmp_path, stocked):
    config = renamed_config(tmp_path, stocked)
    assert rename(cli, config, "bakery", "bakehouse", "--yes").exit_code == 0
    data = json.loads(invoke(cli, "status", "--config", str(config), "--format", "json").stdout)
    bakehouse = next(a for a in data["accounts"] if a["account"] == "bakehouse")
    assert bakehouse["last_status"] == "ok" and bakehouse["last_success_at"] is not None
    assert data["removed_accounts"] == []


def test_rename_shows_rows_per_table_before_it_moves_them(cli, tmp_path, stocked):
    samples = rows_per_table(stocked, "bakery")["sample"]
    out = rename(cli, renamed_config(tmp_path, stocked), "bakery", "bakehouse", "--yes").stdout
    plan = next(line for line in out.splitlines() if line.strip("│ ").startswith("sample "))
    assert f"{samples:,}" in plan and "move to bakehouse" in plan
    assert out.index(plan) < out.index("Renamed bakery to bakehouse")


def test_rename_says_the_config_already_reads_the_new_name(cli, tmp_path, stocked):
    config = renamed_config(tmp_path, stocked)
    result = rename(cli, config, "bakery", "bakehouse", "--yes")
    assert f"note: {config} already reads bakehouse instead of bakery" in one_line(result.stdout)
    assert "warning:" not in result.stdout


def test_rename_warns_that_a_name_still_in_the_config_is_fetched_again(cli, tmp_path, stocked):
    config = write_config(tmp_path, stocked, {"bakery": BAKERY, "shop": SHOP})
    result = rename(cli, config, "bakery", "bakehouse", "--yes")
    assert result.exit_code == 0
    assert (
        f"warning: bakery is still in {config}: the next sync fetches it again under that name; "
        "rename its [accounts.bakery] table to [accounts.bakehouse]"
    ) in one_line(result.stdout)


def test_rename_to_a_name_with_stored_data_refuses_and_changes_nothing(cli, tmp_path, stocked):
    before = {name: rows_per_table(stocked, name) for name in ("bakery", "shop")}
    result = rename(cli, renamed_config(tmp_path, stocked), "bakery", "shop", "--yes")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: account shop already has stored data; forget it first or choose another name"
    ]
    assert {name: rows_per_table(stocked, name) for name in before} == before


def test_rename_an_account_without_stored_data_names_the_stored_ones(cli, tmp_path, stocked):
    result = rename(cli, renamed_config(tmp_path, stocked), "bakkery", "bakehouse", "--yes")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        "error: account 'bakkery' has no stored data to rename; stored accounts: bakery, shop"
    ]


def test_rename_to_the_name_of_logged_sales_refuses(cli, tmp_path, stocked):
    before = rows_per_table(stocked, "bakery")
    result = rename(cli, renamed_config(tmp_path, stocked), "bakery", "manual", "--yes")
    assert result.exit_code == 2
    assert "reserved for sales logged with `tracker log`" in result.stderr
    assert rows_per_table(stocked, "bakery") == before


def test_rename_without_yes_off_a_terminal_refuses_with_exit_2_and_changes_nothing(cli, tmp_path, stocked):
    before = rows_per_table(stocked, "bakery")
    result = rename(cli, renamed_config(tmp_path, stocked), "bakery", "bakehouse")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: not renaming bakery without a confirmation: pass --yes (input is not a terminal)"
    ]
    assert rows_per_table(stocked, "bakery") == before
    assert not any(rows_per_table(stocked, "bakehouse").values())


def test_rename_on_a_terminal_asks_and_no_changes_nothing(tmp_path, stocked):
    config = renamed_config(tmp_path, stocked)
    before = rows_per_table(stocked, "bakery")
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"n\n")
        command = ["accounts", "rename", "bakery", "bakehouse", "--config", str(config)]
        result = subprocess.run(
            [sys.executable, "-c", "from tracker.cli.main import run; run()", *command],
            stdin=terminal, capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "160"},
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 1
    assert "Move these rows of bakery to bakehouse?" in result.stderr and "Nothing renamed." in result.stderr
    assert rows_per_table(stocked, "bakery") == before


def hold_lease(db_url, account):
    engine = open_engine(db_url)
    try:
        Leases(engine).acquire(account)  # this live process: a sync in progress
    finally:
        engine.dispose()


def test_rename_refuses_while_a_sync_holds_the_account(cli, tmp_path, stocked):
    hold_lease(stocked, "bakery")
    before = rows_per_table(stocked, "bakery")
    result = rename(cli, renamed_config(tmp_path, stocked), "bakery", "bakehouse", "--yes")
    assert result.exit_code == 1
    assert "bakery: being synced right now" in result.stderr and "nothing renamed" in result.stderr
    assert rows_per_table(stocked, "bakery") == before


def test_rename_refuses_while_a_sync_of_the_new_name_runs(cli, tmp_path, stocked):
    hold_lease(stocked, "bakehouse")  # the daemon already syncs the renamed table: it is about to store data
    before = rows_per_table(stocked, "bakery")
    result = rename(cli, renamed_config(tmp_path, stocked), "bakery", "bakehouse", "--yes")
    assert result.exit_code == 1
    assert "bakehouse: being synced right now" in result.stderr
    assert rows_per_table(stocked, "bakery") == before


def test_rename_takes_over_a_dead_syncs_lock_of_the_new_name(cli, tmp_path, stocked):
    engine = open_engine(stocked)
    try:
        Leases(engine, now=lambda: datetime(2020, 1, 1, tzinfo=UTC)).acquire("bakehouse")  # long expired
    finally:
        engine.dispose()
    before = rows_per_table(stocked, "bakery")
    result = rename(cli, renamed_config(tmp_path, stocked), "bakery", "bakehouse", "--yes")
    assert result.exit_code == 0, result.output
    assert rows_per_table(stocked, "bakehouse") == before  # bakery's one lock row, not two


def test_rename_json_lists_the_rows_moved_per_table(cli, tmp_path, stocked):
    before = rows_per_table(stocked, "bakery")
    result = rename(cli, renamed_config(tmp_path, stocked), "bakery", "bakehouse", "--yes", "--format", "json")
    data = json.loads(result.stdout)
    assert (data["account"], data["renamed_to"]) == ("bakery", "bakehouse")
    assert {t["table"]: (t["rows"], t["action"]) for t in data["tables"]} == {
        table: (count, "moved") for table, count in before.items()
    }


HINT = (
    "accounts.bakehouse looks like bakery renamed (same plugin and options): "
    "`tracker accounts rename bakery bakehouse` keeps its history"
)


def config_check(cli, config):
    result = invoke(cli, "config", "check", "--config", str(config))
    assert result.exit_code == 0, result.output
    return one_line(result.stdout)


def test_config_check_points_out_a_renamed_table_as_a_warning(cli, tmp_path, stocked, monkeypatch):
    monkeypatch.setenv("BAKEHOUSE_TOKEN", "another-token-value")  # secrets are not what names the source
    config = write_config(tmp_path, stocked, {"bakehouse": {**BAKERY, "token": "${BAKEHOUSE_TOKEN}"}, "shop": SHOP})
    assert f"warning: {config}: {HINT}" in config_check(cli, config)


def test_config_check_points_out_a_renamed_table_whose_url_credentials_the_store_hid(cli, tmp_path, db_url):
    with_login = {**BAKERY, "base_url": "https://kiosk:hunter2-password@api.kiosk.example"}
    assert sync(write_config(tmp_path, db_url, {"bakery": with_login})).ok
    config = write_config(tmp_path, db_url, {"bakehouse": with_login})
    assert f"warning: {config}: {HINT}" in config_check(cli, config)


def test_config_check_gives_no_rename_hint_when_options_differ(cli, tmp_path, stocked):
    config = write_config(tmp_path, stocked, {"bakehouse": {**BAKERY, "shop": "43"}, "shop": SHOP})
    assert "looks like" not in config_check(cli, config)


def test_config_check_gives_no_rename_hint_when_two_new_tables_match(cli, tmp_path, stocked):
    config = write_config(tmp_path, stocked, {"bakehouse": BAKERY, "bakery2": BAKERY, "shop": SHOP})
    assert "looks like" not in config_check(cli, config)


def test_config_check_gives_no_rename_hint_after_the_rename(cli, tmp_path, stocked):
    config = renamed_config(tmp_path, stocked)
    assert rename(cli, config, "bakery", "bakehouse", "--yes").exit_code == 0
    assert "looks like" not in config_check(cli, config)


def test_config_check_creates_no_database(cli, tmp_path):
    database = tmp_path / "not-yet.db"
    config = write_config(tmp_path, f"sqlite:///{database}", {"bakery": BAKERY})
    assert "ok (1 account)" in config_check(cli, config)
    assert not database.exists()


def test_rename_on_postgres_moves_one_accounts_rows_and_keeps_the_others(pg_url, tmp_path):
    config = write_config(tmp_path, pg_url, {"bakery": BAKERY, "shop": SHOP})
    assert sync(config).ok
    before, other = rows_per_table(pg_url, "bakery"), rows_per_table(pg_url, "shop")
    engine = open_engine(pg_url)
    try:
        done = rename_rows(engine, "bakery", "bakehouse")
    finally:
        engine.dispose()
    assert done.samples > 0 and done.conversions == 1 and done.state == 1 and done.runs == 1
    assert rows_per_table(pg_url, "bakehouse") == before
    assert rows_per_table(pg_url, "bakery") == dict.fromkeys(before, 0)
    assert rows_per_table(pg_url, "shop") == other
