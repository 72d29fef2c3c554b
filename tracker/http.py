"""The HTTP session every plugin gets, so none rewrites retries or redaction.

It retries transport errors and 5xx with exponential backoff, retries 429/503
when the server says when (Retry-After) and the wait is short, and otherwise
hands the response back so the plugin can classify it (a daily quota is not a
short rate limit). Waits end at once when the sync is asked to stop.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from tracker.errors import SyncInterrupted
from tracker.redact import SENSITIVE, Redactor, header_secrets, redact_text, redact_url, url_secrets

__all__ = ["SENSITIVE", "HttpSession", "redact_text", "redact_url"]  # the redaction names stay importable from here

log = logging.getLogger("tracker.http")

USER_AGENT = "tracker/0.1 (+https://github.com/tracker-smb/tracker)"


class _Retry(Retry):
    """urllib3's Retry, with bounded Retry-After waits that a stop event interrupts."""

    def __init__(self, *args: Any, max_wait: float = 60.0, stop: threading.Event | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_wait = max_wait
        self.stop = stop or threading.Event()

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry.max_wait, retry.stop = self.max_wait, self.stop
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429 and not has_retry_after:
            return False  # a headerless 429 is a quota the plugin must classify, not a pause
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method: Any = None, url: Any = None, response: Any = None, *args: Any, **kwargs: Any) -> Retry:
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_wait:
                raise MaxRetryError(None, url or "", ResponseError(f"Retry-After {wait:.0f}s is too long"))
        return super().increment(method, url, response, *args, **kwargs)

    def sleep(self, response: Any = None) -> None:
        wait = self.get_retry_after(response) if response is not None else None
        if wait is None:
            wait = self.get_backoff_time()
        if wait > 0 and self.stop.wait(wait):
            raise SyncInterrupted("stopped while waiting to retry")


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
    ) -> None:
        super().__init__()
        self.timeout = timeout
        self.stop = stop or threading.Event()
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
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.headers["User-Agent"] = USER_AGENT
        self.sent_secrets: set[str] = set()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Learn the credentials each request carries, so an answer echoing them can be scrubbed."""
        for name, value in request.headers.items():
            self.sent_secrets.update(header_secrets(name, str(value)))
        self.sent_secrets.update(url_secrets(request.url or ""))
        return super().send(request, **kwargs)

    def redact(self, text: str) -> str:
        """`text` without the credentials this session has sent: what a plugin calls before it cuts a message."""
        return Redactor.of(self.sent_secrets).text(text)


    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.stop.is_set():
            raise SyncInterrupted("stopped before a request")
        kwargs.setdefault("timeout", self.timeout)
        response = super().request(method, url, *args, **kwargs)
        log.debug("%s %s -> %s", method, redact_url(response.url or url), response.status_code)
        return response
