"""The README stays true: commands, Quick start, plugin list and the plugin tutorial."""

import json
import re
import textwrap
from pathlib import Path

import typer

from tracker.cli.main import app
from tracker.cli.plugins import PLUGIN_TEMPLATE
from tracker.registry import discover

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title):
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def command_paths(group, prefix=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from command_paths(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name))


def test_every_command_is_documented_in_the_commands_section():
    documented = section("Commands")
    for path in command_paths(typer.main.get_command(app)):
        assert f"`tracker {path}" in documented, f"README's Commands section lacks `tracker {path}`"


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    blocks = re.findall(r"```sh\n(.*?)```", section("Quick start"), re.S)
    install_and_demo, tests = (b.strip() for b in blocks[:2])
    assert install_and_demo.endswith("pip install . && tracker demo")
    assert tests.endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -q -e '.[test]'" in ci and "python -m pytest" in ci


def test_every_builtin_plugin_is_listed_with_a_docs_page():
    listed = section("Built-in plugins")
    for plugin in discover().plugins():
        assert f"| `{plugin.name}` |" in listed, f"README does not list plugin {plugin.name}"
        if plugin.name != "demo":
            assert (ROOT / "docs" / "plugins" / f"{plugin.name}.md").exists(), f"no docs/plugins/{plugin.name}.md"


def tutorial_plugin():
    match = re.search(r"<!-- tutorial-plugin -->\s*```python\n(.*?)```", README, re.S)
    assert match, "README lost its tutorial plugin"
    return textwrap.dedent(match.group(1))


def test_tutorial_plugin_is_exactly_what_plugins_new_writes():
    assert tutorial_plugin() == PLUGIN_TEMPLATE.format(name="snapchat")


def test_tutorial_plugin_in_a_local_folder_is_listed_synced_and_reported(cli, tmp_path, httpserver, monkeypatch):
    folder = tmp_path / "tracker-plugins"
    folder.mkdir()
    (folder / "snapchat.py").write_text(tutorial_plugin(), encoding="utf-8")
    httpserver.expect_request("/stats", headers={"Authorization": "Bearer tt-secret"}).respond_with_json(
        {"followers": 120, "likes": 7}
    )
    monkeypatch.setenv("SNAPCHAT_TOKEN", "tt-secret")
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\nplugin_dirs = ["{folder}"]\n'
        f'[accounts.my_snapchat]\nplugin = "snapchat"\nbase_url = "{httpserver.url_for("/")}"\n'
        'token = "${SNAPCHAT_TOKEN}"\n'
        "initial_days = 5\n"
    )
    listed = json.loads(cli.invoke(app, ["plugins", "list", "--config", str(config), "--format", "json"]).stdout)
    assert {"name": "snapchat", "status": "ok"}.items() <= next(e for e in listed if e["name"] == "snapchat").items()
    synced = cli.invoke(app, ["sync", "--config", str(config)])
    assert synced.exit_code == 0, synced.output
    report = json.loads(cli.invoke(app, ["report", "--config", str(config), "--format", "json"]).stdout)
    row = next(r for r in report["platforms"] if r["platform"] == "snapchat")
    assert (row["likes"], row["followers"]) == (35.0, 120.0)
    assert row["verdict"] == "not_tracked"


def test_every_option_of_every_builtin_plugin_is_documented():
    from tracker import options

    for plugin in discover().plugins():
        page = README if plugin.name == "demo" else (ROOT / "docs" / "plugins" / f"{plugin.name}.md").read_text()
        for option in options.describe(plugin):
            assert f"`{option.name}`" in page, f"{plugin.name}: option {option.name} is not documented"
