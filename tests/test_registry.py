"""Plugin discovery: built-ins, entry points, plugin folders; broken plugins isolated."""

import sys
import textwrap

import pytest

from tracker.errors import UnknownPlugin
from tracker.registry import discover

GOOD = '''
from tracker.plugin import Plugin, Sample

def fetch(opts, window, http, state):
    yield [Sample("{name}", "likes", window.until, 1)]

plugin = Plugin(name="{name}", platforms=("{name}",), fetch=fetch)
'''


def write_plugin(folder, name, body=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(body or GOOD.format(name=name)))


@pytest.fixture
def installed_distribution(tmp_path, monkeypatch):
    """A real installed distribution on sys.path declaring a `tracker.plugins` entry point."""
    site = tmp_path / "site"
    write_plugin(site, "tracker_ext_vimeo", GOOD.format(name="vimeo"))
    info = site / "tracker_ext_vimeo-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tracker-ext-vimeo\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[tracker.plugins]\nvimeo = tracker_ext_vimeo:plugin\n")
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("tracker_ext_vimeo", None)


def test_builtin_plugins_are_found_and_named_built_in():
    entry = discover().entry("demo")
    assert entry is not None and entry.ok and entry.origin == "built-in"


def test_entry_point_plugins_are_found_with_their_distribution(installed_distribution):
    entry = discover().entry("vimeo")
    assert entry is not None and entry.ok
    assert entry.origin == "entry point (tracker-ext-vimeo 1.0)"  # the distribution and its version


def test_single_file_plugins_are_found_in_plugin_dirs(tmp_path):
    write_plugin(tmp_path / "mine", "snapchat")
    entry = discover((tmp_path / "mine",)).entry("snapchat")
    assert entry is not None and entry.ok and entry.origin.endswith("snapchat.py")


def test_discovery_order_is_builtins_then_entry_points_then_files(tmp_path, installed_distribution):
    write_plugin(tmp_path / "mine", "snapchat")
    names = [e.name for e in discover((tmp_path / "mine",)).entries]
    assert names.index("demo") < names.index("vimeo") < names.index("snapchat")


def test_a_plugin_that_fails_to_import_is_listed_broken_and_others_still_load(tmp_path):
    write_plugin(tmp_path / "mine", "broken", "import not_a_module_anywhere\n")
    write_plugin(tmp_path / "mine", "snapchat")
    registry = discover((tmp_path / "mine",))
    broken = registry.entry("broken")
    assert broken is not None and not broken.ok
    assert "ModuleNotFoundError" in broken.error and "not_a_module_anywhere" in broken.error
    assert registry.entry("snapchat").ok


def test_a_file_without_a_plugin_object_is_broken_with_the_reason(tmp_path):
    write_plugin(tmp_path / "mine", "empty", "x = 1\n")
    assert "no `plugin = Plugin(...)`" in discover((tmp_path / "mine",)).entry("empty").error


def test_a_plugin_with_an_invalid_declaration_is_broken(tmp_path):
    write_plugin(tmp_path / "mine", "shouty", GOOD.format(name="Shouty"))
    assert "must be lowercase" in discover((tmp_path / "mine",)).entry("shouty").error


def test_using_a_broken_plugin_names_its_error():
    registry = discover()
    registry.entries.append(type(registry.entries[0])("bad", "test", error="SyntaxError: oops"))
    with pytest.raises(UnknownPlugin, match="broken.*SyntaxError"):
        registry.get("bad")


def test_a_name_taken_by_a_builtin_is_not_shadowed_by_a_file(tmp_path):
    write_plugin(tmp_path / "mine", "demo", GOOD.format(name="demo"))
    registry = discover((tmp_path / "mine",))
    assert registry.get("demo").platforms != ("demo",)
    assert any("already taken" in (e.error or "") for e in registry.entries)


def test_load_plugins_env_limits_loading_to_the_named_ones(tmp_path):
    write_plugin(tmp_path / "mine", "snapchat")
    registry = discover((tmp_path / "mine",), env={"TRACKER_LOAD_PLUGINS": "snapchat"})
    assert [e.name for e in registry.entries] == ["snapchat"]


def test_empty_load_plugins_env_loads_none():
    assert discover(env={"TRACKER_LOAD_PLUGINS": ""}).entries == []


def test_a_missing_plugin_folder_is_reported():
    registry = discover((__import__("pathlib").Path("/no/such/folder"),))
    assert any("does not exist" in (e.error or "") for e in registry.entries)
