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
from datetime import date, datetime, timedelta
from typing import Any

import requests

from tracker import metrics
from tracker.errors import PluginError, SyncInterrupted, TrackerError
from tracker.http import HttpSession
from tracker.plugin import Conversion, Notice, Plugin, Sample, State, Unavailable, Window
from tracker.redact import Redactor


def check_sample(plugin: Plugin, sample: Any, window: Window) -> Sample:
    """Refuse anything the store or the report could misread, naming the plugin and value."""
    if not isinstance(sample, Sample):
        raise PluginError(f"plugin {plugin.name} yielded {type(sample).__name__}, not a Sample")
    if not (metrics.is_platform(sample.platform) and (plugin.reports_on(sample.platform) or sample.platform in metrics.BUCKETS)):
        raise PluginError(f"plugin {plugin.name} yielded platform {sample.platform!r}, which it does not declare")
    if metrics.get(sample.metric) is None and not metrics.is_extra(sample.metric, plugin.name):
        raise PluginError(
            f"plugin {plugin.name} yielded metric {sample.metric!r}: use a canonical name or '{plugin.name}.<name>'"
        )
    if isinstance(sample.day, datetime) or not isinstance(sample.day, date):
        raise PluginError(f"plugin {plugin.name} yielded day {sample.day!r}: it must be a date")
    if not window.since <= sample.day <= window.until:
        raise PluginError(
            f"plugin {plugin.name} yielded {sample.metric} for {sample.day}, outside the window {window.since}..{window.until}"
        )
    value = sample.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PluginError(f"plugin {plugin.name} yielded {sample.metric}={value!r} for {sample.day}: not a finite number")
    return sample


def check_conversion(plugin: Plugin, record: Any, window: Window) -> Conversion:
    """Order records may lie outside the window (an export covers what it covers), never in the future."""
    if not isinstance(record, Conversion):
        raise PluginError(f"plugin {plugin.name} yielded {type(record).__name__} in a list of conversions")
    if not record.id or not isinstance(record.id, str):
        raise PluginError(f"plugin {plugin.name} yielded a conversion without an id")
    if not (metrics.is_platform(record.platform) and (plugin.reports_on(record.platform) or record.platform in metrics.BUCKETS)):
        raise PluginError(f"plugin {plugin.name} yielded a conversion for platform {record.platform!r}, which it does not declare")
    if isinstance(record.day, datetime) or not isinstance(record.day, date) or record.day > window.today + timedelta(days=1):
        raise PluginError(f"plugin {plugin.name} yielded conversion {record.id} dated {record.day!r}: not a past date")
    if record.kind not in ("order", "lead"):
        raise PluginError(f"plugin {plugin.name} yielded conversion {record.id} of kind {record.kind!r} (order or lead)")
    if isinstance(record.amount, bool) or not isinstance(record.amount, (int, float)) or not math.isfinite(record.amount):
        raise PluginError(f"plugin {plugin.name} yielded conversion {record.id} with amount {record.amount!r}")
    return record


@dataclass
class Fetched:
    samples: list[Sample] = field(default_factory=list)
    unavailable: list[Unavailable] = field(default_factory=list)
    conversions: list[Conversion] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    state: dict[str, Any] | None = None


def collect(
    plugin: Plugin,
    opts: Any,
    window: Window,
    http: HttpSession,
    state: dict[str, Any],
    on_page: Callable[[int], None] = lambda n: None,
) -> Fetched:
    """Run one fetch to the end, validating everything it yields; every string it yields leaves here redacted.

    Here, because this is where text leaves a plugin: a platform that echoes the token in a refusal reaches
    neither the store, nor the log, nor the summary, nor an alert. An exception's text is scrubbed in place,
    so whoever describes it later cannot show what the plugin was sent.
    """
    try:
        out = _fetch_all(plugin, opts, window, http, state, on_page)
    except BaseException as exc:
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
) -> Fetched:
    """Run one fetch to the end, validating everything it yields."""
    out = Fetched()
    for item in plugin.fetch(opts, window, http, dict(state)):
        if http.stop.is_set():
            raise SyncInterrupted("stopped")
        if isinstance(item, State):
            json.dumps(item.data)  # state must survive the database
            out.state = item.data
        elif isinstance(item, Unavailable):
            out.unavailable.append(item)
        elif isinstance(item, Notice):
            out.notices.append(str(item.message))
        elif isinstance(item, Sample):
            out.samples.append(check_sample(plugin, item, window))
            on_page(1)
        elif isinstance(item, Conversion):
            out.conversions.append(check_conversion(plugin, item, window))
            on_page(1)
        elif isinstance(item, Iterable) and not isinstance(item, (str, bytes, dict)):
            page = list(item)
            if page and isinstance(page[0], Conversion):
                out.conversions.extend(check_conversion(plugin, c, window) for c in page)
            else:
                out.samples.extend(check_sample(plugin, s, window) for s in page)
            on_page(len(page))
        else:
            raise PluginError(
                f"plugin {plugin.name} yielded {type(item).__name__}: expected Sample, Conversion, a list of either, "
                "Unavailable, Notice or State"
            )
    return out


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
    return dataclasses.replace(out, unavailable=unavailable, notices=notices, state=state)


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
