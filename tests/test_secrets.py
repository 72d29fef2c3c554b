"""No secret shown anywhere: every token a run knows stays out of output, logs, files, webhooks and the database.

Each leak of issue 17 has its regression test here; the last test runs the
real CLI end to end with fakes that echo every token they are sent, then
greps everything the run left behind for each token and every 8-character
fragment of it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from werkzeug import Request, Response

from tests.conftest import noon
from tests.fakes.graph import FakeGraph, graph_error
from tracker.cli.main import app
from tracker.errors import ApiError
from tracker.http import HttpSession
from tracker.plugin import Plugin, Sample, Secret, State, Unavailable, option
from tracker.redact import Redactor
from tracker.registry import Entry, discover
from tracker.store import writes
from tracker.store.db import open_engine

TODAY = date(2026, 11, 27)
FRAGMENT = 8


def _token(seed: int, length: int, prefix: str = "") -> str:
    """A made-up token: random letters and digits, so none of its pieces occurs in ordinary text by chance."""
    rng = random.Random(seed)
    return prefix + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length - len(prefix)))


TOKEN = _token(1, 48, "tok")
LONG_TOKEN = _token(2, 260, "EAAG")  # longer than the 200 characters Graph messages were cut to


def fragments(secret: str) -> set[str]:
    return {secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}


def leaked(blob: str | bytes, secrets: list[str]) -> list[str]:
    """Every secret of which a whole or an 8-character piece occurs in `blob`."""
    data = blob.encode("utf-8", "replace") if isinstance(blob, str) else blob
    return [s for s in secrets if any(f.encode() in data for f in fragments(s))]


@dataclass(frozen=True)
class TokenOptions:
    token: Secret = option(help="API token")
    base_url: str = option("http://127.0.0.1:9/", help="service")


def plugin(name: str, fetch: Any) -> Plugin:
    return Plugin(name=name, platforms=(name,), fetch=fetch, options=TokenOptions)


def registry_with(*plugins: Plugin) -> Any:
    registry = discover()
    for p in plugins:
        registry.add(Entry(p.name, "test", p))
    return registry


def query(url: str, sql: str) -> list[Any]:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)).all())
    finally:
        engine.dispose()


def store_unavailable(engine: Any, account: str, reason: str) -> None:
    """A metric status written straight through the store, as an older release (or another path) wrote it."""
    run_id = writes.start_run(engine, "manual")
    account_run = writes.start_account_run(engine, run_id, account, TODAY, TODAY)
    unavailable = [Unavailable(account, "views", reason)]
    result = writes.AccountResult(account, account, "{}", "none", False, 0, unavailable=unavailable)
    writes.commit_account(engine, run_id, account_run, result)


def write_config(tmp_path: Path, db_url: str, body: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{db_url.removeprefix("sqlite:///")}"\ntimezone = "UTC"\n{body}', encoding="utf-8")
    return config


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("SVC_TOKEN", TOKEN)
    return {"plugin": "svc", "token": "${SVC_TOKEN}"}


# --- 1. Unavailable reasons ---------------------------------------------------


def _echoes_token_in_a_reason(opts: TokenOptions, window: Any, http: Any, state: dict) -> Any:
    yield [Sample("svc", "likes", window.until, 3)]
    yield Unavailable("svc", "views", f"(#100) views is retired; you sent access_token {opts.token.reveal()}")


def test_a_token_echoed_in_an_unavailable_reason_is_not_stored(make_config, run_sync, token_env):
    cfg = make_config({"svc": token_env})
    run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("svc", _echoes_token_in_a_reason)))
    [(reason,)] = query(cfg.database, "SELECT reason FROM metric_status")
    assert "views is retired" in reason and leaked(reason, [TOKEN]) == []


def test_a_token_echoed_in_an_unavailable_reason_is_not_in_the_sync_summary(make_config, run_sync, token_env):
    cfg = make_config({"svc": token_env})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("svc", _echoes_token_in_a_reason)))
    [shown] = result.outcomes[0].unavailable
    assert shown.startswith("svc.views: ") and leaked(shown, [TOKEN]) == []


def test_alerts_hide_a_token_in_a_reason_stored_by_an_older_tracker(cli, tmp_path, db_url, engine, monkeypatch):
    """An older release stored reasons unredacted: `tracker alerts` must not repeat them."""
    monkeypatch.setenv("SVC_TOKEN", TOKEN)
    store_unavailable(engine, "svc", f"retired for {TOKEN}")
    config = write_config(tmp_path, db_url, '[accounts.svc]\nplugin = "svc"\ntoken = "${SVC_TOKEN}"\n')
    shown = cli.invoke(app, ["alerts", "--config", str(config), "--format", "json"])
    assert shown.exit_code == 1 and "retired for ***" in shown.stdout
    assert leaked(shown.output, [TOKEN]) == []


# --- 2. redact first, cut after -------------------------------------------------


@pytest.mark.parametrize("before", [0, 180], ids=["token-at-the-start", "token-across-the-old-cut"])
def test_a_graph_message_echoing_a_long_token_leaves_no_piece_of_it(
    httpserver, make_config, run_sync, monkeypatch, before
):
    graph = FakeGraph(httpserver, token=LONG_TOKEN)
    graph.fail_next(graph_error(190, f"{'x' * before}{LONG_TOKEN} is not a valid access token", 463))
    monkeypatch.setenv("FB_TOKEN", LONG_TOKEN)
    page = {"plugin": "facebook", "page_id": "1", "token": "${FB_TOKEN}", "base_url": httpserver.url_for("/")}
    cfg = make_config({"page": page})
    result = run_sync(cfg, now=noon(TODAY))
    [(error,)] = query(cfg.database, "SELECT error FROM account_run")
    assert "the access token has expired" in error and "make a new Page access token" in error
    assert leaked(error, [LONG_TOKEN]) == [] and leaked(result.outcomes[0].message, [LONG_TOKEN]) == []


def test_the_http_session_redacts_the_credentials_it_sent(httpserver):
    httpserver.expect_request("/x").respond_with_data("ok")
    bearer, key = _token(3, 40), _token(4, 32)
    with HttpSession(retries=0) as http:
        http.get(httpserver.url_for("/x"), params={"api_key": key}, headers={"Authorization": f"Bearer {bearer}"})
        shown = http.redact(f"the service said: {bearer[:30]} and {key[5:]} are not valid")
    assert shown == "the service said: *** and *** are not valid"


def test_a_plugin_error_echoing_a_credential_its_request_carried_is_scrubbed(
    httpserver, make_config, run_sync, token_env
):
    """Not an option: a session key the service issued, sent back in a header, then echoed in a refusal."""
    session = _token(5, 40)
    httpserver.expect_request("/data").respond_with_json({"error": f"session {session} expired"}, status=401)

    def fetch(opts: TokenOptions, window: Any, http: Any, state: dict) -> Any:
        body = http.get(f"{opts.base_url}data", headers={"X-Session-Token": session}).json()
        raise ApiError(f"the service refused: {body['error']}")
        yield

    cfg = make_config({"svc": {**token_env, "base_url": httpserver.url_for("/")}})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("svc", fetch)))
    [(error,)] = query(cfg.database, "SELECT error FROM account_run")
    assert error == "the service refused: session *** expired" and result.outcomes[0].message == error


# --- 3. the webhook's credentials ---------------------------------------------------


def test_a_failing_webhook_with_credentials_is_named_without_them(
    cli, tmp_path, db_url, engine, httpserver, monkeypatch
):
    store_unavailable(engine, "page", "retired")
    httpserver.expect_request("/hook", method="POST").respond_with_data("no", status=500)
    hook = httpserver.url_for("/hook").replace("://", "://hookuser:hookpass-4b7c9e@")
    monkeypatch.setenv("HOOK_URL", hook)
    config = write_config(tmp_path, db_url, '[alerts]\nwebhook_url = "${HOOK_URL}"\n[accounts.page]\nplugin = "demo"\n')
    shown = cli.invoke(app, ["alerts", "--config", str(config)])
    assert shown.exit_code == 2
    where = f"http://REDACTED@{httpserver.host}:{httpserver.port}"
    assert shown.stderr.strip() == f"error: alerts webhook at {where}: answered HTTP 500"
    assert "hookpass" not in shown.output and "hookuser" not in shown.output


# --- 4. options and state in the database ---------------------------------------------


def test_credentials_in_a_base_url_are_not_stored_with_the_account(make_config, run_sync, token_env):
    def fetch(opts: TokenOptions, window: Any, http: Any, state: dict) -> Any:
        yield [Sample("svc", "likes", window.until, 1)]

    cfg = make_config({"svc": {**token_env, "base_url": "http://proxyuser:proxypass-7e1f@127.0.0.1:9/"}})
    run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("svc", fetch)))
    [(options_json,)] = query(cfg.database, "SELECT options_json FROM account")
    assert json.loads(options_json)["base_url"] == "http://REDACTED@127.0.0.1:9/"
    assert "${SVC_TOKEN}" in options_json


def _keeps_its_token_in_state(seen: list[dict]) -> Any:
    def fetch(opts: TokenOptions, window: Any, http: Any, state: dict) -> Any:
        seen.append(dict(state))
        yield [Sample("svc", "likes", window.until, 1)]
        yield State({"cursor": window.until.isoformat(), "token": opts.token.reveal()})

    return fetch


def test_a_token_a_plugin_puts_in_its_state_is_not_stored(make_config, run_sync, token_env):
    cfg = make_config({"svc": token_env})
    run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("svc", _keeps_its_token_in_state([]))))
    [(state_json,)] = query(cfg.database, "SELECT state_json FROM account")
    assert json.loads(state_json) == {"cursor": TODAY.isoformat()}


def test_a_state_entry_left_out_for_holding_a_secret_is_named_in_a_notice(make_config, run_sync, token_env):
    cfg = make_config({"svc": token_env})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("svc", _keeps_its_token_in_state([]))))
    assert result.outcomes[0].notices == [
        "plugin svc put a secret in its state (token); it was not stored: the state is kept in the database in "
        "clear, so secrets stay in the environment"
    ]


def test_the_next_run_gets_the_rest_of_the_state_back(make_config, run_sync, token_env):
    seen: list[dict] = []
    cfg = make_config({"svc": token_env})
    registry = registry_with(plugin("svc", _keeps_its_token_in_state(seen)))
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    second = run_sync(cfg, now=noon(TODAY), plugins=registry)
    assert second.ok and seen == [{}, {"cursor": TODAY.isoformat()}]


# --- 5. config check -------------------------------------------------------------------


def _config_with_webhook(tmp_path: Path, mode: int) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\n'
        '[alerts]\nwebhook_url = "https://hookuser:hookpass-4b7c9e@hooks.example.com/alerts"\n'
        '[accounts.page]\nplugin = "demo"\n',
        encoding="utf-8",
    )
    config.chmod(mode)
    return config


@pytest.mark.skipif(os.name == "nt", reason="Windows files have no group/other read bits")
def test_config_check_warns_when_others_can_read_a_webhook_url_with_credentials(cli, tmp_path):
    config = _config_with_webhook(tmp_path, 0o644)
    result = cli.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 0
    assert (
        f"warning: {config}: other users can read it (mode 0644) and it holds credentials in alerts.webhook_url; "
        f"run `chmod 600 {config}` or give them as ${{ENV_VAR}} references"
    ) in " ".join(result.stdout.split())
    assert "hookpass" not in result.output


@pytest.mark.skipif(os.name == "nt", reason="Windows files have no group/other read bits")
def test_config_check_is_quiet_about_credentials_only_its_owner_can_read(cli, tmp_path):
    config = _config_with_webhook(tmp_path, 0o600)
    result = cli.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 0 and "warning" not in result.output


@pytest.mark.skipif(os.name == "nt", reason="Windows files have no group/other read bits")
def test_config_check_names_an_account_option_with_credentials_in_a_readable_file(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MATOMO_TOKEN", TOKEN)
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\n[accounts.web]\nplugin = "matomo"\nsite_id = 1\n'
        'token = "${MATOMO_TOKEN}"\nbase_url = "https://stats:pw-12345678@stats.example.com"\n',
        encoding="utf-8",
    )
    config.chmod(0o640)
    result = cli.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 0 and "holds credentials in accounts.web.base_url" in " ".join(result.stdout.split())


# --- the redactor itself -----------------------------------------------------------------


def test_a_redactor_hides_a_cut_piece_of_a_secret_but_not_ordinary_text():
    redactor = Redactor.of([LONG_TOKEN])
    cut = f"Graph error 190: {LONG_TOKEN}"[:200]
    assert redactor.text(cut) == "Graph error 190: ***"
    assert redactor.text("Graph error 190: session has expired") == "Graph error 190: session has expired"


def test_a_redactor_cuts_only_after_redacting():
    assert Redactor.of([LONG_TOKEN]).line(f"{LONG_TOKEN} expired, renew it", limit=40) == "*** expired, renew it"


# --- end to end --------------------------------------------------------------------------

ECHO_PLUGIN = '''
"""A service that echoes whatever it is sent, as careless platforms do."""
from dataclasses import dataclass

from tracker.plugin import ApiError, Notice, Plugin, Sample, Secret, State, Unavailable, option


@dataclass(frozen=True)
class EchoOptions:
    token: Secret = option(help="API key")
    base_url: str = option("http://127.0.0.1:9/", help="service")
    fail: bool = option(False, help="ask for the refusal")


def fetch(opts, window, http, state):
    root = opts.base_url.rstrip("/")
    login = http.get(f"{root}/echo/login", headers={"X-Api-Key": opts.token.reveal()}).json()
    stats = http.get(f"{root}/echo/stats", headers={"Authorization": f"Bearer {login['session']}"}).json()
    if opts.fail:
        raise ApiError(f"the echo service refused: {stats['refusal']}")
    yield [Sample("echo", "likes", window.until, float(stats["likes"]))]
    yield Unavailable("echo", "views", stats["why"])
    yield Notice(login["note"])
    yield State({"cursor": window.until.isoformat(), "session": login["session"], "key": opts.token.reveal()})


plugin = Plugin(name="echo", platforms=("echo",), fetch=fetch, options=EchoOptions, description="echoes tokens")
'''


@dataclass(frozen=True)
class Secrets:
    """Every credential of the end-to-end run, by where it comes from."""

    retired_page: str = _token(11, 190, "EAAG")
    expired_page: str = _token(12, 260, "EAAG")
    echo_key: str = _token(13, 40)
    echo_session: str = _token(14, 44)  # issued by the service, sent back in a header: known only by being sent
    proxy_user: str = "proxyuser-" + _token(15, 10)
    proxy_pass: str = "proxypass-" + _token(16, 16)
    hook_user: str = "hookuser-" + _token(17, 10)
    hook_pass: str = "hookpass-" + _token(18, 16)
    hook_path: str = _token(19, 32)  # a Slack-style token in the webhook's path

    def all(self) -> list[str]:
        return list(vars(self).values())


class EchoingServices:
    """Graph and the echo service on one local server, each answering with the token it was sent."""

    def __init__(self, server: Any, s: Secrets) -> None:
        self.s = s
        self.hook_bodies: list[bytes] = []
        server.expect_request("/v25.0/111/insights").respond_with_handler(self._retired)
        for edge in ("posts", "conversations"):  # customer care: the Page has no posts and no conversations
            server.expect_request(f"/v25.0/111/{edge}").respond_with_json({"data": []})
        server.expect_request("/v25.0/222/insights").respond_with_handler(self._expired)
        server.expect_request("/echo/login").respond_with_handler(self._login)
        server.expect_request("/echo/stats").respond_with_handler(self._stats)
        server.expect_request(f"/hooks/{s.hook_path}", method="POST").respond_with_handler(self._hook)

    @staticmethod
    def _json(body: dict, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")

    def _retired(self, request: Request) -> Response:
        message = f"(#100) The value must be a valid insights metric (token {self.s.retired_page})"
        return self._json(graph_error(100, message), 400)

    def _expired(self, request: Request) -> Response:
        message = f"{self.s.expired_page}: Error validating access token: Session has expired"
        return self._json(graph_error(190, message, 463), 400)

    def _login(self, request: Request) -> Response:
        key = request.headers.get("X-Api-Key", "")
        session = self.s.echo_session
        return self._json({"session": session, "note": f"key {key} accepted; session {session}"})

    def _stats(self, request: Request) -> Response:
        session = request.headers.get("Authorization", "").removeprefix("Bearer ")
        why = f"views retired for session {session}"
        return self._json({"likes": 5, "why": why, "refusal": f"session {session} is not allowed"})

    def _hook(self, request: Request) -> Response:
        self.hook_bodies.append(request.get_data())
        return Response("down", status=500)


def _run(exe: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.subprocess
def test_no_token_or_piece_of_one_is_left_anywhere_after_sync_schedule_alerts_and_status(
    httpserver, tmp_path, isolated_env, monkeypatch
):
    exe = shutil.which("tracker", path=os.path.dirname(sys.executable)) or shutil.which("tracker")
    assert exe, "the tracker console script is not installed"
    s = Secrets()
    services = EchoingServices(httpserver, s)
    root = httpserver.url_for("/")
    for name, value in (("FB_RETIRED", s.retired_page), ("FB_EXPIRED", s.expired_page), ("ECHO_KEY", s.echo_key)):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOOK_URL", httpserver.url_for(f"/hooks/{s.hook_path}").replace("://", f"://{s.hook_user}:{s.hook_pass}@"))
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "echo.py").write_text(ECHO_PLUGIN, encoding="utf-8")
    config = tmp_path / "config.toml"  # outside HOME: the file itself holds the proxy credentials
    config.write_text(
        f'timezone = "UTC"\nplugin_dirs = ["{plugins}"]\n[alerts]\nwebhook_url = "${{HOOK_URL}}"\n'
        f'[accounts.retired]\nplugin = "facebook"\npage_id = "111"\ntoken = "${{FB_RETIRED}}"\n'
        f'base_url = "{root.replace("://", f"://{s.proxy_user}:{s.proxy_pass}@")}"\n'
        f'[accounts.expired]\nplugin = "facebook"\npage_id = "222"\ntoken = "${{FB_EXPIRED}}"\nbase_url = "{root}"\n'
        f'[accounts.echo]\nplugin = "echo"\ntoken = "${{ECHO_KEY}}"\nbase_url = "{root}"\n'
        f'[accounts.echo_refused]\nplugin = "echo"\ntoken = "${{ECHO_KEY}}"\nbase_url = "{root}"\nfail = true\n',
        encoding="utf-8",
    )
    config.chmod(0o600)

    runs = [
        _run(exe, "config", "check", "--config", str(config)),
        _run(exe, "sync", "--config", str(config)),
        _run(exe, "schedule", "--once", "--verbose", "--config", str(config)),
        _run(exe, "alerts", "--config", str(config)),
        _run(exe, "status", "--config", str(config), "--format", "json"),
    ]

    # The run did what it is meant to (on any release), so the search below searches something.
    check, sync, schedule, alerts, status = runs
    assert check.returncode == 0 and sync.returncode == 1 and alerts.returncode == 2, [r.stderr for r in runs]
    assert "accepted; session" in sync.stdout and "has expired" in status.stdout
    assert services.hook_bodies and b"metric_retired" in services.hook_bodies[0]
    home_files = [p for p in isolated_env.rglob("*") if p.is_file()]
    databases = [p for p in home_files if ".db" in p.name]
    logs = [p for p in home_files if p.name == "tracker.log"]
    assert b"must be a valid insights metric" in b"".join(p.read_bytes() for p in databases)
    assert logs and b"account=expired status=failed" in logs[0].read_bytes()

    places: dict[str, bytes] = {}
    for run in runs:
        places[f"stdout of {run.args[1:3]}"] = run.stdout.encode()
        places[f"stderr of {run.args[1:3]}"] = run.stderr.encode()
    places.update({f"file {p}": p.read_bytes() for p in home_files})
    places.update({f"webhook body {i}": body for i, body in enumerate(services.hook_bodies)})
    found = {where: leaked(blob, s.all()) for where, blob in places.items()}
    assert {where: which for where, which in found.items() if which} == {}
