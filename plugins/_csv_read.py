"""Reading shop exports as they arrive: any encoding Excel writes, any delimiter, local dates and numbers.

Shop exports pass through spreadsheets before they reach tracker, and each
re-save changes the encoding (BOM, UTF-16, cp1252), the delimiter (`;` in
DE/FR/NL locales), the decimal mark and the date order. Whatever can only be
decided per file (day/month order, decimal comma) is decided once per file
from all its values, never per row, so one file never mixes two readings.

Files are streamed, never held whole: a million-row export is read in passes
(bytes: fingerprint and encoding; rows: the per-file decisions; rows again:
the records), each keeping only what it decides.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain
from pathlib import Path

DELIMITERS = (",", ";", "\t", "|")
CHUNK = 1 << 20
_SEP_HINT = re.compile(r"^sep=(.)$", re.IGNORECASE)  # Excel's delimiter hint; Meta Business Suite writes it
_COMMENT = re.compile(r"^#(\s|-|$)")  # report comments above the table (Google Analytics: `# Start date: ...`)
_NAMED_MONTH_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%d. %B %Y")
_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:$|[ T])")
_NUMERIC = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?:$|[ ,T])")
_CP1252_UNDEFINED = (0x81, 0x8D, 0x8F, 0x90, 0x9D)  # bytes cp1252 cannot decode; latin-1 maps every byte
HEAD_ROWS = 2  # data rows kept with the header, to recognise analytics exports by a title line


class FileProblem(Exception):
    """A whole file cannot be read as configured; the message says why and what to do."""


@dataclass(frozen=True)
class Table:
    """A file's header and its first data rows (with the line each starts on), as read."""

    header: list[str]
    rows: list[tuple[int, list[str]]]
    encoding: str
    delimiter: str
    preamble: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scanned:
    """What one pass over a file's bytes found: its fingerprint and how to decode it."""

    digest: str
    encoding: str
    errors: str = "strict"


def scan(path: Path, encoding: str = "auto", salt: bytes = b"") -> Scanned:
    """Hash the bytes (after `salt`) and pick the codec. Auto: a BOM decides, then UTF-8, then cp1252.

    A file that is not valid in the encoding the user named raises FileProblem; OSError is the caller's.
    """
    digest = hashlib.sha256(salt)
    utf8 = codecs.getincrementaldecoder(encoding if encoding != "auto" else "utf-8")("strict")
    valid, undefined, offset, first = True, False, 0, b""
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            first = first or chunk[:4000]
            if valid:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError as exc:
                    valid, offset = False, offset + exc.start
                    if encoding != "auto":
                        message = f"is not valid {encoding} (byte {offset}); set `encoding` to the file's encoding"
                        raise FileProblem(message) from None
                else:
                    offset += len(chunk)
            undefined = undefined or any(b in chunk for b in _CP1252_UNDEFINED)
    if valid:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            if encoding != "auto":
                raise FileProblem(f"is not valid {encoding} (it ends inside a character); set `encoding` to the "
                                  "file's encoding") from None
            valid = False  # cut inside a character: no UTF-8 file, while cp1252 reads every byte
    if encoding != "auto":
        return Scanned(digest.hexdigest(), encoding)
    return Scanned(digest.hexdigest(), *_auto_codec(first, valid, undefined))


def _auto_codec(first: bytes, utf8: bool, undefined: bool) -> tuple[str, str]:
    if first.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "replace"
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "replace"
    if len(first) >= 4 and first.count(0) > len(first) // 4:  # UTF-16 saved without a BOM
        return ("utf-16-be" if first[0] == 0 else "utf-16-le"), "replace"
    if utf8:
        return "utf-8", "strict"
    return ("latin-1" if undefined else "cp1252"), "strict"


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header line most often; headers rarely contain quotes or separators."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _blank_preamble(lines: Iterator[str], found: list[str]) -> Iterator[str]:
    """The lines with those above the table (an Excel `sep=` hint, `#` comments) blanked into `found`.

    Blanking instead of cutting keeps every later line on its own number, so notices still name the right line.
    """
    above = True
    for number, line in enumerate(lines):
        if number == 0:
            line = line.lstrip("\ufeff")
        if above:
            stripped = line.strip()
            if stripped and (_SEP_HINT.match(stripped) or _COMMENT.match(stripped)):
                found.append(stripped)
                yield "\n"
                continue
            above = not stripped
        yield line


class Reader:
    """One pass over a file's rows; `head` has the header and first rows, `rows()` every data row in order."""

    def __init__(self, lines: Iterator[str], encoding: str, delimiter: str = "") -> None:
        found: list[str] = []
        blanked = _blank_preamble(lines, found)
        looked: list[str] = []
        for line in blanked:
            looked.append(line)
            if line.strip():
                break
        hint = next((m.group(1) for m in map(_SEP_HINT.match, found) if m), "")
        self.delimiter = delimiter or hint or sniff_delimiter(looked[-1] if looked else "")
        self._reader = csv.reader(chain(looked, blanked), delimiter=self.delimiter)
        self._previous_end = 0
        self._rows = self._read()
        header: list[str] | None = None
        first: list[tuple[int, list[str]]] = []
        self.header_line = 0  # the line the header starts on
        for number, cells in self._rows:
            if header is None:
                header = [c.strip().lstrip("\ufeff") for c in cells]
                self.header_line = number
                continue
            first.append((number, cells))
            if len(first) == HEAD_ROWS:
                break
        if header is None:
            raise FileProblem("is empty")
        self.head = Table(header, first, encoding, self.delimiter, tuple(found))
        self._first = first

    def _read(self) -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in self._reader:
                start, self._previous_end = self._previous_end + 1, self._reader.line_num
                if any(c.strip() for c in cells):
                    yield start, cells
        except csv.Error as exc:
            raise FileProblem(f"is not a readable CSV file near line {self._previous_end + 1} ({exc})") from None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Every data row with the line it starts on; a broken quote raises FileProblem naming the line."""
        yield from self._first
        yield from self._rows


@contextmanager
def open_rows(path: Path, scanned: Scanned, delimiter: str = "") -> Iterator[Reader]:
    """Read `path` as `scan` decided; quoted cells may span lines (Notes, Note Attributes)."""
    with path.open(encoding=scanned.encoding, errors=scanned.errors, newline="") as f:
        yield Reader(iter(f), scanned.encoding, delimiter)


@dataclass
class FileFacts:
    """What decides how a file's dates and amounts read, gathered row by row: day/month order, decimal mark."""

    first_big: bool = False
    second_big: bool = False
    slash_seen: bool = False
    slash_told: bool = False
    decimal_by_both: bool | None = None
    decimal_by_tail: bool | None = None
    delimiter: str = ","

    def see_date(self, cell: str) -> None:
        match = _NUMERIC.match(cell.strip())
        if not match:
            return
        first, second = int(match.group(1)) > 12, int(match.group(3)) > 12
        self.first_big |= first
        self.second_big |= second
        if match.group(2) == "/":
            self.slash_seen = True
            self.slash_told |= first or second

    def see_amount(self, cell: str) -> None:
        if self.decimal_by_both is not None:
            return
        digits = re.sub(r"[^0-9.,]", "", cell)
        if "," in digits and "." in digits:
            self.decimal_by_both = digits.rfind(",") > digits.rfind(".")
        elif self.decimal_by_tail is None:
            if re.search(r",\d{1,2}$", digits):
                self.decimal_by_tail = True
            elif re.search(r"\.\d{1,2}$", digits):
                self.decimal_by_tail = False

    @property
    def day_order(self) -> str:
        """'dmy' or 'mdy' for the file's numeric dates, from any field > 12; ties read day first (and are flagged)."""
        return "mdy" if self.second_big and not self.first_big else "dmy"

    @property
    def ambiguous_slash_dates(self) -> bool:
        """True when the file writes dates as a/b/yyyy and no value shows which part is the day."""
        return self.slash_seen and not self.slash_told

    @property
    def decimal_comma(self) -> bool:
        """Whether the file writes 12,50 for twelve and a half: decided from its values, else from its delimiter."""
        for decided in (self.decimal_by_both, self.decimal_by_tail):
            if decided is not None:
                return decided
        return self.delimiter == ";"


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
    facts = FileFacts()
    for cell in cells:
        facts.see_date(cell)
    return facts.day_order


def ambiguous_slash_dates(cells: list[str]) -> bool:
    """True when a file writes dates as a/b/yyyy and no value shows which part is the day."""
    facts = FileFacts()
    for cell in cells:
        facts.see_date(cell)
    return facts.ambiguous_slash_dates


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
    facts = FileFacts(delimiter=delimiter)
    for cell in cells:
        facts.see_amount(cell)
    return facts.decimal_comma


_DIGIT_RUN = re.compile(r"[0-9.,']*[0-9][0-9.,']*")
_EXPONENT = re.compile(r"[0-9][eE][-+]?[0-9]")
_SIGNS = re.compile(r"[-+()\s]")


def parse_amount(cell: str, decimal_comma: bool = False) -> float:
    """`1400.00`, `1.400,00`, `€ 1,400.00`, `CHF 1'400.00`, `-12,50`, `(12.50)` -> a float.

    The file's style decides `1,400`. Strict: one run of digits and separators, with at most a currency (`EUR`,
    `€`, `kr`) and a sign around it. `1e308` is refused, never read as 1308, and so are `inf`, `nan` and numbers
    too long to be finite.
    """
    shown = cell.strip() if len(cell.strip()) <= 40 else cell.strip()[:40] + "..."
    value = cell.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not value:
        raise ValueError("the amount is empty")
    if _EXPONENT.search(value):
        raise ValueError(f"amount {shown!r} is in exponent notation (a spreadsheet shortened it): format the column "
                         "as a number with decimals and export again")
    runs = _DIGIT_RUN.findall(value)
    if len(runs) != 1:
        raise ValueError(f"amount {shown!r} is not a number")
    before, _, after = value.partition(runs[0])
    if any(len(_SIGNS.sub("", side)) > 4 for side in (before, after)):  # room for a currency: EUR, R$, Fr.
        raise ValueError(f"amount {shown!r} is not a number")
    negative = value.startswith("-") or value.endswith("-") or (value.startswith("(") and value.endswith(")"))
    negative = negative or "-" in before
    digits = runs[0].replace("'", "")
    if "," in digits and "." in digits:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
    else:
        decimal = "," if decimal_comma else "."
    thousands = "." if decimal == "," else ","
    normal = digits.replace(thousands, "").replace(decimal, ".")
    if normal.count(".") > 1 or not any(c.isdigit() for c in normal):
        raise ValueError(f"amount {shown!r} is not a number")
    number = float(normal)
    if not math.isfinite(number):
        raise ValueError(f"amount {shown!r} is too large to be an amount")
    return -number if negative else number
