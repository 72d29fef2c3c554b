"""The fault matrix of issue 17: every fault an owner's tracker meets in months of running, and the tests that
show what it does then.

`MATRIX` maps each fault (one row of README's "What happens when" table, in the same order) to the tests
that cover it. Most rows were covered where the fix landed (test_store_faults, test_response_shapes,
test_http_faults, ...); this module adds the rows nobody covered yet, through the real CLI and the real HTTP
path against local servers: server errors and resets, a huge answer, a broken plugin in a sync, hostile
shop exports, formula cells in every CSV the CLI writes, twenty SIGKILLs at random points, and two
processes syncing one migrated database. Two tests keep the matrix honest: every test it names exists, and
README's table has exactly its rows.
"""

from __future__ import annotations

import importlib
import os
import random
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli import invoke, write_config
from tests.test_store_faults import GATED_TRACKER, tracker_command

ROOT = Path(__file__).resolve().parents[1]

MATRIX: dict[str, tuple[str, ...]] = {
    "A short wait asked for (429 or 503 with Retry-After)": (
        "test_http::test_short_retry_after_is_waited_out_then_retried",
        "test_x::test_short_rate_limit_is_waited_out_by_the_sync_which_then_succeeds",
        "test_google_business::test_a_429_with_retry_after_is_waited_out_by_the_session",
        "test_sync::test_a_short_rate_limit_is_waited_out_and_the_fetch_retried",
    ),
    "A long wait, or a 429 without Retry-After": (
        "test_http::test_429_without_retry_after_goes_straight_back_to_the_plugin",
        "test_http::test_retry_after_longer_than_max_wait_is_not_waited",
        "test_mastodon::test_rate_limited_sync_fails_with_a_clear_message_when_the_wait_is_too_long",
        "test_pinterest::test_a_rate_limit_stops_the_account_with_one_line_and_the_next_sync_reads_the_same_days",
        "test_bluesky::test_a_headerless_429_from_the_edge_still_backs_off",
    ),
    "Platform throttling inside an answer": (
        "test_http_faults::test_graph_throttling_says_the_account_gave_up_and_when_to_sync_again",
        "test_facebook::test_facebook_throttle_code_80001_raises_rate_limited_with_the_regain_time",
        "test_facebook::test_facebook_throttle_with_a_long_regain_time_stops_the_account_until_then",
        "test_instagram::test_instagram_throttle_code_80002_raises_rate_limited_with_the_regain_time",
        "test_threads::test_threads_throttle_code_stops_the_account_until_the_usage_header_says",
        "test_tiktok::test_throttle_code_40100_in_an_http_200_is_a_one_minute_rate_limit",
        "test_youtube::test_rate_limit_exceeded_is_a_short_wait",
    ),
    "A daily or monthly quota spent": (
        "test_sync::test_a_spent_quota_with_a_reset_time_skips_the_account_until_then",
        "test_sync::test_a_spent_quota_fails_the_account_without_retrying",
        "test_linkedin::test_daily_quota_fails_the_sync_of_that_account_with_a_clear_line",
        "test_x::test_monthly_usage_cap_429_stops_the_account_without_waiting",
        "test_youtube::test_quota_exhausted_fails_the_account_with_one_clear_line",
        "test_ga4::test_a_spent_quota_fails_the_sync_with_a_clear_line",
    ),
    "Server errors (HTTP 5xx)": (
        "test_http::test_server_errors_are_retried_until_success",
        "test_http::test_retries_are_bounded_and_the_last_answer_is_returned",
        "test_faults::test_a_service_answering_500_fails_its_account_after_retries_and_the_others_sync",
    ),
    "A connection reset or refused": (
        "test_faults::test_a_connection_reset_is_retried_then_fails_its_account_in_one_line",
        "test_faults::test_a_refused_connection_fails_its_account_in_one_line",
    ),
    "A service that hangs": (
        "test_http_faults::test_a_hanging_service_fails_the_account_saying_it_timed_out_after_one_retry",
        "test_http_faults::test_the_account_deadline_cuts_the_attempt_and_starts_no_retry",
        "test_http_faults::test_no_request_starts_once_the_session_deadline_has_passed",
    ),
    "An answer that is not JSON": (
        "test_response_shapes::test_a_body_that_is_not_json_is_named_with_the_service_not_the_decoders_text",
        "test_response_shapes::test_an_empty_200_body_is_called_empty",
    ),
    "An answer of another shape": (
        "test_response_shapes::test_a_wrongly_shaped_200_fails_the_account_with_exit_1_and_leaves_the_cursor_where_it_was",
        "test_response_shapes::test_every_reshaped_answer_fails_with_one_line_naming_the_service_or_changes_nothing",
        "test_fuzz::test_answers_of_the_right_shape_with_any_values_end_in_data_or_a_domain_error",
        "test_fuzz::test_answers_of_any_shape_end_in_data_or_a_domain_error",
    ),
    "A huge answer": (
        "test_faults::test_a_huge_answer_fails_its_account_in_one_short_line",
    ),
    "An expired or revoked token": (
        "test_facebook::test_facebook_expired_token_fails_account_with_one_line",
        "test_instagram::test_instagram_expired_token_fails_account_with_one_line",
        "test_threads::test_threads_expired_token_fails_the_account_in_one_line_saying_to_authorize_again",
        "test_linkedin::test_expired_token_fails_the_account_with_one_line_naming_the_problem_and_never_the_token",
        "test_youtube::test_expired_token_fails_the_account_naming_the_token_but_not_its_value",
        "test_tiktok::test_an_expired_token_fails_the_sync_with_one_line_saying_what_to_do_and_not_the_token",
        "test_pinterest::test_an_expired_token_fails_the_sync_naming_the_option_not_the_value",
        "test_x::test_invalid_token_fails_the_account_with_one_line_naming_it_and_never_the_token",
        "test_mastodon::test_invalid_token_fails_the_account_with_one_line_naming_the_token_but_not_its_value",
        "test_matomo::test_invalid_token_fails_the_account_with_one_line_and_no_token",
        "test_plausible::test_invalid_key_fails_the_account_with_one_line_naming_the_problem",
        "test_ga4::test_a_key_google_does_not_know_fails_with_one_line_naming_the_account",
        "test_google_business::test_a_revoked_refresh_token_gives_accounts_check_one_line_saying_to_sign_in_again",
    ),
    "A retired metric": (
        "test_facebook::test_facebook_retired_metric_is_reported_missing_while_valid_ones_land",
        "test_instagram::test_instagram_retired_metric_is_reported_missing_while_valid_ones_land",
        "test_threads::test_threads_refused_user_metric_is_reported_missing_while_the_others_land",
        "test_google_business::test_a_metric_google_refuses_is_reported_missing_and_asked_no_more_while_the_rest_lands",
        "test_silent_zeros::test_mastodon_before_4_5_keeps_post_quotes_missing_after_a_sync_whose_window_has_no_post",
        "test_report_trust::test_a_retired_metric_note_is_whole_and_names_the_platform",
    ),
    "Ctrl-C or SIGTERM": (
        "test_sync::test_stop_marks_the_run_interrupted_and_writes_nothing_half",
        "test_sync_signals::test_a_second_signal_ends_a_sync_stuck_in_a_plugin_and_records_the_run_interrupted",
        "test_sync_signals::test_a_sync_stuck_in_a_plugin_exits_after_the_grace_time_with_the_run_interrupted",
    ),
    "SIGKILL or a power cut": (
        "test_faults::test_twenty_sigkills_at_random_points_leave_a_sound_database_and_the_clean_runs_samples",
        "test_store_faults::test_a_sigkilled_sync_run_is_closed_as_interrupted_by_the_next_sync",
        "test_store_faults::test_a_run_left_running_by_a_killed_process_is_closed_as_interrupted_at_the_next_sync",
    ),
    "Two trackers at once on a new database": (
        "test_store_faults::test_two_syncs_on_a_fresh_sqlite_file_both_succeed_and_migrate_it_once",
        "test_store_faults::test_two_syncs_on_a_fresh_postgresql_database_both_succeed_and_migrate_it_once",
    ),
    "Two trackers at once on a migrated database": (
        "test_faults::test_two_syncs_at_once_on_a_migrated_database_end_as_one_clean_sync",
        "test_locks::test_two_syncers_on_one_database_never_write_an_account_twice",
        "test_locks::test_a_manual_sync_while_the_daemon_holds_the_account_says_skipped_and_exits_0",
    ),
    "A read-only or immutable database file": (
        "test_store_faults::test_a_read_only_file_in_a_read_only_folder_is_one_line_saying_read_only",
        "test_store_faults::test_writing_to_an_immutable_database_file_is_one_line_saying_so",
        "test_store_faults::test_reading_an_immutable_database_file_still_works",
    ),
    "A database on a read-only mount": (
        "test_store_faults::test_a_database_on_a_read_only_mount_is_one_line_saying_read_only",
    ),
    "A full disk": (
        "test_store_faults::test_a_full_disk_mid_commit_is_one_line_exit_2_and_the_run_is_closed_as_failed",
    ),
    "A database from a newer tracker": (
        "test_refusals::test_a_database_with_a_newer_schema_is_one_line_exit_2_and_left_byte_for_byte",
        "test_store_faults::test_db_status_names_the_migrations_this_release_does_not_know_and_exits_2",
        "test_store_faults::test_an_engine_opened_before_a_newer_tracker_migrated_the_file_refuses_the_next_sync",
    ),
    "A damaged database file, or no database at all": (
        "test_store_faults::test_a_database_with_damaged_pages_is_one_line_naming_it_and_exit_2",
        "test_store_faults::test_a_sync_that_meets_damaged_pages_closes_its_run_as_failed",
        "test_cli::test_a_file_that_is_not_a_database_is_one_line_naming_it_and_is_left_untouched",
    ),
    "A plugin that fails to import": (
        "test_registry::test_a_plugin_that_fails_to_import_is_listed_broken_and_others_still_load",
        "test_cli::test_plugins_list_shows_origin_options_and_broken_plugins",
        "test_faults::test_a_plugin_that_fails_to_import_fails_only_its_account_in_a_sync",
    ),
    "A plugin that crashes or never returns": (
        "test_sync::test_a_plugin_bug_is_reported_as_such_and_isolated",
        "test_sync_signals::test_a_sync_stuck_in_a_plugin_exits_after_the_grace_time_with_the_run_interrupted",
    ),
    "A broken or hostile config": (
        "test_cli::test_broken_config_gives_one_line_and_exit_code_2_without_traceback",
        "test_config::test_core_problems_are_one_line_naming_file_and_key",
        "test_config::test_all_problems_are_reported_at_once",
        "test_fuzz::test_generated_configs_parse_or_name_their_problems",
        "test_fuzz::test_generated_config_files_load_or_name_their_problems",
        "test_faults::test_a_config_that_is_no_text_is_one_line_and_exit_2",
    ),
    "A hostile shop or analytics export": (
        "test_csv_plugin::test_bad_rows_are_named_by_file_and_line_and_the_good_rows_kept",
        "test_refusals::test_a_linkedin_analytics_csv_fails_the_sync_with_one_line_naming_file_header_and_what_is_needed",
        "test_fuzz::test_generated_shop_exports_end_in_records_or_a_domain_error",
        "test_fuzz::test_generated_metric_exports_end_in_samples_or_a_domain_error",
        "test_fuzz::test_generated_xlsx_metric_exports_end_in_samples_or_a_domain_error",
        "test_faults::test_a_hostile_shop_export_skips_what_it_cannot_read_and_keeps_the_good_rows",
    ),
    "Text that a spreadsheet would run as a formula": (
        "test_output::test_formula_like_text_is_neutralised",
        "test_faults::test_a_formula_in_a_logged_note_is_neutralised_in_log_list_csv",
        "test_faults::test_an_account_named_like_a_formula_is_neutralised_in_status_csv",
    ),
    "A number that cannot be true": (
        "test_number_sanity::test_negative_followers_are_dropped_with_a_notice_and_the_rest_of_the_account_lands",
        "test_number_sanity::test_three_likes_of_1e308_are_dropped_so_no_sum_reaches_infinity",
        "test_number_sanity::test_a_non_finite_sample_is_dropped_and_the_account_still_lands",
        "test_number_sanity::test_an_amount_in_exponent_notation_is_refused_naming_file_and_line_never_read_as_digits",
        "test_number_sanity::test_log_sale_refuses_a_non_finite_amount_in_one_line_and_leaves_no_run_running",
    ),
    "A service that echoes a token": (
        "test_secrets::test_no_token_or_piece_of_one_is_left_anywhere_after_sync_schedule_alerts_and_status",
        "test_secrets::test_a_graph_message_echoing_a_long_token_leaves_no_piece_of_it",
    ),
    (
        "A database an older release wrote with a credential in clear (a `base_url` with `user:password@`, "
        "a token in a plugin's state, an error echoing `access_token=...`)"
    ): (
        "test_scrub_migration::test_the_first_command_leaves_no_fragment_of_a_stored_secret_in_any_table",
        "test_scrub_migration::test_the_scrub_changes_only_the_cells_that_held_a_secret",
        "test_scrub_migration::test_no_fragment_of_a_stored_secret_is_left_in_the_sqlite_files_bytes",
    ),
    "A numeric plugin option outside its range (`post_lookback_days = 100000`)": (
        "test_option_bounds::test_an_absurd_post_lookback_is_one_line_naming_file_account_key_and_value",
        "test_option_bounds::test_a_demo_seed_past_its_range_is_refused_with_its_value",
    ),
}


# --- the matrix, the tests and the README agree -----------------------------------------------------------------


def test_every_test_the_matrix_names_exists() -> None:
    missing = []
    for fault, tests in MATRIX.items():
        assert tests, f"{fault}: no test covers it"
        for name in tests:
            module, function = name.split("::")
            if not callable(getattr(importlib.import_module(f"tests.{module}"), function, None)):
                missing.append(f"{fault}: {name}")
    assert missing == []


def readme_faults() -> list[str]:
    """The first column of README's "What happens when" table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### What happens when", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # header and its rule left out
    return [row.split("|")[1].strip().strip("*") for row in rows]


def test_the_readme_table_has_one_row_per_fault_in_the_matrix_order() -> None:
    assert readme_faults() == list(MATRIX)


# --- server errors, resets, a huge answer: through `tracker sync` ----------------------------------------------


def mastodon_beside_demo(tmp_path: Path, instance: str) -> Path:
    """A config with a Mastodon account on `instance` and a demo account that always works."""
    return write_config(
        tmp_path,
        f'[accounts.masto]\nplugin = "mastodon"\ninstance = "{instance}"\nacct = "baeckerei"\n'
        '[accounts.bakery]\nplugin = "demo"\ninitial_days = 3\n',
    )


def account_runs(tmp_path: Path) -> dict[str, tuple[str, str | None]]:
    conn = sqlite3.connect(tmp_path / "t.db")
    try:
        return {a: (s, e) for a, s, e in conn.execute("SELECT account, status, error FROM account_run")}
    finally:
        conn.close()


def test_a_service_answering_500_fails_its_account_after_retries_and_the_others_sync(cli, tmp_path, httpserver):
    httpserver.expect_request(re.compile(".*")).respond_with_data("upstream broke", status=500)
    config = mastodon_beside_demo(tmp_path, httpserver.url_for("/").rstrip("/"))

    result = invoke(cli, "sync", "--config", str(config))

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    runs = account_runs(tmp_path)
    assert runs["bakery"][0] == "ok"
    status, error = runs["masto"]
    assert status == "failed" and "500" in error and "\n" not in error, error
    assert len(httpserver.log) == 4  # the first attempt and three retries


class ResettingServer:
    """Accepts each connection and resets it at once (SO_LINGER 0); counts the connections."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            connection.recv(65536)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()


@pytest.fixture
def resetting() -> Iterator[ResettingServer]:
    server = ResettingServer()
    yield server
    server.socket.close()


def test_a_connection_reset_is_retried_then_fails_its_account_in_one_line(cli, tmp_path, resetting):
    config = mastodon_beside_demo(tmp_path, resetting.url)

    result = invoke(cli, "sync", "--config", str(config))

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    runs = account_runs(tmp_path)
    assert runs["bakery"][0] == "ok"
    status, error = runs["masto"]
    assert status == "failed" and error.startswith("cannot reach the service (http://127.0.0.1:"), error
    assert resetting.accepted == 4  # the first attempt and three retries


def test_a_refused_connection_fails_its_account_in_one_line(cli, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    config = mastodon_beside_demo(tmp_path, f"http://127.0.0.1:{port}")

    result = invoke(cli, "sync", "--config", str(config))

    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    status, error = account_runs(tmp_path)["masto"]
    assert status == "failed" and error.startswith(f"cannot reach the service (http://127.0.0.1:{port}/"), error


def test_a_huge_answer_fails_its_account_in_one_short_line(cli, tmp_path, httpserver):
    huge = b"<html>" + b"x" * (40 * 1024 * 1024)  # 40 MB: a proxy's error page gone wrong
    httpserver.expect_request(re.compile(".*")).respond_with_data(huge, content_type="text/html")
    config = mastodon_beside_demo(tmp_path, httpserver.url_for("/").rstrip("/"))

    result = invoke(cli, "sync", "--config", str(config))

    assert result.exit_code == 1 and "Traceback" not in result.output, result.output[-2000:]
    status, error = account_runs(tmp_path)["masto"]
    assert status == "failed" and "not JSON (HTTP 200, text/html)" in error and len(error) < 300, error[:400]


# --- a broken plugin, a hostile config, a hostile export ---------------------------------------------------------


def test_a_plugin_that_fails_to_import_fails_only_its_account_in_a_sync(cli, tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "wobbly.py").write_text("raise RuntimeError('half written')\n", encoding="utf-8")
    config = write_config(
        tmp_path,
        f'plugin_dirs = ["{folder}"]\n[accounts.shaky]\nplugin = "wobbly"\n'
        '[accounts.bakery]\nplugin = "demo"\ninitial_days = 3\n',
    )

    result = invoke(cli, "sync", "--config", str(config))

    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    runs = account_runs(tmp_path)
    assert runs["bakery"][0] == "ok"
    assert "shaky" not in runs or runs["shaky"][0] == "failed"
    assert "wobbly" in result.stdout and "half written" in result.stdout


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"\xff\xfe" + "timezone".encode("utf-16-le")],
                         ids=["binary", "utf-16"])
def test_a_config_that_is_no_text_is_one_line_and_exit_2(cli, tmp_path, content):
    config = tmp_path / "config.toml"
    config.write_bytes(content)

    result = invoke(cli, "sync", "--config", str(config))

    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {config}: cannot read"), result.stderr
    assert "Traceback" not in result.output


def test_a_hostile_shop_export_skips_what_it_cannot_read_and_keeps_the_good_rows(cli, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "good.csv").write_text(
        "Name,Created at,Total\n#1001,2026-11-01,10.00\n#1002,2026-11-02,=1+1\n#1003,2026-11-03,12.50\n",
        encoding="utf-8",
    )
    (exports / "huge_cell.csv").write_text(f"Name,Created at,Total\n#2001,2026-11-01,\"{'9' * 200_000}\"\n")
    (exports / "binary.csv").write_bytes(bytes(range(256)) * 40)
    (exports / "nul.csv").write_bytes(b"Name,Created at,Total\n#3001,2026-11-0\x001,5.00\n")
    config = write_config(tmp_path, f'[accounts.shop]\nplugin = "csv"\npath = "{exports}"\n')

    result = invoke(cli, "sync", "--config", str(config))

    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert "huge_cell.csv" in result.stdout and "binary.csv" in result.stdout
    conn = sqlite3.connect(tmp_path / "t.db")
    try:
        amounts = conn.execute("SELECT amount FROM conversion WHERE withdrawn = 0 ORDER BY amount").fetchall()
    finally:
        conn.close()
    assert amounts == [(10.0,), (12.5,)]  # the formula amount is a bad row, named, not stored


# --- formula cells -------------------------------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example","click")'


def test_a_formula_in_a_logged_note_is_neutralised_in_log_list_csv(cli, tmp_path):
    config = write_config(tmp_path)
    assert invoke(cli, "log", "sale", "-p", "instagram", "--amount", "5", "--note", FORMULA,
                  "--config", str(config)).exit_code == 0

    result = invoke(cli, "log", "list", "--format", "csv", "--config", str(config))

    assert result.exit_code == 0, result.output
    cells = [cell for row in csv_rows(result.stdout) for cell in row]
    assert "'" + FORMULA in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]


def test_an_account_named_like_a_formula_is_neutralised_in_status_csv(cli, tmp_path):
    config = write_config(tmp_path, '[accounts."=cmd"]\nplugin = "demo"\ninitial_days = 3\n')
    assert invoke(cli, "sync", "--config", str(config)).exit_code == 0

    result = invoke(cli, "status", "--format", "csv", "--config", str(config))

    assert result.exit_code == 0, result.output
    cells = [cell for row in csv_rows(result.stdout) for cell in row]
    assert "'=cmd" in cells and "=cmd" not in cells


def csv_rows(text: str) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(text)))


# --- processes killed, and two at once ---------------------------------------------------------------------------

BACKFILL = ("--since", "2025-01-01", "--until", "2025-08-31")  # past days: the same demo figures on any date
KILLS = 20


def three_demo_accounts(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    config.write_text(
        f'database = "{folder / "t.db"}"\ntimezone = "UTC"\n'
        '[accounts.bakery]\nplugin = "demo"\n[accounts.cafe]\nplugin = "demo"\nseed = 3\n'
        '[accounts.deli]\nplugin = "demo"\nseed = 5\n',
        encoding="utf-8",
    )
    return config


def stored(db: Path) -> list[tuple]:
    """The samples as the report reads them; which run wrote a row is left out."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT account, platform, metric, day, value FROM sample ORDER BY 1, 2, 3, 4").fetchall()
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def run_tracker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tracker_command(), *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "160"})


def gated(config: Path) -> subprocess.Popen[str]:
    """A `tracker sync` that has done its imports and waits for a line on stdin to start."""
    return subprocess.Popen(
        [sys.executable, "-c", GATED_TRACKER, "sync", "--config", str(config), *BACKFILL],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "COLUMNS": "160"},
    )


def timed_run(config: Path) -> float:
    """How long one gated sync takes from its go to its exit: the span the kills are spread over."""
    proc = gated(config)
    assert proc.stdin is not None
    time.sleep(0.5)  # let it reach the gate; this run is not killed, so waiting longer costs nothing
    start = time.monotonic()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.wait(timeout=300) == 0
    return time.monotonic() - start


@pytest.mark.subprocess
def test_twenty_sigkills_at_random_points_leave_a_sound_database_and_the_clean_runs_samples(tmp_path):
    clean = three_demo_accounts(tmp_path / "clean")
    span = timed_run(clean)
    killed = three_demo_accounts(tmp_path / "killed")
    db = killed.parent / "t.db"
    rng = random.Random(17)
    for attempt in range(1, KILLS + 1):
        proc = gated(killed)
        assert proc.stdin is not None
        time.sleep(0.5)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(rng.uniform(0, span))  # from the migration of a new file to the last commit
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if db.exists():
            assert integrity(db) == "ok", f"kill {attempt}"

    final = run_tracker("sync", "--config", str(killed), *BACKFILL)

    assert final.returncode == 0, final.stderr
    assert integrity(db) == "ok"
    assert stored(db) == stored(clean.parent / "t.db")
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM sync_run WHERE status = 'running'").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM account_run WHERE status = 'running'").fetchone() == (0,)
    finally:
        conn.close()


PAIRS = 10


@pytest.mark.subprocess
def test_two_syncs_at_once_on_a_migrated_database_end_as_one_clean_sync(tmp_path):
    clean = three_demo_accounts(tmp_path / "clean")
    assert run_tracker("sync", "--config", str(clean), *BACKFILL).returncode == 0
    both = three_demo_accounts(tmp_path / "both")
    assert run_tracker("db", "status", "--config", str(both)).returncode == 0  # migrated, no sample yet
    env = {**os.environ, "COLUMNS": "160"}
    for attempt in range(1, PAIRS + 1):
        pair = sync_pair_with(both, env)
        for run in pair:
            assert run.returncode == 0, f"pair {attempt}: {run.stderr.strip()}"
            assert "error" not in run.stderr, f"pair {attempt}: {run.stderr.strip()}"
        assert integrity(both.parent / "t.db") == "ok", f"pair {attempt}"
    assert stored(both.parent / "t.db") == stored(clean.parent / "t.db")


def sync_pair_with(config: Path, env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    """test_store_faults' pair of gated syncs, here with the backfill's days."""
    args = [sys.executable, "-c", GATED_TRACKER, "sync", "--config", str(config), *BACKFILL]
    procs = [subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(2)]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done
