"""The command line, through Typer's runner and as the installed `tracker` command."""

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta

import pytest
import typer
from typer.testing import CliRunner

from tracker.cli.main import app
from tracker.config import local_timezone
from tracker.windows import account_today
from tracker_plugins import demo as demo_data

SEED = 7


def invoke(cli, *args):
    return cli.invoke(app, list(args), env={"COLUMNS": "160", "NO_COLOR": "1"})


def write_config(tmp_path, accounts='[accounts.bakery]\nplugin = "demo"\n'):
    path = tmp_path / "config.toml"
    path.write_text(f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\n{accounts}', encoding="utf-8")
    return path


def expected_sum(platform, metric, end, days):
    """What the demo generator says, computed without tracker's store or report."""
    total = 0
    for i in range(days):
        day = end - timedelta(days=i)
        total += next(s.value for s in demo_data.day_samples(SEED, platform, day, False) if s.metric == metric)
    return total


def test_demo_report_numbers_match_the_demo_data(cli):
    result = invoke(cli, "demo", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    end = date.fromisoformat(report["period"]["end"])
    assert end == account_today(local_timezone())
    rows = {r["platform"]: r for r in report["platforms"]}
    assert rows["instagram"]["likes"] == expected_sum("instagram", "likes", end, 30)
    assert rows["facebook"]["conversions"] == expected_sum("facebook", "conversions", end, 30)
    assert rows["facebook"]["visits"] == expected_sum("facebook", "visits", end, 30)
    assert rows["xing"]["followers"] == demo_data.followers(SEED, "xing", end)


def test_demo_tells_the_story_one_verdict_per_platform(cli):
    report = json.loads(invoke(cli, "demo", "--format", "json").stdout)
    verdicts = {r["platform"]: r["verdict"] for r in report["platforms"]}
    assert verdicts["facebook"] == "converts"
    assert verdicts["instagram"] == "converts_little"
    assert verdicts["xing"] == "not_tracked"


def test_demo_never_touches_the_users_database(cli, isolated_env):
    invoke(cli, "demo")
    assert not (isolated_env / "data" / "tracker" / "tracker.db").exists()
    assert (isolated_env / "data" / "tracker" / "demo" / "demo.db").exists()


def test_sync_twice_leaves_the_same_number_of_rows(cli, tmp_path, samples):
    config = write_config(tmp_path)
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    first = len(samples(f"sqlite:///{tmp_path / 't.db'}"))
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    assert len(samples(f"sqlite:///{tmp_path / 't.db'}")) == first > 0


def test_sync_prints_a_summary_and_exits_nonzero_when_an_account_fails(cli, tmp_path):
    config = write_config(
        tmp_path, '[accounts.bakery]\nplugin = "demo"\n[accounts.gone]\nplugin = "demo"\nseed = "${UNSET_VAR}"\n'
    )
    result = invoke(cli, "sync", "--config", str(config))
    assert result.exit_code == 1
    assert "bakery" in result.stdout and "FAILED" in result.stdout and "UNSET_VAR" in result.stdout


def test_report_json_holds_vanity_and_conversion_fields_per_platform(cli, tmp_path):
    config = write_config(tmp_path)
    invoke(cli, "sync", "--config", str(config))
    report = json.loads(invoke(cli, "report", "--config", str(config), "--format", "json").stdout)
    for row in report["platforms"]:
        for field in ("followers", "engagement", "visits", "conversions", "conversion_rate", "revenue", "verdict"):
            assert field in row


def test_report_csv_has_one_line_per_platform(cli, tmp_path):
    config = write_config(tmp_path)
    invoke(cli, "sync", "--config", str(config))
    lines = invoke(cli, "report", "--config", str(config), "--format", "csv").stdout.strip().splitlines()
    assert lines[0].startswith("platform,")
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["direct", "facebook", "instagram", "xing"]


def test_report_table_is_plain_text_without_color(cli, tmp_path):
    config = write_config(tmp_path)
    invoke(cli, "sync", "--config", str(config))
    out = invoke(cli, "report", "--config", str(config)).stdout
    assert "\x1b[" not in out
    assert "not tracked" in out and "xing" in out


def test_broken_config_gives_one_line_and_exit_code_2_without_traceback(cli, tmp_path):
    config = write_config(tmp_path, '[accounts.bakery]\nplugin = "demo"\nseed = "lots"\n')
    result = invoke(cli, "config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {config}: accounts.bakery.seed: must be a whole number, not 'lots'"
    ]
    assert "Traceback" not in result.output


def test_config_check_says_ok_for_a_good_config(cli, tmp_path):
    config = write_config(tmp_path)
    result = invoke(cli, "config", "check", "--config", str(config))
    assert result.exit_code == 0 and "ok (1 account)" in result.stdout


def test_sync_without_a_config_tells_how_to_make_one(cli):
    result = invoke(cli, "sync")
    assert result.exit_code == 2 and "tracker init" in result.stderr


def test_init_writes_a_config_that_checks_ok_and_refuses_to_overwrite(cli, isolated_env):
    assert invoke(cli, "init").exit_code == 0
    assert invoke(cli, "config", "check").exit_code == 0
    again = invoke(cli, "init")
    assert again.exit_code == 2 and "--force" in again.stderr


def test_plugins_list_shows_origin_options_and_broken_plugins(cli, tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "wobbly.py").write_text("raise RuntimeError('half written')\n")
    config = write_config(tmp_path, f'plugin_dirs = ["{folder}"]\n')
    result = invoke(cli, "plugins", "list", "--config", str(config), "--format", "json")
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert entries["demo"]["origin"] == "built-in" and entries["demo"]["options"] == "seed"
    assert entries["wobbly"]["status"] == "broken" and "half written" in entries["wobbly"]["error"]


def test_plugins_show_describes_options_and_day_rule(cli):
    result = invoke(cli, "plugins", "show", "demo")
    assert result.exit_code == 0
    assert "seed" in result.stdout and "days follow" in result.stdout


def test_plugins_new_writes_a_plugin_whose_own_test_passes(cli, tmp_path):
    result = invoke(cli, "plugins", "new", "shopfeed", "--dir", str(tmp_path / "mine"))
    assert result.exit_code == 0, result.output
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_shopfeed.py"],
        cwd=tmp_path / "mine",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_db_status_reports_migrations_and_counts(cli, tmp_path):
    config = write_config(tmp_path)
    invoke(cli, "sync", "--config", str(config))
    out = invoke(cli, "db", "status", "--config", str(config)).stdout
    assert "pending: 0" in out and "sample:" in out


def _command_paths(group, prefix=()):
    """Every leaf command of the Typer app, as the words a user types."""
    for name, command in sorted(group.commands.items()):
        if getattr(command, "commands", None):
            yield from _command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = list(_command_paths(typer.main.get_command(app)))


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_has_help(cli, words):
    result = invoke(cli, *words, "--help")
    assert result.exit_code == 0 and "Usage" in result.stdout, result.output


def test_the_command_list_is_read_from_the_app():
    assert ("report",) in COMMANDS and ("accounts", "check") in COMMANDS and ("log", "sale") in COMMANDS


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    import tracker

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"tracker {version('tracker')}" == f"tracker {tracker.__version__}"


@pytest.mark.subprocess
def test_installed_tracker_command_runs_the_demo_in_a_real_process(tmp_path, isolated_env):
    exe = shutil.which("tracker", path=os.path.dirname(sys.executable)) or shutil.which("tracker")
    assert exe, "the tracker console script is not installed"
    env = {**os.environ, "COLUMNS": "160"}
    run = subprocess.run([exe, "demo"], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    assert "facebook" in run.stdout and "brings customers" in run.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("workers = -1\n")
    run = subprocess.run(
        [exe, "config", "check", "--config", str(bad)], capture_output=True, text=True, timeout=60, env=env
    )
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: {bad}: workers: must be a whole number >= 1, not -1"


def test_accounts_check_reports_each_account_in_one_line(cli, tmp_path):
    config = write_config(tmp_path, '[accounts.bakery]\nplugin = "demo"\n[accounts.bad]\nplugin = "demo"\nseed = "x"\n')
    result = invoke(cli, "accounts", "check", "--config", str(config), "--format", "json")
    by_name = {r["account"]: r for r in json.loads(result.stdout)}
    assert result.exit_code == 1
    assert by_name["bakery"]["status"] == "ok"
    assert by_name["bad"]["status"] == "failed" and "accounts.bad.seed" in by_name["bad"]["message"]


def test_accounts_check_without_accounts_says_how_to_add_one_instead_of_an_empty_table(cli, tmp_path):
    config = write_config(tmp_path, accounts="")
    result = invoke(cli, "accounts", "check", "--config", str(config))
    assert result.exit_code == 0
    assert "No accounts yet" in result.stdout and "[accounts.NAME]" in result.stdout
    assert "┏" not in result.stdout and "Details" not in result.stdout


def test_sync_with_since_after_until_is_a_usage_error_that_records_no_run(cli, tmp_path):
    import sqlite3

    config = write_config(tmp_path)
    result = invoke(cli, "sync", "--config", str(config), "--since", "2026-05-02", "--until", "2026-05-01")
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "error: --since 2026-05-02 is after --until 2026-05-01: give the earlier day as --since"
    )
    db = tmp_path / "t.db"
    if db.exists():
        with sqlite3.connect(db) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert "sync_run" not in tables or conn.execute("SELECT COUNT(*) FROM sync_run").fetchone() == (0,)


def test_report_for_an_unknown_platform_names_the_known_ones_and_exits_2(cli, tmp_path):
    config = write_config(tmp_path)
    invoke(cli, "sync", "--config", str(config))
    result = invoke(cli, "report", "--config", str(config), "-p", "nosuch")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith("error: --platform 'nosuch' is not a platform key; use one of ")
    assert "instagram" in line and "xing" in line and "\n" not in line


def test_report_for_a_known_platform_shows_only_that_platform(cli, tmp_path):
    config = write_config(tmp_path)
    invoke(cli, "sync", "--config", str(config))
    result = invoke(cli, "report", "--config", str(config), "-p", "xing", "--format", "json")
    assert result.exit_code == 0
    assert [r["platform"] for r in json.loads(result.stdout)["platforms"]] == ["xing"]


def test_help_texts_keep_bracketed_words_that_rich_would_read_as_markup(cli):
    assert "Sync on the config's [schedule] until stopped" in invoke(cli, "schedule", "--help").stdout


def test_log_lead_help_speaks_of_a_lead_not_a_sale(cli):
    out = invoke(cli, "log", "lead", "--help").stdout
    assert "What the lead is worth" in out and "sale" not in out.lower().split("options")[-1]


def test_log_sale_refuses_a_platform_key_that_link_refuses_and_stores_nothing(cli, tmp_path):
    config = write_config(tmp_path)
    result = invoke(cli, "log", "sale", "-p", "insta", "--amount", "10", "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --platform 'insta' is not a platform key; use one of ")
    assert "instagram" in result.stderr and "Traceback" not in result.output
    listed = invoke(cli, "log", "list", "--config", str(config), "--format", "json")
    assert json.loads(listed.stdout) == []


def test_log_sale_refuses_a_day_after_today(cli, tmp_path):
    config = write_config(tmp_path)
    tomorrow = account_today(local_timezone_utc()) + timedelta(days=1)
    result = invoke(cli, "log", "sale", "-p", "instagram", "--date", tomorrow.isoformat(), "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(f"error: --date {tomorrow}: is after today")


def test_log_sale_accepts_today(cli, tmp_path):
    config = write_config(tmp_path)
    today = account_today(local_timezone_utc())
    result = invoke(cli, "log", "sale", "-p", "instagram", "--date", today.isoformat(), "--config", str(config))
    assert result.exit_code == 0, result.output


def local_timezone_utc():
    from zoneinfo import ZoneInfo

    return ZoneInfo("UTC")  # write_config sets timezone = "UTC"


@pytest.mark.parametrize("command", [["report"], ["sync"], ["status"]])
def test_a_file_that_is_not_a_database_is_one_line_naming_it_and_is_left_untouched(cli, tmp_path, command):
    config = write_config(tmp_path)
    db = tmp_path / "t.db"
    garbage = b"these bytes are a shopping list, not an SQLite database\n" * 20
    db.write_bytes(garbage)
    result = invoke(cli, *command, "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {db}: file is not a database; restore it from a backup, "
        "or set `database` in the config to another file"
    ]
    assert db.read_bytes() == garbage


@pytest.mark.subprocess
def test_shell_completion_script_is_offered_for_bash():
    env = {**os.environ, "SHELL": "/bin/bash", "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    shown = subprocess.run(
        [shutil.which("tracker") or "tracker", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert shown.returncode == 0 and "_tracker_completion" in shown.stdout


# --- the report of a database that holds nothing -----------------------------------------------------------------


def test_report_without_a_database_file_shows_no_data_and_creates_none(cli, tmp_path):
    config = write_config(tmp_path)
    result = invoke(cli, "report", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("No data for this period.")
    assert list(tmp_path.glob("t.db*")) == []


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_report_of_a_database_that_holds_nothing_is_the_one_its_computation_gives(cli, tmp_path, fmt):
    from tracker.store import writes
    from tracker.store.db import open_engine

    empty, computed = tmp_path / "empty", tmp_path / "computed"
    outputs = []
    for folder in (empty, computed):
        folder.mkdir()
        engine = open_engine(f"sqlite:///{folder / 't.db'}")
        if folder == computed:
            writes.start_run(engine, "manual")  # a row: the report opens and reads this store
        engine.dispose()
        result = invoke(cli, "report", "--config", str(write_config(folder)), "--format", fmt)
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(result.stdout) | {"generated_at": None} if fmt == "json" else result.stdout)
    assert outputs[0] == outputs[1]


def test_report_refuses_a_newer_trackers_database_whose_data_is_only_in_tables_it_does_not_know(cli, tmp_path):
    import sqlite3

    from tracker.store.db import open_engine

    config, db = write_config(tmp_path), tmp_path / "t.db"
    open_engine(f"sqlite:///{db}").dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE samples_of_tomorrow (value REAL)")
        conn.execute("INSERT INTO samples_of_tomorrow VALUES (12.0)")
        conn.execute(
            "INSERT INTO _tracker_migrations (name, applied_at) VALUES ('m900_tomorrow', '2030-01-01 00:00:00')"
        )
    conn.close()
    result = invoke(cli, "report", "--config", str(config))
    assert result.exit_code == 2
    assert "was written by a newer tracker" in result.stderr
