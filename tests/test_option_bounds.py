"""Every numeric option of a built-in plugin has a documented range, and a value outside it is one config line.

`post_lookback_days = 100000` would re-read three centuries of posts on every sync, and a seed of 1e11 is a
typo: both are refused while the config loads, with the file, the account, the key and the value named
(plugins/_bounds.py), and the range is written in the option's help and on the plugin's docs page.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from tracker.cli.main import app
from tracker.registry import discover
from tracker.testing import make_options

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins"
RANGE = re.compile(r"\b(\d+) to (\d+)\b")


def numeric_options() -> list[tuple[str, str, str]]:
    """(plugin, option, help) of every int or float option of the plugins shipped in plugins/."""
    found = []
    for plugin in discover().plugins():
        if plugin.options is None or not plugin.fetch.__module__.startswith("tracker_plugins."):
            continue
        hints = typing.get_type_hints(plugin.options)
        for f in dataclasses.fields(plugin.options):
            if hints[f.name] in (int, float):
                found.append((plugin.name, f.name, f.metadata["help"]))
    return found


@pytest.mark.parametrize("plugin, option, help_text", numeric_options(), ids=lambda v: str(v)[:30])
def test_every_numeric_option_states_its_range_in_its_help(plugin, option, help_text):
    assert RANGE.search(help_text), f"{plugin}.{option}: the help names no range (write it as 'A to B')"


WITH_PAGES = [o for o in numeric_options() if (DOCS / f"{o[0]}.md").exists()]  # demo has none: `tracker plugins`


@pytest.mark.parametrize("plugin, option, help_text", WITH_PAGES, ids=lambda v: str(v)[:30])
def test_the_plugins_docs_page_states_the_same_range(plugin, option, help_text):
    page = DOCS / f"{plugin}.md"
    [row] = [line for line in page.read_text(encoding="utf-8").splitlines() if line.startswith(f"| `{option}` |")]
    assert RANGE.search(help_text).group(0) in row


def check(cli, tmp_path: Path, account: str, env: dict[str, str] | None = None):
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\n{account}', encoding="utf-8")
    return config, cli.invoke(app, ["config", "check", "--config", str(config)], env=env or {})


MASTODON = '[accounts.social]\nplugin = "mastodon"\ninstance = "https://mastodon.example"\nacct = "baeckerei"\n' \
           'token = "${MASTODON_TOKEN}"\n'


def test_an_absurd_post_lookback_is_one_line_naming_file_account_key_and_value(cli, tmp_path):
    env = {"MASTODON_TOKEN": "t0k3n-abcdef"}
    config, result = check(cli, tmp_path, MASTODON + "post_lookback_days = 100000\n", env)
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {config}: accounts.social: post_lookback_days 100000 must be between 0 and 365"
    )


def test_a_post_lookback_at_the_end_of_its_range_is_accepted(cli, tmp_path):
    _, result = check(cli, tmp_path, MASTODON + "post_lookback_days = 365\n", {"MASTODON_TOKEN": "t0k3n-abcdef"})
    assert "post_lookback_days" not in result.output and "Traceback" not in result.output


def test_a_demo_seed_past_its_range_is_refused_with_its_value(cli, tmp_path):
    config, result = check(cli, tmp_path, '[accounts.bakery]\nplugin = "demo"\nseed = 100000000000\n')
    assert result.exit_code == 2
    expected = f"error: {config}: accounts.bakery: seed 100000000000 must be between 0 and 2147483647"
    assert result.output.strip() == expected


@pytest.mark.parametrize("site_id, refused", [(0, True), (-3, True), (1, False), (2**32 - 1, False), (2**32, True)])
def test_a_matomo_site_id_must_be_a_site_number(site_id, refused):
    raw = {"base_url": "https://stats.example.org", "site_id": site_id, "token": "${MATOMO_TOKEN}"}
    if refused:
        with pytest.raises(AssertionError, match=f"site_id {site_id} must be between 1 and 4294967295"):
            make_options(discover().get("matomo"), raw, env={"MATOMO_TOKEN": "abcdef123456"})
    else:
        assert make_options(discover().get("matomo"), raw, env={"MATOMO_TOKEN": "abcdef123456"}).site_id == site_id
