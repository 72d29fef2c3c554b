"""`${ENV_VAR}` references: a config value that names an environment variable instead of holding a secret.

The config file can then be shared or committed, and the database only ever stores the reference. Options,
the alerts webhook and the redactor all recognise a reference by this one rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_name(value: object) -> str | None:
    """The variable a whole-value `${NAME}` reference names; None for anything else (text around it included)."""
    if not isinstance(value, str):
        return None
    match = _REFERENCE.fullmatch(value)
    return match.group(1) if match else None


def is_env_ref(value: object) -> bool:
    """Whether the value is a `${NAME}` reference."""
    return env_name(value) is not None


def resolve_env(value: str, env: Mapping[str, str], unset: str = "") -> str:
    """A reference's variable's value (`unset` when the variable is not set); any other text as it is."""
    name = env_name(value)
    if name is None:
        return value
    return env.get(name, unset)
