"""The one way records leave tracker for scripts: JSON that is always valid, CSV that never executes.

Every `--format json|csv` goes through `write_json` and `write_csv`:
- JSON has no NaN or Infinity (invalid JSON that breaks a reader): a number
  that is not finite is written as null, like any figure without data;
- a CSV cell that a spreadsheet would run as a formula (text starting with
  = + - @, a tab or a carriage return) gets a leading apostrophe, the OWASP
  advice for CSV injection; numbers are written as numbers;
- None is an empty cell, never 0;
- a whole number is written as one (34, not 34.0), in JSON and CSV alike, and a
  CSV boolean as true/false, as JSON writes it.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def finite(value: Any) -> Any:
    """The value with every non-finite float, at any depth, replaced by None, and whole floats as ints."""
    if isinstance(value, float):
        return _number(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _number(value: float) -> float | int:
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**53 else value


def write_json(data: Any, out: IO[str]) -> None:
    json.dump(finite(data), out, indent=2, ensure_ascii=False, allow_nan=False, default=str)
    out.write("\n")


def cell(value: Any) -> Any:
    """One CSV cell: empty for None, numbers as they are, formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value) if math.isfinite(value) else ""
    text = str(value)
    text = "'" + text if text.startswith(FORMULA_START) else text
    return text.replace("\r\n", "\n").replace("\r", "\n")  # the writer quotes \n, not a lone \r


def write_csv(records: Iterable[Mapping[str, Any]], out: IO[str], fieldnames: Sequence[str] | None = None) -> None:
    """A header and one line per record; the header is `fieldnames`, else every key in first-seen order."""
    rows = list(records)
    if fieldnames is None:
        fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    writer = csv.DictWriter(out, fieldnames=list(fieldnames), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: cell(v) for k, v in row.items()})
