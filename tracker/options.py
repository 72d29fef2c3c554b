"""Turn an account's TOML table into its plugin's typed options dataclass.

Each problem becomes one line naming the key and what to fix. Secrets must be
`${ENV_VAR}` references: the config file can then be shared or committed, and
the database only ever sees the reference.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types
import typing
from collections.abc import Mapping
from datetime import date
from typing import Any, Union

from tracker.attribution import Attribution
from tracker.envref import env_name, resolve_env
from tracker.plugin import Plugin, Secret


@functools.cache
def _hints(options: type) -> dict[str, Any]:
    """An options class's resolved annotations, once per class: a sync builds options for every account, and
    resolving them (typing.get_type_hints) cost more than the rest of building them."""
    return typing.get_type_hints(options)


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """One declared option, as `tracker plugins list/show` describes it."""

    name: str
    type_name: str
    required: bool
    default: Any
    secret: bool
    help: str


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def _type_name(hint: Any) -> str:
    hint, optional = _unwrap_optional(hint)
    origin = typing.get_origin(hint)
    if origin is list:
        name = f"list of {_type_name(typing.get_args(hint)[0])}"
    elif origin is dict:
        name = "table"
    else:
        name = {
            str: "text", int: "integer", float: "number", bool: "true/false", date: "date", Secret: "secret",
            Attribution: "table (hosts, sources)",
        }.get(
            hint, getattr(hint, "__name__", str(hint))
        )
    return name


def describe(plugin: Plugin) -> list[OptionInfo]:
    if plugin.options is None:
        return []
    hints = _hints(plugin.options)
    infos = []
    for f in dataclasses.fields(plugin.options):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        hint, _ = _unwrap_optional(hints[f.name])
        infos.append(
            OptionInfo(f.name, _type_name(hints[f.name]), required, default, hint is Secret, f.metadata.get("help", ""))
        )
    return infos


class _Problem(Exception):
    pass


def _coerce(value: Any, hint: Any, env: Mapping[str, str], resolve: bool, base: Attribution | None = None) -> Any:
    hint, optional = _unwrap_optional(hint)
    if value is None and optional:
        return None
    origin = typing.get_origin(hint)
    if hint is Attribution:
        if not isinstance(value, dict) or set(value) - {"hosts", "sources"}:
            raise _Problem('must be a table with `hosts` and/or `sources`, like { sources = { newsletter = "email" } }')
        return (base or Attribution()).extended(value.get("hosts"), value.get("sources"))
    if hint is Secret:
        name = env_name(value)
        if name is None:
            raise _Problem("is a secret: write it as a reference to an environment variable, like \"${MY_TOKEN}\"")
        if not resolve:
            return Secret("")
        if not env.get(name):
            raise _Problem(f"environment variable {name} is not set")
        return Secret(env[name])
    if isinstance(value, str) and hint is not str:
        if resolve:
            value = resolve_env(value, env, unset=value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _Problem(f"must be true or false, not {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise _Problem(f"must be a whole number, not {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Problem(f"must be a number, not {value!r}")
    if hint is str:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            value = str(value)
            name = env_name(value)
            if name and resolve:
                if name not in env:
                    raise _Problem(f"environment variable {name} is not set")
                value = env[name]
            return value
        raise _Problem(f"must be text, not {value!r}")
    if hint is date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise _Problem(f"must be a date like 2026-01-31, not {value!r}") from None
    if origin is list:
        if not isinstance(value, list):
            raise _Problem(f"must be a list like [\"a\", \"b\"], not {value!r}")
        (inner,) = typing.get_args(hint)
        return [_coerce(v, inner, env, resolve) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise _Problem(f"must be a table, not {value!r}")
        return dict(value)
    return value


def build(
    plugin: Plugin,
    raw: Mapping[str, Any],
    *,
    where: str,
    env: Mapping[str, str] | None = None,
    resolve_secrets: bool = True,
    attribution: Attribution | None = None,
) -> tuple[Any, list[str]]:
    """Return (options instance or None, problems); `where` prefixes each problem (file: accounts.NAME).

    An option typed `Attribution` starts from the config's `[attribution]` mapping
    (`attribution`), extended by the account's own table.
    """
    env = os.environ if env is None else env
    if plugin.options is None:
        extra = sorted(raw)
        return None, [f"{where}.{k}: unknown option (plugin {plugin.name} takes no options)" for k in extra]
    hints = _hints(plugin.options)
    fields = {f.name: f for f in dataclasses.fields(plugin.options)}
    problems: list[str] = []
    for key in sorted(set(raw) - set(fields)):
        known = ", ".join(sorted(fields)) or "none"
        problems.append(f"{where}.{key}: unknown option for plugin {plugin.name} (it takes: {known})")
    values: dict[str, Any] = {}
    for info in describe(plugin):
        if info.name not in raw and _unwrap_optional(hints[info.name])[0] is Attribution:
            values[info.name] = attribution or Attribution()
            continue
        if info.name not in raw:
            if info.required:
                problems.append(f"{where}.{info.name}: missing (required by plugin {plugin.name}: {info.help})")
            continue
        try:
            values[info.name] = _coerce(raw[info.name], hints[info.name], env, resolve_secrets, attribution)
        except _Problem as problem:
            problems.append(f"{where}.{info.name}: {problem}")
    if problems:
        return None, problems
    try:
        return plugin.options(**values), []
    except (ValueError, TypeError) as exc:
        return None, [f"{where}: {exc}"]


def secret_values(options: Any) -> list[str]:
    """Every secret in an options instance, so errors can be scrubbed of them."""
    if options is None or not dataclasses.is_dataclass(options):
        return []
    values = (getattr(options, f.name) for f in dataclasses.fields(options))
    return [v.reveal() for v in values if isinstance(v, Secret) and v.reveal()]
