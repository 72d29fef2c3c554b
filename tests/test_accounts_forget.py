"""`tracker accounts forget`: one account's stored data deleted, shown first, nothing of another touched;
`tracker status` names accounts whose data outlived their config table."""

import json
import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import tracker.store.models  # noqa: F401  (registers every table in SQLModel.metadata)
from tracker import manual
from tracker.locks import Leases
from tracker.plugin import CareItem, Conversion, ConversionSource, Plugin, PostStat, Sample, State, Unavailable, option
from tracker.registry import Entry, discover
from tracker.store import writes
from tracker.store.db import open_engine
from tracker.store.forget import removed_accounts, stored_accounts

from .conftest import noon
from .test_cli import invoke

TODAY = date(2026, 11, 27)
RUN_HISTORY = {"account_run"}


@dataclass(frozen=True)
class KioskOptions:
    platform: str = option("instagram", help="The platform every number is about.")


def kiosk_fetch(opts, window, http, state):
    """Something for every table a sync writes: samples, a retired metric, an order, state."""
    yield [Sample(opts.platform, "likes", day, 3) for day in window.days()]
    yield Unavailable(opts.platform, "profile_views", "retired by the platform")
    yield [Conversion(id=f"{opts.platform}-1", platform=opts.platform, day=window.until, amount=10.0)]
    yield [PostStat(opts.platform, f"{opts.platform}-post-1", "", window.until, 5, 1, 0)]
    yield [CareItem(opts.platform, "comment", "c-1", datetime.combine(window.until, time(9), UTC))]
    yield State({"last_day": window.until.isoformat()})


KIOSK = Plugin(
    name="kiosk",
    platforms=("*",),
    fetch=kiosk_fetch,
    options=KioskOptions,
    conversion_source=ConversionSource.FIRST_PARTY,
)
ACCOUNTS = {
    "bakery": {"plugin": "kiosk", "platform": "xing", "initial_days": 3},
    "shop": {"plugin": "kiosk", "platform": "instagram", "initial_days": 3},
}


@pytest.fixture
def stocked(make_config, run_sync, db_url):
    """Two accounts synced into a real SQLite file, each also with a quota block and a stale lock."""
    registry = discover()
    registry.add(Entry("kiosk", "test", KIOSK))
    result = run_sync(make_config(ACCOUNTS), now=noon(TODAY), plugins=registry)
    assert result.ok
    engine = open_engine(db_url)
    try:
        for name in ACCOUNTS:
            writes.block_account(engine, result.run_id, name, datetime(2099, 1, 1, tzinfo=UTC), "quota spent")
            Leases(engine, now=lambda: datetime(2020, 1, 1, tzinfo=UTC)).acquire(name)
    finally:
        engine.dispose()
    return db_url


def config_file(tmp_path, db_url, accounts):
    tables = "".join(f'[accounts.{name}]\nplugin = "kiosk"\n' for name in accounts)
    path = tmp_path / "config.toml"
    path.write_text(f'database = "{db_url.removeprefix("sqlite:///")}"\ntimezone = "UTC"\n{tables}', encoding="utf-8")
    return path


def account_column(table):
    return table.c.name if table.name == "account" else table.c.get("account")


def rows_per_table(db_url, account):
    """Rows of the account in every table that has an account column (found from the schema, not a list)."""
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            counts = {}
            for table in SQLModel.metadata.sorted_tables:
                column = account_column(table)
                if table.name == "series":  # an account's samples hang off its series: counted by the `sample` view
                    query = sa.text("SELECT COUNT(*) FROM sample WHERE account = :account").bindparams(account=account)
                    counts["sample"] = conn.execute(query).scalar_one()
                elif column is not None:
                    query = sa.select(sa.func.count()).select_from(table).where(column == account)
                    counts[table.name] = conn.execute(query).scalar_one()
            return counts
    finally:
        engine.dispose()


def forget(cli, config, *args):
    return invoke(cli, "accounts", "forget", *args, "--config", str(config))


def test_forget_deletes_every_table_row_of_the_account_and_nothing_of_another(cli, tmp_path, stocked):
    before, other = rows_per_table(stocked, "bakery"), rows_per_table(stocked, "shop")
    assert all(before.values()), before  # every table held something to delete
    result = forget(cli, config_file(tmp_path, stocked, ["shop"]), "bakery", "--yes")
    assert result.exit_code == 0, result.output
    after = rows_per_table(stocked, "bakery")
    assert {t: n for t, n in after.items() if t not in RUN_HISTORY} == {t: 0 for t in after if t not in RUN_HISTORY}
    assert {t: after[t] for t in RUN_HISTORY} == {t: before[t] for t in RUN_HISTORY}
    assert rows_per_table(stocked, "shop") == other


def test_forget_shows_rows_per_table_before_it_deletes(cli, tmp_path, stocked):
    samples = rows_per_table(stocked, "bakery")["sample"]
    out = forget(cli, config_file(tmp_path, stocked, ["shop"]), "bakery", "--yes").stdout
    plan = next(line for line in out.splitlines() if line.strip("│ ").startswith("sample "))
    assert str(samples) in plan and "delete" in plan
    assert out.index(plan) < out.index("Forgot bakery")


def test_forget_without_yes_off_a_terminal_refuses_with_exit_2_and_deletes_nothing(cli, tmp_path, stocked):
    before = rows_per_table(stocked, "bakery")
    result = forget(cli, config_file(tmp_path, stocked, ["shop"]), "bakery")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: not forgetting bakery without a confirmation: pass --yes (input is not a terminal)"
    ]
    assert rows_per_table(stocked, "bakery") == before


def run_on_a_terminal(config, answer):
    """The installed CLI with a real pseudo-terminal as its input, answering the question with `answer`."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, f"{answer}\n".encode())
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "from tracker.cli.main import run; run()",
                "accounts",
                "forget",
                "bakery",
                "--config",
                str(config),
            ],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "160"},
        )
    finally:
        os.close(terminal)
        os.close(controller)


def test_forget_on_a_terminal_asks_and_no_deletes_nothing(tmp_path, stocked):
    before = rows_per_table(stocked, "bakery")
    result = run_on_a_terminal(config_file(tmp_path, stocked, ["shop"]), "n")
    assert result.returncode == 1
    assert "Delete these rows of bakery?" in result.stderr and "Nothing deleted." in result.stderr
    assert rows_per_table(stocked, "bakery") == before


def test_forget_on_a_terminal_asks_and_yes_deletes(tmp_path, stocked):
    result = run_on_a_terminal(config_file(tmp_path, stocked, ["shop"]), "y")
    assert result.returncode == 0, result.stderr
    assert "Delete these rows of bakery?" in result.stderr
    assert rows_per_table(stocked, "bakery")["sample"] == 0


def test_forget_an_unknown_account_names_the_stored_ones(cli, tmp_path, stocked):
    result = forget(cli, config_file(tmp_path, stocked, ["shop"]), "bakkery", "--yes")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        "error: account 'bakkery' has no stored data to forget; stored accounts: bakery, shop"
    ]


def test_forget_an_account_still_in_the_config_warns_the_next_sync_fetches_it_again(cli, tmp_path, stocked):
    config = config_file(tmp_path, stocked, ["bakery", "shop"])
    result = forget(cli, config, "bakery", "--yes")
    assert result.exit_code == 0
    assert f"warning: bakery is still in {config}: the next sync fetches it again" in " ".join(result.stdout.split())


def test_forget_refuses_while_a_sync_holds_the_account(cli, tmp_path, stocked):
    engine = open_engine(stocked)
    try:
        Leases(engine).acquire("bakery")  # this live process: a sync in progress
    finally:
        engine.dispose()
    before = rows_per_table(stocked, "bakery")
    result = forget(cli, config_file(tmp_path, stocked, ["shop"]), "bakery", "--yes")
    assert result.exit_code == 1
    assert "being synced right now" in result.stderr and "nothing deleted" in result.stderr
    assert rows_per_table(stocked, "bakery") == before


def test_forget_json_lists_deleted_and_kept_rows_per_table(cli, tmp_path, stocked):
    before = rows_per_table(stocked, "bakery")
    result = forget(cli, config_file(tmp_path, stocked, ["shop"]), "bakery", "--yes", "--format", "json")
    data = json.loads(result.stdout)
    assert {t["table"]: (t["rows"], t["action"]) for t in data["tables"]} == {
        table: (count, "kept" if table in RUN_HISTORY else "deleted") for table, count in before.items()
    }


def test_forget_manual_by_its_exact_name_warns_that_logged_sales_cannot_come_back(cli, tmp_path, db_url):
    engine = open_engine(db_url)
    try:
        manual.log(engine, platform="instagram", kind="order", day=TODAY, amount=12.0)
    finally:
        engine.dispose()
    result = forget(cli, config_file(tmp_path, db_url, []), "manual", "--yes")
    assert result.exit_code == 0
    assert "no sync can bring them back" in result.stdout
    assert rows_per_table(db_url, "manual")["conversion"] == 0


def test_removed_accounts_are_stored_ones_not_in_the_config_never_the_logged_sales(stocked):
    engine = open_engine(stocked)
    try:
        manual.log(engine, platform="instagram", kind="order", day=TODAY, amount=12.0)
        assert stored_accounts(engine) == ["bakery", "manual", "shop"]
        assert removed_accounts(engine, {"shop"}) == ["bakery"]
    finally:
        engine.dispose()


NOTE = "stored data of removed account bakery is not counted; `tracker accounts forget bakery` deletes it"


def test_status_names_a_removed_account_and_how_to_delete_its_data(cli, tmp_path, stocked):
    result = invoke(cli, "status", "--config", str(config_file(tmp_path, stocked, ["shop"])))
    assert result.exit_code == 0
    assert NOTE in " ".join(result.stdout.split())


def test_status_json_lists_the_removed_account_and_leaves_its_platform_out_of_freshness(cli, tmp_path, stocked):
    result = invoke(cli, "status", "--config", str(config_file(tmp_path, stocked, ["shop"])), "--format", "json")
    data = json.loads(result.stdout)
    assert data["removed_accounts"] == [{"account": "bakery", "note": NOTE}]
    assert [p["platform"] for p in data["platforms"]] == ["instagram"]  # bakery's xing is not counted


def test_forget_on_postgres_deletes_one_accounts_rows_and_keeps_the_others(pg_url, make_config, run_sync):
    from tracker.store.forget import forget as forget_rows

    registry = discover()
    registry.add(Entry("kiosk", "test", KIOSK))
    assert run_sync(make_config(ACCOUNTS, database=pg_url), now=noon(TODAY), plugins=registry).ok
    before = rows_per_table(pg_url, "shop")
    engine = open_engine(pg_url)
    try:
        done = forget_rows(engine, "bakery")
    finally:
        engine.dispose()
    assert done.samples > 0 and done.conversions == 1 and done.state == 1
    assert {t: n for t, n in rows_per_table(pg_url, "bakery").items() if t not in RUN_HISTORY} == dict.fromkeys(
        (t for t in before if t not in RUN_HISTORY), 0
    )
    assert rows_per_table(pg_url, "shop") == before
