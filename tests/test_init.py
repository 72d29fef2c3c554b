"""`tracker init`: a starter config with a commented example per plugin and no demo account."""

import re
import tomllib
from datetime import timedelta

from tracker.config import local_timezone
from tracker.registry import discover
from tracker.store.db import open_engine
from tracker.store.forget import stored_accounts
from tracker.windows import account_today

from .test_cli import invoke

REAL_PLUGINS = sorted(e.name for e in discover().entries if e.origin == "built-in" and e.ok and e.name != "demo")


def starter_path(home):
    return home / "config" / "tracker" / "config.toml"


def user_database(home):
    return home / "data" / "tracker" / "tracker.db"


def uncomment(text, account):
    """What a user does to one example: drop one `# ` from each line of its block (## lines stay comments)."""
    lines = text.splitlines()
    start = lines.index(f"# [accounts.{account}]")
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("#")), len(lines))
    block = [line[2:] if line.startswith("# ") else line for line in lines[start:end]]
    return "\n".join(lines[:start] + block + lines[end:]) + "\n"


def example_accounts(text):
    return re.findall(r"^# \[accounts\.(\w+)\]$", text, re.M)


def test_init_writes_no_account_and_the_file_passes_config_check(cli, isolated_env):
    assert invoke(cli, "init").exit_code == 0
    assert "accounts" not in tomllib.loads(starter_path(isolated_env).read_text(encoding="utf-8"))
    check = invoke(cli, "config", "check")
    assert check.exit_code == 0, check.output
    assert "ok (0 accounts)" in check.stdout and "uncomment an example" in check.stdout


def test_every_builtin_plugin_of_a_real_platform_has_a_commented_example(cli, isolated_env):
    invoke(cli, "init")
    text = starter_path(isolated_env).read_text(encoding="utf-8")
    commented = sorted(re.findall(r'^# plugin = "(\w+)"$', text, re.M))
    assert commented == REAL_PLUGINS
    assert 'plugin = "demo"' not in text


def test_every_example_uncommented_passes_config_check_with_secrets_as_env_references(cli, isolated_env, monkeypatch):
    invoke(cli, "init")
    path = starter_path(isolated_env)
    text = path.read_text(encoding="utf-8")
    for account in example_accounts(text):
        text = uncomment(text, account)
    secrets = re.findall(r'^\w+ = "\$\{(\w+)\}"$', text, re.M)
    assert "FACEBOOK_TOKEN" in secrets and "YOUTUBE_API_KEY" in secrets
    for name in secrets:
        monkeypatch.setenv(name, "set-in-the-environment")
    path.write_text(text, encoding="utf-8")
    check = invoke(cli, "config", "check")
    assert check.exit_code == 0, check.output
    assert f"ok ({len(REAL_PLUGINS)} accounts)" in check.stdout


def test_sync_with_no_accounts_says_to_add_one_to_the_named_file(cli, isolated_env):
    invoke(cli, "init")
    result = invoke(cli, "sync")
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert str(starter_path(isolated_env)) in line and "uncomment an example account" in line


def stored_in(database):
    if not database.exists():
        return []
    engine = open_engine(f"sqlite:///{database}")
    try:
        return stored_accounts(engine)
    finally:
        engine.dispose()


def test_init_then_sync_on_a_fresh_home_stores_no_demo_row(cli, isolated_env):
    invoke(cli, "init")
    invoke(cli, "sync")
    assert "demo" not in stored_in(user_database(isolated_env))


def test_readme_steps_with_a_shop_export_store_only_the_users_account(cli, isolated_env, tmp_path):
    """init, uncomment the shop example and point it at a real export, sync: only the shop is stored."""
    day = account_today(local_timezone()) - timedelta(days=1)
    export = tmp_path / "orders.csv"
    export.write_text(
        f"Order ID,Date,Amount,How did you hear about us?\n1001,{day},25.00,Instagram\n", encoding="utf-8"
    )
    assert invoke(cli, "init").exit_code == 0
    path = starter_path(isolated_env)
    text = uncomment(path.read_text(encoding="utf-8"), "shop")
    path.write_text(re.sub(r'^path = ".*"$', f'path = "{export}"', text, flags=re.M), encoding="utf-8")
    assert invoke(cli, "config", "check").exit_code == 0
    synced = invoke(cli, "sync")
    assert synced.exit_code == 0, synced.output
    assert stored_in(user_database(isolated_env)) == ["shop"]


def test_starter_example_values_name_only_options_their_plugin_declares():
    """A renamed option must not leave a stale example behind."""
    from tracker import options
    from tracker.cli.config import EXAMPLES

    registry = discover()
    for name, example in EXAMPLES.items():
        declared = {o.name for o in options.describe(registry.get(name))}
        assert {key for key, _ in example.values} <= declared, name
