"""Which days a sync asks for: incremental with lookback, first run, backfill."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tracker.errors import ConfigError
from tracker.plugin import Window, next_midnight
from tracker.windows import next_cursor, plan_window

UTC = ZoneInfo("UTC")
TODAY = date(2026, 11, 27)


def test_first_run_fetches_initial_days_up_to_today():
    plan = plan_window(tz=UTC, today=TODAY, last_good_day=None, lookback_days=3, initial_days=30)
    assert (plan.window.since, plan.window.until) == (date(2026, 10, 29), TODAY)
    assert not plan.backfill


def test_incremental_run_starts_lookback_days_before_last_good_day():
    plan = plan_window(tz=UTC, today=TODAY, last_good_day=date(2026, 11, 20), lookback_days=3)
    assert (plan.window.since, plan.window.until) == (date(2026, 11, 17), TODAY)


def test_backfill_asks_exactly_for_the_given_days():
    plan = plan_window(
        tz=UTC,
        today=TODAY,
        last_good_day=date(2026, 11, 26),
        lookback_days=3,
        since=date(2026, 1, 1),
        until=date(2026, 3, 31),
    )
    assert (plan.window.since, plan.window.until, plan.backfill) == (date(2026, 1, 1), date(2026, 3, 31), True)


def test_backfill_never_moves_the_cursor_backwards():
    plan = plan_window(
        tz=UTC, today=TODAY, last_good_day=TODAY, lookback_days=3, since=date(2026, 1, 1), until=date(2026, 1, 31)
    )
    assert next_cursor(TODAY, plan) == TODAY


def test_incremental_run_moves_the_cursor_to_today():
    plan = plan_window(tz=UTC, today=TODAY, last_good_day=date(2026, 11, 20), lookback_days=3)
    assert next_cursor(date(2026, 11, 20), plan) == TODAY


def test_since_after_until_is_a_config_error():
    with pytest.raises(ConfigError):
        plan_window(
            tz=UTC, today=TODAY, last_good_day=None, lookback_days=3, since=date(2026, 2, 1), until=date(2026, 1, 1)
        )


def test_chunks_split_a_window_into_spans_of_at_most_n_days_covering_every_day():
    window = Window(date(2026, 1, 1), date(2026, 7, 19), TODAY, UTC)
    chunks = list(window.chunks(90))
    assert [(c.since, c.until) for c in chunks] == [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 6, 29)),
        (date(2026, 6, 30), date(2026, 7, 19)),
    ]
    assert sum(len(list(c.days())) for c in chunks) == len(list(window.days()))


def test_provisional_marks_only_the_last_n_days():
    window = Window(date(2026, 11, 20), TODAY, TODAY, UTC)
    assert [d.day for d in window.days() if window.is_provisional(d, 2)] == [26, 27]


def test_next_midnight_is_the_start_of_the_next_day_in_the_quota_zone():
    pacific = ZoneInfo("America/Los_Angeles")
    late_pacific_evening = datetime(2026, 11, 24, 23, 30, tzinfo=pacific)
    assert next_midnight(pacific, late_pacific_evening) == datetime(2026, 11, 25, 0, 0, tzinfo=pacific)
    assert next_midnight(UTC, late_pacific_evening) == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
