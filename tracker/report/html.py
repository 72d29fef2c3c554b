"""The report as one HTML file to send: it opens offline and survives being mailed.

Everything is inside the file: inline CSS and inline SVG charts, no script,
font, stylesheet or image from the network. It shows what `--format json`
holds for the same options (every figure of every row, the verdicts, the
sentences, the sources and the footnotes), with the wording and the rounding
of `render` and `rows`, plus a chart per platform from `series`: vanity
against conversions over the period, the period before in light dashes, and
the platform's top posts of the period (`tracker report --posts`), each with a
link to the post: a link the reader may follow, never a request the file makes.
It prints on A4 in light colours, and every verdict is in words, so it reads
the same in black and white.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import IO, TYPE_CHECKING

from tracker import __version__
from tracker.errors import UsageError
from tracker.report import markdown, render, svg
from tracker.report.markdown import NO_DATA, table_columns
from tracker.report.posts import EXPLAINED, NOT_GIVEN, PlatformPosts, TopPost
from tracker.report.rows import PRECISION, PlatformRow, Report, SourceFigure
from tracker.report.series import Series, Step
from tracker.words import count

if TYPE_CHECKING:
    from tracker.config import Config

LINE_WIDTH = 160  # mail allows 998 characters a line; short lines also diff and read well
DAILY_UP_TO = 92  # longer periods are charted per week, so a chart stays readable
KIND_WORDS = {
    "first_party": "first-party orders",
    "analytics": "web analytics",
    "manual": "logged by hand",
    "none": "none",
}
VERDICT_CLASS = {code: f"v-{code.replace('_', '-')}" for code in render.VERDICT_LABEL}


@dataclass(frozen=True)
class Timeline:
    """One platform over the period and over the period before, bucket for bucket."""

    platform: str
    step: Step
    current: Series | None
    previous: Series | None


def step_for(days: int) -> Step:
    return Step.day if days <= DAILY_UP_TO else Step.week


def load_timelines(cfg: Config, report: Report) -> list[Timeline]:
    """The report's platforms per day (or week), computed with the report's own config, for its charts."""
    from tracker.report import compute
    from tracker.report.series import series
    from tracker.store.db import open_engine

    period = compute.Period(report.start, report.end)
    step = step_for(report.days)
    configured = {a.name for a in cfg.accounts}
    engine = open_engine(cfg.database)
    try:
        found = [
            {
                s.platform: s
                for s in series(
                    engine, p, step, precedence=cfg.precedence, configured=configured, currency=cfg.currency
                )
            }
            for p in (period, period.previous())
        ]
    finally:
        engine.dispose()
    current, previous = found
    return [Timeline(r.platform, step, current.get(r.platform), previous.get(r.platform)) for r in report.rows]


# --- the page -------------------------------------------------------------------


def page(report: Report, timelines: list[Timeline], top: list[PlatformPosts] | None = None) -> str:
    """The whole HTML document; `top` holds the platforms' top posts of the period."""
    title = render.title(report)
    by_platform = {t.platform: t for t in timelines}
    posts = {group.platform: group for group in top or []}
    body = [
        f'<h1 id="title">{escape(title)}</h1>',
        f'<p class="lede">{escape(_lede(report))}</p>',
        summary_table(report) if report.rows else f"<p>{escape(NO_DATA)}</p>",
        _notes(render.notes(report)),
    ]
    if report.rows:
        body.append('<h2 id="platforms">Per platform</h2>')
        body += [_platform(row, report, by_platform.get(row.platform), posts.get(row.platform)) for row in report.rows]
    body.append(f"<footer><p>Made with tracker {escape(__version__)} on {escape(report.generated_at)}.</p></footer>")
    document = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )
    return mail_safe(document)


def mail_safe(document: str, width: int = LINE_WIDTH) -> str:
    """ASCII only (other characters as references) in short lines, so no mail program or editor can garble it.

    The page has no <pre>: a line break where a space was reads the same in
    text, attribute lists and SVG points.
    """
    text = document.encode("ascii", "xmlcharrefreplace").decode("ascii")
    return "\n".join(line for long in text.split("\n") for line in _fold(long, width))


def _fold(line: str, width: int) -> list[str]:
    parts = []
    while len(line) > width and (cut := line.rfind(" ", 0, width)) > 0:
        parts.append(line[:cut])
        line = line[cut + 1 :]
    return [*parts, line]


def _lede(report: Report) -> str:
    return (
        f"Each figure beside the {count(report.days, 'day')} before ({report.previous_start} to "
        f"{report.previous_end}). Revenue in {report.currency}."
    )


def sentence(text: str) -> str:
    """Escaped text whose `commands` read as code, as in the terminal's sentences."""
    return _CODE.sub(r"<code>\1</code>", escape(text))


_CODE = re.compile(r"`([^`]+)`")


def summary_table(report: Report) -> str:
    """The terminal's widest table as real table markup: a header per column, the platform heads its row."""
    columns = table_columns()
    caption = render.caption(report, True, True)
    head = "".join(f'<th scope="col" class="{_align(c)}">{escape(c.header)}</th>' for c in columns)
    lines = [
        '<div class="wide">',
        '<table class="summary" aria-labelledby="title"' + (' aria-describedby="footnotes"' if caption else "") + ">",
        f"<thead><tr>{head}</tr></thead>",
        "<tbody>",
    ]
    for row in report.rows:
        cells = []
        for column in columns:
            text = escape(column.cell(row, True))
            if column is columns[0]:
                cells.append(f'<th scope="row"><a href="#p-{escape(row.platform)}">{text}</a></th>')
            elif column.header == "Verdict":
                cells.append(f'<td class="verdict {VERDICT_CLASS.get(row.verdict, "")}">{text}</td>')
            else:
                cells.append(f'<td class="{_align(column)}">{text}</td>')
        lines.append(f'<tr data-platform="{escape(row.platform)}">{"".join(cells)}</tr>')
    lines += ["</tbody>", "</table>", "</div>"]
    if caption:
        lines.append(f'<p id="footnotes" class="footnote">{escape(caption)}</p>')
    return "\n".join(lines)


def _align(column: render.Column) -> str:
    return "num" if column.justify == "right" else "text"


def _notes(lines: list[str]) -> str:
    """`render.notes` as a nested list: an indented line belongs to the line above it."""
    items: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("  ") and items:
            items[-1][1].append(line.strip())
        else:
            items.append((line, []))
    parts = ['<h2 id="notes">What it means</h2>', '<ul class="notes">']
    for head, children in items:
        inner = "".join(f"<li>{sentence(c)}</li>" for c in children)
        parts.append(f"<li>{sentence(head)}" + (f"<ul>{inner}</ul>" if inner else "") + "</li>")
    parts.append("</ul>")
    return "\n".join(parts)


def _platform(row: PlatformRow, report: Report, timeline: Timeline | None, top: PlatformPosts | None = None) -> str:
    label = render.VERDICT_LABEL.get(row.verdict, row.verdict)
    heading = escape(row.platform) + (
        f' <span class="verdict {VERDICT_CLASS.get(row.verdict, "")}">{escape(label)}</span>' if label else ""
    )
    parts = [
        f'<section class="platform" id="p-{escape(row.platform)}" aria-labelledby="h-{escape(row.platform)}">',
        '<div class="keep">',
        f'<h3 id="h-{escape(row.platform)}">{heading}</h3>',
        f'<p class="sentence">{sentence(row.verdict_text)}</p>' if row.verdict_text else "",
        '<div class="pair">',
        _figure(row, report, timeline),
        _sources(row, report.currency),
        "</div>",
        "</div>",
        figures_list(row, report.currency),
        top_posts(top) if top is not None else "",
        "</section>",
    ]
    return "\n".join(p for p in parts if p)


# --- every figure of a row ------------------------------------------------------------


def figure_text(value: float, field: str) -> str:
    """A figure as the report prints it: the precision `rows` rounded it to, thousands separated."""
    return f"{value:,.{PRECISION.get(field, 0)}f}"


def row_figures(row: PlatformRow) -> list[tuple[str, float]]:
    """Every number the JSON row holds that has a value, in the JSON's order."""
    found = []
    for f in dataclasses.fields(row):
        value = getattr(row, f.name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found.append((f.name, float(value)))
    return found


UNITS = {"conversion_rate": "%", "hours": " h", "hours_per_week": " h", "hours_per_conversion": " h"}


def unit(field: str, currency: str) -> str:
    if field.startswith(("revenue", "cost")):
        return f" {currency}"
    return UNITS.get(field, "")


def figures_list(row: PlatformRow, currency: str) -> str:
    """Each figure the JSON row holds, under its JSON name in words; absent ones are not listed."""
    accounts = f" (accounts: {escape(row.accounts)})" if row.accounts else ""
    lines = [f'<h4 id="f-{escape(row.platform)}">Every figure for {escape(row.platform)}{accounts}</h4>']
    lines.append(f'<dl class="figures" aria-labelledby="f-{escape(row.platform)}">')
    for name, value in row_figures(row):
        lines.append(
            f"<div><dt>{escape(name.replace('_', ' '))}</dt>"
            f'<dd data-field="{escape(name)}">{escape(figure_text(value, name) + unit(name, currency))}</dd></div>'
        )
    if row.followers_since:
        lines.append(f"<div><dt>followers since</dt><dd>{escape(row.followers_since)}</dd></div>")
    lines.append("</dl>")
    return "\n".join(lines)


def _sources(row: PlatformRow, currency: str) -> str:
    """Each source's own conversions, counted or not: what JSON's `sources` holds."""
    if not row.sources:
        return ""
    lines = [
        '<table class="sources">',
        f"<caption>Sources of {escape(row.platform)}'s conversions</caption>",
        '<thead><tr><th scope="col">account</th><th scope="col">kind</th>'
        '<th scope="col" class="num">conversions</th><th scope="col" class="num">revenue</th>'
        '<th scope="col">counted</th></tr></thead>',
        "<tbody>",
    ]
    for source in row.sources:
        lines.append(_source_row(source, currency))
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def _source_row(source: SourceFigure, currency: str) -> str:
    revenue = "–" if source.revenue is None else f"{source.revenue:,.2f} {currency}"
    return (
        f'<tr><th scope="row">{escape(source.account)}</th><td>{escape(KIND_WORDS.get(source.kind, source.kind))}</td>'
        f'<td class="num">{source.conversions:,.0f}</td><td class="num">{escape(revenue)}</td>'
        f"<td>{'yes' if source.counted else 'no'}</td></tr>"
    )


# --- the top posts of a row ----------------------------------------------------------


def top_posts(group: PlatformPosts) -> str:
    """The platform's top posts as a real table: rank, day, counts as last read, and a link to each post."""
    ident = f"t-{escape(group.platform)}"
    head = "".join(
        f'<th scope="col" class="{align}">{name}</th>'
        for name, align in (("#", "num"), ("published", "text"), ("likes", "num"), ("reposts", "num"),
                            ("replies", "num"), ("interactions", "num"), ("post", "text"))
    )
    lines = [
        f'<h4 id="{ident}">Top posts on {escape(group.platform)}</h4>',
        f'<table class="posts" aria-labelledby="{ident}" aria-describedby="{ident}-note">',
        f"<thead><tr>{head}</tr></thead>",
        "<tbody>",
        *(_post_row(post) for post in group.posts),
        "</tbody>",
        "</table>",
        f'<p id="{ident}-note" class="footnote">{escape(EXPLAINED)} {escape(NOT_GIVEN)}</p>',
    ]
    return "\n".join(lines)


def _post_row(post: TopPost) -> str:
    counts = "".join(
        f'<td class="num" data-field="{name}">{"–" if value is None else f"{value:,}"}</td>'
        for name, value in (("likes", post.likes), ("reposts", post.reposts), ("replies", post.replies),
                            ("interactions", post.interactions))
    )
    where = (
        f'<a href="{escape(post.url)}" rel="noreferrer">open post {post.rank}</a>'
        if post.url
        else f"id {escape(post.post_id)}"
    )
    return (
        f'<tr data-post="{escape(post.post_id)}"><td class="num">{post.rank}</td>'
        f"<td>{post.published.isoformat()}</td>{counts}<td>{where}</td></tr>"
    )


# --- the chart of a row ------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """What a panel draws: a field of the points, and the row's figures that sum it up in words."""

    field: str
    label: str
    noun: str
    previous: str | None = None  # the row's field for the period before; None for a gauge

    def total(self, row: PlatformRow, report: Report) -> str:
        """ "7,389 interactions in the period, 6,120 in the 30 days before": the report's own figures."""
        now = getattr(row, self.field)
        if now is None:
            return f"{self.label}: no data in the period"
        if self.previous is None:
            return f"{count(now, self.noun)} at the end of the period"
        text = f"{count(now, self.noun)} in the period"
        before = getattr(row, self.previous)
        if before is not None:
            text += f", {before:,.0f} in the {count(report.days, 'day')} before"
        return text


VANITY = (
    Measure("engagement", "Interactions", "interaction", "engagement_previous"),
    Measure("visits", "Visits", "visit", "visits_previous"),
    Measure("followers", "Followers", "follower"),
)
CONVERSIONS = Measure("conversions", "Conversions", "conversion", "conversions_previous")


def vanity_of(row: PlatformRow) -> Measure:
    """Interactions where the platform has them, else visits (analytics only), else followers."""
    return next((m for m in VANITY if getattr(row, m.field) is not None), VANITY[0])


def _figure(row: PlatformRow, report: Report, timeline: Timeline | None) -> str:
    if timeline is None:
        return ""
    vanity = vanity_of(row)
    per = timeline.step.value
    no_conversions = "not tracked: nothing measures conversions from here" if not row.tracked else "no data"
    chart = svg.Chart(
        ident=f"chart-{row.platform}",
        title=f"{row.platform}: {vanity.label.lower()} and conversions per {per}, {report.start} to {report.end}",
        desc=f"{vanity.total(row, report)}. {CONVERSIONS.total(row, report)}.",
        panels=[
            svg.Panel(
                f"{vanity.label} per {per}",
                _values(timeline.current, vanity.field),
                _values(timeline.previous, vanity.field),
            ),
            svg.Panel(
                f"Conversions per {per}",
                _values(timeline.current, "conversions"),
                _values(timeline.previous, "conversions"),
                bars=True,
                empty=no_conversions,
            ),
        ],
        first=str(report.start),
        last=str(report.end),
    )
    return (
        f'<figure class="chart">{svg.draw(chart)}'
        f"<figcaption>{escape(chart.desc)} Solid and dark: this period; dashed and light: the "
        f"{count(report.days, 'day')} before.</figcaption></figure>"
    )


def _values(series: Series | None, field: str) -> list[float | None]:
    return series.values(field) if series is not None else []


# --- writing the file ------------------------------------------------------------------


def document(report: Report, fmt: str, cfg: Config | None) -> str:
    """The report as the text of a file in `fmt`; the terminal's table is no file format."""
    import io

    if fmt == "html":
        if cfg is None:
            return page(report, [])
        from tracker.report import posts

        return page(report, load_timelines(cfg, report), posts.load(cfg, report))
    if fmt == "markdown":
        return markdown.page(report)
    if fmt in render.RENDERERS:
        out = io.StringIO()
        render.RENDERERS[fmt](report, out)
        return out.getvalue()
    raise UsageError(f"--output writes --format html, markdown, json or csv, not {fmt}; the table is for the terminal")


def save(text: str, output: Path | None, out: IO[str]) -> None:
    """Write to `output` whole or not at all (a temporary file renamed), or to `out` when no file is given."""
    if output is None:
        out.write(text)
        return
    if output.is_dir():
        raise UsageError(f"--output {output} is a folder; name a file, e.g. --output {output / 'report.html'}")
    folder = output.parent
    if not folder.is_dir():
        raise UsageError(f"--output {output}: folder {folder} does not exist; create it or name another file")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{output.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, output)
    except OSError as exc:
        raise UsageError(f"--output {output}: cannot write there ({exc.strerror or exc}); name another file") from None


STYLE = """
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1d1d1d;
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 72rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.45rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 0 0 .3rem; }
.lede, .footnote, figcaption, footer { color: #4a4a4a; }
.footnote { font-size: .9rem; margin: .4rem 0 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .6rem; text-align: left; vertical-align: top; }
th.num, td.num { text-align: right; }
td.num, td.verdict { white-space: nowrap; }
@media (max-width: 1200px) { td.num, td.verdict { white-space: normal; } }
.wide { overflow-x: auto; }
table.summary { width: 100%; margin-top: 1rem; }
table.summary thead th { border-bottom: 2px solid #999; vertical-align: bottom; }
table.summary tbody tr { border-bottom: 1px solid #e4e4e4; }
table.summary tbody th a { color: inherit; }
.verdict { font-weight: 600; }
span.verdict { white-space: nowrap; font-size: .85rem; padding: .1rem .45rem; margin-left: .4rem;
               border: 1px solid #bbb; border-radius: .3rem; }
.v-converts { background: #e3f3e6; }
.v-converts-little { background: #fdf3d7; }
.v-vanity-only { background: #fbe4e4; }
.v-not-tracked { background: #efe7fa; }
.v-no-data, .v-bucket { background: #f3f3f3; }
ul.notes { padding-left: 1.2rem; }
ul.notes li { margin: .15rem 0; }
section.platform { margin: 1.5rem 0; padding-top: .5rem; border-top: 1px solid #eee; }
.sentence { margin: .1rem 0 .6rem; }
.pair { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: flex-start; }
figure.chart { margin: 0; flex: 1 1 30rem; max-width: 640px; }
figure.chart svg { display: block; width: 100%; height: auto; }
figcaption { font-size: .85rem; margin-top: .3rem; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .9em; background: #f4f4f4; padding: 0 .2em; }
table.sources { font-size: .9rem; flex: 0 1 26rem; }
table.sources caption { text-align: left; font-weight: 600; padding-bottom: .2rem; caption-side: top; }
table.sources tbody tr { border-top: 1px solid #eee; }
table.sources tbody th { font-weight: normal; }
table.posts { font-size: .9rem; margin-top: .2rem; }
table.posts thead th { border-bottom: 1px solid #999; }
table.posts tbody tr { border-top: 1px solid #eee; }
h4 { font-size: .95rem; margin: 1rem 0 .3rem; }
dl.figures { columns: 15rem 4; column-gap: 2rem; margin: 0; font-size: .9rem; font-variant-numeric: tabular-nums; }
dl.figures div { display: flex; justify-content: space-between; gap: 1rem; padding: .15rem 0;
                 border-top: 1px solid #eee; break-inside: avoid; }
dl.figures dt { color: #4a4a4a; }
dl.figures dd { margin: 0; text-align: right; white-space: nowrap; }
footer { margin-top: 2rem; font-size: .85rem; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { font-size: 9.5pt; }
  td.num, td.verdict { white-space: normal; }
  main { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  .keep, figure.chart, dl.figures, table.sources, table.posts, tr { break-inside: avoid; page-break-inside: avoid; }
  table.posts a::after { content: " (" attr(href) ")"; font-size: .8em; word-break: break-all; }
  h4 { break-after: avoid; page-break-after: avoid; }
  section.platform { break-before: auto; }
  .pair { display: block; }
  figure.chart { max-width: 150mm; margin-bottom: .5rem; }
}
"""
