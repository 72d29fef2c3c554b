"""Input tracker must refuse with one line instead of misreading: files that are no order export, newer databases.

Every file is written here in tmp_path; header shapes follow real exports (LinkedIn, Meta Business Suite,
GA4, Plausible, Matomo) as described in plugins/_csv_columns.py, with made-up numbers.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.test_cli import invoke, write_config
from tracker.cli.main import app
from tracker.store import migrations
from tracker.testing import fetch_once, raises_domain_error, window
from tracker_plugins.csv import plugin

WINDOW = window(date.today() - timedelta(days=30), date.today())


# --- a database written by a newer tracker --------------------------------------------------------------------------


def bump_schema(db: Path, extra: int) -> int:
    """Record `extra` migrations this release does not know, as a newer tracker would; returns the new count."""
    names = [f"m{900 + i}_from_a_newer_tracker" for i in range(extra)]
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO _tracker_migrations (name, applied_at) VALUES (?, '2030-01-01 00:00:00')",
                         [(n,) for n in names])
    conn.close()
    return len(migrations.MIGRATIONS) + extra


@pytest.mark.parametrize("command", [["report"], ["sync"], ["status"], ["log", "list"]])
def test_a_database_with_a_newer_schema_is_one_line_exit_2_and_left_byte_for_byte(cli, tmp_path, command):
    config = write_config(tmp_path)
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    db = tmp_path / "t.db"
    schema = bump_schema(db, 2)
    before = db.read_bytes()

    result = invoke(cli, *command, "--config", str(config))

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: upgrade tracker: {db} was written by a newer tracker "
        f"(schema {schema}; this release knows up to {len(migrations.MIGRATIONS)}); it was left untouched"
    ]
    assert "Traceback" not in result.output
    assert db.read_bytes() == before


# --- the csv plugin refuses files that are no order or lead export ---------------------------------------------------

NEEDS = ('an order export needs a date and an amount column (amount_column names yours), a lead export a date column '
         'and kind = "lead" or a kind column')
# The ENGAGEMENT sheet of LinkedIn's member analytics (Content_<from>_<to>_<name>.xlsx) saved as CSV.
LINKEDIN_ENGAGEMENT = "Date,Impressions,Engagements\n{d1},1204,31\n{d2},877,12\n"


def days_ago(n: int) -> str:
    return (date.today() - timedelta(days=n)).isoformat()


def linkedin_csv(path: Path) -> Path:
    path.write_text(LINKEDIN_ENGAGEMENT.format(d1=days_ago(3), d2=days_ago(2)), encoding="utf-8")
    return path


def shop_config(tmp_path: Path, path: Path, extra: str = "") -> Path:
    return write_config(tmp_path, f'[accounts.shop]\nplugin = "csv"\npath = "{path}"\n{extra}')


def linkedin_refusal(path: Path) -> str:
    return (f"{path}: refused: it looks like a LinkedIn personal analytics export (ENGAGEMENT sheet), not an order or "
            f'lead export: its header "Date, Impressions, Engagements" has Impressions, Engagements; import it with '
            f'the metrics_csv plugin (plugin = "metrics_csv", platform = "linkedin"); {NEEDS}')


def stored(db: Path, query: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        rows = [tuple(r) for r in conn.execute(query)]
    conn.close()
    return rows


def test_a_linkedin_analytics_csv_fails_the_sync_with_one_line_naming_file_header_and_what_is_needed(cli, tmp_path):
    export = linkedin_csv(tmp_path / "Content_linkedin.csv")
    config = shop_config(tmp_path, export)

    result = cli.invoke(app, ["sync", "--config", str(config)], env={"COLUMNS": "1000", "NO_COLOR": "1"})

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert [line for line in result.stdout.splitlines() if "FAILED" in line and linkedin_refusal(export) in line]
    assert stored(tmp_path / "t.db", "SELECT status, error FROM account_run") == [("failed", linkedin_refusal(export))]
    assert stored(tmp_path / "t.db", "SELECT COUNT(*) FROM conversion") == [(0,)]


def test_a_refused_file_keeps_every_order_already_stored_for_the_account(cli, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "orders.csv").write_text(f"Order ID,Date,Amount\nA-1,{days_ago(5)},19.90\nA-2,{days_ago(4)},5.00\n")
    config = shop_config(tmp_path, folder)
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    query = "SELECT id, amount FROM conversion ORDER BY id"
    before = stored(tmp_path / "t.db", query)
    revenue = "SELECT SUM(value) FROM sample WHERE metric = 'revenue'"
    linkedin_csv(folder / "linkedin.csv")

    assert invoke(cli, "sync", "--config", str(config)).exit_code == 1

    assert before == [("A-1", 19.9), ("A-2", 5.0)]
    assert stored(tmp_path / "t.db", query) == before
    assert stored(tmp_path / "t.db", revenue) == [(24.9,)]


def test_accounts_check_fails_a_linkedin_analytics_csv_with_the_same_line(cli, tmp_path):
    export = linkedin_csv(tmp_path / "Content_linkedin.csv")
    config = shop_config(tmp_path, export)

    result = invoke(cli, "accounts", "check", "--config", str(config), "--format", "json")

    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {"account": "shop", "plugin": "csv", "status": "failed", "message": linkedin_refusal(export)}
    ]


def test_a_file_with_no_amount_no_kind_column_and_no_kind_option_is_refused_naming_its_header(tmp_path):
    export = tmp_path / "visits.csv"
    export.write_text(f"Date,Visitors,Notes\n{days_ago(2)},31,rainy\n", encoding="utf-8")

    error = raises_domain_error(plugin, {"path": str(export)}, WINDOW)

    assert str(error) == (f'{export}: refused: its header "Date, Visitors, Notes" has no amount column and no kind '
                          f"column, and `kind` is not set, so its rows are neither orders nor leads; {NEEDS}")


# Each shape as the real export writes it: encoding, Excel `sep=` hint, title and comment lines included.
ANALYTICS_FILES = [
    ("LinkedIn Page analytics export (content)", "utf-8",
     "Date,Impressions (organic),Impressions (sponsored),Impressions (total),Unique impressions (organic),"
     "Clicks (organic)\n{d},410,0,410,233,9\n"),
    ("LinkedIn personal analytics export (TOP POSTS sheet)", "utf-8",
     "Maximum of 50 posts can be displayed\nPost URL,Post publish date,Engagements,,Post URL,Post publish date,"
     "Impressions\nhttps://www.linkedin.com/feed/update/urn:li:activity:1/,{d},12,,"
     "https://www.linkedin.com/feed/update/urn:li:activity:1/,{d},400\n"),
    ("Meta Business Suite insights export", "utf-16",
     'sep=,\n"Facebook follows"\n"Date","Primary"\n"{d}T00:00:00","20"\n'),
    ("Instagram content export (Meta Business Suite)", "utf-8-sig",
     "Post ID,Account ID,Account username,Account name,Description,Duration (sec),Publish time,Permalink,Post type,"
     "Data comment,Date,Views,Reach,Likes,Shares,Follows,Comments,Saves\n"
     "1789,1784,baeckerei,Bäckerei,Brot,0,04/01/2026 08:00,https://www.instagram.com/p/x/,IG image,,Lifetime,"
     "900,700,41,2,1,3,5\n"),
    ("Google Analytics report export", "utf-8",
     "# ----------------------------------------\n# Traffic acquisition: Session primary channel group\n"
     "# Start date: 20260401\n# End date: 20260430\n# ----------------------------------------\n\n"
     "Session primary channel group (Default Channel Group),Sessions,Engaged sessions,Key events\n"
     "Organic Social,120,80,3\n"),
    ("Plausible dashboard export", "utf-8",
     "date,visitors,pageviews,visits,views_per_visit,bounce_rate,visit_duration\n{d},1,1,1,1.0,100,0\n"),
    ("Plausible site export", "utf-8",
     "date,visitors,pageviews,bounces,visits,visit_duration\n{d},2,5,1,2,90\n"),
    ("Matomo report export", "utf-16",
     "date,nb_uniq_visitors,nb_visits,nb_actions,max_actions,bounce_count,sum_visit_length\n{d},3,4,9,4,1,300\n"),
]


@pytest.mark.parametrize(("name", "encoding", "text"), ANALYTICS_FILES, ids=[f[0] for f in ANALYTICS_FILES])
def test_known_analytics_exports_are_refused_by_name(tmp_path, name, encoding, text):
    export = tmp_path / "export.csv"
    export.write_bytes(text.format(d=days_ago(2)).encode(encoding))

    error = raises_domain_error(plugin, {"path": str(export), "kind": "lead"}, WINDOW)

    assert str(error).startswith(f"{export}: refused: it looks like a {name}, not an order or lead export: ")
    assert str(error).endswith(NEEDS) and "\n" not in str(error)


# --- near misses: what is an order or lead export stays accepted ----------------------------------------------------


def test_an_order_export_without_a_kind_column_but_with_an_amount_is_read_as_orders(tmp_path):
    export = tmp_path / "orders.csv"
    export.write_text(f"Order ID,Date,Amount,How did you hear about us?\nA-1,{days_ago(2)},19.90,Instagram\n")

    result = fetch_once(plugin, {"path": str(export)}, WINDOW)

    assert [(c.id, c.kind, c.amount, c.platform) for c in result.conversions] == [("A-1", "order", 19.9, "instagram")]
    assert result.unavailable == [] and result.notices == []


def test_a_file_without_an_amount_column_is_read_as_leads_when_kind_says_lead(tmp_path):
    export = tmp_path / "enquiries.csv"
    export.write_text(f"Date,Channel\n{days_ago(3)},Xing\n{days_ago(2)},Instagram\n")

    result = fetch_once(plugin, {"path": str(export), "kind": "lead"}, WINDOW)

    assert sorted((c.kind, c.platform) for c in result.conversions) == [("lead", "instagram"), ("lead", "xing")]
    assert result.unavailable == [] and result.notices == []


# --- absent is unknown, never zero ------------------------------------------------------------------------------------


def test_orders_without_an_amount_column_count_and_their_revenue_is_stored_as_unknown_not_zero(
    tmp_path, make_config, run_sync
):
    export = tmp_path / "till.csv"
    export.write_text(f"Date,How did you hear about us?\n{days_ago(3)},Instagram\n{days_ago(2)},Instagram\n")
    cfg = make_config({"till": {"plugin": "csv", "path": str(export), "kind": "order"}})

    result = run_sync(cfg)

    assert result.ok, result.outcomes[0].message
    assert result.outcomes[0].notices == [
        "till.csv has no amount column: its 2 orders count, their revenue is unknown, not 0 (set amount_column)"
    ]
    db = Path(cfg.database.removeprefix("sqlite:///"))
    assert stored(db, "SELECT platform, metric, status, reason FROM metric_status") == [
        ("instagram", "revenue", "unavailable", "till.csv has no amount column (2 orders without an amount)")
    ]
    assert stored(db, "SELECT SUM(value) FROM sample WHERE metric = 'orders'") == [(2.0,)]


def test_a_xing_statistics_export_given_to_the_csv_plugin_points_to_metrics_csv(tmp_path, make_config, run_sync):
    export = tmp_path / "xing.csv"
    export.write_text("Datum,Follower,Neue Follower,Seitenaufrufe\n2026-11-02,120,3,40\n", encoding="utf-8")
    cfg = make_config({"xing_stats": {"plugin": "csv", "path": str(export), "kind": "lead"}})
    result = run_sync(cfg)
    assert not result.ok
    assert "Xing page statistics export" in result.outcomes[0].message and "metrics_csv" in result.outcomes[0].message
