"""`tracker report --format markdown`: the table and the sentences, to paste into a document or a chat.

Checked as a Markdown reader sees it: markdown-it (CommonMark with GitHub's
tables, already installed with Rich) turns it into HTML, which the stdlib
parser reads back.
"""

from __future__ import annotations

import dataclasses

import pytest
from markdown_it import MarkdownIt

from tests.test_html_report import REPORT, SUMMARY_FIELDS, Demo, Page, invoke, make_demo, shown
from tracker.report import markdown, render


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return make_demo(tmp_path_factory)


def read(text: str) -> Page:
    """What a Markdown reader shows: the rendered page, parsed."""
    return Page(MarkdownIt("commonmark").enable("table").render(text))


def markdown_of(demo) -> str:
    result = invoke([*REPORT, "--config", str(demo.config), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_table_has_a_row_per_platform_with_the_json_reports_figures(demo):
    rows = read(markdown_of(demo)).table_rows
    headers, body = rows[0], rows[1:]
    assert [r[0].rstrip("*") for r in body] == [p["platform"] for p in demo.json["platforms"]]
    for cells, data in zip(body, demo.json["platforms"], strict=True):
        by_header = dict(zip(headers, cells, strict=True))
        for header, field in SUMMARY_FIELDS.items():
            assert by_header[header].split(" (")[0].removesuffix("%") == shown(data[field], field), (
                data["platform"],
                header,
            )
        assert by_header["Verdict"] == render.VERDICT_LABEL[data["verdict"]]


def test_figure_columns_are_right_aligned(demo):
    separator = markdown_of(demo).splitlines()[3]
    cells = [c.strip() for c in separator.strip("|").split("|")]
    assert cells[0] == "---" and cells[-1] == "---"
    assert set(cells[1:-1]) == {"---:"}


def test_every_sentence_is_there_as_written(demo):
    text = read(markdown_of(demo)).all_text()
    for line in render.notes(demo.report):
        assert line.strip().replace("`", "") in text


def test_commands_in_the_sentences_stay_code(demo):
    rendered = MarkdownIt("commonmark").enable("table").render(markdown_of(demo))
    assert "<code>tracker link URL --platform xing</code>" in rendered


def test_markup_characters_read_as_written(demo):
    row = dataclasses.replace(demo.report.rows[0], platform="a|b*c_", verdict_text="[not a link](x) <i>plain</i> 2*3*4")
    report = dataclasses.replace(demo.report, rows=[row])
    page = read(markdown.page(report))
    assert page.table_rows[1][0] == "a|b*c_" + ("*" if row.provisional else "")
    assert "[not a link](x) <i>plain</i> 2*3*4" in page.all_text()
    assert not [tag for tag, _ in page.tags if tag in ("a", "i", "em")]


def test_output_writes_the_markdown_file(demo, tmp_path):
    target = tmp_path / "report.md"
    result = invoke([*REPORT, "--config", str(demo.config), "--format", "markdown", "--output", str(target)])
    assert (result.exit_code, result.stdout) == (0, "")
    assert target.read_text(encoding="utf-8") == markdown_of(demo)
