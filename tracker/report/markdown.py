"""The report as Markdown: the table and the sentences, to paste into a document or a chat.

The table is a GitHub pipe table with the terminal's widest layout and cell
text (`render.COLUMNS`; the HTML report uses the same columns), the sentences are `render.notes` as a
nested list, so every figure and word is the one the other formats show.
Characters Markdown would read as markup are escaped, except inside the
`code` spans the sentences use for commands.
"""

from __future__ import annotations

import re

from tracker.report import render
from tracker.report.rows import Report

NO_DATA = render.NO_DATA
LEFT_OUT = ("Trend",)  # the sparkline column: the HTML report draws charts, Markdown has no room for them

_SPECIAL = re.compile(r"([\\*\[\]<>|])")
_LONE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # inside a word, _ is no markup


def _plain(text: str) -> str:
    return _LONE_UNDERSCORE.sub(r"\\_", _SPECIAL.sub(r"\\\1", text))


def escape(text: str) -> str:
    """Text that Markdown shows as written; `code spans` are kept as they are."""
    if text.count("`") % 2:
        return _plain(text).replace("`", "\\`")
    return "`".join(part if i % 2 else _plain(part) for i, part in enumerate(text.split("`")))


def table_columns() -> list[render.Column]:
    """The terminal's widest table, which the HTML report shows too."""
    return [c for c in render.COLUMNS if c.header not in LEFT_OUT]


def table(report: Report) -> list[str]:
    columns = table_columns()
    lines = [
        "| " + " | ".join(escape(c.header) for c in columns) + " |",
        "| " + " | ".join("---:" if c.justify == "right" else "---" for c in columns) + " |",
    ]
    for row in report.rows:
        lines.append("| " + " | ".join(escape(c.cell(row, True)) for c in columns) + " |")
    return lines


def notes(report: Report) -> list[str]:
    """`render.notes` as a list; an indented sentence is a sub-item of the one above."""
    lines = []
    for line in render.notes(report):
        indent = "  " if line.startswith("  ") else ""
        lines.append(f"{indent}- {escape(line.strip())}")
    return lines


def page(report: Report) -> str:
    lines = [f"**{escape(render.title(report))}**", ""]
    if report.rows:
        lines += table(report)
        caption = render.caption(report, True, True)
        if caption:
            lines += ["", escape(caption)]
    else:
        lines.append(escape(NO_DATA))
    lines += ["", *notes(report)]
    return "\n".join(lines) + "\n"
