"""Trends in the table: a sparkline of engagement and conversions per platform, for people in a wide terminal."""

from datetime import date, timedelta

import pytest
from rich.console import Console

from tests.test_report import store
from tracker.plugin import Sample
from tracker.report import render
from tracker.report.build import build_report

END = date(2026, 3, 31)


def test_a_sparkline_scales_to_the_largest_value():
    assert render.sparkline([0, 1, 2, 4]) == "▁▃▅█"


def test_a_day_without_data_is_a_gap_not_the_lowest_block():
    assert render.sparkline([2, None, 2]) == "█ █"


def test_all_zero_days_are_the_lowest_block():
    assert render.sparkline([0, 0]) == "▁▁"


@pytest.fixture
def report(engine, make_config):
    store(engine, "insta", [Sample("instagram", "likes", END - timedelta(days=i), 10 * (14 - i)) for i in range(14)])
    store(
        engine,
        "ga4",
        [Sample("instagram", "conversions", END - timedelta(days=i), i % 2) for i in range(14)],
        source="analytics",
        covers_all=True,
    )
    return build_report(
        make_config({"insta": {"plugin": "demo"}, "ga4": {"plugin": "demo"}}), 14, END, None, trends=True
    )


def shown(report, **console) -> str:
    out = Console(record=True, **console)
    render.table(report, out)
    return out.export_text()


def test_a_wide_terminal_shows_engagement_then_conversions(report):
    text = shown(report, width=200, force_terminal=True, color_system=None, no_color=False)
    assert "▂▂▃▃▄▄▅▅▆▆▇▇██ █▁█▁█▁█▁█▁█▁█▁" in text
    assert "one block per day." in text


def test_no_sparkline_in_a_pipe_or_with_no_color(report):
    assert "▁" not in shown(report, width=200, force_terminal=False, no_color=False)
    assert "▁" not in shown(report, width=200, force_terminal=True, no_color=True)


def test_a_narrow_terminal_keeps_the_figures_and_drops_the_trend(report):
    text = shown(report, width=100, force_terminal=True, color_system=None, no_color=False)
    assert "▁" not in text and "…" not in text


def test_long_periods_get_one_block_per_few_days_as_a_daily_average(engine, make_config):
    store(engine, "insta", [Sample("instagram", "likes", END - timedelta(days=i), 5) for i in range(60)])
    rep = build_report(make_config({"insta": {"plugin": "demo"}}), 60, END, None, trends=True)
    assert rep.days_per_trend_block == 4
    assert rep.trends["instagram"].engagement == [5.0] * 15
