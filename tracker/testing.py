"""The plugin conformance kit: the checks every plugin, built-in or not, must pass.

Use it in a plugin's tests against that plugin's own fake server:

    from tracker.testing import check_plugin
    result = check_plugin(plugin, {"base_url": server.url_for("/")}, since=..., until=...)
    assert ...  # then the plugin's own expectations on result.samples

It runs the plugin through the same validation the sync uses, so a plugin that
passes here will not be refused by `tracker sync`.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from tracker import options
from tracker.errors import TrackerError
from tracker.http import HttpSession
from tracker.plugin import Plugin, Window
from tracker.registry import validate
from tracker.collect import Fetched, collect

__all__ = ["check_plugin", "fetch_once", "make_options", "raises_domain_error", "window"]


def window(since: date, until: date, today: date | None = None, tz: str = "UTC") -> Window:
    return Window(since, until, today or until, ZoneInfo(tz))


def make_options(plugin: Plugin, raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Any:
    """Build typed options exactly as the config would; fails with the config's own messages."""
    opts, problems = options.build(plugin, raw, where="test", env=env or {})
    assert not problems, "options do not validate:\n" + "\n".join(problems)
    return opts


def fetch_once(
    plugin: Plugin,
    raw: Mapping[str, Any],
    win: Window,
    state: dict[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Fetched:
    """One fetch through the core's validation, with a fast-retrying HTTP session."""
    opts = make_options(plugin, raw, env)
    with HttpSession(timeout=10, retries=2, backoff=0.05, stop=threading.Event()) as http:
        return collect(plugin, opts, win, http, state or {})


def check_plugin(
    plugin: Plugin,
    raw: Mapping[str, Any],
    *,
    since: date,
    until: date,
    today: date | None = None,
    env: Mapping[str, str] | None = None,
    tz: str = "UTC",
) -> Fetched:
    """Declaration valid, options valid, samples valid, unique and inside the window, conversion ids
    unique, the same window twice gives the same samples and conversions, and the saved state works."""
    validate(plugin)
    _required_options_are_enforced(plugin)
    win = window(since, until, today, tz)
    first = fetch_once(plugin, raw, win, env=env)
    assert first.samples or first.conversions or first.unavailable, f"plugin {plugin.name} yielded nothing for {since}..{until}"
    keys = Counter((s.platform, s.metric, s.day) for s in first.samples)
    duplicates = [k for k, n in keys.items() if n > 1] + [i for i, n in Counter(c.id for c in first.conversions).items() if n > 1]
    assert not duplicates, f"plugin {plugin.name} yielded the same key twice: {duplicates[:3]}"
    state = first.state or {}
    json.dumps(state)
    again = fetch_once(plugin, raw, win, env=env)
    assert set(again.samples) == set(first.samples), "the same window twice gave different samples"
    assert set(again.conversions) == set(first.conversions), "the same window twice gave different conversions"
    fetch_once(plugin, raw, win, state=state, env=env)
    return first


def _required_options_are_enforced(plugin: Plugin) -> None:
    required = [o.name for o in options.describe(plugin) if o.required]
    if required:
        _, problems = options.build(plugin, {}, where="test", env={})
        assert problems, f"plugin {plugin.name} accepted options without its required {required}"


def raises_domain_error(plugin: Plugin, raw: Mapping[str, Any], win: Window, env: Mapping[str, str] | None = None) -> TrackerError:
    """Run a fetch that must fail, and return the domain error it raised (anything else fails)."""
    try:
        fetch_once(plugin, raw, win, env=env)
    except TrackerError as exc:
        return exc
    raise AssertionError(f"plugin {plugin.name} did not fail")
