"""`tracker plugins list|show|new`."""

import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.common import ConfigOption, Format, FormatOption, friendly, load_config, load_registry, stdout
from tracker.errors import ConfigError

app = typer.Typer(help="List, inspect and create plugins.", no_args_is_help=True)


@app.command("list")
@friendly
def list_(config: ConfigOption = None, fmt: FormatOption = Format.table) -> None:
    """Show every plugin found, where it came from, its options, and broken ones with their error."""
    from rich.table import Table

    from tracker import options, output

    registry = load_registry(load_config(config))
    rows = []
    for e in registry.entries:
        opts = options.describe(e.plugin) if e.plugin else []
        rows.append(
            {
                "name": e.name,
                "origin": e.origin,
                "status": "ok" if e.ok else "broken",
                "platforms": ",".join(e.plugin.platforms) if e.plugin else "",
                "options": ",".join(o.name + ("*" if o.required else "") for o in opts),
                "error": e.error or "",
            }
        )
    if fmt is Format.json:
        output.write_json(rows, sys.stdout)
        return
    if fmt is Format.csv:
        output.write_csv(rows, sys.stdout, list(rows[0]) if rows else ["name"])
        return
    table = Table(title="Plugins", caption="* required option", title_justify="left", caption_justify="left")
    for header in ("Plugin", "From", "Platforms", "Options", "Status"):
        table.add_column(header)
    for r in rows:
        status = "[green]ok[/]" if r["status"] == "ok" else f"[bold red]broken[/]: {r['error']}"
        table.add_row(r["name"], r["origin"], r["platforms"], r["options"].replace(",", ", "), status)
    stdout().print(table)


@app.command("show")
@friendly
def show(name: str, config: ConfigOption = None) -> None:
    """Describe one plugin: options, day rule, lookback and what its metrics mean."""
    from rich.table import Table

    from tracker import metrics, options

    cfg = load_config(config)
    registry = load_registry(cfg)
    plugin = registry.get(name)
    entry = registry.entry(name)
    console = stdout()
    console.print(f"[bold]{plugin.name}[/] ({entry.origin if entry else ''})")
    if plugin.description:
        console.print(plugin.description, highlight=False)
    console.print(f"platforms: {', '.join(plugin.platforms)}", highlight=False)
    console.print(f"days follow: {plugin.day_rule}", highlight=False)
    lookback = plugin.lookback_days if plugin.lookback_days is not None else cfg.lookback_days
    console.print(f"lookback: {lookback} days (re-fetched every run)", highlight=False)
    console.print(f"conversion source: {plugin.conversion_source.value}", highlight=False)
    table = Table(title="Options", title_justify="left")
    for header in ("Option", "Type", "Default", "Help"):
        table.add_column(header)
    for o in options.describe(plugin):
        default = "required" if o.required else ("" if o.default is None else repr(o.default))
        table.add_row(o.name, o.type_name + (" (${ENV_VAR})" if o.secret else ""), default, o.help)
    console.print(table)
    if plugin.metrics:
        table = Table(title="Metrics", title_justify="left")
        table.add_column("Metric")
        table.add_column("Kind")
        table.add_column("Meaning")
        for metric, meaning in plugin.metrics.items():
            info = metrics.get(metric)
            table.add_row(metric, info.kind.value if info else "extra", meaning)
        console.print(table)


PLUGIN_TEMPLATE = '''\
"""{name}: a tracker plugin.

Reads a JSON endpoint `GET {{base_url}}/stats?day=YYYY-MM-DD` that answers
{{"followers": 120, "likes": 7}} and stores both for each day asked.
Replace the request and the parsing with your platform's API.

Customer care: if the API lists comments, messages or reviews, also yield
`CareItem(platform, channel, item_id, created_at, first_reply_at)` (from
tracker.plugin) for each one from someone else: channel "comment", "reply",
"mention", "message" or "review"; times with a time zone; first_reply_at the
account's first reply, or None. The core then reports questions, answers and
reply times. Pass no text or names: CareItem has no field for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.plugin import AuthError, HttpSession, Plugin, Sample, Secret, State, Window, option


@dataclass(frozen=True)
class Options:
    base_url: str = option("https://api.example.com", help="The API's address.")
    token: Secret | None = option(None, help="API token, as ${{ENV_VAR}}.")


def fetch(opts: Options, window: Window, http: HttpSession, state: dict):
    headers = {{"Authorization": f"Bearer {{opts.token.reveal()}}"}} if opts.token else {{}}
    for day in window.days():
        response = http.get(f"{{opts.base_url.rstrip('/')}}/stats", params={{"day": day.isoformat()}}, headers=headers)
        if response.status_code in (401, 403):
            raise AuthError("{name}: the token was refused; check it")
        response.raise_for_status()
        body = response.json()
        yield [
            Sample("{name}", "followers", day, body["followers"]),
            Sample("{name}", "likes", day, body["likes"]),
        ]
    yield State({{"last_day": window.until.isoformat()}})


plugin = Plugin(name="{name}", platforms=("{name}",), fetch=fetch, options=Options,
                description="Followers and likes from {name}.")
'''

TEST_TEMPLATE = '''\
"""Tests for the {name} plugin, against a local fake of its API."""

from datetime import date

from {module} import plugin
from tracker.testing import check_plugin


def test_{name}_conforms_and_stores_each_day(httpserver):
    httpserver.expect_request("/stats").respond_with_json({{"followers": 120, "likes": 7}})
    result = check_plugin(
        plugin, {{"base_url": httpserver.url_for("/")}}, since=date(2026, 1, 1), until=date(2026, 1, 3)
    )
    followers = sorted((s.day, s.value) for s in result.samples if s.metric == "followers")
    assert followers == [(date(2026, 1, day), 120) for day in (1, 2, 3)]
'''


@app.command("new")
@friendly
def new(
    name: str,
    directory: Annotated[Path, typer.Option("--dir", help="Folder to write the plugin and its test into.")] = Path("."),
) -> None:
    """Write a working plugin file NAME.py and its test test_NAME.py to start from."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ConfigError(f"plugin name {name!r}: use lowercase letters, digits and _ (it becomes a module name)")
    directory.mkdir(parents=True, exist_ok=True)
    plugin_path, test_path = directory / f"{name}.py", directory / f"test_{name}.py"
    for path in (plugin_path, test_path):
        if path.exists():
            raise ConfigError(f"{path}: already exists; choose another name or folder")
    plugin_path.write_text(PLUGIN_TEMPLATE.format(name=name), encoding="utf-8")
    test_path.write_text(TEST_TEMPLATE.format(name=name, module=name), encoding="utf-8")
    console = stdout()
    console.print(f"Wrote {plugin_path} and {test_path}.", highlight=False)
    console.print(
        f"Run its test: cd {directory} && python -m pytest test_{name}.py\n"
        f"Use it: add plugin_dirs = [\"{directory.resolve()}\"] to the config, then `tracker plugins list`.",
        highlight=False,
    )
