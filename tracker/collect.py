"""Run one plugin fetch to the end, refusing anything the store or the report could misread.

Everything a plugin yields passes through here, in the sync and in the
conformance kit alike, so a plugin that passes `tracker.testing` is never
refused by `tracker sync`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import requests

from tracker import metrics
from tracker.columns import SampleColumns
from tracker.errors import PluginError, SyncInterrupted, TrackerError
from tracker.http import HttpSession
from tracker.plugin import (
    CareItem,
    Channel,
    Conversion,
    Notice,
    Plugin,
    PostStat,
    Sample,
    Series,
    State,
    Unavailable,
    Window,
    per_day,
)
from tracker.redact import Redactor
from tracker.spool import ConversionSpool


def check_sample(plugin: Plugin, sample: Any, window: Window) -> Sample:
    """Refuse anything the store or the report could misread, naming the plugin and value."""
    if not isinstance(sample, Sample):
        raise PluginError(f"plugin {plugin.name} yielded {type(sample).__name__}, not a Sample")
    check_series_key(plugin, sample.platform, sample.metric)
    if isinstance(sample.day, datetime) or not isinstance(sample.day, date):
        raise PluginError(f"plugin {plugin.name} yielded day {sample.day!r}: it must be a date")
    if not window.since <= sample.day <= window.until:
        raise PluginError(
            f"plugin {plugin.name} yielded {sample.metric} for {sample.day}, "
            f"outside the window {window.since}..{window.until}"
        )
    value = sample.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PluginError(f"plugin {plugin.name} yielded {sample.metric}={value!r} for {sample.day}: not a number")
    return sample


def check_series_key(plugin: Plugin, platform: Any, metric: Any) -> tuple[float, float]:
    """Refuse a platform the plugin does not declare or a metric it may not yield; the metric's range if neither."""
    if not (metrics.is_platform(platform) and (plugin.reports_on(platform) or platform in metrics.BUCKETS)):
        raise PluginError(f"plugin {plugin.name} yielded platform {platform!r}, which it does not declare")
    if metrics.get(metric) is None and not metrics.is_extra(metric, plugin.name):
        raise PluginError(
            f"plugin {plugin.name} yielded metric {metric!r}: use a canonical name or '{plugin.name}.<name>'"
        )
    if metrics.is_derived(metric):
        raise PluginError(f"plugin {plugin.name} yielded {metric} as a sample: the core computes it; yield CareItem")
    return metrics.plausible_range(metric)


def implausible(metric: str, value: float) -> str | None:
    """Why `value` cannot be a day's `metric` (tracker.metrics has each metric's range), or None if it can."""
    if not math.isfinite(value):
        return "not a finite number"
    least, greatest = metrics.plausible_range(metric)
    if value < least:
        return f"{metric} cannot be negative" if least == 0 else f"less than {least:g}"
    if value > greatest:
        return f"more than {greatest:g}, not a plausible {metric}"
    return None


def as_float(value: float) -> float:
    """`value` as a float; an integer too large for one (JSON allows 400 digits) is an infinity of its sign."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def sample_problem(sample: Sample) -> str | None:
    """A notice for a sample whose value no store or report may take; None for a good one."""
    why = implausible(sample.metric, as_float(sample.value))
    if why is None:
        return None
    return (
        f"{sample.platform} {sample.metric} on {sample.day} = {sample.value!r}: {why}; "
        "that number was dropped, the rest kept"
    )


def check_conversion(plugin: Plugin, record: Any, window: Window) -> Conversion:
    """Order records may lie outside the window (an export covers what it covers), never in the future."""
    if not isinstance(record, Conversion):
        raise PluginError(f"plugin {plugin.name} yielded {type(record).__name__} in a list of conversions")
    if not record.id or not isinstance(record.id, str):
        raise PluginError(f"plugin {plugin.name} yielded a conversion without an id")
    if not (
        metrics.is_platform(record.platform)
        and (plugin.reports_on(record.platform) or record.platform in metrics.BUCKETS)
    ):
        raise PluginError(
            f"plugin {plugin.name} yielded a conversion for platform {record.platform!r}, which it does not declare"
        )
    if (
        isinstance(record.day, datetime)
        or not isinstance(record.day, date)
        or record.day > window.today + timedelta(days=1)
    ):
        raise PluginError(f"plugin {plugin.name} yielded conversion {record.id} dated {record.day!r}: not a past date")
    if record.kind not in ("order", "lead"):
        raise PluginError(
            f"plugin {plugin.name} yielded conversion {record.id} of kind {record.kind!r} (order or lead)"
        )
    amount = record.amount
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float))):
        raise PluginError(f"plugin {plugin.name} yielded conversion {record.id} with amount {amount!r}: not a number")
    if not isinstance(record.export, str) or (record.export and not record.ref.startswith(record.export + " ")):
        raise PluginError(
            f"plugin {plugin.name} yielded conversion {record.id} from export {record.export!r} whose ref "
            f"{record.ref!r} does not begin with it"
        )
    return record


def conversion_problem(record: Conversion) -> str | None:
    """A notice for an order or lead no store or report may take (amount or day implausible); None for a good one."""
    where = f"{record.kind} {record.id} ({record.platform}, {record.day}{', ' + record.ref if record.ref else ''})"
    if record.day < metrics.EARLIEST_DAY:
        return (
            f"{where}: dated before {metrics.EARLIEST_DAY}, not a real day; "
            f"that {record.kind} was dropped, the rest kept"
        )
    if record.amount is None:
        return None
    why = implausible("revenue", as_float(record.amount))
    if why is None and record.kind == "lead" and record.amount < 0:
        why = "a lead cannot be worth less than 0"
    if why is None:
        return None
    return (
        f"{where} amount {record.amount!r}: {why.replace('revenue', 'amount')}; "
        f"that {record.kind} was dropped, the rest kept"
    )


CHANNELS = frozenset(c.value for c in Channel)
ITEM_ID_LIMIT = 1000  # characters: longer is no platform's id, but text passed by mistake


def check_care_item(plugin: Plugin, item: Any, window: Window) -> CareItem:
    """Refuse a care fact the store could misread, naming the plugin but never the item's id.

    The id is the one field the store never keeps in clear (it is hashed), so no message quotes it:
    messages end up in the run history. A naive datetime is refused rather than guessed: a zone guessed
    wrong moves every response time by hours.
    """
    if not isinstance(item, CareItem):
        raise PluginError(f"plugin {plugin.name} yielded {type(item).__name__} in a list of care items")
    channel = getattr(item.channel, "value", item.channel)
    where = f"plugin {plugin.name} yielded a {channel} care item on {item.platform!r}"
    if not (metrics.is_platform(item.platform) and plugin.reports_on(item.platform)):
        raise PluginError(f"{where}, a platform it does not declare")
    if channel not in CHANNELS:
        raise PluginError(f"{where}: channel must be one of {', '.join(sorted(CHANNELS))}")
    if not isinstance(item.item_id, str) or not item.item_id.strip() or len(item.item_id) > ITEM_ID_LIMIT:
        raise PluginError(f"{where} without a usable item_id (the platform's id of the item, as text)")
    for name in ("created_at", "first_reply_at"):
        value = getattr(item, name)
        if value is None and name == "first_reply_at":
            continue
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise PluginError(f"{where}: {name} must be a datetime with a time zone, not {value!r}")
    if not isinstance(item.from_account, bool) or not isinstance(item.deleted, bool):
        raise PluginError(f"{where}: from_account and deleted must be True or False")
    return item


def care_problem(item: CareItem, window: Window) -> str | None:
    """A notice for a care item whose times cannot be true (a platform's glitch); None for a good one."""
    where = f"{item.platform} {getattr(item.channel, 'value', item.channel)} of {item.created_at.isoformat()}"
    latest = datetime.combine(window.today + timedelta(days=2), time(0), window.timezone)  # clocks differ a little
    if item.created_at.date() < metrics.EARLIEST_DAY or item.created_at >= latest:
        return f"{where}: not a real time for an item; that item was dropped, the rest kept"
    reply = item.first_reply_at
    if reply is not None and (reply < item.created_at or reply >= latest):
        when = "before it" if reply < item.created_at else "in the future"
        return f"{where}: first reply at {reply.isoformat()} is {when}; that item was dropped, the rest kept"
    return None


POST_ID_LIMIT = 300  # characters: longer is no platform's post id, but text passed by mistake
URL_LIMIT = 2000
POST_COUNTS = {"likes": "post_likes", "reposts": "post_reposts", "replies": "post_replies"}


def check_post(plugin: Plugin, post: Any, window: Window) -> PostStat:
    """Refuse a post the store could misread; a text where an id or a link belongs is the plugin's bug.

    The store keeps ids, links and counts only (never a post's text), so an id that is long or has spaces,
    or a link that is no web address, is refused rather than stored, and the message quotes neither: it is
    kept in the run history.
    """
    if not isinstance(post, PostStat):
        raise PluginError(f"plugin {plugin.name} yielded {type(post).__name__} in a list of posts")
    if not (metrics.is_platform(post.platform) and plugin.reports_on(post.platform)):
        raise PluginError(f"plugin {plugin.name} yielded a post on {post.platform!r}, a platform it does not declare")
    post_id = post.post_id
    if not isinstance(post_id, str) or not post_id or len(post_id) > POST_ID_LIMIT or len(post_id.split()) != 1:
        raise PluginError(f"plugin {plugin.name} yielded a {post.platform} post without a usable post_id")
    where = f"plugin {plugin.name} yielded {post.platform} post {post_id}"
    url = post.url
    if not isinstance(url, str) or len(url) > URL_LIMIT or (url and not _web_address(url)):
        raise PluginError(f"{where} with a url that is no web address: give its http(s) address, or leave it empty")
    if isinstance(post.published, datetime) or not isinstance(post.published, date):
        raise PluginError(f"{where} published {post.published!r}: it must be a date")
    if not window.since <= post.published <= window.until:
        raise PluginError(f"{where} published {post.published}, outside the window {window.since}..{window.until}")
    for name in POST_COUNTS:
        value = getattr(post, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise PluginError(f"{where} with {name} of type {type(value).__name__}: give a whole number, or None")
    return post


def _web_address(url: str) -> bool:
    return url.startswith(("https://", "http://")) and len(url.split()) == 1 and url.isprintable()


def post_problem(post: PostStat) -> str | None:
    """A notice for a post whose counts cannot be true (a platform's glitch); None for a good one."""
    for name, metric in POST_COUNTS.items():
        value = getattr(post, name)
        why = None if value is None else implausible(metric, as_float(value))
        if why is not None:
            return f"{post.platform} post {post.post_id} {name} = {value!r}: {why}; the post was dropped, the rest kept"
    return None


@dataclass
class Fetched:
    samples: SampleColumns = field(default_factory=SampleColumns)  # a Sequence[Sample]; series stay columns
    unavailable: list[Unavailable] = field(default_factory=list)
    conversions: ConversionSpool = field(default_factory=ConversionSpool)  # closed by whoever commits them
    posts: list[PostStat] = field(default_factory=list)
    care: list[CareItem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    state: dict[str, Any] | None = None


def collect(
    plugin: Plugin,
    opts: Any,
    window: Window,
    http: HttpSession,
    state: dict[str, Any],
    on_page: Callable[[int], None] = lambda n: None,
    spool_threshold: int | None = None,
) -> Fetched:
    """Run one fetch to the end, validating everything it yields; every string it yields leaves here redacted.

    Here, because this is where text leaves a plugin: a platform that echoes the token in a refusal reaches
    neither the store, nor the log, nor the summary, nor an alert. An exception's text is scrubbed in place,
    so whoever describes it later cannot show what the plugin was sent. Past `spool_threshold` orders and
    leads (tracker.spool.THRESHOLD if None) they wait for the commit in a temporary file (tracker.spool),
    deleted here if the fetch fails and by the committer otherwise.
    """
    out = Fetched(conversions=ConversionSpool(spool_threshold))
    try:
        _fetch_all(plugin, opts, window, http, state, on_page, out)
    except BaseException as exc:
        out.conversions.close()
        scrub_exception(exc, run_redactor(opts, http))
        raise
    return redacted(plugin, out, run_redactor(opts, http))


def _fetch_all(
    plugin: Plugin,
    opts: Any,
    window: Window,
    http: HttpSession,
    state: dict[str, Any],
    on_page: Callable[[int], None],
    out: Fetched,
) -> Fetched:
    """Run one fetch to the end, validating everything it yields into `out`."""
    series: dict[tuple[str, str], tuple[float, float]] = {}  # checked once per fetch: (platform, metric) -> range
    for item in plugin.fetch(opts, window, http, dict(state)):
        if http.stop.is_set():
            raise SyncInterrupted("stopped")
        if item.__class__ is list:  # the usual page, first: none of the rarer items below is a list
            if item and item[0].__class__ in _NUMBERS:  # what _keep_page would find, without its two calls
                on_page(_keep_samples(plugin, item, window, out, series))
            else:
                _keep_page(plugin, item, window, out, series, on_page)
        elif isinstance(item, Series):
            on_page(_keep_samples(plugin, [item], window, out, series))
        elif isinstance(item, State):
            json.dumps(item.data)  # state must survive the database
            out.state = item.data
        elif isinstance(item, Unavailable):
            out.unavailable.append(item)
        elif isinstance(item, Notice):
            out.notices.append(str(item.message))
        elif (kind := _kind_of(item)) is not None:
            _keep(plugin, kind, [item], window, out, series)
            on_page(1)
        elif isinstance(item, Iterable) and not isinstance(item, (str, bytes, dict)):
            _keep_page(plugin, list(item), window, out, series, on_page)
        else:
            raise PluginError(
                f"plugin {plugin.name} yielded {type(item).__name__}: expected Sample, Series, Conversion, CareItem, "
                "PostStat, a list of one of them, Unavailable, Notice or State"
            )
    return out


@dataclass(frozen=True)
class _Kind:
    """How one kind of record a plugin yields is checked, and where a good one goes in `Fetched`."""

    check: Callable[[Plugin, Any, Window], Any]
    problem: Callable[[Any, Window], str | None]
    into: str


_SAMPLES = _Kind(check_sample, lambda sample, _: sample_problem(sample), "samples")  # and series: _keep_samples
_NUMBERS = (Sample, Series)
KINDS: dict[type, _Kind] = {
    Sample: _SAMPLES,
    Series: _SAMPLES,
    Conversion: _Kind(check_conversion, lambda record, _: conversion_problem(record), "conversions"),
    PostStat: _Kind(check_post, lambda post, _: post_problem(post), "posts"),
    CareItem: _Kind(check_care_item, care_problem, "care"),
}


def _kind_of(item: Any) -> _Kind | None:
    return next((kind for cls, kind in KINDS.items() if isinstance(item, cls)), None)


def _keep_page(
    plugin: Plugin,
    page: list[Any],
    window: Window,
    out: Fetched,
    series: dict[tuple[str, str], tuple[float, float]],
    on_page: Callable[[int], None],
) -> None:
    """A page is of the kind of its first record (a Sample if empty); a record of another kind fails its check."""
    kind = (KINDS.get(page[0].__class__) or _kind_of(page[0]) if page else None) or _SAMPLES
    if kind is _SAMPLES:
        on_page(_keep_samples(plugin, page, window, out, series))
        return
    _keep(plugin, kind, page, window, out, series)
    on_page(len(page))


def _keep(
    plugin: Plugin,
    kind: _Kind,
    page: list[Any],
    window: Window,
    out: Fetched,
    series: dict[tuple[str, str], tuple[float, float]],
) -> None:
    """A malformed record is the plugin's bug and fails the account; an implausible one is dropped with a notice."""
    if kind is _SAMPLES:
        _keep_samples(plugin, page, window, out, series)
        return
    kept = getattr(out, kind.into)
    for entry in page:
        record = kind.check(plugin, entry, window)
        problem = kind.problem(record, window)
        if problem is None:
            kept.append(record)
        else:
            out.notices.append(problem)


def _keep_samples(
    plugin: Plugin, page: list[Any], window: Window, out: Fetched, ranges: dict[tuple[str, str], tuple[float, float]]
) -> int:
    """`_keep` for samples and series, as exact and cheaper: a fetch yields thousands of samples of a few series.

    A series' platform and metric are checked (check_sample) on its first sample of the fetch only, and
    `ranges` remembers them across pages (a daily page holds one sample per series); later samples of it
    have their day and value compared inline, and anything unusual (a subclass, a day outside the window,
    a value out of range or not a plain number) goes through check_sample and sample_problem, which raise
    or word the notice exactly as for the first. A Series goes to `_keep_series`. Returns the samples read.
    """
    since, until, isfinite = window.since, window.until, math.isfinite
    keep, read = out.samples.tail().append, len(page)
    shared = _Shared()
    for entry in page:
        if entry.__class__ is Sample:
            bounds = ranges.get((entry.platform, entry.metric))
            if bounds is not None and entry.day.__class__ is date and since <= entry.day <= until:
                value = entry.value
                kind = value.__class__  # an int compares with the float bounds exactly, and is always finite
                if (kind is int or (kind is float and isfinite(value))) and bounds[0] <= value <= bounds[1]:
                    keep(entry)
                    continue
        elif isinstance(entry, Series):
            read += _keep_series(plugin, entry, window, out, ranges, shared) - 1
            keep = out.samples.tail().append
            continue
        record = check_sample(plugin, entry, window)
        ranges[(record.platform, record.metric)] = metrics.plausible_range(record.metric)
        problem = sample_problem(record)
        if problem is None:
            keep(record)
        else:
            out.notices.append(problem)
    return read


@dataclass
class _Shared:
    """What the series of one page share, worked out once: the page's series often hold the same list of days.

    Keyed by the id of a list of days the page holds, or of the tuple made of it (kept here), so no id is
    reused while the page is read.
    """

    copies: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # id of a series' days -> their tuple
    in_window: set[int] = field(default_factory=set)  # ids of day tuples found all dates inside the window


def _keep_series(
    plugin: Plugin,
    series: Series,
    window: Window,
    out: Fetched,
    ranges: dict[tuple[str, str], tuple[float, float]],
    shared: _Shared,
) -> int:
    """Keep a series whole when its columns pass at once; else each day as the Sample it stands for.

    The checks are a Sample's, made on the columns by builtins: the platform and metric once (check_series_key),
    every day a date (its exact class) with the first and last inside the window, every value an int or a
    finite float with the least and greatest inside the metric's range. A series that fails any of them is
    checked again day by day as Samples (`_keep_samples`), so that what is refused or dropped, and the words
    saying so, are exactly what the same numbers as Samples get. Returns the days read.
    """
    try:
        days = shared.copies.get(id(series.days))
        if days is None:
            days = shared.copies[id(series.days)] = tuple(series.days)
        values = tuple(series.values)
    except TypeError:
        raise PluginError(
            f"plugin {plugin.name} yielded a {series.platform!r} {series.metric!r} series whose days or values "
            "are not sequences"
        ) from None
    flags = series.provisional
    if flags.__class__ is not bool and per_day(flags):
        flags = tuple(flags)
        if len(flags) != len(days):
            raise PluginError(
                f"plugin {plugin.name} yielded a {series.platform} {series.metric} series of {len(days)} days "
                f"with {len(flags)} provisional flags"
            )
    if len(values) != len(days):
        raise PluginError(
            f"plugin {plugin.name} yielded a {series.platform} {series.metric} series of {len(days)} days "
            f"with {len(values)} values"
        )
    key = (series.platform, series.metric)
    bounds = ranges.get(key) or check_series_key(plugin, *key)
    ranges[key] = bounds
    if not days:
        return 0
    if _days_plain(days, window, shared) and _values_plain(values, bounds):
        same = days is series.days and values is series.values and flags is series.provisional
        out.samples.add(series if same else Series(*key, days, values, flags))
    else:
        _keep_samples(plugin, Series(*key, days, values, flags).samples(), window, out, ranges)
    return len(days)


def _days_plain(days: tuple[Any, ...], window: Window, shared: _Shared) -> bool:
    """Whether every day is a date (not a datetime, nor another subclass) inside the window."""
    if id(days) in shared.in_window:
        return True
    if set(map(type, days)) != {date} or min(days) < window.since or max(days) > window.until:
        return False
    shared.in_window.add(id(days))
    return True


def _values_plain(values: tuple[Any, ...], bounds: tuple[float, float]) -> bool:
    """Whether every value is an int or a finite float (no bool) inside `bounds`."""
    kinds = set(map(type, values))
    if not kinds <= {int, float}:
        return False
    try:
        if float in kinds and not all(map(math.isfinite, values)):
            return False
    except OverflowError:  # an int too large for a float: sample_problem says so
        return False
    return bounds[0] <= min(values) and max(values) <= bounds[1]


def describe_error(exc: BaseException, secrets: Iterable[str] | Redactor) -> str:
    """One line for the user, scrubbed of secrets and credentials in URLs."""
    redactor = secrets if isinstance(secrets, Redactor) else Redactor.of(secrets)
    if isinstance(exc, TrackerError):
        text = str(exc)
    elif isinstance(exc, requests.Timeout):
        text = f"the service did not answer in time ({redactor.url(getattr(exc.request, 'url', '') or '')})"
    elif isinstance(exc, requests.ConnectionError):
        text = f"cannot reach the service ({redactor.url(getattr(exc.request, 'url', '') or '')})"
    elif isinstance(exc, requests.RequestException):
        text = f"HTTP error: {exc}"
    else:
        text = f"plugin bug: {type(exc).__name__}: {exc}"
    return redactor.line(text)


REASON_LIMIT = 300  # characters of an Unavailable reason kept, after redaction


def run_redactor(opts: Any, http: HttpSession) -> Redactor:
    """The secrets known to this fetch: the account's options and the credentials its requests carried."""
    return Redactor.for_options(opts).adding(http.sent_secrets)


def scrub_exception(exc: BaseException, redactor: Redactor) -> None:
    """Redact the text an exception carries, in place: its type (and `until`, `retry_after`) must survive."""
    exc.args = tuple(redactor.text(a) if isinstance(a, str) else a for a in exc.args)
    if isinstance(getattr(exc, "problems", None), list):
        exc.problems = [redactor.text(p) for p in exc.problems]  # type: ignore[attr-defined]


def redacted(plugin: Plugin, out: Fetched, redactor: Redactor) -> Fetched:
    """`out` with reasons and notices redacted (reasons cut only after), and no secret left in the state."""
    notices = [redactor.text(n) for n in out.notices]
    unavailable = [dataclasses.replace(u, reason=redactor.line(u.reason, REASON_LIMIT)) for u in out.unavailable]
    state = None if out.state is None else _state_without_secrets(plugin, out.state, redactor, notices)
    posts = [dataclasses.replace(p, post_id=redactor.text(p.post_id), url=redactor.url(p.url) if p.url else '')
             for p in out.posts]
    return dataclasses.replace(out, unavailable=unavailable, notices=notices, state=state, posts=posts)


def _state_without_secrets(
    plugin: Plugin, state: dict[str, Any], redactor: Redactor, notices: list[str]
) -> dict[str, Any]:
    """Drop every state entry that holds a secret of the run, and say so.

    The state is stored in clear in the database (and in its backups), so it must never hold a token. An
    entry is dropped rather than masked: a masked token handed back next run would be used as one. A plugin
    always copes with a missing entry (the first run has none), so the next run still works.
    """
    kept: dict[str, Any] = {}
    for key, value in state.items():
        if redactor.holds(str(key)) or redactor.holds(json.dumps(value, ensure_ascii=False, default=str)):
            notices.append(
                f"plugin {plugin.name} put a secret in its state ({redactor.text(str(key))}); it was not stored: "
                "the state is kept in the database in clear, so secrets stay in the environment"
            )
        else:
            kept[key] = value
    return kept
