"""Analytics exports as rows of cells, whether a platform wrote CSV or XLSX.

CSV goes through the shop reader (tracker_plugins._csv_read): any encoding, delimiter and Excel `sep=` line.
XLSX goes through openpyxl, a well-kept reader, rather than our own unzipping: every sheet of the workbook
becomes a table of its own (LinkedIn's export has five). Cells keep what the workbook says they are: a date
cell is a date, a number cell a float; text stays text (LinkedIn writes its dates and, since 2026, its numbers
as text). An analytics export holds a row per day, so a sheet is read whole.
"""

from __future__ import annotations

import glob
import hashlib
import os
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from tracker.plugin import ApiError, NotFound

from . import _csv_read as read

SUFFIXES = (".csv", ".xlsx")
Cell = str | float | date


@dataclass(frozen=True)
class Sheet:
    """One table of a file: its rows (blank ones left out) with the line (CSV) or row (XLSX) each starts on."""

    where: str  # "Content.xlsx sheet ENGAGEMENT" or "export.csv", for notices
    unit: str  # "line" or "row"
    rows: list[tuple[int, list[Cell]]]
    delimiter: str = ""  # CSV only: decides 1,5 against 1.5 when no value does


def find_files(path: str) -> list[Path]:
    """The files `path` names (a file, a folder's *.csv and *.xlsx, or a glob); missing is NotFound, naming it."""
    expanded = os.path.expanduser(path.strip())
    target = Path(expanded)
    if not target.exists() and any(c in expanded for c in "*?["):
        matches = sorted(Path(m) for m in glob.glob(expanded) if Path(m).is_file() and not _lock_file(Path(m)))
        if not matches:
            raise NotFound(f"no file matches {expanded}: check the account's `path`")
        return matches
    if target.is_dir():
        try:
            return sorted(p for p in target.iterdir()
                          if p.is_file() and p.suffix.lower() in SUFFIXES and not _lock_file(p))
        except OSError as exc:
            reason = exc.strerror or exc
            raise ApiError(f"cannot read the folder {expanded} ({reason}): check its permissions") from None
    if not target.exists():
        raise NotFound(f"{expanded} does not exist: set `path` to an export (.csv or .xlsx), a folder of them or "
                       "a glob")
    return [target]


def _lock_file(path: Path) -> bool:
    """Excel's `~$Content.xlsx` while the workbook is open: not an export."""
    return path.name.startswith("~$")


def digest(path: Path, salt: str) -> str:
    """The file's bytes and the options that shape how they read: a changed `columns` reads every file again."""
    hashed = hashlib.sha256(salt.encode() + b"\0")
    try:
        with path.open("rb") as f:
            while chunk := f.read(read.CHUNK):
                hashed.update(chunk)
    except OSError as exc:
        raise ApiError(f"cannot read {path} ({exc.strerror or exc}): check its permissions") from None
    return hashed.hexdigest()


def sheets(path: Path, encoding: str, delimiter: str) -> list[Sheet]:
    """Every table in the file; FileProblem when it cannot be read as the export it claims to be."""
    suffix = path.suffix.lower()
    if suffix in (".xls", ".numbers", ".ods"):
        raise read.FileProblem(f"is a {suffix} file: save it as .xlsx or .csv (Excel: File -> Save As)")
    if suffix in (".xlsx", ".xlsm") or _is_zip(path):
        return _workbook(path)
    return [_csv(path, encoding, delimiter)]


def _is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def _csv(path: Path, encoding: str, delimiter: str) -> Sheet:
    try:
        scanned = read.scan(path, encoding)
        with read.open_rows(path, scanned, delimiter) as reader:
            rows: list[tuple[int, list[Cell]]] = [(reader.header_line, list(reader.head.header))]
            rows += [(line, list(cells)) for line, cells in reader.rows()]
            return Sheet(path.name, "line", rows, reader.delimiter)
    except OSError as exc:
        raise ApiError(f"cannot read {path} ({exc.strerror or exc}): check its permissions") from None


def _workbook(path: Path) -> list[Sheet]:
    from openpyxl import load_workbook  # only when an .xlsx is read: `tracker --help` stays light

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise ApiError(f"cannot read {path} ({exc.strerror or exc}): check its permissions") from None
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign zip
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise read.FileProblem(f"is not a readable .xlsx workbook ({reason}): download the export again") from None
    try:
        found = []
        for ws in book.worksheets:
            ws.reset_dimensions()  # exports often state no size, or a wrong one: read every row there is
            rows = []
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [_cell(v) for v in values]
                if any(c != "" for c in cells):
                    rows.append((number, cells))
            found.append(Sheet(f"{path.name} sheet {ws.title}", "row", rows))
        return found
    finally:
        book.close()


def _cell(value: object) -> Cell:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return str(value)


def text(cell: Cell) -> str:
    """A cell as the user sees it: `1204`, not `1204.0`; a date as ISO."""
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, date):
        return cell.isoformat()
    return read.clean(cell)
