"""A plain request leaves HttpSession exactly as requests would send it, and comes back as requests would give it.

HttpSession prepares a plain request itself (tracker/http.py, `_direct`) and
leaves anything more to requests; these tests send the same requests through
HttpSession and through a bare requests.Session to one fake server and
compare what arrived and what came back.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tracker.http import Connections, HttpSession

SHAPES: dict[str, tuple[str, dict[str, Any]]] = {
    "query parameters": ("GET", {"params": {"day": "2026-01-01", "fields": ["a", "b"], "empty": None}}),
    "parameters as pairs": ("GET", {"params": [("q", "x y"), ("q", "é")]}),
    "parameters added to a query": ("GET", {"params": {"b": "2"}, "url_query": "a=1"}),
    "headers": ("GET", {"headers": {"Authorization": "Bearer t0k", "X-Goog-Api-Key": "k3y"}}),
    "a default header removed": ("GET", {"headers": {"User-Agent": None, "Accept": "application/json"}}),
    "a JSON body": ("POST", {"json": {"page": {"size": 100}, "dims": ["day"]}}),
    "a form body": ("POST", {"data": {"grant_type": "refresh", "token_auth": "s3cret"}}),
    "a text body": ("POST", {"data": "raw=1", "headers": {"Content-Type": "text/plain"}}),
    "a lowercase method": ("get", {}),
}


def seen(request: Request) -> tuple[str, str, str, list[tuple[str, str]], bytes]:
    headers = sorted((k.lower(), v) for k, v in request.headers.items() if k.lower() != "user-agent")
    agent = ("ua-sent", str("User-Agent" in request.headers))
    return request.method, request.path, request.query_string.decode(), [*headers, agent], request.get_data()


def send(http: requests.Session, server: HTTPServer, method: str, kwargs: dict[str, Any]) -> requests.Response:
    kwargs = dict(kwargs)
    query = kwargs.pop("url_query", "")
    return http.request(method, server.url_for("/api") + (f"?{query}" if query else ""), **kwargs)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_plain_request_arrives_as_requests_sends_it(httpserver: HTTPServer, shape: str) -> None:
    arrived: list[tuple[str, str, str, list[tuple[str, str]], bytes]] = []

    def record(request: Request) -> Response:
        arrived.append(seen(request))
        return Response('{"ok": true}', 200, content_type="application/json")

    httpserver.expect_request("/api").respond_with_handler(record)
    method, kwargs = SHAPES[shape]
    bare = requests.Session()
    bare.headers["User-Agent"] = "tracker"  # HttpSession sends its own agent; compare only whether one was sent
    theirs = send(bare, httpserver, method, kwargs)
    with HttpSession(stop=threading.Event()) as http:
        ours = send(http, httpserver, method, kwargs)
    assert arrived[1] == arrived[0]
    assert (ours.status_code, ours.url, ours.json(), ours.encoding) == (
        theirs.status_code, theirs.url, theirs.json(), theirs.encoding
    )
    assert ours.request.url == theirs.request.url


def test_a_redirect_is_followed_with_its_history(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_response(Response("", 301, headers={"Location": "/new"}))
    httpserver.expect_request("/new").respond_with_json({"moved": True})
    with HttpSession(stop=threading.Event()) as http:
        response = http.get(httpserver.url_for("/old"), params={"a": "1"})
    assert response.json() == {"moved": True}
    assert [r.status_code for r in response.history] == [301]
    assert response.url == httpserver.url_for("/new")


def test_a_redirect_not_followed_is_returned_with_where_it_leads(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_response(Response("", 302, headers={"Location": "/new"}))
    with HttpSession(stop=threading.Event()) as http:
        response = http.get(httpserver.url_for("/old"), allow_redirects=False)
    assert response.status_code == 302
    assert response.next is not None and response.next.url == httpserver.url_for("/new")
    assert len(httpserver.log) == 1


def test_a_cookie_the_service_sets_is_sent_back_on_the_next_request(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/login").respond_with_response(
        Response("{}", 200, headers={"Set-Cookie": "session=abc123; Path=/"}, content_type="application/json")
    )
    httpserver.expect_ordered_request("/data").respond_with_json({})
    with HttpSession(stop=threading.Event()) as http:
        http.get(httpserver.url_for("/login"))
        http.get(httpserver.url_for("/data"))
        assert http.cookies.get("session") == "abc123"
    (_, _), (second, _) = httpserver.log
    assert second.cookies.get("session") == "abc123"


def test_a_session_sharing_the_runs_connections_sends_plain_requests_the_same_way(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api", query_string="day=2026-01-01").respond_with_json({"n": 1})
    connections = Connections(per_host=1)
    for _ in range(2):
        with HttpSession(stop=threading.Event()) as http:
            http.share_connections(connections)
            assert http.get(httpserver.url_for("/api"), params={"day": "2026-01-01"}).json() == {"n": 1}
    connections.close()
    assert len(httpserver.log) == 2
