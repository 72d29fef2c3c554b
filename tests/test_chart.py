"""`tracker chart`: the demo's story in the terminal, at every width, and the same figures for pipes and scripts."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from tests.conftest import noon
from tests.test_report import store
from tracker import config
from tracker.cli.chart import build_picture
from tracker.cli.main import app
from tracker.plugin import Sample
from tracker.report import chart, compute
from tracker.report.build import build_report
from tracker.report.series import Step, series
from tracker.store.db import open_engine

TODAY = date(2026, 11, 20)
UNTIL = TODAY.isoformat()
WIDTHS = (60, 80, 120, 200)


@pytest.fixture
def demo_config(tmp_path: Path, run_sync) -> Path:
    """The demo bakery synced for 90 days up to a pinned today, as a config file the CLI reads."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'database = "sqlite:///{tmp_path / "demo.db"}"\ntimezone = "UTC"\n[accounts.demo_bakery]\nplugin = "demo"\n',
        encoding="utf-8",
    )
    assert run_sync(config.load(path), since=TODAY - timedelta(days=89), until=TODAY, now=noon(TODAY)).ok
    return path


def terminal(cli, demo_config: Path, *args: str, width: int = 80, colour: bool = False):
    """The command as on a terminal of `width` columns (Rich's TTY_COMPATIBLE), with or without NO_COLOR."""
    env = {"TTY_COMPATIBLE": "1", "COLUMNS": str(width), "NO_COLOR": None if colour else "1"}
    return cli.invoke(app, ["chart", "--config", str(demo_config), "--until", UNTIL, *args], env=env)


def piped(cli, demo_config: Path, *args: str):
    return cli.invoke(app, ["chart", "--config", str(demo_config), "--until", UNTIL, *args])


def drawn(picture: chart.Picture, width: int) -> str:
    console = Console(record=True, width=width, color_system=None)
    for line in chart.draw(picture, width):
        console.print(line)
    return console.export_text()


def block(text: str, platform: str) -> list[str]:
    """The lines of one platform's small multiple: from its headline to the blank line after it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{platform} "))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def ink(text: str, platform: str, metric: str) -> int:
    """Eighths of a cell filled in one mini-chart: how much bar the reader sees."""
    lines = block(text, platform)
    middle = next(i for i, line in enumerate(lines) if re.match(rf"\s*{metric} │", line))
    rows = range(middle - 1, middle + 2)
    cells = "".join(lines[i].split("│" if i == middle else "┤", 1)[1] for i in rows)
    return sum(chart.BLOCKS.index(c) for c in cells if c in chart.BLOCKS)


# --- the story ------------------------------------------------------------------------


def test_demo_chart_shows_instagram_applauded_and_facebook_converting(cli, demo_config):
    result = terminal(cli, demo_config)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "instagram · few customers" in text and "facebook · brings customers" in text
    assert ink(text, "instagram", "engagement") > 5 * ink(text, "facebook", "engagement")
    assert ink(text, "facebook", "conversions") > 3 * ink(text, "instagram", "conversions")


def test_a_platform_nothing_measures_says_conversions_not_tracked_instead_of_a_flat_chart(cli, demo_config):
    lines = block(terminal(cli, demo_config).stdout, "xing")
    assert "  conversions not tracked" in lines
    assert not any(re.match(r"\s*conversions │", line) for line in lines)


def test_followers_are_a_line_between_their_lowest_and_highest_value(demo_config):
    picture = build_picture(config.load(demo_config), 30, TODAY, ["instagram"], [], Step.day)
    values = picture.series[0].values("followers")
    lines = block(drawn(picture, 80), "instagram")
    top = next(line for line in lines if re.match(r"\s*[\d,]+ ┤", line) and "followers" in lines[lines.index(line) + 1])
    bottom = lines[lines.index(top) + 2]
    assert top.split("┤")[0].strip() == f"{max(values):,.0f}"
    assert bottom.split("┤")[0].strip() == f"{min(values):,.0f}"  # not 0: a level is not an amount


# --- fits the terminal ----------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_chart_fits_every_width_without_cutting_anything(cli, demo_config, width):
    text = terminal(cli, demo_config, width=width).stdout
    assert "█" in text and "2026-10-22" in text
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_long_metric_names_and_weeks_fit_every_width(cli, demo_config, width):
    args = ("--by", "week", "--days", "90", "-m", "engagement_per_conversion", "-m", "visits")
    text = terminal(cli, demo_config, *args, width=width).stdout
    assert "engagement_per_conversion │" in text
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width


def test_more_days_than_columns_shows_the_latest_days_and_says_so(cli, demo_config):
    text = terminal(cli, demo_config, "--days", "90", width=60).stdout
    shown = int(re.search(r"Showing the last (\d+) of 90 days", text).group(1))
    assert 30 < shown < 90
    assert UNTIL in text  # the latest day is never the one left out
    assert max(len(line) for line in text.splitlines()) <= 60


def test_a_day_without_data_is_a_dot_on_the_baseline_not_a_zero_bar(engine):
    end = date(2026, 3, 31)
    first = end - timedelta(days=2)
    store(engine, "insta", [Sample("instagram", "likes", first, 5), Sample("instagram", "likes", end, 0)])
    period = compute.Period(first, end)
    picture = chart.Picture(period, Step.day, ("engagement",), series(engine, period), [], asked=True)
    baseline = next(line for line in drawn(picture, 60).splitlines() if line.strip().startswith("0 ┤"))
    cells = baseline.split("┤", 1)[1]
    bar = chart.frame(picture, 60).bar
    assert [cells[i * bar : (i + 1) * bar].strip() for i in range(3)] == ["█" * (bar - 1), chart.NO_DATA, ""]


# --- colour and pipes -----------------------------------------------------------------


def test_no_color_keeps_the_chart_and_writes_no_escape_codes(cli, demo_config):
    text = terminal(cli, demo_config).stdout
    assert "█" in text
    assert "\x1b" not in text


def test_a_terminal_with_colour_tells_vanity_from_conversions_by_colour(cli, demo_config):
    text = terminal(cli, demo_config, colour=True).stdout
    assert "\x1b[35m" in text and "\x1b[32m" in text  # magenta vanity, green conversions


def test_not_a_terminal_prints_a_table_one_row_per_day_and_platform(cli, demo_config):
    result = piped(cli, demo_config, "--days", "7")
    assert result.exit_code == 0, result.output
    assert "█" not in result.stdout and "\x1b" not in result.stdout
    picture = build_picture(config.load(demo_config), 7, TODAY, None, [], Step.day)
    rows = [line.split() for line in result.stdout.splitlines() if re.match(r"\d{4}-\d\d-\d\d ", line)]
    assert len(rows) == 7 * len(picture.series)
    instagram = next(s for s in picture.series if s.platform == "instagram")
    last = next(r for r in rows if r[:2] == [UNTIL, "instagram"])
    assert last[2:] == [f"{instagram.values(m)[-1]:,.0f}" for m in ("engagement", "followers", "conversions")]


# --- json and csv ---------------------------------------------------------------------


def expected(demo_config: Path, days: int, step: Step, metrics: tuple[str, ...]) -> list[dict]:
    """What report.series says, straight from the store."""
    cfg = config.load(demo_config)
    period = compute.Period(TODAY - timedelta(days=days - 1), TODAY)
    engine = open_engine(cfg.database)
    try:
        found = series(engine, period, step, precedence=cfg.precedence, configured={a.name for a in cfg.accounts})
    finally:
        engine.dispose()
    return sorted(
        (
            {
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "platform": s.platform,
                **{m: getattr(p.row, m) if p.row else None for m in metrics},
            }
            for s in found
            for p in s.points
        ),
        key=lambda r: (r["platform"], r["start"]),
    )


def test_json_is_one_record_per_day_and_platform_equal_to_the_series(cli, demo_config):
    result = piped(cli, demo_config, "--days", "10", "--format", "json", "-m", "likes", "-m", "conversions")
    got = json.loads(result.stdout)
    want = expected(demo_config, 10, Step.day, ("likes", "conversions"))
    assert sorted(got, key=lambda r: (r["platform"], r["start"])) == want


def test_json_says_null_where_nothing_measures_never_zero(cli, demo_config):
    got = json.loads(piped(cli, demo_config, "--days", "3", "--format", "json", "-p", "xing").stdout)
    assert [r["conversions"] for r in got] == [None, None, None]
    assert all(r["engagement"] is not None for r in got)


def test_csv_is_the_same_records_with_empty_cells_for_no_data(cli, demo_config):
    result = piped(cli, demo_config, "--days", "10", "--format", "csv")
    got = sorted(csv.DictReader(io.StringIO(result.stdout)), key=lambda r: (r["platform"], r["start"]))
    want = expected(demo_config, 10, Step.day, chart.DEFAULT_METRICS)
    assert list(got[0]) == ["start", "end", "platform", *chart.DEFAULT_METRICS]
    figures = [{m: None if r[m] == "" else float(r[m]) for m in chart.DEFAULT_METRICS} for r in got]
    assert figures == [{m: r[m] for m in chart.DEFAULT_METRICS} for r in want]  # "" where None, never 0
    assert [(r["start"], r["end"], r["platform"]) for r in got] == [(r["start"], r["end"], r["platform"]) for r in want]


def test_by_week_buckets_end_on_the_periods_last_day_and_add_up_to_the_report(cli, demo_config):
    result = piped(cli, demo_config, "--days", "30", "--by", "week", "--format", "json", "-p", "instagram")
    got = json.loads(result.stdout)
    assert [(r["start"], r["end"]) for r in got] == [
        ("2026-10-22", "2026-10-23"),
        ("2026-10-24", "2026-10-30"),
        ("2026-10-31", "2026-11-06"),
        ("2026-11-07", "2026-11-13"),
        ("2026-11-14", "2026-11-20"),
    ]
    total = build_report(config.load(demo_config), 30, TODAY, ["instagram"]).rows[0]
    assert sum(r["engagement"] for r in got) == total.engagement
    assert got[-1]["followers"] == total.followers


def test_a_short_first_week_is_said(cli, demo_config):
    assert "The first week has 2 days." in terminal(cli, demo_config, "--by", "week", width=120).stdout


# --- refusals -------------------------------------------------------------------------


def test_unknown_metric_exits_2_naming_the_known_ones(cli, demo_config):
    result = piped(cli, demo_config, "--metric", "likez")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "--metric 'likez'" in result.stderr and "engagement, " in result.stderr and "conversions, " in result.stderr


def test_a_text_field_of_the_report_is_not_a_metric(cli, demo_config):
    result = piped(cli, demo_config, "--metric", "verdict")
    assert result.exit_code == 2 and "--metric 'verdict'" in result.stderr


def test_unknown_platform_exits_2_naming_the_known_ones(cli, demo_config):
    result = piped(cli, demo_config, "--platform", "instagramm")
    assert result.exit_code == 2
    assert "--platform 'instagramm' is not a platform key" in result.stderr and "instagram" in result.stderr
    assert "Traceback" not in result.output


def test_platform_option_draws_only_that_platform(cli, demo_config):
    text = terminal(cli, demo_config, "-p", "facebook").stdout
    assert "facebook · brings customers" in text
    assert "instagram" not in text and "direct" not in text
