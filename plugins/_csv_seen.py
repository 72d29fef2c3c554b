"""How often each key was seen in one pass over a file, exact, in memory bounded whatever the file's size.

Reading a shop export must remember every order number met (a later line item
of the same order is skipped) and how often each content key came up (rows
alike are told apart as `-2`, `-3`). A million rows would make those a million
strings in memory; the first IN_MEMORY keys are kept in a dict, and past that
the counts move to a temporary SQLite file (stdlib, deleted when the pass
ends), so a larger file costs disk and a little time, not memory.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TypeVar

IN_MEMORY = 50_000  # keys counted in a dict before the counts move to disk
T = TypeVar("T")


class Tally:
    """Counts of keys: `add` returns how often the key has now been seen. Use it as a context manager."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = IN_MEMORY if limit is None else limit
        self.counts: dict[str, int] = {}
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._db: sqlite3.Connection | None = None

    def add(self, key: str) -> int:
        if self._db is None:
            count = self.counts.get(key, 0) + 1
            self.counts[key] = count
            if len(self.counts) > self.limit:
                self._spill()
            return count
        row = self._db.execute(
            "INSERT INTO seen (key, n) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET n = n + 1 RETURNING n", (key,)
        ).fetchone()
        return int(row[0])

    @property
    def on_disk(self) -> bool:
        return self._db is not None

    def _spill(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="tracker-csv-")
        db = sqlite3.connect(Path(self._folder.name) / "seen.db", isolation_level=None)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -8000")  # KiB: a few MB of pages, whatever the file's size
        db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
        db.execute("BEGIN")
        db.executemany("INSERT INTO seen (key, n) VALUES (?, ?)", self.counts.items())
        self._db, self.counts = db, {}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
        self.counts = {}

    def __enter__(self) -> Tally:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class Interned:
    """One object per distinct value (a day, a platform, a note) for the first `limit` distinct values.

    A million rows repeat a few hundred days and platforms; sharing them keeps the records small. A column of
    values that are all different (free-text notes) stops being shared at `limit` instead of growing forever.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = IN_MEMORY if limit is None else limit
        self.values: dict[object, object] = {}

    def __call__(self, value: T) -> T:
        known = self.values.get(value)
        if known is not None:
            return known  # type: ignore[return-value]  # equal to value, and of its type
        if len(self.values) < self.limit:
            self.values[value] = value
        return value
