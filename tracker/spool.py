"""An account's validated orders and leads, held in memory up to a bound and spooled to a temporary file past it.

A shop export of a million orders is validated during the fetch and written after it, in one transaction, so
every record must be kept somewhere in between: in memory that costs ~300 bytes a record. Past THRESHOLD held
records the held ones are pickled to an anonymous temporary file as one page, and the store reads them back
page by page, so memory stays bounded by one page whatever the export's size. The file has no name (it is
gone even if the process is killed) and is closed by `close`, which the sync calls once the account is
committed or has failed.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, Any, overload

from tracker.plugin import Conversion

THRESHOLD = 50_000  # records held in memory before they go to the temporary file


class ConversionSpool(Sequence[Conversion]):
    """Records in the order appended; a sequence to its readers (the conformance kit reads it as a list)."""

    def __init__(self, threshold: int | None = None) -> None:
        """`threshold` records are held in memory at most (THRESHOLD if None, read when the spool is made)."""
        self.threshold = THRESHOLD if threshold is None else threshold
        if self.threshold < 1:
            raise ValueError("a spool threshold is at least one record")
        self._held: list[Conversion] = []
        self._file: IO[bytes] | None = None
        self._pages = 0
        self._spooled = 0
        self._closed = False

    def append(self, record: Conversion) -> None:
        self._held.append(record)
        if len(self._held) > self.threshold:
            self._spill()

    def _spill(self) -> None:
        if self._closed:
            raise ValueError("the spool is closed")
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="tracker-conversions-")
        self._file.seek(0, 2)
        pickle.dump(self._held, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._pages += 1
        self._spooled += len(self._held)
        self._held = []

    @property
    def spilled(self) -> bool:
        """Whether any record went to the temporary file (memory was about to pass the bound)."""
        return self._pages > 0

    @property
    def closed(self) -> bool:
        return self._closed

    def pages(self) -> Iterator[list[Conversion]]:
        """The records a page at a time: the spooled pages read back one by one, then the ones still held."""
        if self._closed and self._pages:
            raise ValueError("the spool is closed: its spooled records are gone")
        if self._file is not None:
            self._file.seek(0)
            for _ in range(self._pages):
                page: list[Conversion] = pickle.load(self._file)
                yield page
        if self._held:
            yield self._held

    def close(self) -> None:
        """Delete the temporary file and forget the records; safe to call twice."""
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None
        self._held = []

    def __enter__(self) -> ConversionSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self._spooled + len(self._held)

    def __iter__(self) -> Iterator[Conversion]:
        for page in self.pages():
            yield from page

    @overload
    def __getitem__(self, index: int) -> Conversion: ...

    @overload
    def __getitem__(self, index: slice) -> list[Conversion]: ...

    def __getitem__(self, index: int | slice) -> Conversion | list[Conversion]:
        """By position, as a list gives it: reads the spooled pages, so meant for tests and small spools."""
        return list(self)[index]

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, (ConversionSpool, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content, as a list

    def __repr__(self) -> str:
        return f"ConversionSpool({len(self)} records, {self._pages} spooled pages)"
