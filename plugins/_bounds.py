"""The one check every numeric option of a built-in plugin goes through, so a refusal always reads alike.

An option outside its documented range is refused while the config loads: the loader prefixes the file and
account, this names the key and the value, e.g.
`config.toml: accounts.shop: post_lookback_days 100000 must be between 0 and 365`.
"""

from __future__ import annotations


def within(key: str, value: int, low: int, high: int, why: str = "") -> None:
    """Raise ValueError naming `key` and `value` unless low <= value <= high; `why` says what the range guards."""
    if not low <= value <= high:
        raise ValueError(f"{key} {value} must be between {low} and {high}" + (f": {why}" if why else ""))
