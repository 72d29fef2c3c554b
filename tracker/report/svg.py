"""Small inline SVG charts for the HTML report, written by hand.

A report that is mailed must open offline, so the charts are plain SVG
elements in the page: no script, no font, no library. Every chart carries a
<title> and a <desc> in words, and reads without colour: this period is a dark
solid line or dark bars, the period before a light dashed line or light bars.
A bucket without data is left out (a gap), never drawn as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH = 640
LEFT, RIGHT = 56, 14  # room for the y labels; the right edge
LEGEND_HEIGHT = 24
PANEL_TITLE, PLOT_HEIGHT, PANEL_FOOT = 22, 96, 24
PANEL_HEIGHT = PANEL_TITLE + PLOT_HEIGHT + PANEL_FOOT
CURRENT, PREVIOUS, GRID, INK, BAR = "#1a4f9c", "#a9a9a9", "#e3e3e3", "#333333", "#2e7d4f"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


@dataclass(frozen=True)
class Panel:
    """One measure over the period: a line (vanity) or bars (conversions), with the period before."""

    title: str
    current: list[float | None]
    previous: list[float | None]
    bars: bool = False
    empty: str = "no data"  # said in the panel when neither period has a value


@dataclass(frozen=True)
class Chart:
    ident: str  # unique in the page: the ids of <title> and <desc> derive from it
    title: str
    desc: str
    panels: list[Panel]
    first: str  # the label under the first bucket
    last: str  # the label under the last bucket


def draw(chart: Chart) -> str:
    """The chart as one <svg> element, sized in pixels and scalable by its viewBox."""
    height = LEGEND_HEIGHT + PANEL_HEIGHT * len(chart.panels)
    ident = escape(chart.ident)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="{ident}-title {ident}-desc" {FONT} font-size="12">',
        f'<title id="{ident}-title">{escape(chart.title)}</title>',
        f'<desc id="{ident}-desc">{escape(chart.desc)}</desc>',
        _legend(),
    ]
    for i, panel in enumerate(chart.panels):
        parts.append(_panel(panel, LEGEND_HEIGHT + i * PANEL_HEIGHT, chart.first, chart.last))
    parts.append("</svg>")
    return "\n".join(parts)


def _legend() -> str:
    y = 12
    return (
        f'<g aria-hidden="true"><line x1="{LEFT}" y1="{y}" x2="{LEFT + 24}" y2="{y}" '
        f'stroke="{CURRENT}" stroke-width="2.5"/>'
        f'<text x="{LEFT + 30}" y="{y + 4}" fill="{INK}">this period</text>'
        f'<line x1="{LEFT + 120}" y1="{y}" x2="{LEFT + 144}" y2="{y}" '
        f'stroke="{PREVIOUS}" stroke-width="2" stroke-dasharray="5 3"/>'
        f'<text x="{LEFT + 150}" y="{y + 4}" fill="{INK}">period before (light)</text></g>'
    )


def nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above `value`: round axis labels."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def label(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _panel(panel: Panel, top: int, first: str, last: str) -> str:
    plot_top, plot_width = top + PANEL_TITLE, WIDTH - LEFT - RIGHT
    bottom = plot_top + PLOT_HEIGHT
    known = [v for v in (*panel.current, *panel.previous) if v is not None]
    scale = nice_top(max(known, default=0.0))
    parts = [f'<g><text x="{LEFT}" y="{top + 15}" fill="{INK}" font-weight="600">{escape(panel.title)}</text>']
    for tick in (0.0, scale / 2, scale):
        y = bottom - tick / scale * PLOT_HEIGHT
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_width}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{label(tick)}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT + plot_width}" y2="{bottom}" stroke="{INK}"/>')
    parts.append(f'<text x="{LEFT}" y="{bottom + 16}" fill="{INK}">{escape(first)}</text>')
    parts.append(
        f'<text x="{LEFT + plot_width}" y="{bottom + 16}" text-anchor="end" fill="{INK}">{escape(last)}</text>'
    )
    if not known:
        parts.append(
            f'<text x="{LEFT + plot_width / 2}" y="{plot_top + PLOT_HEIGHT / 2}" text-anchor="middle" '
            f'fill="{INK}">{escape(panel.empty)}</text>'
        )
    else:
        place = _Place(LEFT, plot_width, bottom, scale, max(len(panel.current), len(panel.previous), 1))
        draw_series = place.bars if panel.bars else place.lines
        parts.append(draw_series(panel.previous, faint=True))
        parts.append(draw_series(panel.current, faint=False))
    parts.append("</g>")
    return "".join(parts)


@dataclass(frozen=True)
class _Place:
    """Where a bucket's value lands: bucket i is centred in the i-th of `count` equal slots."""

    left: float
    width: float
    bottom: float
    scale: float
    count: int

    def x(self, i: int) -> float:
        return self.left + (i + 0.5) * self.width / self.count

    def y(self, value: float) -> float:
        return self.bottom - value / self.scale * PLOT_HEIGHT

    def lines(self, values: list[float | None], faint: bool) -> str:
        """One polyline per run of buckets with data; a lone bucket is a dot."""
        colour = PREVIOUS if faint else CURRENT
        style = f'stroke="{colour}" stroke-width="{2 if faint else 2.5}" fill="none"' + (
            ' stroke-dasharray="5 3"' if faint else ""
        )
        parts = []
        for run in _runs(values):
            if len(run) == 1:
                i = run[0]
                parts.append(
                    f'<circle cx="{self.x(i):.1f}" cy="{self.y(values[i] or 0.0):.1f}" r="2.5" fill="{colour}"/>'
                )
            else:
                points = " ".join(f"{self.x(i):.1f},{self.y(values[i] or 0.0):.1f}" for i in run)
                parts.append(f'<polyline points="{points}" {style}/>')
        return "".join(parts)

    def bars(self, values: list[float | None], faint: bool) -> str:
        """Light wide bars for the period before, dark narrow ones in front for this period."""
        slot = self.width / self.count
        bar = slot * (0.85 if faint else 0.5)
        colour = "#dcdcdc" if faint else BAR
        parts = []
        for i, value in enumerate(values):
            if value is None or value <= 0:
                continue
            y = self.y(value)
            parts.append(
                f'<rect x="{self.x(i) - bar / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{self.bottom - y:.1f}" fill="{colour}"/>'
            )
        return "".join(parts)


def _runs(values: list[float | None]) -> list[list[int]]:
    """Indices of consecutive buckets that have a value."""
    runs: list[list[int]] = []
    for i, value in enumerate(values):
        if value is None:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs
