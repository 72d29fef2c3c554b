"""`tracker accounts check` scrubs what a plugin's check says, like a sync does."""

import json

from tests.test_cli import invoke, write_config

FRESH = "fresh-9f8e7d6c5b4a3210"  # a token the check obtains at run time: in no config
PLUGIN = '''
from dataclasses import dataclass
from tracker.plugin import HttpSession, Plugin, Secret, option


@dataclass(frozen=True)
class Options:
    base_url: str = option("http://127.0.0.1", help="The API.")
    token: Secret | None = option(None, help="API token.")


def fetch(opts, window, http, state):
    return iter(())


def check(opts, http: HttpSession) -> str:
    fresh = http.post(opts.base_url + "/token", data={"key": opts.token.reveal()}).json()["access_token"]
    me = http.get(opts.base_url + "/me", headers={"Authorization": "Bearer " + fresh})
    if me.status_code != 200:
        raise RuntimeError(f"token {fresh} refused for key {opts.token.reveal()}")
    return f"signed in with {fresh}"


plugin = Plugin(name="echoer", platforms=("echoer",), fetch=fetch, options=Options, check=check)
'''


def checked(cli, tmp_path, httpserver, monkeypatch, status):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "echoer.py").write_text(PLUGIN)
    monkeypatch.setenv("ECHO_KEY", "key-0123456789abcdef")
    httpserver.expect_request("/token", method="POST").respond_with_json({"access_token": FRESH})
    httpserver.expect_request("/me").respond_with_data("no", status=status)
    accounts = f'[accounts.echo]\nplugin = "echoer"\nbase_url = "{httpserver.url_for("")}"\ntoken = "${{ECHO_KEY}}"\n'
    config = write_config(tmp_path, f'plugin_dirs = ["{folder}"]\n' + accounts)
    result = invoke(cli, "accounts", "check", "--config", str(config), "--format", "json")
    return json.loads(result.stdout)[0], result.output


def test_a_token_obtained_during_the_check_is_not_shown_when_it_succeeds(cli, tmp_path, httpserver, monkeypatch):
    entry, output = checked(cli, tmp_path, httpserver, monkeypatch, 200)
    assert entry["status"] == "ok"
    assert FRESH[:8] not in output and FRESH[-8:] not in output


def test_neither_the_configured_nor_the_obtained_token_is_shown_when_it_fails(cli, tmp_path, httpserver, monkeypatch):
    entry, output = checked(cli, tmp_path, httpserver, monkeypatch, 401)
    assert entry["status"] == "failed" and "refused" in entry["message"]
    assert FRESH[-8:] not in output and "0123456789abcdef" not in output
