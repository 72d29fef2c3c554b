"""The sessions of one sync run share keep-alive connections and read the environment once per host."""

from __future__ import annotations

import threading

from pytest_httpserver import HTTPServer

from tests.fakes.keepalive import keepalive_server
from tracker.http import Connections, HttpSession


def session(connections: Connections) -> HttpSession:
    http = HttpSession(stop=threading.Event())
    http.share_connections(connections)
    return http


def test_accounts_of_one_run_send_over_one_kept_alive_connection():
    with keepalive_server() as (base, ports):
        connections = Connections(per_host=2)
        for _ in range(3):  # one session per account, closed after its fetch, as the sync does
            with session(connections) as http:
                assert http.get(f"{base}/stats").json() == {"ok": True}
        connections.close()
    assert len(ports) == 3
    assert len(set(ports)) == 1, "the later accounts reused the first one's connection"


def test_a_proxy_named_in_the_environment_still_carries_the_requests(httpserver: HTTPServer, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", httpserver.url_for("/"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    httpserver.expect_request("/stats").respond_with_json({"via": "proxy"})
    connections = Connections(per_host=1)
    for _ in range(2):
        with session(connections) as http:
            assert http.get("http://platform.invalid/stats").json() == {"via": "proxy"}
    connections.close()
    assert len(httpserver.log) == 2


def test_a_netrc_login_for_the_host_is_sent_as_requests_would(httpserver: HTTPServer, tmp_path, monkeypatch):
    host = httpserver.url_for("/").split("//")[1].split(":")[0]
    (tmp_path / ".netrc").write_text(f"machine {host} login shop password s3cret\n", encoding="utf-8")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    httpserver.expect_request("/stats").respond_with_json({})
    connections = Connections(per_host=1)
    with session(connections) as http:
        http.get(httpserver.url_for("/stats"))
    connections.close()
    (request, _), = httpserver.log
    assert request.authorization is not None and request.authorization.username == "shop"
