"""Find plugins: built-ins, installed distributions, then single files.

Discovery runs once per command that needs plugins, never at import time. A
plugin that fails to import or declares itself wrongly is kept as a broken
entry with its error, so `tracker plugins list` can show it while every other
command goes on without it. `TRACKER_LOAD_PLUGINS=a,b` loads only those
(empty: none), the way out when a plugin breaks the CLI.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import pkgutil
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from tracker.errors import UnknownPlugin
from tracker.metrics import is_platform
from tracker.plugin import Plugin

BUILTIN_PACKAGE = "tracker_plugins"
ENTRY_POINT_GROUP = "tracker.plugins"
LOAD_ENV = "TRACKER_LOAD_PLUGINS"


@dataclass(frozen=True)
class Entry:
    """One discovered plugin, or the error that stopped it from loading."""

    name: str
    origin: str
    plugin: Plugin | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.plugin is not None


@dataclass
class Registry:
    entries: list[Entry] = field(default_factory=list)

    def plugins(self) -> list[Plugin]:
        return [e.plugin for e in self.entries if e.plugin is not None]

    def entry(self, name: str) -> Entry | None:
        return next((e for e in self.entries if e.name == name), None)

    def get(self, name: str) -> Plugin:
        entry = self.entry(name)
        if entry is None:
            known = ", ".join(sorted(p.name for p in self.plugins())) or "none"
            raise UnknownPlugin(f"no plugin named {name!r} (available: {known})")
        if entry.plugin is None:
            raise UnknownPlugin(f"plugin {name!r} is broken ({entry.origin}): {entry.error}")
        return entry.plugin

    def add(self, entry: Entry) -> None:
        first = self.entry(entry.name)
        if first is not None:
            entry = Entry(
                f"{entry.name} ({entry.origin})",
                entry.origin,
                error=f"name {entry.name!r} is already taken by the plugin from {first.origin}",
            )
        self.entries.append(entry)


def _allowed(env: Mapping[str, str]) -> set[str] | None:
    if LOAD_ENV not in env:
        return None
    return {n.strip() for n in env[LOAD_ENV].split(",") if n.strip()}


def _short_error(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({Path(frame[0].filename).name}:{frame[0].lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _from_module(module: ModuleType, expected: str | None = None) -> Plugin:
    plugin = getattr(module, "plugin", None)
    if not isinstance(plugin, Plugin):
        raise TypeError("module has no `plugin = Plugin(...)` at top level")
    validate(plugin)
    if expected is not None and plugin.name != expected:
        raise ValueError(f"declares name {plugin.name!r} but is registered as {expected!r}")
    return plugin


def validate(plugin: Plugin) -> None:
    """Reject declarations the core could not run, with the reason."""
    if not is_platform(plugin.name):
        raise ValueError(f"plugin name {plugin.name!r} must be lowercase letters, digits, - or _")
    if not plugin.platforms or not all(p == "*" or is_platform(p) for p in plugin.platforms):
        raise ValueError(f"platforms {plugin.platforms!r} must be lowercase slugs, or ('*',) for any")
    if not callable(plugin.fetch):
        raise TypeError("fetch is not callable")
    if plugin.options is not None and not dataclasses.is_dataclass(plugin.options):
        raise TypeError("options must be a dataclass")
    if plugin.lookback_days is not None and plugin.lookback_days < 0:
        raise ValueError("lookback_days must be >= 0")


def _builtins(allowed: set[str] | None) -> Iterator[Entry]:
    try:
        package = importlib.import_module(BUILTIN_PACKAGE)
    except ImportError as exc:
        yield Entry(BUILTIN_PACKAGE, "built-in", error=_short_error(exc))
        return
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or (allowed is not None and info.name not in allowed):
            continue
        try:
            module = importlib.import_module(f"{BUILTIN_PACKAGE}.{info.name}")
            yield Entry(info.name, "built-in", _from_module(module, info.name))
        except Exception as exc:  # a broken plugin must not break discovery
            yield Entry(info.name, "built-in", error=_short_error(exc))


def _entry_points(allowed: set[str] | None) -> Iterator[Entry]:
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if allowed is not None and ep.name not in allowed:
            continue
        dist = getattr(ep.dist, "name", None) or ep.value
        version = getattr(ep.dist, "version", None)
        origin = f"entry point ({dist} {version})" if version else f"entry point ({dist})"
        try:
            loaded: Any = ep.load()
            plugin = loaded if isinstance(loaded, Plugin) else _from_module(loaded)
            validate(plugin)
            if plugin.name != ep.name:
                raise ValueError(f"declares name {plugin.name!r} but its entry point is {ep.name!r}")
            yield Entry(ep.name, origin, plugin)
        except Exception as exc:
            yield Entry(ep.name, origin, error=_short_error(exc))


def _files(dirs: tuple[Path, ...], allowed: set[str] | None) -> Iterator[Entry]:
    for folder in dirs:
        if not folder.is_dir():
            yield Entry(folder.name or str(folder), str(folder), error=f"plugin folder {folder} does not exist")
            continue
        for path in sorted(folder.glob("*.py")):
            name = path.stem
            if name.startswith(("_", "test_")) or (allowed is not None and name not in allowed):
                continue
            try:
                yield Entry(name, str(path), _from_module(_load_file(path), name))
            except Exception as exc:
                yield Entry(name, str(path), error=_short_error(exc))


def _load_file(path: Path) -> ModuleType:
    module_name = f"tracker_local_plugins.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def discover(plugin_dirs: tuple[Path, ...] = (), env: Mapping[str, str] | None = None) -> Registry:
    allowed = _allowed(os.environ if env is None else env)
    registry = Registry()
    for source in (_builtins(allowed), _entry_points(allowed), _files(plugin_dirs, allowed)):
        for entry in source:
            registry.add(entry)
    return registry
