"""`tracker report --format html`: one file to send, checked as a parser and a real browser read it.

The demo bakery is synced once with pinned dates (today is 2026-11-20, never
the real date); the HTML and JSON reports come from the real command with the
same options. The browser tests open the file in headless Chromium over the
DevTools Protocol; they are skipped only outside CI when Chromium is missing.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.browser import Browser, Visit, chromium_or_skip, png_size
from tests.conftest import noon
from tracker import config as cfgmod
from tracker.cli.common import Format
from tracker.cli.main import app
from tracker.cli.report import ReportFormat
from tracker.registry import discover
from tracker.report import html, render, svg
from tracker.report.rows import PRECISION, Report
from tracker.store.db import open_engine
from tracker.sync import Syncer

TODAY = date(2026, 11, 20)
SIZE = (1280, 800)
DEMO_CONFIG = """\
database = "sqlite:///{db}"
timezone = "UTC"

[effort.instagram]
hours_per_week = 6.0
[effort.facebook]
hours_per_week = 2.0
[effort.xing]
hours_per_week = 1.0

[accounts.demo_bakery]
plugin = "demo"
"""
REPORT = ["report", "--days", "30", "--until", TODAY.isoformat()]
# The summary table's figure columns and the JSON field each one shows first.
SUMMARY_FIELDS = {
    "Followers": "followers",
    "Engagement": "engagement",
    "Reach/day": "reach_daily_avg",
    "Visits": "visits",
    "Conversions": "conversions",
    "Conv. rate": "conversion_rate",
    "Revenue": "revenue",
    "Eng./conv.": "engagement_per_conversion",
}


@dataclass(frozen=True)
class Demo:
    config: Path
    html_file: Path
    json: dict
    report: Report


def isolated(mp: pytest.MonkeyPatch, home: Path) -> None:
    """What conftest's isolated_env does per test, for a fixture shared by a module."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        mp.setenv(var, str(home / var.lower()))
    mp.setenv("HOME", str(home))
    mp.setenv("NO_COLOR", "1")
    mp.setenv("COLUMNS", "160")
    mp.delenv("TRACKER_CONFIG", raising=False)


def invoke(args: list[str]):
    return CliRunner().invoke(app, args)


def make_demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo bakery's 90 days, and its 30-day report as HTML (written by --output) and as JSON."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        isolated(mp, folder / "home")
        config = folder / "config.toml"
        config.write_text(DEMO_CONFIG.format(db=folder / "tracker.db"), encoding="utf-8")
        cfg = cfgmod.load(config)
        engine = open_engine(cfg.database)
        try:
            assert Syncer(cfg, discover(), engine, now=noon(TODAY)).run(None, TODAY - timedelta(days=89), TODAY).ok
        finally:
            engine.dispose()
        html_file = folder / "report.html"
        made = invoke([*REPORT, "--config", str(config), "--format", "html", "--output", str(html_file)])
        assert made.exit_code == 0, made.output
        as_json = invoke([*REPORT, "--config", str(config), "--format", "json"])
        assert as_json.exit_code == 0, as_json.output
        from tracker.report.build import build_report

        report = build_report(cfg, 30, TODAY, None)
    return Demo(config, html_file, json.loads(as_json.stdout), report)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return make_demo(tmp_path_factory)


# --- the file as a parser reads it ----------------------------------------------------------


class Page(HTMLParser):
    """The parts of the report a test reads: summary rows, figure lists, charts, tags and links."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headers: list[str] = []
        self.rows: dict[str, list[str]] = {}  # platform -> summary cells
        self.table_rows: list[list[str]] = []  # every row of every table, as cell texts
        self.figures: dict[str, dict[str, str]] = {}  # platform -> field -> text
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._row: str | None = None
        self._section: str | None = None
        self._field: str | None = None
        self._in_head = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section" and a.get("id", "").startswith("p-"):
            self._section = a["id"][2:]
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self.table_rows.append([])
            if a.get("data-platform"):
                self._row = a["data-platform"]
                self.rows[self._row] = []
        elif tag in ("th", "td"):
            self._cell = []
        elif tag == "dd" and a.get("data-field"):
            self._field = a["data-field"]
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = False
        elif tag in ("th", "td") and self._cell is not None:
            text = "".join(self._cell).strip()
            self.table_rows[-1].append(text)
            if self._in_head and not self.rows:
                self.headers.append(text)
            elif self._row:
                self.rows[self._row].append(text)
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "dd" and self._field and self._section and self._cell is not None:
            self.figures.setdefault(self._section, {})[self._field] = "".join(self._cell).strip()
            self._field, self._cell = None, None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def all_text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.text))


@pytest.fixture(scope="module")
def page(demo: Demo) -> Page:
    return Page(demo.html_file.read_text(encoding="utf-8"))


def shown(value: float | None, field: str) -> str:
    return "–" if value is None else f"{value:,.{PRECISION.get(field, 0)}f}"


def test_every_figure_in_the_table_equals_the_json_reports(demo, page):
    assert list(page.rows) == [p["platform"] for p in demo.json["platforms"]]
    for data in demo.json["platforms"]:
        cells = dict(zip(page.headers, page.rows[data["platform"]], strict=True))
        for header, field in SUMMARY_FIELDS.items():
            first = cells[header].split(" (")[0].removesuffix("%")
            assert first == shown(data[field], field), (data["platform"], header)
        if data["followers_change"] is not None:
            assert cells["Followers"].endswith(f"({data['followers_change']:+,.0f})"), data["platform"]
        assert cells["Verdict"] == render.VERDICT_LABEL[data["verdict"]], data["platform"]


def test_every_number_of_the_json_report_is_in_its_platforms_list(demo, page):
    for data in demo.json["platforms"]:
        numbers = {k: v for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        listed = page.figures[data["platform"]]
        assert set(listed) == {k for k, v in numbers.items() if v is not None}, data["platform"]
        for field, text in listed.items():
            assert re.fullmatch(rf"{re.escape(shown(numbers[field], field))}(%| h| {demo.json['currency']})?", text), (
                field,
                text,
            )


def test_the_sentences_verdicts_and_footnotes_are_the_reports(demo, page):
    text = page.all_text()
    for line in render.notes(demo.report):
        assert line.strip().replace("`", "") in text
    for data in demo.json["platforms"]:
        assert data["verdict_text"].replace("`", "") in text
    assert render.caption(demo.report, True, True) in text
    assert f"Revenue in {demo.json['currency']}." in text


def test_each_conversion_source_is_listed_with_its_own_figure(demo, page):
    currency = demo.json["currency"]
    for data in demo.json["platforms"]:
        for source in data["sources"]:
            revenue = "–" if source["revenue"] is None else f"{source['revenue']:,.2f} {currency}"
            listed = [source["account"], html.KIND_WORDS[source["kind"]], f"{source['conversions']:,.0f}", revenue]
            assert listed + ["yes" if source["counted"] else "no"] in page.table_rows, data["platform"]


def test_the_file_names_nothing_outside_itself(page, demo):
    text = demo.html_file.read_text(encoding="utf-8")
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base"}
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        assert (attrs.get("href") or "#").startswith("#"), (tag, attrs)
    assert "url(" not in text and "@import" not in text
    assert re.findall(r"https?://[^\s\"'<]+", text) == ["http://www.w3.org/2000/svg"] * len(demo.json["platforms"])


def test_the_file_is_ascii_in_short_lines_so_no_mail_program_garbles_it(demo):
    data = demo.html_file.read_bytes()
    assert data.decode("ascii")  # raises on any other byte
    assert max(len(line) for line in data.splitlines()) <= html.LINE_WIDTH


def test_a_period_without_data_still_makes_a_page_that_says_so(demo, tmp_path):
    result = invoke(["report", "--config", str(demo.config), "--until", "2020-01-31", "--format", "html"])
    assert result.exit_code == 0, result.output
    parsed = Page(result.stdout)
    assert parsed.rows == {} and not [tag for tag, _ in parsed.tags if tag == "svg"]
    assert "No data for this period." in parsed.all_text()


def test_the_page_says_its_language_and_title(page):
    (html_tag,) = [a for tag, a in page.tags if tag == "html"]
    assert html_tag.get("lang") == "en"
    assert any(tag == "title" for tag, _ in page.tags)


def test_every_chart_has_a_title_and_a_description_in_words(demo, page):
    charts = [a for tag, a in page.tags if tag == "svg"]
    assert len(charts) == len(demo.json["platforms"])
    for attrs in charts:
        assert attrs["role"] == "img"
        ids = attrs["aria-labelledby"].split()
        assert [i.rsplit("-", 1)[1] for i in ids] == ["title", "desc"]
        assert all(any(a.get("id") == i for _, a in page.tags) for i in ids)
    facebook = next(p for p in demo.json["platforms"] if p["platform"] == "facebook")
    assert f"{facebook['engagement']:,.0f} interactions in the period" in page.all_text()


def test_every_string_is_escaped(demo):
    row = dataclasses.replace(
        demo.report.rows[0],
        platform='<script>alert("x")</script>',
        accounts="a&b",
        verdict_text="Brings <b>customers</b>",
        sources=[],
    )
    report = dataclasses.replace(demo.report, rows=[row])
    parsed = Page(html.page(report, []))
    assert not [tag for tag, _ in parsed.tags if tag in ("script", "b")]
    assert '<script>alert("x")</script>' in parsed.all_text()
    assert "Brings <b>customers</b>" in parsed.all_text()


def test_a_bucket_without_data_is_a_gap_in_the_line_not_a_zero():
    drawn = svg.draw(
        svg.Chart("c", "t", "d", [svg.Panel("Interactions per day", [4.0, 5.0, None, 6.0, 8.0], [])], "a", "b")
    )
    lines = re.findall(r'<polyline points="([^"]+)"', drawn)
    assert len(lines) == 2
    assert [len(points.split()) for points in lines] == [2, 2]


def test_the_period_before_is_drawn_dashed_and_light():
    drawn = svg.draw(svg.Chart("c", "t", "d", [svg.Panel("Interactions per day", [4.0, 5.0], [3.0, 9.0])], "a", "b"))
    before, now = re.findall(r"<polyline [^>]+>", drawn)
    assert "stroke-dasharray" in before and svg.PREVIOUS in before
    assert "stroke-dasharray" not in now and svg.CURRENT in now


def test_a_platform_nothing_tracks_says_so_in_its_conversion_chart(demo, page):
    xing = next(p for p in demo.json["platforms"] if p["platform"] == "xing")
    assert xing["tracked"] is False
    assert "not tracked: nothing measures conversions from here" in page.all_text()


def test_long_periods_are_charted_per_week():
    assert html.step_for(92).value == "day"
    assert html.step_for(93).value == "week"


# --- the command ------------------------------------------------------------------------------


def test_report_takes_every_shared_format_and_html_and_markdown():
    assert {f.value for f in Format} | {"html", "markdown"} == {f.value for f in ReportFormat}


def test_other_commands_do_not_take_html(demo):
    result = invoke(["status", "--config", str(demo.config), "--format", "html"])
    assert result.exit_code == 2


def test_html_goes_to_standard_output_without_output(demo):
    result = invoke([*REPORT, "--config", str(demo.config), "--format", "html"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.rstrip().endswith("</html>")


def test_output_writes_the_file_and_prints_nothing(demo, tmp_path):
    target = tmp_path / "report.html"
    result = invoke([*REPORT, "--config", str(demo.config), "--format", "html", "--output", str(target)])
    assert (result.exit_code, result.stdout) == (0, "")
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_output_also_writes_json(demo, tmp_path):
    target = tmp_path / "report.json"
    result = invoke([*REPORT, "--config", str(demo.config), "--format", "json", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text(encoding="utf-8"))["platforms"] == demo.json["platforms"]


@pytest.mark.parametrize(
    ("where", "says"),
    [("folder", "is a folder; name a file"), ("missing/report.html", "does not exist")],
)
def test_an_output_that_cannot_be_a_file_is_refused_in_one_line(demo, tmp_path, where, says):
    (tmp_path / "folder").mkdir()
    result = invoke([*REPORT, "--config", str(demo.config), "--format", "html", "--output", str(tmp_path / where)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("error: --output ") and says in result.output
    assert "Traceback" not in result.output


def test_output_with_the_table_is_refused(demo, tmp_path):
    result = invoke([*REPORT, "--config", str(demo.config), "--output", str(tmp_path / "report.txt")])
    assert result.exit_code == 2
    assert "the table is for the terminal" in result.output
    assert not (tmp_path / "report.txt").exists()


# --- the file as a person sees it: headless Chromium ----------------------------------------------

QUESTIONS = {
    "rows": """[...document.querySelectorAll('table.summary tbody tr')].map(tr => ({
        platform: tr.dataset.platform,
        visible: tr.checkVisibility() && tr.getBoundingClientRect().height > 0
            && tr.getBoundingClientRect().width > 0}))""",
    "charts": """[...document.querySelectorAll('svg')].map(s => {
        const r = s.getBoundingClientRect();
        return {title: s.querySelector('title').textContent, width: r.width, height: r.height}; })""",
    "resources": "performance.getEntriesByType('resource').map(e => e.name)",
    "cut": """[...document.querySelectorAll('.wide, table, figure, dl, p')]
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.tagName + '.' + e.className).concat(
        document.documentElement.scrollWidth > document.documentElement.clientWidth ? ['page'] : [])""",
}


@pytest.fixture(scope="module")
def visit(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> tuple[Visit, Path, Path]:
    """One visit of the demo report: what it asked the network for, printed, and looked like."""
    executable = chromium_or_skip()
    folder = tmp_path_factory.mktemp("browser")
    screenshot, pdf = folder / "report.png", folder / "report.pdf"
    browser = Browser(executable, folder / "profile", *SIZE)
    try:
        seen = browser.visit(demo.html_file.as_uri(), QUESTIONS, screenshot=screenshot, pdf=pdf)
    finally:
        browser.close()
    return seen, screenshot, pdf


def test_no_request_leaves_the_file(demo, visit):
    seen, _, _ = visit
    assert seen.requests == [demo.html_file.as_uri()]
    assert seen.answers["resources"] == []


def test_the_page_prints_no_console_error(visit):
    seen, _, _ = visit
    assert seen.errors == []


def test_every_platform_row_is_visible(demo, visit):
    seen, _, _ = visit
    rows = seen.answers["rows"]
    assert [r["platform"] for r in rows] == [p["platform"] for p in demo.json["platforms"]]
    assert all(r["visible"] for r in rows), rows


def test_nothing_is_cut_or_scrolls_sideways_at_1280(visit):
    seen, _, _ = visit
    assert seen.answers["cut"] == []


def test_every_chart_is_drawn_with_a_size(demo, visit):
    seen, _, _ = visit
    charts = seen.answers["charts"]
    assert len(charts) == len(demo.json["platforms"])
    for chart in charts:
        assert chart["width"] > 0 and chart["height"] > 0, chart


def test_a_screenshot_at_1280_by_800_is_written(visit):
    _, screenshot, _ = visit
    assert png_size(screenshot) == SIZE


def test_it_prints_on_a4_pages(visit):
    _, _, pdf = visit
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
    assert boxes, "the PDF has no page"
    for width, height in boxes:
        assert (round(float(width)), round(float(height))) == (595, 842)  # A4 in points
