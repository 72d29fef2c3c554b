"""Config: found in the documented places, and every problem is one line naming the key."""

from pathlib import Path

import pytest

from tracker import config
from tracker.cli.config import problems
from tracker.errors import ConfigError


def write(tmp_path, text, name="config.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lines_for(tmp_path, text):
    return problems(write(tmp_path, text))[2]


def test_explicit_path_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "env.toml"))
    assert config.find_path(tmp_path / "cli.toml") == tmp_path / "cli.toml"


def test_environment_variable_wins_over_the_user_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "env.toml"))
    assert config.find_path(None) == tmp_path / "env.toml"


def test_default_config_lives_in_the_user_config_dir(isolated_env):
    assert config.find_path(None) == isolated_env / "config" / "tracker" / "config.toml"


def test_default_database_is_a_sqlite_file_in_the_user_data_dir(isolated_env):
    assert config.empty().database == f"sqlite:///{isolated_env / 'data' / 'tracker' / 'tracker.db'}"


def test_relative_database_path_is_relative_to_the_config_file(tmp_path):
    cfg = config.load(write(tmp_path, 'database = "data/t.db"\n'))
    assert cfg.database == f"sqlite:///{tmp_path / 'data' / 't.db'}"


def test_any_sqlalchemy_url_is_kept_as_given(tmp_path):
    cfg = config.load(write(tmp_path, 'database = "postgresql+psycopg://u@localhost/tracker"\n'))
    assert cfg.database == "postgresql+psycopg://u@localhost/tracker"


def test_invalid_toml_names_the_file_and_the_line(tmp_path):
    path = write(tmp_path, "timezone = \n")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert str(path) in str(err.value) and "line 1" in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("colour = 1\n", "colour: unknown setting"),
        ('timezone = "Mars/Olympus"\n', "timezone: unknown time zone 'Mars/Olympus'"),
        ("workers = 0\n", "workers: must be a whole number >= 1"),
        ('currency = "euro"\n', "currency: must be a three-letter currency code"),
        ("[accounts.shop]\nseed = 1\n", "accounts.shop.plugin: missing"),
        ('[accounts.shop]\nplugin = "demo"\ntimezone = "Nowhere"\n', "accounts.shop.timezone: unknown time zone"),
        ('precedence = ["ghost"]\n', "precedence: names account 'ghost'"),
        ('[attribution]\nhosts = { "social.example" = 3 }\n', "attribution.hosts: must map text to a platform key"),
    ],
)
def test_core_problems_are_one_line_naming_file_and_key(tmp_path, text, expected):
    found = lines_for(tmp_path, text)
    assert len(found) == 1
    assert found[0].startswith(str(tmp_path / "config.toml") + ": ")
    assert expected in found[0]


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ('plugin = "demo"\nseed = "many"', "accounts.shop.seed: must be a whole number, not 'many'"),
        ('plugin = "demo"\nsede = 1', "accounts.shop.sede: unknown option for plugin demo (it takes: seed)"),
        ('plugin = "nope"', "accounts.shop.plugin: no plugin named 'nope'"),
    ],
)
def test_plugin_option_problems_name_the_account_and_key(tmp_path, account, expected):
    found = lines_for(tmp_path, f"[accounts.shop]\n{account}\n")
    assert len(found) == 1 and expected in found[0]


def test_all_problems_are_reported_at_once(tmp_path):
    found = lines_for(tmp_path, 'colour = 1\nworkers = "x"\n')
    assert len(found) == 2


def test_an_account_can_be_disabled(tmp_path):
    cfg = config.load(write(tmp_path, '[accounts.shop]\nplugin = "demo"\nenabled = false\n'))
    assert cfg.accounts[0].enabled is False


def test_missing_config_file_is_fine_for_reading_but_not_for_syncing(tmp_path):
    assert config.load(None).accounts == ()
    with pytest.raises(ConfigError, match="tracker init"):
        config.load(None, required=True)


def test_example_config_is_valid_and_documents_every_setting():
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    text = example.read_text(encoding="utf-8")
    config.parse(__import__("tomllib").loads(text), example)
    for key in config.TOP_KEYS | config.ACCOUNT_KEYS:
        assert f"{key} =" in text or f"[{key}" in text or f"{key}." in text, f"config.example.toml lacks {key}"


def test_the_manual_account_name_is_reserved_for_logged_sales(tmp_path):
    found = lines_for(tmp_path, '[accounts.manual]\nplugin = "demo"\n')
    assert len(found) == 1 and "accounts.manual: the name 'manual' is reserved" in found[0]


def test_effort_settings_are_validated(tmp_path):
    found = lines_for(tmp_path, "hourly_rate = -5\n[effort.instagram]\nhours_per_week = \"lots\"\nminutes = 3\n")
    assert sorted(line.split(": ", 1)[1].split(":")[0] for line in found) == [
        "effort.instagram.hours_per_week", "effort.instagram.minutes", "hourly_rate"
    ]
