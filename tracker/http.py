"""The HTTP session every plugin gets, so none rewrites retries or redaction.

It retries transport errors and 5xx with exponential backoff, retries 429/503
when the server says when (Retry-After) and the wait is short, and otherwise
hands the response back so the plugin can classify it (a daily quota is not a
short rate limit). Waits end at once when the sync is asked to stop.

Time is bounded twice: a read that times out is tried once more only (a
service that hangs twice is down, not slow), and one session, which is one
account's fetch, has a total `deadline`; past it no request starts and the
account fails with one line saying it gave up, so one hanging service cannot
hold a sync for hours.

Before every request it sends, and every retry, a session waits for its
`gate` (tracker.ratelimit: the plugin's request budget on that host), if the
sync gave it one; that wait does not count against the deadline. The sync's
sessions may also share one pool of keep-alive connections
(`share_connections`), so accounts on one service do not each open a
connection (and a TLS handshake) of their own.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies, get_netrc_auth, select_proxy
from urllib3 import PoolManager
from urllib3.exceptions import MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from tracker.errors import SyncInterrupted, TimedOut
from tracker.redact import SENSITIVE, Redactor, header_secrets, redact_text, redact_url, url_secrets

__all__ = ["SENSITIVE", "HttpSession", "redact_text", "redact_url"]  # the redaction names stay importable from here

log = logging.getLogger("tracker.http")

USER_AGENT = "tracker/0.1 (+https://github.com/tracker-smb/tracker)"
DEADLINE = 600.0  # seconds one session (one account's fetch) may take: a year's backfill of daily calls fits
TIMEOUT_RETRIES = 1  # a read that timed out is tried this many more times
HOSTS_REMEMBERED = 256  # hosts (with their TLS settings) whose connection-pool key an adapter keeps
_DIRECT = frozenset({"params", "data", "headers", "json", "timeout", "allow_redirects"})  # what _direct handles


class ServiceTimedOut(TimedOut, requests.ReadTimeout):
    """TimedOut, still a requests.Timeout for callers that catch those (the alerts webhook)."""


class Budget:
    """The time one session may take in all, and how its current call is going.

    Shared by the session and every copy urllib3 makes of its Retry, so a
    retry is only started when it can end before the deadline.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.ends: float | None = None  # monotonic clock; the first request starts it
        self.timeout = 0.0  # the current call's timeout per attempt (connect + read)
        self.shortened = False  # the deadline, not the session's timeout, set that timeout
        self.attempts = 0
        self.timeouts = 0
        self.cut = False  # the deadline stopped the current call's retries

    def remaining(self) -> float:
        return math.inf if self.ends is None else self.ends - time.monotonic()

    def start_call(self, timeout: float | tuple[float, float]) -> float | tuple[float, float]:
        """Start the clock on the first call; `timeout`, shortened so that no attempt ends past the deadline."""
        if self.seconds is not None and self.ends is None:
            self.ends = time.monotonic() + self.seconds
        self.attempts, self.timeouts, self.cut = 1, 0, False
        left = self.remaining()
        if isinstance(timeout, tuple):
            connect, read = (min(t, left) for t in timeout)
            self.shortened = (connect, read) != tuple(timeout)
            self.timeout = connect + read
            return connect, read
        self.shortened = timeout > left
        self.timeout = min(timeout, left)
        return self.timeout

    def room_for(self, wait: float) -> bool:
        """Whether one more attempt, after `wait` seconds, would end before the deadline."""
        return self.remaining() >= wait + self.timeout

    def pause(self, seconds: float) -> None:
        """Move the deadline by time spent waiting for a rate limit: the account was not slow, tracker held it."""
        if self.ends is not None and seconds > 0:
            self.ends += seconds


PoolKeys = dict[tuple[str, str, str], tuple[dict[str, Any], dict[str, Any]]]  # see _Adapter
Gate = Callable[[str], float]  # called with a request's URL before it is sent; returns the seconds it waited


class Pacing:
    """The session's gate and the URL of its current call, shared with the retries urllib3 copies."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.gate: Gate | None = None
        self.url = ""

    def wait(self, url: str | None = None) -> None:
        if url is not None:
            self.url = url
        if self.gate is not None:
            self.budget.pause(self.gate(self.url))


class _Retry(Retry):
    """urllib3's Retry, with bounded Retry-After waits that a stop event interrupts, timeouts retried once,
    and no retry that could not end before the session's deadline."""

    def __init__(
        self,
        *args: Any,
        max_wait: float = 60.0,
        stop: threading.Event | None = None,
        budget: Budget | None = None,
        timeout_retries: int = TIMEOUT_RETRIES,
        pacing: Pacing | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_wait = max_wait
        self.stop = stop or threading.Event()
        self.budget = budget or Budget(None)
        self.timeout_retries = timeout_retries
        self.pacing = pacing or Pacing(self.budget)

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry.max_wait, retry.stop = self.max_wait, self.stop
        retry.budget, retry.timeout_retries, retry.pacing = self.budget, self.timeout_retries, self.pacing
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429 and not has_retry_after:
            return False  # a headerless 429 is a quota the plugin must classify, not a pause
        return super().is_retry(method, status_code, has_retry_after)

    def increment(  # type: ignore[override]  # urllib3 passes these positionally or by name
        self, method: Any = None, url: Any = None, response: Any = None, *args: Any, **kwargs: Any
    ) -> Retry:
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_wait:
                raise MaxRetryError(None, url or "", ResponseError(f"Retry-After {wait:.0f}s is too long"))  # type: ignore[arg-type]  # no pool here
        error = kwargs.get("error")
        if isinstance(error, ReadTimeoutError):
            self.budget.timeouts += 1
            if self.budget.timeouts > self.timeout_retries:
                raise MaxRetryError(None, url or "", error) from error  # type: ignore[arg-type]  # no pool here
        retry = super().increment(method, url, response, *args, **kwargs)
        wait = retry.get_retry_after(response) if response is not None else None
        if not self.budget.room_for(retry.get_backoff_time() if wait is None else wait):
            self.budget.cut = True
            raise MaxRetryError(None, url or "", error or ResponseError("no time left to retry")) from error  # type: ignore[arg-type]  # no pool here
        self.budget.attempts += 1
        return retry

    def sleep(self, response: Any = None) -> None:
        wait = self.get_retry_after(response) if response is not None else None
        if wait is None:
            wait = self.get_backoff_time()
        if wait > 0 and self.stop.wait(wait):
            raise SyncInterrupted("stopped while waiting to retry")
        self.pacing.wait()  # a retry is one more request against the platform's budget


class _Response(requests.Response):
    """A response whose `json()` fails as every plugin expects (a ValueError) on any body it cannot decode.

    Python's decoder raises RecursionError, not ValueError, on JSON nested a thousand levels deep: a proxy's
    or a hostile server's answer would reach a plugin's `except ValueError` as a crash.
    """

    def json(self, **kwargs: Any) -> Any:
        try:
            return super().json(**kwargs)
        except RecursionError:
            raise requests.JSONDecodeError("JSON nested too deeply to decode", "", 0) from None


class Connections:
    """What the sessions of one sync run share: keep-alive connections, and what the environment says per host.

    requests reads the environment (proxy variables, ~/.netrc, a CA bundle) again on every request, and looks
    at the CA bundle on disk; a run does each once per host, as they do not change while the run lasts.
    """

    def __init__(self, per_host: int, hosts: int = 32) -> None:
        self.pool = PoolManager(num_pools=hosts, maxsize=per_host)
        self.pool_keys: PoolKeys = {}
        self._proxies: dict[str, dict[str, str]] = {}
        self._netrc: dict[str, tuple[str, str] | None] = {}
        self._lock = threading.Lock()
        self.bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")

    def proxies(self, url: str) -> dict[str, str]:
        key = _origin(url)
        with self._lock:
            if key not in self._proxies:
                self._proxies[key] = get_environ_proxies(url)
            return self._proxies[key]

    def netrc(self, url: str) -> tuple[str, str] | None:
        key = _origin(url)
        with self._lock:
            if key not in self._netrc:
                self._netrc[key] = get_netrc_auth(url)
            return self._netrc[key]

    def close(self) -> None:
        self.pool.clear()


def _text(url: str | bytes | None) -> str:
    """A request's URL as text: requests accepts it as bytes too."""
    return url.decode() if isinstance(url, bytes) else url or ""


def _origin(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return f"{parts.scheme}://{parts.netloc}"


class _Adapter(HTTPAdapter):
    """requests' adapter, able to use a pool of connections that outlives the session (see share_connections).

    It works out the key of a host's pool once per host and TLS settings instead of once per request: requests
    looks at the CA bundle's path on disk every time, and that system call lets the sync's writer thread take
    the interpreter from the thread that is about to send.
    """

    shared = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.pool_keys: PoolKeys = {}  # the run's, once the session shares its connections
        super().__init__(*args, **kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        url = _text(request.url)
        key = (_origin(url), repr(verify), repr(cert))
        found = self.pool_keys.get(key)
        if found is None:
            found = super().build_connection_pool_key_attributes(request, verify, cert)
            if len(self.pool_keys) < HOSTS_REMEMBERED:
                self.pool_keys[key] = found
        return dict(found[0]), dict(found[1])

    def close(self) -> None:
        if not self.shared:
            super().close()  # a shared pool is closed by its owner, not by each session that borrowed it


class HttpSession(requests.Session):
    """A requests.Session with a default timeout, retries and redacted debug logging."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        stop: threading.Event | None = None,
        deadline: float | None = DEADLINE,
        timeout_retries: int = TIMEOUT_RETRIES,
    ) -> None:
        """`timeout` is per attempt; `deadline` (None: none) bounds the whole session from its first request."""
        super().__init__()
        self.timeout = timeout
        self.stop = stop or threading.Event()
        self.budget = Budget(deadline)
        self.pacing = Pacing(self.budget)
        retry = _Retry(
            total=retries,
            backoff_factor=backoff,
            backoff_max=30,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=None,  # every request tracker makes is a read, POST queries too
            respect_retry_after_header=True,
            raise_on_status=False,
            max_wait=max_wait,
            stop=self.stop,
            budget=self.budget,
            timeout_retries=timeout_retries,
            pacing=self.pacing,
        )
        self.adapter = _Adapter(max_retries=retry)
        self.mount("http://", self.adapter)
        self.mount("https://", self.adapter)
        self.headers["User-Agent"] = USER_AGENT
        self.sent_secrets: set[str] = set()
        self.connections: Connections | None = None

    @property
    def gate(self) -> Gate | None:
        return self.pacing.gate

    @gate.setter
    def gate(self, gate: Gate | None) -> None:
        """What every request and retry waits for first (the sync sets its plugin's rate limit here)."""
        self.pacing.gate = gate

    def share_connections(self, connections: Connections) -> None:
        """Send through the run's keep-alive connections, which other sessions use too; the run closes them."""
        self.connections = connections
        self.adapter.poolmanager = connections.pool
        self.adapter.pool_keys = connections.pool_keys
        self.adapter.shared = True

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """requests' own, with ~/.netrc read once per host and run instead of once per request."""
        if self.connections is None or not self.trust_env:
            return super().prepare_request(request)
        if not request.auth and not self.auth:
            request.auth = self.connections.netrc(_text(request.url))
        return self._untrusting(lambda: super(HttpSession, self).prepare_request(request))

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """requests' own, with the proxy variables read once per host and run instead of once per request."""
        if self.connections is None or not self.trust_env or (proxies and "no_proxy" in proxies):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        proxies = dict(proxies or {})
        for key, value in self.connections.proxies(url).items():
            proxies.setdefault(key, value)
        if verify is True or verify is None:
            verify = self.connections.bundle or verify
        return self._untrusting(
            lambda: super(HttpSession, self).merge_environment_settings(url, proxies, stream, verify, cert)
        )

    def _untrusting(self, step: Callable[[], Any]) -> Any:
        """`step` without requests reading the environment itself (the caller read it from the run's cache)."""
        self.trust_env = False
        try:
            return step()
        finally:
            self.trust_env = True

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Wait for the gate; learn the credentials each request carries, so an answer echoing them can be scrubbed."""
        self._before_sending(request)
        response = super().send(request, **kwargs)
        response.__class__ = _Response
        return response

    def _before_sending(self, request: requests.PreparedRequest) -> None:
        self.pacing.wait(request.url or "")
        for name, value in request.headers.items():
            self.sent_secrets.update(header_secrets(name, str(value)))
        self.sent_secrets.update(url_secrets(request.url or ""))

    def redact(self, text: str) -> str:
        """`text` without the credentials this session has sent: what a plugin calls before it cuts a message."""
        return Redactor.of(self.sent_secrets).text(text)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.stop.is_set():
            raise SyncInterrupted("stopped before a request")
        if self.budget.remaining() <= 0:
            raise ServiceTimedOut(
                f"gave up before {_where(method, url)}: this account may take {self.budget.seconds:g} s per sync "
                "and that time is used up; the next sync tries again"
            )
        kwargs["timeout"] = self.budget.start_call(kwargs.get("timeout") or self.timeout)
        try:
            direct = None if args else self._direct(method, url, kwargs)
            if direct is None:
                response = super().request(method, url, *args, **kwargs)
            else:
                response = self._send_direct(*direct, kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            if isinstance(exc, TimedOut) or not _read_timed_out(exc):
                raise
            raise self._timed_out(method, url) from None
        if log.isEnabledFor(logging.DEBUG):  # redacting the URL costs more than the rest of this method
            log.debug("%s %s -> %s", method, redact_url(response.url or url), response.status_code)
        return response

    def _direct(
        self, method: str, url: str, kwargs: dict[str, Any]
    ) -> tuple[requests.PreparedRequest, dict[str, str], bool | str] | None:
        """The request prepared as requests would prepare it, with its proxies and CA bundle, when nothing asks
        for more than that; else None, and requests does the whole of it.

        requests' own preparation merges cookie jars, settings and hooks that a plugin's request almost never
        has, and costs more than the rest of a request together. Anything beyond a plain request (cookies held,
        a login from the URL, ~/.netrc or the session, a proxy, a streamed or uploaded body, hooks, a mounted
        adapter of another kind) is left to requests, so it behaves exactly as it always did.
        """
        if not _DIRECT.issuperset(kwargs) or not isinstance(url, str) or "@" in url:
            return None
        if self.cookies or self.auth is not None or self.params or self.proxies or self.cert or self.verify is not True:
            return None
        if self.stream or any(self.hooks.values()) or self.max_redirects != requests.models.DEFAULT_REDIRECT_LIMIT:
            return None
        data = kwargs.get("data")
        if data is not None and not isinstance(data, (dict, list, tuple, str, bytes)):
            return None  # a generator or a file is streamed: requests' chunked upload
        try:
            if self.get_adapter(url) is not self.adapter:
                return None
        except requests.exceptions.InvalidSchema:
            return None  # requests raises it, from where it always did
        proxies, bundle = self._environment(url)
        if proxies is None or (proxies and select_proxy(url, proxies)):
            return None
        headers = CaseInsensitiveDict(self.headers)
        headers.update(kwargs.get("headers") or {})
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method.upper())
        prepared.prepare_url(url, kwargs.get("params") or {})
        prepared.prepare_headers({k: v for k, v in headers.items() if v is not None})
        prepared.prepare_body([] if data is None else data, None, kwargs.get("json"))
        return prepared, proxies, bundle or True

    def _environment(self, url: str) -> tuple[dict[str, str] | None, str | None]:
        """(the environment's proxies for `url`, its CA bundle), as requests reads them; proxies None when
        ~/.netrc has a login for the host (requests then sends it)."""
        if not self.trust_env:
            return {}, None
        if self.connections is not None:
            netrc, proxies, bundle = self.connections.netrc(url), self.connections.proxies(url), self.connections.bundle
        else:
            netrc, proxies = get_netrc_auth(url), get_environ_proxies(url)
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        return (None if netrc else proxies), bundle

    def _send_direct(
        self, request: requests.PreparedRequest, proxies: dict[str, str], verify: bool | str, kwargs: dict[str, Any]
    ) -> requests.Response:
        """What requests' Session.send does with a request that has no hooks and no cookies to send."""
        self._before_sending(request)
        settings: dict[str, Any] = {
            "stream": False, "timeout": kwargs["timeout"], "verify": verify, "cert": None, "proxies": proxies
        }
        start = time.perf_counter()
        response = self.adapter.send(request, **settings)
        response.__class__ = _Response
        response.elapsed = timedelta(seconds=time.perf_counter() - start)
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            extract_cookies_to_jar(self.cookies, request, response.raw)
        if response.is_redirect:
            response = self._redirected(response, request, kwargs.get("allow_redirects", True), settings)
        response.content  # noqa: B018 (reads the body, as requests does for a request that does not stream)
        return response

    def _redirected(
        self,
        response: requests.Response,
        request: requests.PreparedRequest,
        follow: bool,
        settings: dict[str, Any],
    ) -> requests.Response:
        """A redirect, followed (or noted as the response's next) by requests' own code, as Session.send does."""
        request._cookies = RequestsCookieJar()  # what requests' preparation gives a request when the session had none
        if not follow:
            following = self.resolve_redirects(response, request, yield_requests=True, **settings)
            response._next = next(following, None)  # type: ignore[assignment]  # with yield_requests, requests
            return response
        history = list(self.resolve_redirects(response, request, **settings))
        if not history:
            return response
        last = history.pop()
        last.history = [response, *history]
        return last

    def _timed_out(self, method: str, url: str) -> ServiceTimedOut:
        budget = self.budget
        if budget.cut or budget.shortened:
            return ServiceTimedOut(
                f"gave up on {_where(method, url)}: it timed out, and this account may take {budget.seconds:g} s "
                "per sync; the next sync tries again"
            )
        tries = "1 attempt" if budget.attempts == 1 else f"{budget.attempts} attempts"
        return ServiceTimedOut(
            f"{_where(method, url)} timed out: the service accepted the connection but sent no answer within "
            f"{budget.timeout:g} s ({tries}); the next sync tries again"
        )


def _where(method: str, url: str) -> str:
    """`GET host/path`: the query and userinfo are left out, as they may carry credentials."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return method
    return f"{method} {parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _read_timed_out(exc: requests.RequestException) -> bool:
    """A read timeout, raised directly or as the last error once retries were spent (requests then calls it a
    ConnectionError, which would claim the service could not be reached)."""
    if isinstance(exc, requests.ReadTimeout):
        return True
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, ReadTimeoutError)
