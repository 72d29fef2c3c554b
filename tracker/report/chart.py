"""Vanity beside conversions over time, drawn with Unicode blocks: small multiples, one block per platform.

Each platform gets a stack of mini-charts sharing one time axis, one per
figure (engagement, followers, conversions by default). Bars start at zero
and a figure has one scale for every platform, so instagram's tall
engagement beside its few conversions, and facebook's short engagement
beside its many, read at a glance; each scale's top value is printed beside
it. Followers are a level, not an amount: they are drawn as a line between
their lowest and highest value on the platform's own scale, both printed.

Drawn with Rich alone: the chart is a column of Text lines the width of the
console, so it never wraps or cuts a number, and it reads the same without
colour (colour only tells vanity from conversions; the labels say it too).
A bucket without data is a dot on the baseline, never a zero bar.

The same figures leave as a plain table (for pipes) and as one JSON or CSV
record per bucket per platform; None is "no data" in all of them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import IO, Any

from rich import box
from rich.console import RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tracker import metrics
from tracker.errors import UsageError
from tracker.output import write_csv, write_json
from tracker.report import compute
from tracker.report.render import NO_DATA as NO_REPORT_DATA
from tracker.report.render import VERDICT_LABEL, VERDICT_STYLE
from tracker.report.rows import PRECISION, PlatformRow
from tracker.report.series import Point, Series, Step
from tracker.words import count

DEFAULT_METRICS = ("engagement", "followers", "conversions")
# Levels, not amounts: a bar from zero would hide their change, so they are drawn as a line.
LEVELS = frozenset({"followers"})
CONVERSION_SIDE = frozenset(
    {"visits", "visits_previous", "leads", "orders", "conversions", "conversions_offline", "conversions_previous",
     "conversion_rate", "revenue", "revenue_offline", "revenue_previous"}
)
STYLE = {"vanity": "magenta", "level": "cyan", "conversion": "green"}
BLOCKS = " ▁▂▃▄▅▆▇█"
HEIGHT = 3  # rows per mini-chart: 24 levels with eighth blocks
MAX_BAR = 8  # columns per bucket at most, so a few weeks do not become slabs
NO_DATA = "·"


def numeric_fields() -> tuple[str, ...]:
    """The report row's figures: what `--metric` may name."""
    return tuple(f.name for f in dataclasses.fields(PlatformRow) if f.type in ("float | None", float | None))


def check_metrics(names: list[str]) -> tuple[str, ...]:
    """The metrics asked for, or the default; a typo names the known ones instead of drawing nothing."""
    known = numeric_fields()
    for name in names:
        if name not in known:
            raise UsageError(f"--metric {name!r} is not a figure of the report; use one of {', '.join(known)}")
    return tuple(dict.fromkeys(names)) or DEFAULT_METRICS


@dataclass(frozen=True)
class Picture:
    """What a chart shows: the series in the report's platform order and the period's own rows for the headlines."""

    period: compute.Period
    step: Step
    metrics: tuple[str, ...]
    series: list[Series]
    totals: list[PlatformRow]
    asked: bool  # the metrics were named by the user: a metric without data is said, not skipped

    def total(self, platform: str) -> PlatformRow | None:
        return next((r for r in self.totals if r.platform == platform), None)


# --- scales ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    low: float
    high: float
    line: bool  # True: a line from low to high; False: bars from zero

    def level(self, value: float) -> int:
        """0..HEIGHT*8 eighths of the chart's height; any non-zero amount shows at least one eighth."""
        top = HEIGHT * 8
        if self.line:
            share = (value - self.low) / (self.high - self.low) if self.high > self.low else 0.0
            return 1 + round(share * (top - 1))
        if value <= 0 or self.high <= 0:
            return 0
        return max(1, round(value / self.high * top))


def _present(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _is_line(metric: str, values: list[float]) -> bool:
    return metric in LEVELS or any(v < 0 for v in values)


def scale_for(metric: str, own: list[float], everyone: list[float]) -> Scale:
    """Bars share one scale across platforms so sizes compare; a line uses the platform's own range."""
    if _is_line(metric, everyone):
        return Scale(min(own), max(own), True)
    return Scale(0.0, max(everyone), False)


# --- drawing --------------------------------------------------------------------------


def _short(value: float, metric: str) -> str:
    digits = PRECISION.get(metric, 0)
    if abs(value) >= 100_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.{digits}f}"


def _figure(value: float | None, metric: str) -> str:
    return "–" if value is None else f"{value:,.{PRECISION.get(metric, 0)}f}"


def _style(metric: str) -> str:
    if metric in LEVELS:
        return STYLE["level"]
    return STYLE["conversion"] if metric in CONVERSION_SIDE else STYLE["vanity"]


@dataclass(frozen=True)
class Frame:
    """Where things go across the console: the label gutter, then one slot of `bar` columns per bucket."""

    gutter: int
    bar: int
    shown: int  # buckets drawn: the last ones when not all fit

    @property
    def gap(self) -> int:
        return 1 if self.bar >= 2 else 0


def frame(picture: Picture, width: int) -> Frame:
    buckets = len(picture.series[0].points) if picture.series else 0
    labels = list(picture.metrics)
    for s in picture.series:
        for m in picture.metrics:
            labels += [_short(v, m) for v in _present(s.values(m))]
    gutter = max(len(label) for label in labels) if labels else 0
    room = max(1, width - gutter - 2)
    bar = max(1, min(MAX_BAR, room // max(1, buckets)))
    return Frame(gutter, bar, min(buckets, room))


def _cells(points: list[Point], metric: str, scale: Scale, fr: Frame) -> list[str]:
    """The chart's rows, top first, as plain strings."""
    rows = []
    for r in reversed(range(HEIGHT)):
        line = []
        for point in points:
            value = getattr(point.row, metric) if point.row is not None else None
            if value is None:
                glyph = NO_DATA if r == 0 else " "
                line.append(glyph.ljust(fr.bar))
                continue
            level = scale.level(value)
            if scale.line:
                glyph = BLOCKS[level - 8 * r] if r == (level - 1) // 8 else " "
            else:
                glyph = BLOCKS[min(8, max(0, level - 8 * r))]
            line.append(glyph * (fr.bar - fr.gap) + " " * fr.gap)
        rows.append("".join(line).rstrip())
    return rows


def _mini_chart(points: list[Point], metric: str, scale: Scale, fr: Frame) -> list[Text]:
    top = _short(scale.high, metric) if scale.high > scale.low else ""
    gutter = [top, metric, _short(scale.low, metric)]
    axis = ["┤", "│", "┤"]
    lines = []
    for label, tick, cells in zip(gutter, axis, _cells(points, metric, scale, fr), strict=True):
        text = Text(f"{label:>{fr.gutter}} ", style="dim" if label != metric else "")
        text.append(tick, style="dim")
        text.append(cells, style=_style(metric))
        lines.append(text)
    return lines


def _dates(points: list[Point], fr: Frame, width: int) -> Text:
    """First start and last end under the axis, then the middle start, each only where it fits whole."""
    room = width - fr.gutter - 2
    span = len(points) * fr.bar - fr.gap
    first, last = points[0].start.isoformat(), points[-1].end.isoformat()
    wanted = [(0, first), (max(0, span - len(last)), last)]
    if len(points) > 2:
        middle = len(points) // 2
        wanted.append((middle * fr.bar, points[middle].start.isoformat()))
    slots = [" "] * room
    taken: list[tuple[int, int]] = []
    for at, label in wanted:
        end = at + len(label)
        if end <= room and all(end + 2 <= a or at >= b + 2 for a, b in taken):
            slots[at:end] = label
            taken.append((at, end))
    return Text(" " * (fr.gutter + 2) + "".join(slots).rstrip(), style="dim")


def _headline(picture: Picture, platform: str) -> Text:
    """The platform and the report's verdict for the period, so the chart and the table never disagree."""
    row = picture.total(platform)
    text = Text(platform, style="bold")
    if row is None:
        return text
    label = VERDICT_LABEL.get(row.verdict, "")
    if label:
        text.append(" · ")
        text.append(label, style=VERDICT_STYLE.get(row.verdict, ""))
    return text


def _totals(picture: Picture, platform: str) -> Padding | None:
    """The period's figures as `tracker report` shows them: what the bars add up to."""
    row = picture.total(platform)
    if row is None:
        return None
    figures = []
    for m in picture.metrics:
        value = getattr(row, m)
        if value is None:
            continue
        change = f" ({row.followers_change:+,.0f})" if m == "followers" and row.followers_change is not None else ""
        figures.append(f"{_figure(value, m)} {m}{change}")
    if not figures:
        return None
    text = Text(f"{count(picture.period.days, 'day')}: {', '.join(figures)}", style="dim")
    return Padding(text, (0, 0, 0, 2), expand=False)


def _missing(picture: Picture, series: Series, drawn: list[str]) -> Padding | None:
    """The asked-for figures this platform has none of, in words (a blank chart would read as zero)."""
    row = picture.total(series.platform)
    bucket = series.platform in metrics.BUCKETS
    said = []
    for m in picture.metrics:
        if m in drawn:
            continue
        if m in CONVERSION_SIDE and row is not None and not row.tracked and not bucket:
            said.append(f"{m} not tracked")
        elif picture.asked or (m not in LEVELS and not (bucket and m not in CONVERSION_SIDE)):
            said.append(f"no {m} data")
    return Padding(Text("; ".join(said), style="dim"), (0, 0, 0, 2), expand=False) if said else None


def title(picture: Picture) -> str:
    return (
        f"Social media over time: likes vs customers, {picture.period.start} to {picture.period.end}, "
        f"per {picture.step.value}"
    )


def legend(picture: Picture) -> str:
    lines = "; ".join(f"{m} is a line from its lowest to its highest value" for m in picture.metrics if m in LEVELS)
    text = (
        "Bars start at zero and each figure has one scale for every platform"
        + (f"; {lines}" if lines else "")
        + f". {NO_DATA} marks a {picture.step.value} without data."
    )
    first = picture.series[0].points[0] if picture.series else None
    if picture.step is Step.week and first is not None and (days := (first.end - first.start).days + 1) < 7:
        text += f" The first week has {count(days, 'day')}."
    return text


def draw(picture: Picture, width: int) -> list[RenderableType]:
    """Every line of the chart, none wider than `width`."""
    if not picture.series:
        return [Text(NO_REPORT_DATA)]
    fr = frame(picture, width)
    out: list[RenderableType] = [Text(title(picture), style="bold"), Text(legend(picture))]
    total = len(picture.series[0].points)
    if fr.shown < total:
        out.append(Text(
            f"Showing the last {fr.shown} of {count(total, picture.step.value)}: "
            f"widen the terminal{' or use --by week' if picture.step is Step.day else ''} to see them all."
        ))
    everyone = {m: [v for s in picture.series for v in _present(s.values(m)[-fr.shown :])] for m in picture.metrics}
    for series in picture.series:
        out += _platform(picture, series, everyone, fr, width)
    return out


def _platform(
    picture: Picture, series: Series, everyone: dict[str, list[float]], fr: Frame, width: int
) -> list[RenderableType]:
    """One small multiple: headline, the period's totals, a mini-chart per figure with data, the time axis."""
    points = series.points[-fr.shown :]
    out: list[RenderableType] = [Text(""), _headline(picture, series.platform)]
    if (totals := _totals(picture, series.platform)) is not None:
        out.append(totals)
    drawn = []
    for m in picture.metrics:
        own = _present(series.values(m)[-fr.shown :])
        if own:
            drawn.append(m)
            out += _mini_chart(points, m, scale_for(m, own, everyone[m]), fr)
    if drawn:
        out.append(Text(" " * (fr.gutter + 1) + "└" + "─" * (len(points) * fr.bar - fr.gap), style="dim"))
        out.append(_dates(points, fr, width))
    if (note := _missing(picture, series, drawn)) is not None:
        out.append(note)
    return out


# --- for pipes and scripts ------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One bucket of one platform: the figures asked for, None where the bucket has no data."""

    start: str
    end: str
    platform: str
    values: tuple[float | None, ...]

    def to_json(self, names: tuple[str, ...]) -> dict[str, Any]:
        figures = dict(zip(names, self.values, strict=True))
        return {"start": self.start, "end": self.end, "platform": self.platform, **figures}


def records(picture: Picture) -> list[Record]:
    """Platform after platform, oldest bucket first."""
    return [
        Record(
            p.start.isoformat(),
            p.end.isoformat(),
            s.platform,
            tuple(getattr(p.row, m) if p.row is not None else None for m in picture.metrics),
        )
        for s in picture.series
        for p in s.points
    ]


def as_json(picture: Picture, out: IO[str]) -> None:
    write_json([r.to_json(picture.metrics) for r in records(picture)], out)


def as_csv(picture: Picture, out: IO[str]) -> None:
    rows = [r.to_json(picture.metrics) for r in records(picture)]
    write_csv(rows, out, ["start", "end", "platform", *picture.metrics])


def table(picture: Picture) -> Table:
    """The chart's figures as text, one row per bucket per platform: for pipes, where blocks mean nothing."""
    shown = [m for m in picture.metrics if m not in LEVELS or any(_present(s.values(m)) for s in picture.series)]
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("day" if picture.step is Step.day else "week from", no_wrap=True)
    t.add_column("platform", no_wrap=True)
    for m in shown:
        t.add_column(m, justify="right", overflow="fold")
    for i, s in enumerate(picture.series):
        for p in s.points:
            figures = (_figure(getattr(p.row, m) if p.row else None, m) for m in shown)
            t.add_row(p.start.isoformat(), s.platform, *figures)
        if i < len(picture.series) - 1:
            t.add_section()
    return t
