"""The report as Markdown: the table and the sentences, to paste into a document or a chat.

The table is a GitHub pipe table with the HTML report's columns and the
terminal's cell text (`render.COLUMNS`), the sentences are `render.notes` as a
nested list, so every figure and word is the one the other formats show.
Characters Markdown would read as markup are escaped, except inside the
`code` spans the sentences use for commands.
"""

from __future__ import annotations

import re

from tracker.report import html, render
from tracker.report.rows import Report

_SPECIAL = re.compile(r"([\\*\[\]<>|])")
_LONE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # inside a word, _ is no markup


def _plain(text: str) -> str:
    return _LONE_UNDERSCORE.sub(r"\\_", _SPECIAL.sub(r"\\\1", text))


def escape(text: str) -> str:
    """Text that Markdown shows as written; `code spans` are kept as they are."""
    if text.count("`") % 2:
        return _plain(text).replace("`", "\\`")
    return "`".join(part if i % 2 else _plain(part) for i, part in enumerate(text.split("`")))


def table(report: Report) -> list[str]:
    columns = html.table_columns()
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
    lines = [f"**{escape(render._title(report))}**", ""]
    if report.rows:
        lines += table(report)
        caption = render._caption(report, True, True)
        if caption:
            lines += ["", escape(caption)]
    else:
        lines.append(escape(html.NO_DATA))
    lines += ["", *notes(report)]
    return "\n".join(lines) + "\n"
