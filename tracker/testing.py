"""The plugin conformance kit: the checks every plugin, built-in or not, must pass.

Use it in a plugin's tests against that plugin's own fake server:

    from tracker.testing import check_plugin
    result = check_plugin(plugin, {"base_url": server.url_for("/")}, since=..., until=...)
    assert ...  # then the plugin's own expectations on result.samples (each Series read as a Sample per day)

It runs the plugin through the same validation the sync uses, so a plugin that
passes here will not be refused by `tracker sync`. It also replays the answers
of its first fetch reshaped (a list where an object was, text where a list
was, at every depth): a plugin must fail on an answer it cannot read, or give
exactly what it gave before when it did not read the part that changed. A
plugin that quietly yields less would let the sync move the account's cursor
past days it never read. `check_unreadable_answers` asks more of the built-in
plugins: the failure must be a domain error (one line naming the service).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from tracker import options
from tracker.collect import Fetched, collect
from tracker.errors import TrackerError
from tracker.http import HttpSession
from tracker.plugin import Plugin, Window
from tracker.registry import validate

__all__ = [
    "Reshaped",
    "check_plugin",
    "check_unreadable_answers",
    "fetch_once",
    "make_options",
    "raises_domain_error",
    "window",
]
MAX_DEPTH = 6  # how deep into an answer the reshaping goes


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
    return _fetch(plugin, make_options(plugin, raw, env), win, state or {})


def _fetch(plugin: Plugin, opts: Any, win: Window, state: dict[str, Any], adapter: Any = None) -> Fetched:
    """One fetch with a fast-retrying session; `adapter(real_adapter)` may stand in for the network."""
    with HttpSession(timeout=10, retries=2, backoff=0.05, stop=threading.Event()) as http:
        if adapter is not None:
            for prefix in ("http://", "https://"):
                http.mount(prefix, adapter(http.get_adapter(prefix + "x")))
        return collect(plugin, opts, win, http, dict(state))


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
    unique, the same window twice gives the same samples, conversions, care items and posts, the saved state works, and
    reshaped answers make the fetch fail rather than yield less (see the module's docstring)."""
    validate(plugin)
    _required_options_are_enforced(plugin)
    win = window(since, until, today, tz)
    opts = make_options(plugin, raw, env)
    recorded: list[_Exchange] = []
    first = _fetch(plugin, opts, win, {}, lambda real: _Recorder(real, recorded))
    yielded = first.samples or first.conversions or first.unavailable or first.care or first.posts
    assert yielded, f"plugin {plugin.name} yielded nothing for {since}..{until}"
    keys = Counter((s.platform, s.metric, s.day) for s in first.samples)
    duplicates = [k for k, n in keys.items() if n > 1] + [
        i for i, n in Counter(c.id for c in first.conversions).items() if n > 1
    ]
    assert not duplicates, f"plugin {plugin.name} yielded the same key twice: {duplicates[:3]}"
    state = first.state or {}
    json.dumps(state)
    again = fetch_once(plugin, raw, win, env=env)
    assert set(again.samples) == set(first.samples), "the same window twice gave different samples"
    assert set(again.conversions) == set(first.conversions), "the same window twice gave different conversions"
    assert set(again.care) == set(first.care), "the same window twice gave different care items"
    assert set(again.posts) == set(first.posts), "the same window twice gave different posts"
    fetch_once(plugin, raw, win, state=state, env=env)
    _replay_reshaped(plugin, opts, win, recorded, first, domain_errors=False)
    return first


@dataclass(frozen=True)
class Reshaped:
    """One replay of a fetch with its answers reshaped, and what the plugin made of it."""

    change: str  # "lists 1 level down became text"
    error: BaseException | None  # what the fetch raised; None: it gave exactly what the real answers gave


def check_unreadable_answers(
    plugin: Plugin,
    raw: Mapping[str, Any],
    *,
    since: date,
    until: date,
    today: date | None = None,
    env: Mapping[str, str] | None = None,
    tz: str = "UTC",
) -> list[Reshaped]:
    """Fetch once for real, then replay every reshaping of its answers: each must end in a domain error
    (TrackerError, whose one line the user sees) or change nothing, and at least one must fail."""
    win = window(since, until, today, tz)
    opts = make_options(plugin, raw, env)
    recorded: list[_Exchange] = []
    first = _fetch(plugin, opts, win, {}, lambda real: _Recorder(real, recorded))
    results = _replay_reshaped(plugin, opts, win, recorded, first, domain_errors=True)
    assert any(r.error for r in results), f"plugin {plugin.name}: no reshaped answer made it fail ({len(results)})"
    return results


@dataclass(frozen=True)
class _Exchange:
    """One request and the answer it got, as the replays serve it again."""

    method: str
    url: str
    body: bytes
    status: int
    reason: str
    headers: dict[str, str]
    content: bytes

    def key(self) -> tuple[str, str, bytes]:
        return self.method, self.url, self.body


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode()


class _Recorder(BaseAdapter):
    """Sends through the real adapter and keeps each exchange."""

    def __init__(self, real: BaseAdapter, into: list[_Exchange]) -> None:
        super().__init__()
        self.real, self.into = real, into

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = self.real.send(request, **kwargs)
        self.into.append(_Exchange(
            str(request.method), str(request.url), _body_bytes(request.body), response.status_code,
            str(response.reason or ""), dict(response.headers), response.content,
        ))
        return response

    def close(self) -> None:
        self.real.close()


class _OffScript(AssertionError):
    """The plugin asked for something the real fetch did not: it acted on a reshaped answer."""


@dataclass
class _Replayer(BaseAdapter):
    """Serves recorded exchanges again (the same request gets the same answer), never touching the network."""

    exchanges: list[_Exchange]
    calls: int = 0
    exact: dict[tuple[str, str, bytes], _Exchange] = field(default_factory=dict)
    loose: dict[tuple[str, str], _Exchange] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        for exchange in self.exchanges:
            self.exact.setdefault(exchange.key(), exchange)
            self.loose.setdefault(exchange.key()[:2], exchange)  # a signed body (a JWT's iat) may differ

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls += 1
        method, url = str(request.method), str(request.url)
        exchange = self.exact.get((method, url, _body_bytes(request.body))) or self.loose.get((method, url))
        if exchange is None or self.calls > 4 * len(self.exchanges) + 10:
            raise _OffScript(f"{method} {urlsplit(url).path}")
        response = requests.Response()
        response.status_code, response.reason = exchange.status, exchange.reason
        response.headers = CaseInsensitiveDict(exchange.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = exchange.content
        response.url, response.request = url, request
        return response

    def close(self) -> None:
        pass


def _reshapings() -> Iterator[tuple[str, Callable[[Any], Any]]]:
    yield "the whole answer became a list (or an object, where it was a list)", _swap
    for depth in range(1, MAX_DEPTH + 1):
        where = "1 level" if depth == 1 else f"{depth} levels"
        yield f"lists {where} down became text", _replacing(depth, list, "not a list")
        yield f"objects {where} down became text", _replacing(depth, dict, "not an object")


def _swap(value: Any) -> Any:
    if isinstance(value, dict):
        return ["not an object"]
    return {"not": "a list"} if isinstance(value, list) else value


def _replacing(depth: int, kind: type, text: str) -> Callable[[Any], Any]:
    def change(value: Any, level: int = 0) -> Any:
        if level == depth and isinstance(value, kind):
            return text
        if isinstance(value, dict):
            return {k: change(v, level + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [change(v, level + 1) for v in value]
        return value

    return change


def _reshaped(exchange: _Exchange, change: Callable[[Any], Any]) -> _Exchange:
    """The exchange with its JSON body changed; answers that are errors or no JSON stay as they were."""
    if not 200 <= exchange.status < 300:
        return exchange
    try:
        body = json.loads(exchange.content)
    except ValueError:
        return exchange
    new = change(body)
    if new == body:
        return exchange
    return _Exchange(**{**exchange.__dict__, "content": json.dumps(new).encode()})


def _output(fetched: Fetched) -> tuple[set[Any], set[Any], set[Any], list[str]]:
    return set(fetched.samples), set(fetched.conversions), set(fetched.unavailable), sorted(fetched.notices)


def _replay_reshaped(
    plugin: Plugin, opts: Any, win: Window, recorded: list[_Exchange], real: Fetched, *, domain_errors: bool
) -> list[Reshaped]:
    """Replay the recorded fetch once per reshaping that changes any answer; see the module's docstring."""
    results = []
    for change, reshape in _reshapings():
        exchanges = [_reshaped(e, reshape) for e in recorded]
        if exchanges == recorded:
            continue
        try:
            got = _fetch(plugin, opts, win, {}, lambda _real, served=exchanges: _Replayer(served))
        except _OffScript as exc:
            raise AssertionError(
                f"plugin {plugin.name}: after answers whose {change}, it asked for {exc} instead of failing"
            ) from None
        except Exception as exc:  # noqa: BLE001 - any failure keeps the cursor; domain_errors asks for more
            if domain_errors and not isinstance(exc, TrackerError):
                raise AssertionError(
                    f"plugin {plugin.name}: answers whose {change} raised {type(exc).__name__}: {exc}, "
                    "not a domain error naming the service (read them with tracker.shape.Endpoint)"
                ) from exc
            results.append(Reshaped(change, exc))
            continue
        if _output(got) != _output(real):
            raise AssertionError(
                f"plugin {plugin.name} read answers whose {change} as data: it yielded {len(got.samples)} samples "
                f"(not {len(real.samples)}) instead of failing; check the shape of what it reads and raise "
                "UnexpectedResponse (tracker.shape.Endpoint does both)"
            )
        results.append(Reshaped(change, None))
    return results


def _required_options_are_enforced(plugin: Plugin) -> None:
    required = [o.name for o in options.describe(plugin) if o.required]
    if required:
        _, problems = options.build(plugin, {}, where="test", env={})
        assert problems, f"plugin {plugin.name} accepted options without its required {required}"


def raises_domain_error(
    plugin: Plugin, raw: Mapping[str, Any], win: Window, env: Mapping[str, str] | None = None
) -> TrackerError:
    """Run a fetch that must fail, and return the domain error it raised (anything else fails)."""
    try:
        fetch_once(plugin, raw, win, env=env)
    except TrackerError as exc:
        return exc
    raise AssertionError(f"plugin {plugin.name} did not fail")
