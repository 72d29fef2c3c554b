"""A service that hangs or throttles: what the account's line says, and how long it may hold a sync
(issue 17, item 14).

Before, a 35 s hang cost 4 x 30 s and ended in "cannot reach the service" although the service was
reached, and Graph throttling said "retrying in 60 s" in the line of an account that had given up.

The hanging server is a local socket that accepts and never answers. The timeouts are short, so these
tests wait in real time (well under a second each): keep them out of the libfaketime runs in .ci/run.
Attempts are counted as connections the server accepted; no test asserts on elapsed time.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer

from tests.fakes.graph import FakeGraph, FakePage, graph_error
from tracker.errors import RateLimited, TimedOut
from tracker.http import HttpSession
from tracker.registry import discover
from tracker.store.db import open_engine
from tracker.sync import Syncer, SyncResult
from tracker.testing import raises_domain_error, window

TODAY = date(2026, 11, 23)


class HangingServer:
    """Accepts every connection and never answers; counts the connections (one per attempt)."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.close()


@pytest.fixture
def sync_with(make_config: Any, registry: Any, db_url: str) -> Callable[..., SyncResult]:
    """The real sync of one Mastodon account on `instance`, with the HTTP session the test configures."""

    def run(instance: str, **http: Any) -> SyncResult:
        config = make_config({"masto": {"plugin": "mastodon", "instance": instance, "acct": "baeckerei"}})
        engine = open_engine(config.database)
        try:
            syncer = Syncer(config, registry, engine, now=datetime(2026, 11, 23, 12, tzinfo=UTC),
                            http_factory=lambda stop: HttpSession(stop=stop, backoff=0.01, **http))
            return syncer.run()
        finally:
            engine.dispose()

    return run


def test_a_hanging_service_fails_the_account_saying_it_timed_out_after_one_retry(
    hanging: HangingServer, sync_with: Callable[..., SyncResult]
) -> None:
    result = sync_with(hanging.url, timeout=0.2, retries=3)
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert "cannot reach" not in outcome.message
    assert re.fullmatch(
        r"GET 127\.0\.0\.1:\d+/api/v1/accounts/lookup timed out: the service accepted the connection but sent no "
        r"answer within 0\.2 s \(2 attempts\); the next sync tries again",
        outcome.message,
    ), outcome.message
    assert len(hanging.accepted) == 2  # 3 retries allowed, but a timeout is tried once more only


def test_the_account_deadline_cuts_the_attempt_and_starts_no_retry(
    hanging: HangingServer, sync_with: Callable[..., SyncResult]
) -> None:
    result = sync_with(hanging.url, timeout=5, retries=3, deadline=0.3)
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert "gave up on GET 127.0.0.1" in outcome.message
    assert "it timed out, and this account may take 0.3 s per sync; the next sync tries again" in outcome.message
    assert len(hanging.accepted) == 1  # a second attempt could not end before the deadline


def test_no_request_starts_once_the_session_deadline_has_passed(hanging: HangingServer) -> None:
    with HttpSession(timeout=5, retries=3, backoff=0.01, deadline=0.3) as http:
        with pytest.raises(TimedOut, match="gave up on GET"):
            http.get(hanging.url + "/first")
        refused = r"^gave up before GET 127\.0\.0\.1:\d+/second: this account may take 0\.3 s per sync"
        with pytest.raises(TimedOut, match=refused):
            http.get(hanging.url + "/second?token=abc")
    assert len(hanging.accepted) == 1


def test_a_timeout_is_still_a_requests_timeout_and_keeps_the_query_out_of_its_message(hanging: HangingServer) -> None:
    with pytest.raises(requests.Timeout) as caught:
        HttpSession(timeout=0.2, retries=0).get(hanging.url + "/stats?access_token=s3cr3t-value")
    assert isinstance(caught.value, TimedOut)
    assert "s3cr3t" not in str(caught.value) and "/stats" in str(caught.value)
    assert "(1 attempt)" in str(caught.value)


def test_graph_throttling_says_the_account_gave_up_and_when_to_sync_again(httpserver: HTTPServer) -> None:
    fake = FakeGraph(httpserver, today=TODAY)
    fake.add_page(FakePage("1234567890"))
    fake.fail_next(graph_error(4, "(#4) Application request limit reached", is_transient=True))
    raw = {"page_id": "1234567890", "token": "${T}", "base_url": httpserver.url_for("/")}
    error = raises_domain_error(discover().get("facebook"), raw, window(TODAY, TODAY), env={"T": fake.token})
    assert isinstance(error, RateLimited) and error.retry_after == 60
    assert "retrying" not in str(error)
    assert re.search(r"gave up for this sync: Graph allows calls again in about 60 s, so sync again after "
                     r"\d\d:\d\d UTC$", str(error)), str(error)
