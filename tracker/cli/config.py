"""`tracker init` and `tracker config check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracker import words
from tracker.cli.common import ConfigOption, friendly, load_config, load_registry, stdout

app = typer.Typer(help="Check the configuration.", no_args_is_help=True)

STARTER = """\
# tracker configuration. Every key is described in config.example.toml.
# Secrets are never written here: give them as ${{ENV_VAR}} references.

timezone = "{timezone}"
currency = "EUR"
# database = "sqlite:////path/to/tracker.db"   # default: the user data dir
# plugin_dirs = ["~/tracker-plugins"]

# One table per account: a plugin and its options (`tracker plugins show NAME`).
[accounts.demo]
plugin = "demo"

# [accounts.my_page]
# plugin = "facebook"
# page_id = "1234567890"
# token = "${{FACEBOOK_TOKEN}}"
"""


def problems(path: Path | None) -> tuple[Path | None, int, list[str]]:
    """Every problem in the config, one line each, without syncing anything."""
    from tracker import options
    from tracker.errors import ConfigError

    try:
        cfg = load_config(path, required=True)
    except ConfigError as exc:
        return None, 0, exc.problems
    registry = load_registry(cfg)
    found: list[str] = []
    for entry in registry.entries:
        if not entry.ok and any(a.plugin == entry.name for a in cfg.accounts):
            found.append(f"plugin {entry.name} ({entry.origin}) is broken: {entry.error}")
    for account in cfg.accounts:
        where = f"{cfg.path}: accounts.{account.name}"
        entry = registry.entry(account.plugin)
        if entry is None:
            known = ", ".join(sorted(p.name for p in registry.plugins()))
            found.append(f"{where}.plugin: no plugin named {account.plugin!r} (available: {known})")
            continue
        if entry.plugin is None:
            continue
        found += options.build(entry.plugin, account.options, where=where)[1]
    return cfg.path, len(cfg.accounts), found


@app.command("check")
@friendly
def check(config: ConfigOption = None) -> None:
    """Validate the config and every account's options; one line per problem."""
    from tracker.errors import ConfigError

    path, count, found = problems(config)
    if found:
        raise ConfigError(found)
    stdout().print(f"{path}: ok ({words.count(count, 'account')})", highlight=False)


@friendly
def init(
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")] = False,
) -> None:
    """Write a starter config file (with the demo account) to edit."""
    from tracker import config as cfgmod
    from tracker.errors import ConfigError

    path = cfgmod.find_path(config)
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists; edit it, or pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER.format(timezone=cfgmod.local_timezone().key), encoding="utf-8")
    stdout().print(f"Wrote {path}. Next: `tracker config check`, then `tracker sync`.", highlight=False)
