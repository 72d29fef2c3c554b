"""`tracker init` and `tracker config check`."""

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracker import words
from tracker.cli.common import ConfigOption, friendly, load_config, load_registry, stdout

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tracker.config import Config
    from tracker.options import OptionInfo
    from tracker.plugin import Plugin
    from tracker.registry import Registry

app = typer.Typer(help="Check the configuration.", no_args_is_help=True)

HEADER = """\
# tracker configuration. Every key is described in config.example.toml.
# Secrets are never written here: give them as ${{ENV_VAR}} references.
# `tracker demo` shows made-up data in a database of its own; this file and
# your database hold only your real accounts.

timezone = "{timezone}"
currency = "EUR"
# database = "sqlite:////path/to/tracker.db"   # default: the user data dir
# plugin_dirs = ["~/tracker-plugins"]

# One [accounts.NAME] table per account: `plugin` and that plugin's options.
# Uncomment an example below and fill in your ids (lines starting with ##
# stay comments), then `tracker config check` and `tracker sync`.
"""

NO_ACCOUNTS = (
    "No accounts yet: uncomment an example in {path} (or add an [accounts.NAME] table; "
    "`tracker plugins show NAME` lists a plugin's options), then `tracker sync`."
)
WIDTH = 79
NBSP = "\u00a0"  # textwrap never breaks here
GROUPS = (
    ("none", "Social accounts: followers and engagement"),
    ("analytics", "Web analytics: visits and conversions per platform"),
    ("first_party", "Your own orders and leads (shop exports, sales sheets)"),
)
NOT_A_REAL_ACCOUNT = {"demo"}  # made-up data: only `tracker demo` uses it


@dataclass(frozen=True)
class Example:
    """What the starter fills in for one plugin: an account name and TOML values beyond the type's placeholder."""

    account: str
    values: tuple[tuple[str, str], ...] = ()


# Ids that look like the real thing; every required option not named here gets a placeholder from its type.
EXAMPLES = {
    "facebook": Example("my_page", (("page_id", '"1234567890"'),)),
    "instagram": Example("my_instagram", (("user_id", '"17841400000000000"'),)),
    "threads": Example("my_threads", (("user_id", '"17841400000000001"'),)),
    "linkedin": Example("my_linkedin", (("organization_id", '"2414183"'),)),
    "x": Example("my_x", (("username", '"baecker_lindner"'),)),
    "youtube": Example("my_channel", (("channel_id", '"UCxxxxxxxxxxxxxxxxxxxxxx"'),)),
    "mastodon": Example("my_mastodon", (("instance", '"https://mastodon.social"'), ("acct", '"baeckerei"'))),
    "bluesky": Example("my_bluesky", (("handle", '"baeckerei-lindner.bsky.social"'),)),
    "google_business": Example(
        "my_listing",
        (("location_id", '"4512345678901234567"'), ("account_id", '"107812345678901234567"'),
         ("credentials_file", '"~/gbp-token.json"')),
    ),
    "ga4": Example("website", (("property_id", '"123456789"'), ("credentials_file", '"~/ga4-key.json"'))),
    "matomo": Example("website_matomo", (("base_url", '"https://stats.example.com"'), ("site_id", "1"))),
    "plausible": Example("website_plausible", (("site_id", '"example.com"'),)),
    "csv": Example("shop", (("path", '"~/exports/orders_*.csv"'),)),
    "metrics_csv": Example("linkedin_profile", (("platform", '"linkedin"'), ("path", '"~/Downloads/Content_*.xlsx"'))),
}
PLACEHOLDERS = {"integer": "1", "number": "1.0", "true/false": "false", "date": '"2026-01-01"'}


def _notes(text: str) -> list[str]:
    """Explanations as `##` lines: uncommenting a block (one `# ` off each line) keeps them comments.

    A `command` in backticks is never split across lines, so it can be copied.
    """
    kept = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", NBSP), text)
    lines = textwrap.wrap(kept, WIDTH, initial_indent="## ", subsequent_indent="## ", break_on_hyphens=False)
    return [line.replace(NBSP, " ") for line in lines]


def _value(plugin: str, info: "OptionInfo", example: Example) -> str | None:
    """The TOML value the example shows for an option, or None to only name it."""
    given = dict(example.values)
    if info.name in given:
        return given[info.name]
    if not info.required:
        return None
    if info.secret:
        return f'"${{{plugin.upper()}_{info.name.upper()}}}"'
    return PLACEHOLDERS.get(info.type_name, '"..."')


def example_account(plugin: "Plugin") -> list[str]:
    """A commented [accounts.NAME] table with the options `tracker plugins show` lists, secrets as ${ENV_VAR}."""
    from tracker import options

    example = EXAMPLES.get(plugin.name, Example(f"my_{plugin.name}"))
    lines = _notes(f"{plugin.name}: {plugin.description}" if plugin.description else plugin.name)
    lines += [f"# [accounts.{example.account}]", f'# plugin = "{plugin.name}"']
    others = []
    for info in options.describe(plugin):
        value = _value(plugin.name, info, example)
        if value is None:
            others.append(info.name)
            continue
        lines += _notes(info.help) if info.help else []
        lines.append(f"# {info.name} = {value}")
    more = f"More options: {', '.join(others)}. " if others else ""
    return lines + _notes(f"{more}All of them: `tracker plugins show {plugin.name}`.")


def starter(registry: "Registry", timezone: str) -> str:
    """The config `tracker init` writes: no account, a commented example for every plugin of a real platform."""
    plugins = [p for p in registry.plugins() if p.name not in NOT_A_REAL_ACCOUNT]
    parts = [HEADER.format(timezone=timezone).rstrip("\n")]
    for source, title in GROUPS:
        group = sorted((p for p in plugins if p.conversion_source.value == source), key=lambda p: p.name)
        if group:
            parts.append(f"# --- {title} ---")
            parts += ["\n".join(example_account(p)) for p in group]
    return "\n\n".join(parts) + "\n"


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
        found_entry = registry.entry(account.plugin)
        if found_entry is None:
            known = ", ".join(sorted(p.name for p in registry.plugins()))
            found.append(f"{where}.plugin: no plugin named {account.plugin!r} (available: {known})")
            continue
        if found_entry.plugin is None:
            continue
        found += options.build(found_entry.plugin, account.options, where=where)[1]
    installed = {p.name for p in registry.plugins()}
    for name in sorted(set(cfg.rate_limits) - installed):
        known = ", ".join(sorted(installed))
        found.append(f"{cfg.path}: rate_limits.{name}: no plugin named {name!r} (available: {known})")
    return cfg.path, len(cfg.accounts), found


def _existing_database(cfg: "Config") -> "Engine | None":
    """The database, if there is one of this release's schema; checking a config never creates or migrates one."""
    import sqlalchemy as sa

    from tracker.errors import TrackerError
    from tracker.store import migrations
    from tracker.store.db import open_engine

    url = sa.make_url(cfg.database)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return None
    try:
        engine = open_engine(cfg.database, migrate=False)
    except TrackerError:
        return None
    try:
        if not migrations.pending(engine):
            return engine
    except (TrackerError, sa.exc.SQLAlchemyError):
        pass  # a database that cannot be read is for `tracker db status` to explain, not the config check
    engine.dispose()
    return None


def rename_hints(cfg: "Config", registry: "Registry") -> list[str]:
    """A stored account gone from the config and a new one reading the same source: renamed, its history left behind."""
    from tracker import options
    from tracker.store.rename import likely_renames

    engine = _existing_database(cfg)
    if engine is None:
        return []
    secrets = {p.name: {i.name for i in options.describe(p) if i.secret} for p in registry.plugins()}
    try:
        found = likely_renames(engine, cfg.accounts, secrets)
    finally:
        engine.dispose()
    return [
        f"{cfg.path}: accounts.{r.new} looks like {r.old} renamed (same plugin and options): "
        f"`tracker accounts rename {r.old} {r.new}` keeps its history"
        for r in found
    ]


def warnings(path: Path | None) -> list[str]:
    """What a valid config may still get wrong, one line each; never a reason to fail the check."""
    cfg = load_config(path, required=True)
    return rename_hints(cfg, load_registry(cfg)) + readable_secrets(cfg)


def readable_secrets(cfg: "Config") -> list[str]:
    """A config that other users can read must not hold a credential: name the keys and how to close it."""
    import os
    import stat

    from tracker.redact import literal_secrets

    if cfg.path is None or os.name == "nt":  # Windows has no group/other mode bits to check
        return []
    try:
        mode = stat.S_IMODE(cfg.path.stat().st_mode)
    except OSError:
        return []
    held = literal_secrets(cfg) if mode & (stat.S_IRGRP | stat.S_IROTH) else []
    if not held:
        return []
    return [
        f"{cfg.path}: other users can read it (mode {mode:04o}) and it holds credentials in "
        f"{', '.join(held)}; run `chmod 600 {cfg.path}` or give them as ${{ENV_VAR}} references"
    ]


@app.command("check")
@friendly
def check(config: ConfigOption = None) -> None:
    """Validate the config and every account's options; one line per problem, then warnings."""
    from tracker.errors import ConfigError

    path, count, found = problems(config)
    if found:
        raise ConfigError(found)
    console = stdout()
    console.print(f"{path}: ok ({words.count(count, 'account')})", highlight=False)
    if count == 0:
        console.print(NO_ACCOUNTS.format(path=path), highlight=False, markup=False)
    for line in warnings(config):
        console.print(f"warning: {line}", highlight=False, markup=False)


@friendly
def init(
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")] = False,
) -> None:
    """Write a starter config file: no accounts yet, a commented example for each plugin."""
    from tracker import config as cfgmod
    from tracker.errors import ConfigError
    from tracker.registry import discover

    path = cfgmod.find_path(config)
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists; edit it, or pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(starter(discover(), cfgmod.local_timezone().key), encoding="utf-8")
    stdout().print(
        f"Wrote {path}. Next: uncomment an example account in it and fill in your ids, "
        "then `tracker config check` and `tracker sync`.",
        highlight=False,
    )
