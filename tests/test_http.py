"""The shared HTTP session: retries, Retry-After, headerless 429s, stop, redaction."""

import threading
import time

import pytest
from werkzeug import Response

from tracker.errors import SyncInterrupted
from tracker.http import HttpSession, redact_text, redact_url


def session(**kw):
    kw.setdefault("backoff", 0.01)
    return HttpSession(timeout=5, **kw)


def sequence(*responses):
    """A handler answering with each response in turn, then the last one forever."""
    queue = list(responses)

    def handler(request):
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def test_server_errors_are_retried_until_success(httpserver):
    httpserver.expect_request("/r").respond_with_handler(
        sequence(Response("", 503), Response("", 502), Response("ok", 200))
    )
    response = session().get(httpserver.url_for("/r"))
    assert response.status_code == 200
    assert len(httpserver.log) == 3


def test_retries_are_bounded_and_the_last_answer_is_returned(httpserver):
    httpserver.expect_request("/r").respond_with_data("down", status=500)
    response = session(retries=2).get(httpserver.url_for("/r"))
    assert response.status_code == 500
    assert len(httpserver.log) == 3


def test_short_retry_after_is_waited_out_then_retried(httpserver):
    httpserver.expect_request("/r").respond_with_handler(
        sequence(Response("slow down", 429, headers={"Retry-After": "1"}), Response("ok", 200))
    )
    started = time.monotonic()
    response = session().get(httpserver.url_for("/r"))
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.9


def test_429_without_retry_after_goes_straight_back_to_the_plugin(httpserver):
    httpserver.expect_request("/r").respond_with_data("daily quota", status=429)
    response = session().get(httpserver.url_for("/r"))
    assert response.status_code == 429
    assert len(httpserver.log) == 1


def test_retry_after_longer_than_max_wait_is_not_waited(httpserver):
    httpserver.expect_request("/r").respond_with_data("later", status=429, headers={"Retry-After": "3600"})
    started = time.monotonic()
    response = session(max_wait=5).get(httpserver.url_for("/r"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3600"
    assert len(httpserver.log) == 1
    assert time.monotonic() - started < 5


def test_stop_interrupts_a_retry_wait(httpserver):
    httpserver.expect_request("/r").respond_with_data("later", status=503, headers={"Retry-After": "30"})
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with pytest.raises(SyncInterrupted):
        session(max_wait=60, stop=stop).get(httpserver.url_for("/r"))
    assert time.monotonic() - started < 10


def test_no_request_starts_after_stop(httpserver):
    stop = threading.Event()
    stop.set()
    with pytest.raises(SyncInterrupted):
        session(stop=stop).get(httpserver.url_for("/r"))
    assert httpserver.log == []


def test_requests_get_a_default_timeout(httpserver):
    def slow(request):
        time.sleep(1.5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    import requests

    with pytest.raises(requests.RequestException, match="timed out"):
        HttpSession(timeout=0.3, retries=0).get(httpserver.url_for("/slow"))
    until = time.monotonic() + 10  # the handler answers late: let it finish here, not in the next test's log
    while not httpserver.log and time.monotonic() < until:
        time.sleep(0.05)


def test_redact_url_hides_tokens_in_the_query_and_userinfo():
    url = "https://user:pw@graph.facebook.com/v25.0/1/insights?access_token=EAAB123&metric=page_follows&api_key=k"
    redacted = redact_url(url)
    assert "EAAB123" not in redacted and "pw" not in redacted and "=k" not in redacted
    assert "metric=page_follows" in redacted


def test_redact_text_removes_known_secrets_and_url_credentials():
    text = "failed: https://x.example/a?token=abc123 with header Bearer s3cr3t"
    clean = redact_text(text, ["s3cr3t"])
    assert "abc123" not in clean and "s3cr3t" not in clean
