"""metrics_csv: analytics exports of platforms without an API (LinkedIn profiles, Xing pages) as daily samples.

Every export is written here in tmp_path, in the header layout of the real ones (LinkedIn's five-sheet
`Content_*.xlsx` with text cells and US dates; Xing's German page statistics), with made-up numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from tests.test_cli import invoke, write_config
from tracker import metrics
from tracker.errors import NotFound, PluginError
from tracker.testing import check_plugin, fetch_once, make_options, raises_domain_error, window
from tracker_plugins.csv import plugin as csv_plugin
from tracker_plugins.metrics_csv import IMPORTABLE, check, plugin

TODAY = datetime.now(UTC).date()  # the configs below use timezone = "UTC"
WIN = window(date(2026, 3, 1), date(2026, 3, 31), today=date(2026, 4, 10))


def ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def us(day: date) -> str:
    """LinkedIn writes dates as M/D/YYYY text."""
    return f"{day.month}/{day.day}/{day.year}"


def impressions(day: date) -> int:
    return 1000 + day.toordinal() % 97  # a different number each day: a figure on the wrong day cannot pass


def linkedin_workbook(path: Path, days: list[date], total: int = 1532, *, gained: int = 2) -> Path:
    """LinkedIn's personal analytics export: DISCOVERY, ENGAGEMENT, TOP POSTS, FOLLOWERS, DEMOGRAPHICS."""
    book = Workbook()
    discovery = book.active
    discovery.title = "DISCOVERY"
    discovery.append(["Overall Performance", f"{us(days[0])} - {us(days[-1])}"])
    discovery.append(["Impressions", str(sum(impressions(d) for d in days))])
    discovery.append(["Members reached", "812"])
    engagement = book.create_sheet("ENGAGEMENT")
    engagement.append(["Date", "Impressions", "Engagements"])
    for day in days:
        engagement.append([us(day), f"{impressions(day):,}", str(day.day % 7)])
    top = book.create_sheet("TOP POSTS")
    top.append(["Maximum of 50 posts can be displayed"])
    top.append([])
    top.append(["Post URL", "Post publish date", "Engagements", None, "Post URL", "Post publish date", "Impressions"])
    top.append(["https://www.linkedin.com/feed/update/urn:li:activity:1/", us(days[0]), "12", None,
                "https://www.linkedin.com/feed/update/urn:li:activity:1/", us(days[0]), "400"])
    followers = book.create_sheet("FOLLOWERS")
    followers.append([f"Total followers on {us(days[-1])}:", str(total)])
    followers.append([])
    followers.append(["Date", "New followers"])
    for day in days:
        followers.append([us(day), str(gained)])
    demographics = book.create_sheet("DEMOGRAPHICS")
    demographics.append(["Top Demographics", "Value", "Percentage"])
    demographics.append(["Job titles", "Baker", "12%"])
    book.save(path)
    return path


XING_HEADER = "Datum;Follower;Neue Follower;Seitenaufrufe;Impressionen;Interaktionen"


def xing_csv(path: Path, rows: list[tuple[date, int, int, int, int, int]]) -> Path:
    """Xing's page statistics as German Excel saves them: `;`, dd.mm.yyyy, 1.204 for a thousand, cp1252."""
    lines = [XING_HEADER] + [
        f"{d:%d.%m.%Y};{f:,};{n};{v};{i:,};{e}".replace(",", ".") for d, f, n, v, i, e in rows
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def account(name: str, platform: str, path: Path, extra: str = "") -> str:
    return f'[accounts.{name}]\nplugin = "metrics_csv"\nplatform = "{platform}"\npath = "{path}"\n{extra}\n'


def report_row(cli: Any, config: Path, platform: str) -> dict[str, Any]:
    result = invoke(cli, "report", "--config", str(config), "--format", "json")
    assert result.exit_code == 0, result.output
    return next(r for r in json.loads(result.stdout)["platforms"] if r["platform"] == platform)


def stored(db: Path, query: str = "SELECT account, platform, metric, day, value, provisional FROM sample "
           "ORDER BY account, platform, metric, day") -> list[tuple]:
    with sqlite3.connect(db) as conn:
        rows = [tuple(r) for r in conn.execute(query)]
    conn.close()
    return rows


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def values(result: Any) -> dict[tuple[str, str], float]:
    return {(s.metric, s.day.isoformat()): s.value for s in result.samples}


# --- through the real sync and report ---------------------------------------------------------------------------------


def test_a_linkedin_personal_analytics_xlsx_lands_in_the_linkedin_row_of_the_report(cli, tmp_path):
    days = [ago(n) for n in range(9, 2, -1)]
    export = linkedin_workbook(tmp_path / "Content_2026_Lindner.xlsx", days, total=1532)
    config = write_config(tmp_path, account("linkedin_me", "linkedin", export))

    synced = invoke(cli, "sync", "--config", str(config))

    assert synced.exit_code == 0, synced.output
    row = report_row(cli, config, "linkedin")
    assert row["impressions"] == sum(impressions(d) for d in days)
    assert row["engagement"] == sum(d.day % 7 for d in days)
    assert row["followers"] == 1532
    assert row["accounts"] == "linkedin_me"


def test_a_xing_export_with_german_headers_lands_in_the_xing_row_with_followers_as_a_gauge(cli, tmp_path):
    rows = [(ago(6), 1204, 3, 40, 1310, 12), (ago(5), 1207, 3, 52, 980, 9), (ago(4), 1206, 1, 33, 2450, 20)]
    export = xing_csv(tmp_path / "xing_statistik.csv", rows)
    config = write_config(tmp_path, account("xing_page", "xing", export))

    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0

    row = report_row(cli, config, "xing")
    assert row["followers"] == 1206  # the last day's total, never the sum of the days
    assert row["profile_views"] == 40 + 52 + 33
    assert row["impressions"] == 1310 + 980 + 2450
    assert row["engagement"] == 12 + 9 + 20
    gained = "SELECT SUM(value) FROM sample WHERE metric = 'followers_gained'"
    assert stored(tmp_path / "t.db", gained) == [(7.0,)]


def test_an_xlsx_made_with_openpyxl_with_date_and_number_cells_is_imported(cli, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Datum", "Follower", "Neue Follower", "Impressionen"])
    sheet.append([datetime(ago(4).year, ago(4).month, ago(4).day), 880, 4, 1510.0])
    sheet.append([ago(3), 884, 4, 1640])
    book.save(tmp_path / "xing.xlsx")
    config = write_config(tmp_path, account("xing_page", "xing", tmp_path / "xing.xlsx"))

    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0

    assert stored(tmp_path / "t.db", "SELECT metric, day, value FROM sample ORDER BY metric, day") == [
        ("followers", ago(4).isoformat(), 880.0), ("followers", ago(3).isoformat(), 884.0),
        ("followers_gained", ago(4).isoformat(), 4.0), ("followers_gained", ago(3).isoformat(), 4.0),
        ("impressions", ago(4).isoformat(), 1510.0), ("impressions", ago(3).isoformat(), 1640.0),
    ]


def test_reimporting_an_overlapping_export_with_the_same_values_writes_the_same_rows(cli, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    linkedin_workbook(folder / "Content_week1.xlsx", [ago(n) for n in range(12, 5, -1)])
    config = write_config(tmp_path, account("linkedin_me", "linkedin", folder))
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    before = stored(tmp_path / "t.db")
    shutil.copy(folder / "Content_week1.xlsx", folder / "Content_week1 (1).xlsx")

    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0

    assert len(before) == 7 * 3 + 1
    assert stored(tmp_path / "t.db") == before


def test_a_later_export_with_a_changed_figure_for_a_day_replaces_it(cli, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    xing_csv(folder / "march.csv", [(ago(8), 900, 2, 30, 700, 5), (ago(7), 902, 2, 31, 710, 6)])
    config = write_config(tmp_path, account("xing_page", "xing", folder))
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0
    xing_csv(folder / "april.csv", [(ago(7), 902, 2, 31, 999, 6), (ago(6), 905, 3, 29, 650, 4)])

    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0

    query = "SELECT day, value FROM sample WHERE metric = 'impressions' ORDER BY day"
    assert stored(tmp_path / "t.db", query) == [
        (ago(8).isoformat(), 700.0), (ago(7).isoformat(), 999.0), (ago(6).isoformat(), 650.0)
    ]


def test_an_order_export_fails_the_account_with_a_hint_to_use_the_csv_plugin(cli, tmp_path):
    export = write(tmp_path / "orders.csv", ["Order ID,Date,Amount,How did you hear about us?",
                                             f"A-1,{ago(3)},19.90,Xing"])
    config = write_config(tmp_path, account("xing_page", "xing", export))

    result = invoke(cli, "sync", "--config", str(config))

    assert result.exit_code == 1 and "Traceback" not in result.output
    expected = (f"{export}: refused: it looks like an order export, not a platform's analytics export: its header "
                '"Order ID, Date, Amount, How did you hear about us?" has Order ID, Amount; import orders and leads '
                'with the csv plugin (plugin = "csv")')
    assert stored(tmp_path / "t.db", "SELECT status, error FROM account_run") == [("failed", expected)]


def test_accounts_check_says_what_a_sync_would_import(cli, tmp_path):
    export = xing_csv(tmp_path / "xing.csv", [(ago(4), 880, 4, 20, 1510, 7), (ago(3), 884, 4, 25, 1640, 8)])
    config = write_config(tmp_path, account("xing_page", "xing", export))

    result = invoke(cli, "accounts", "check", "--config", str(config), "--format", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["message"] == (
        "1 file(s) read as Xing page statistics export: engagements, followers, followers_gained, impressions, "
        f"profile_views for xing from {ago(4)} to {ago(3)}"
    )


# --- presets: LinkedIn and Xing headers ------------------------------------------------------------------------------


def test_linkedin_followers_total_is_a_gauge_on_its_day_and_new_followers_are_counted_per_day(tmp_path):
    days = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    export = linkedin_workbook(tmp_path / "Content.xlsx", days, total=1532, gained=5)

    found = values(fetch_once(plugin, {"platform": "linkedin", "path": str(export)}, WIN))

    assert {k: v for k, v in found.items() if k[0].startswith("followers")} == {
        ("followers", "2026-03-04"): 1532.0,
        ("followers_gained", "2026-03-02"): 5.0, ("followers_gained", "2026-03-03"): 5.0,
        ("followers_gained", "2026-03-04"): 5.0,
    }


def test_linkedin_dates_no_value_can_decide_are_read_month_first(tmp_path):
    export = write(tmp_path / "engagement.csv", ["Date,Impressions,Engagements", "3/4/2026,410,7", "3/5/2026,388,2"])

    result = fetch_once(plugin, {"platform": "linkedin", "path": str(export)}, WIN)

    assert values(result) == {("impressions", "2026-03-04"): 410.0, ("engagements", "2026-03-04"): 7.0,
                              ("impressions", "2026-03-05"): 388.0, ("engagements", "2026-03-05"): 2.0}
    assert result.notices == []


def test_linkedin_german_headers_and_a_followers_sheet_saved_as_csv(tmp_path):
    export = write(tmp_path / "follower.csv", ["Follower:innen insgesamt am 05.03.2026,2.310", "",
                                               "Datum,Neue Follower:innen", "04.03.2026,6", "05.03.2026,9"])

    result = fetch_once(plugin, {"platform": "linkedin", "path": str(export)}, WIN)

    assert values(result) == {("followers", "2026-03-05"): 2310.0, ("followers_gained", "2026-03-04"): 6.0,
                              ("followers_gained", "2026-03-05"): 9.0}


def test_a_top_posts_sheet_alone_is_refused_naming_the_sheets_that_hold_days(tmp_path):
    export = write(tmp_path / "top.csv", ["Maximum of 50 posts can be displayed", "",
                                          "Post URL,Post publish date,Engagements", "https://x/1,3/4/2026,12"])

    error = raises_domain_error(plugin, {"platform": "linkedin", "path": str(export)}, WIN)

    assert str(error) == (f"{export}: refused: it looks like a LinkedIn personal analytics export (TOP POSTS sheet): "
                          "it ranks posts, it has no figures per day: import the ENGAGEMENT and FOLLOWERS sheets, or "
                          "the whole .xlsx")


def test_the_csv_plugin_points_a_linkedin_export_to_metrics_csv(tmp_path):
    export = write(tmp_path / "engagement.csv", ["Date,Impressions,Engagements", "2026-03-04,410,7"])

    error = raises_domain_error(csv_plugin, {"path": str(export)}, WIN)

    assert 'import it with the metrics_csv plugin (plugin = "metrics_csv", platform = "linkedin")' in str(error)


# --- any other sheet: columns, long rows ------------------------------------------------------------------------------


def test_the_columns_mapping_imports_headers_no_preset_knows_and_leaves_out_empty_ones(tmp_path):
    export = write(tmp_path / "stats.csv", ["Tag;Klicks auf Links;Besucher", "04.03.2026;31;12", "05.03.2026;18;9"])
    raw = {"platform": "xing", "path": str(export), "columns": {"Klicks auf Links": "link_clicks", "BESUCHER": ""}}

    result = fetch_once(plugin, raw, WIN)

    assert values(result) == {("link_clicks", "2026-03-04"): 31.0, ("link_clicks", "2026-03-05"): 18.0}
    assert result.notices == []


def test_columns_no_name_maps_are_named_in_a_notice(tmp_path):
    export = write(tmp_path / "stats.csv", ["Datum;Impressionen;Klicks", "04.03.2026;310;12"])

    result = fetch_once(plugin, {"platform": "xing", "path": str(export)}, WIN)

    assert values(result) == {("impressions", "2026-03-04"): 310.0}
    assert result.notices == ['stats.csv: columns not imported: Klicks; name them in `columns` ("" leaves one out)']


def test_date_metric_value_rows_are_read_through_the_same_names(tmp_path):
    export = write(tmp_path / "long.csv", ["date,metric,value", "2026-03-04,Impressionen,310", "2026-03-04,likes,8",
                                           "2026-03-05,Impressionen,290", "2026-03-05,Klicks,4"])

    result = fetch_once(plugin, {"platform": "xing", "path": str(export)}, WIN)

    assert values(result) == {("impressions", "2026-03-04"): 310.0, ("likes", "2026-03-04"): 8.0,
                              ("impressions", "2026-03-05"): 290.0}
    assert result.notices == ["long.csv: metrics not imported: 'Klicks' (line 5); name them in `columns` "
                              "(\"\" leaves one out)"]


def test_a_file_without_a_date_beside_metric_columns_is_refused_naming_its_header(tmp_path):
    export = write(tmp_path / "notes.csv", ["When,Impressions", "2026-03-04,310"])

    error = raises_domain_error(plugin, {"platform": "xing", "path": str(export)}, WIN)

    assert str(error) == (f'{export}: refused: no date column beside metric columns in its header "When, Impressions"; '
                          'name the date column with date_column and the others with columns = { "Impressionen" = '
                          '"impressions" }')


# --- bad rows, absent figures -----------------------------------------------------------------------------------------


def test_bad_rows_become_notices_naming_file_and_line_and_the_other_rows_are_kept(tmp_path):
    export = write(tmp_path / "xing.csv", ["Datum;Impressionen;Interaktionen", "02.03.2026;310;5", "31.02.2026;300;4",
                                           "04.03.2026;viele;3", "05.03.2026;-12;2", "06.03.2026;280;1"])

    result = fetch_once(plugin, {"platform": "xing", "path": str(export)}, WIN)

    assert sorted({day for _, day in values(result)}) == ["2026-03-02", "2026-03-06"]
    assert result.notices == [
        "xing.csv line 3: '31.02.2026' is not a date; row skipped",
        "xing.csv line 4: Impressionen 'viele' is not a number; row skipped",
        "xing.csv line 5: Impressionen -12 cannot be negative; row skipped",
    ]


def test_a_bad_row_in_an_xlsx_names_the_sheet_and_row(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Statistik"
    for row in (["Datum", "Impressionen"], ["04.03.2026", 310], ["05.03.2026", "n. v."]):
        sheet.append(row)
    book.save(tmp_path / "xing.xlsx")

    result = fetch_once(plugin, {"platform": "xing", "path": str(tmp_path / "xing.xlsx")}, WIN)

    assert result.notices == ["xing.xlsx sheet Statistik row 3: Impressionen 'n. v.' is not a number; row skipped"]


def test_empty_and_dash_cells_are_unknown_never_zero(tmp_path):
    export = write(tmp_path / "xing.csv", ["Datum;Impressionen;Interaktionen", "04.03.2026;;5", "05.03.2026;-;3"])

    result = fetch_once(plugin, {"platform": "xing", "path": str(export)}, WIN)

    assert values(result) == {("engagements", "2026-03-04"): 5.0, ("engagements", "2026-03-05"): 3.0}


def test_a_day_twice_in_one_file_keeps_the_first_row_and_names_the_second(tmp_path):
    export = write(tmp_path / "xing.csv", ["Datum;Impressionen", "04.03.2026;310", "04.03.2026;999"])

    result = fetch_once(plugin, {"platform": "xing", "path": str(export)}, WIN)

    assert values(result) == {("impressions", "2026-03-04"): 310.0}
    assert result.notices == ["xing.csv line 3: impressions for 2026-03-04 again (first on line 2); row skipped"]


# --- days, windows, re-reads ------------------------------------------------------------------------------------------


def test_days_outside_the_sync_window_are_not_stored_and_a_notice_names_the_command_that_imports_them(tmp_path):
    export = write(tmp_path / "xing.csv", ["Datum;Impressionen", "27.02.2026;100", "28.02.2026;110", "01.03.2026;120"])

    result = fetch_once(plugin, {"platform": "xing", "path": str(export)}, WIN)

    assert values(result) == {("impressions", "2026-03-01"): 120.0}
    assert result.notices == [
        "2 day(s) of the exports, 2026-02-27 to 2026-02-28, lie outside this sync's days (2026-03-01 to 2026-03-31) "
        "and were not imported: `tracker sync --since 2026-02-27` imports them (add --account and this account's name "
        "to sync only it)"
    ]
    assert result.state == {"files": {}}  # read again next time, when the window may hold those days


def test_an_unchanged_export_read_whole_is_skipped_on_the_next_sync(tmp_path):
    export = write(tmp_path / "xing.csv", ["Datum;Impressionen", "04.03.2026;310"])
    raw = {"platform": "xing", "path": str(export)}
    first = fetch_once(plugin, raw, WIN)

    again = fetch_once(plugin, raw, WIN, state=first.state)

    assert list(first.state["files"]) == [str(export)]
    assert (again.samples, again.state) == ([], first.state)


def test_the_platforms_last_days_are_provisional_until_a_later_export(tmp_path):
    export = write(tmp_path / "xing.csv", ["Datum;Impressionen", "29.03.2026;10", "30.03.2026;20", "31.03.2026;30"])
    win = window(date(2026, 3, 1), date(2026, 3, 31), today=date(2026, 3, 31))

    result = fetch_once(plugin, {"platform": "xing", "path": str(export)}, win)

    assert {s.day.day: s.provisional for s in result.samples} == {29: False, 30: True, 31: True}
    assert result.state == {"files": {}}


def test_a_folder_reads_csv_and_xlsx_exports_and_the_later_one_wins_on_shared_days(tmp_path):
    write(tmp_path / "a.csv", ["Datum;Impressionen", "04.03.2026;310", "05.03.2026;320"])
    book = Workbook()
    for row in (["Datum", "Impressionen"], ["05.03.2026", 325], ["06.03.2026", 330]):
        book.active.append(row)
    book.save(tmp_path / "b.xlsx")
    os.utime(tmp_path / "a.csv", (1, 1))  # older file, and it also ends earlier

    result = fetch_once(plugin, {"platform": "xing", "path": str(tmp_path)}, WIN)

    assert values(result) == {("impressions", "2026-03-04"): 310.0, ("impressions", "2026-03-05"): 325.0,
                              ("impressions", "2026-03-06"): 330.0}


# --- the plugin's contract --------------------------------------------------------------------------------------------


def test_passes_the_conformance_kit(tmp_path):
    export = xing_csv(tmp_path / "xing.csv", [(date(2026, 3, d), 900 + d, 1, 30, 700, 5) for d in range(1, 20)])

    result = check_plugin(plugin, {"platform": "xing", "path": str(export)}, since=date(2026, 3, 1),
                          until=date(2026, 3, 31), today=date(2026, 4, 10))

    assert len(result.samples) == 19 * 5  # five metric columns beside the date


def test_a_missing_path_is_one_line_naming_the_option(tmp_path):
    error = raises_domain_error(plugin, {"platform": "xing", "path": str(tmp_path / "nope.csv")}, WIN)

    assert isinstance(error, NotFound)
    assert str(error) == (f"{tmp_path / 'nope.csv'} does not exist: set `path` to an export (.csv or .xlsx), a folder "
                          "of them or a glob")


@pytest.mark.parametrize(("raw", "message"), [
    ({"platform": "Xing"}, "platform must be a platform key like \"linkedin\" or \"xing\", not 'Xing'"),
    ({"platform": "direct"}, "platform must be a platform key like \"linkedin\" or \"xing\", not 'direct'"),
    ({"columns": {"Klicks": "clicks"}}, "columns: Klicks = 'clicks': a column maps to one of followers, "),
    ({"columns": {"Umsatz": "revenue"}}, "columns: Umsatz = 'revenue': a column maps to one of followers, "),
])
def test_options_that_cannot_work_are_refused_with_the_reason(tmp_path, raw, message):
    from tracker import options

    _, problems = options.build(plugin, {"platform": "xing", "path": "x.csv", **raw}, where="accounts.x")

    assert len(problems) == 1 and message in problems[0]


def test_what_an_export_may_fill_is_vanity_or_care_metrics_of_the_vocabulary():
    for name in IMPORTABLE:
        assert metrics.get(name) is not None and metrics.get(name).side is not metrics.Side.CONVERSION, name


def test_check_refuses_an_order_export_like_the_sync(tmp_path):
    export = write(tmp_path / "orders.csv", ["Name,Created at,Total,Financial Status", "#1001,2026-03-04,25.00,paid"])

    with pytest.raises(PluginError, match="import orders and leads with the csv plugin"):
        check(make_options(plugin, {"platform": "xing", "path": str(export)}), None)
