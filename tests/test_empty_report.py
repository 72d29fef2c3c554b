"""The report of a store that holds nothing: its table is printed without building the report, and is the same.

tracker.report.empty answers the plain table for a store with no file yet or no row; the reference here is
the report that tracker.report.build builds for the same config, drawn by render.table.
"""

import io
import json
from datetime import date

import pytest
from rich.console import Console

from tracker import config
from tracker.cli.main import app
from tracker.report import render
from tracker.report.build import build_report
from tracker.report.empty import NO_DATA
from tracker.store.db import open_engine

# Settings that add sentences under a table that has rows: none of them may show for a store without any.
SETTINGS = """
currency = "USD"
hourly_rate = 40.0
precedence = ["shop"]

[effort.instagram]
monthly_cost = 20.0
hours_per_week = 3.0

[care]
business_hours = "Mon-Fri 09:00-17:00"

[accounts.bakery]
plugin = "demo"

[accounts.shop]
plugin = "csv"
path = "orders.csv"
"""


@pytest.fixture(params=["no file", "migrated, no rows"])
def empty_store(request, tmp_path):
    """A config whose database holds nothing: not created yet, or created and migrated."""
    db = tmp_path / "t.db"
    if request.param != "no file":
        open_engine(f"sqlite:///{db}").dispose()
    path = tmp_path / "config.toml"
    path.write_text(f'database = "sqlite:///{db}"\ntimezone = "Europe/Berlin"\n{SETTINGS}', encoding="utf-8")
    return path


def invoke(cli, *args):
    return cli.invoke(app, list(args), env={"COLUMNS": "160", "NO_COLOR": "1"})


def built_table(path, days, until=None):
    """What the built report's table prints for this config and period."""
    out = io.StringIO()
    report = build_report(config.load(path), days, until, None)
    render.table(report, Console(file=out, width=160, no_color=True))
    return out.getvalue()


@pytest.mark.parametrize("days", [30, 1, 400])
def test_the_table_of_an_empty_store_is_the_built_reports(cli, empty_store, days):
    result = invoke(cli, "report", "--config", str(empty_store), "--days", str(days))
    assert result.exit_code == 0, result.output
    assert result.stdout == built_table(empty_store, days)
    assert result.stdout == f"{NO_DATA}\n"


def test_a_period_in_the_past_of_an_empty_store_shows_the_built_reports_table(cli, empty_store):
    result = invoke(cli, "report", "--config", str(empty_store), "--days", "7", "--until", "2024-02-29")
    assert result.exit_code == 0, result.output
    assert result.stdout == built_table(empty_store, 7, date(2024, 2, 29))


def test_an_unknown_platform_on_an_empty_store_is_still_refused(cli, empty_store):
    result = invoke(cli, "report", "--config", str(empty_store), "--platform", "instagrm")
    assert result.exit_code != 0
    assert "'instagrm' is not a platform key" in result.output
    assert NO_DATA not in result.output


def test_a_period_no_date_can_hold_is_not_answered_with_no_data(cli, empty_store):
    result = invoke(cli, "report", "--config", str(empty_store), "--days", "99999999")
    assert result.exit_code != 0
    assert NO_DATA not in result.output


def test_the_json_of_an_empty_store_is_still_the_built_report(cli, empty_store):
    result = invoke(cli, "report", "--config", str(empty_store), "-f", "json", "--days", "3", "--until", "2024-03-03")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["platforms"], data["currency"], data["period"]["start"]) == ([], "USD", "2024-03-01")


def test_a_store_holding_one_logged_sale_shows_its_row_not_no_data(cli, empty_store):
    logged = invoke(cli, "log", "sale", "--platform", "instagram", "--amount", "12.5", "--config", str(empty_store))
    assert logged.exit_code == 0, logged.output
    result = invoke(cli, "report", "--config", str(empty_store))
    assert result.exit_code == 0, result.output
    assert NO_DATA not in result.stdout
    assert "instagram" in result.stdout
