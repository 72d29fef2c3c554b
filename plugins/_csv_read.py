"""Reading shop exports as they arrive: any encoding Excel writes, any delimiter, local dates and numbers.

Shop exports pass through spreadsheets before they reach tracker, and each
re-save changes the encoding (BOM, UTF-16, cp1252), the delimiter (`;` in
DE/FR/NL locales), the decimal mark and the date order. Whatever can only be
decided per file (day/month order, decimal comma) is decided once per file
from all its values, never per row, so one file never mixes two readings.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime

DELIMITERS = (",", ";", "\t", "|")
_SEP_HINT = re.compile(r"^sep=(.)$", re.IGNORECASE)  # Excel's delimiter hint; Meta Business Suite writes it
_COMMENT = re.compile(r"^#(\s|-|$)")  # report comments above the table (Google Analytics: `# Start date: ...`)
_NAMED_MONTH_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%d. %B %Y")
_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:$|[ T])")
_NUMERIC = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?:$|[ ,T])")


class FileProblem(Exception):
    """A whole file cannot be read as configured; the message says why and what to do."""


@dataclass(frozen=True)
class Table:
    """A parsed file: its header, and each data row with the line it starts on."""

    header: list[str]
    rows: list[tuple[int, list[str]]]
    encoding: str
    delimiter: str
    preamble: tuple[str, ...] = ()


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """Return (text, encoding used). Auto: a BOM decides, then UTF-8, then cp1252 (Excel's Western default)."""
    if encoding != "auto":
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            message = f"is not valid {encoding} (byte {exc.start}); set `encoding` to the file's encoding"
            raise FileProblem(message) from None
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    sample = data[:4000]
    if len(sample) >= 4 and sample.count(0) > len(sample) // 4:  # UTF-16 saved without a BOM
        big_endian = sample[0] == 0
        return data.decode("utf-16-be" if big_endian else "utf-16-le", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # cp1252 leaves five bytes undefined; latin-1 maps every byte
        return data.decode("latin-1"), "latin-1"


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header line most often; headers rarely contain quotes or separators."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def split_preamble(text: str) -> tuple[tuple[str, ...], str]:
    """Lines above the table (an Excel `sep=` hint, `#` comments), and the text with them blanked.

    Blanking instead of cutting keeps every later line on its own number, so notices still name the right line.
    """
    lines = text.splitlines(keepends=True)
    found: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if not (_SEP_HINT.match(stripped) or _COMMENT.match(stripped)):
            break
        found.append(stripped)
        lines[i] = "\n"
    return tuple(found), "".join(lines)


def read_table(data: bytes, encoding: str = "auto", delimiter: str = "") -> Table:
    """Parse a whole file with a real CSV parser: quoted cells may span lines (Notes, Note Attributes)."""
    text, used = decode(data, encoding)
    preamble, text = split_preamble(text.lstrip("\ufeff"))
    hint = next((m.group(1) for m in map(_SEP_HINT.match, preamble) if m), "")
    delim = delimiter or hint or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    previous_end = 0
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip().lstrip("\ufeff") for c in cells]
            else:
                rows.append((start, cells))
    except csv.Error as exc:
        raise FileProblem(f"is not a readable CSV file near line {previous_end + 1} ({exc})") from None
    if header is None:
        raise FileProblem("is empty")
    return Table(header, rows, used, delim, preamble)


def normalise(name: str) -> str:
    """Header names compare case- and space-insensitively: exporters change both between versions."""
    return " ".join(name.replace("\ufeff", "").strip().lower().split())


def clean(cell: str | None) -> str:
    """A cell without surrounding space or Excel's text-protecting leading apostrophe."""
    value = (cell or "").strip()
    return value[1:].strip() if value.startswith("'") else value


# --- dates -----------------------------------------------------------------------------------------------------------


def day_order(cells: list[str]) -> str:
    """'dmy' or 'mdy' for a file's numeric dates, from any field > 12; ties read day first (and are flagged)."""
    first_big = second_big = False
    for cell in cells:
        match = _NUMERIC.match(cell.strip())
        if match:
            first_big |= int(match.group(1)) > 12
            second_big |= int(match.group(3)) > 12
    if second_big and not first_big:
        return "mdy"
    return "dmy"


def ambiguous_slash_dates(cells: list[str]) -> bool:
    """True when a file writes dates as a/b/yyyy and no value shows which part is the day."""
    seen = False
    for cell in cells:
        match = _NUMERIC.match(cell.strip())
        if match and match.group(2) == "/":
            seen = True
            if int(match.group(1)) > 12 or int(match.group(3)) > 12:
                return False
    return seen


def parse_day(cell: str, order: str = "dmy", fmt: str = "") -> date:
    """The calendar day as the shop wrote it: time and UTC offset are ignored, never converted."""
    value = cell.strip()
    if not value:
        raise ValueError("the date is empty")
    if fmt:
        for candidate in (value, value.split(" ")[0], value.split("T")[0]):
            try:
                return datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
        raise ValueError(f"date {value!r} does not match date_format {fmt!r}")
    match = _ISO.match(value)
    if match:
        return _date(int(match.group(1)), int(match.group(2)), int(match.group(3)), value)
    match = _NUMERIC.match(value)
    if match:
        a, b, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
        year += 2000 if year < 100 else 0
        day, month = (a, b) if order == "dmy" else (b, a)
        return _date(year, month, day, value)
    for named in _NAMED_MONTH_FORMATS:
        try:
            return datetime.strptime(value.split(" at ")[0].strip(), named).date()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date tracker knows (set date_format, e.g. \"%d/%m/%Y\")")


def _date(year: int, month: int, day: int, raw: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date") from None


# --- money -----------------------------------------------------------------------------------------------------------


def uses_decimal_comma(cells: list[str], delimiter: str) -> bool:
    """Whether a file writes 12,50 for twelve and a half: decided from its values, else from its delimiter."""
    for cell in cells:
        digits = re.sub(r"[^0-9.,]", "", cell)
        if "," in digits and "." in digits:
            return digits.rfind(",") > digits.rfind(".")
    for cell in cells:
        digits = re.sub(r"[^0-9.,]", "", cell)
        if re.search(r",\d{1,2}$", digits):
            return True
        if re.search(r"\.\d{1,2}$", digits):
            return False
    return delimiter == ";"


def parse_amount(cell: str, decimal_comma: bool = False) -> float:
    """`1400.00`, `1.400,00`, `€ 1,400.00`, `-12,50`, `(12.50)` -> a float; the file's style decides `1,400`."""
    value = cell.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    negative = value.startswith("-") or value.endswith("-") or (value.startswith("(") and value.endswith(")"))
    digits = re.sub(r"[^0-9.,]", "", value.replace("'", ""))
    if not digits or not any(c.isdigit() for c in digits):
        raise ValueError(f"amount {cell.strip()!r} is not a number" if cell.strip() else "the amount is empty")
    if "," in digits and "." in digits:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
    else:
        decimal = "," if decimal_comma else "."
    thousands = "." if decimal == "," else ","
    normal = digits.replace(thousands, "").replace(decimal, ".")
    if normal.count(".") > 1:
        raise ValueError(f"amount {cell.strip()!r} is not a number")
    number = float(normal)
    return -number if negative else number
