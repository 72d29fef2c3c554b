"""An account's checked samples on their way to the commit: Sample objects and whole series side by side.

A plugin may yield `Sample` objects, `Series` (one metric's days and values), or both. tracker.collect keeps
what passed its checks here, in the order yielded, and the store (tracker.store.writes) writes each series
column by column, with no object per day. Everyone else reads a `SampleColumns` as what it stands for, a
sequence of `Sample` (a series is read as one Sample per day): the conformance kit, the tests and
`tracker plugins try` compare and count samples without knowing how a plugin yielded them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain
from operator import attrgetter
from typing import Any, overload

from tracker.plugin import Sample, Series

Part = list[Sample] | Series  # a run of consecutive Sample objects, or one checked series (days and values tuples)
_KEY = attrgetter("platform", "metric")


class SampleColumns(Sequence[Sample]):
    """Checked samples in the order yielded: runs of Sample objects and checked series (see the module)."""

    __slots__ = ("_parts",)

    def __init__(self, samples: Sequence[Sample] = ()) -> None:
        self._parts: list[Part] = [list(samples)] if samples else []

    def tail(self) -> list[Sample]:
        """The list the next Sample objects are appended to (a fetch appends thousands: one bound method)."""
        if not self._parts or self._parts[-1].__class__ is not list:
            self._parts.append([])
        return self._parts[-1]  # type: ignore[return-value]

    def append(self, sample: Sample) -> None:
        self.tail().append(sample)

    def add(self, series: Series) -> None:
        """A series already checked, its days and values tuples (tracker.collect makes them so)."""
        self._parts.append(series)

    @property
    def parts(self) -> tuple[Part, ...]:
        """Runs of Sample objects and series, in the order yielded: what the store writes."""
        return tuple(part for part in self._parts if len(_days(part)))

    def keys(self) -> set[tuple[str, str]]:
        """Every (platform, metric) held."""
        found: set[tuple[str, str]] = set()
        for part in self._parts:
            if isinstance(part, Series):
                if part.days:
                    found.add((part.platform, part.metric))
            else:
                found.update(map(_KEY, part))
        return found

    def __len__(self) -> int:
        return sum(len(_days(part)) for part in self._parts)

    def __iter__(self) -> Iterator[Sample]:
        return chain.from_iterable(part if isinstance(part, list) else part.samples() for part in self._parts)

    @overload
    def __getitem__(self, index: int) -> Sample: ...

    @overload
    def __getitem__(self, index: slice) -> list[Sample]: ...

    def __getitem__(self, index: int | slice) -> Sample | list[Sample]:
        if isinstance(index, slice):
            return list(self)[index]
        size = len(self)
        at = index + size if index < 0 else index
        if not 0 <= at < size:
            raise IndexError("sample index out of range")
        for part in self._parts:
            if at < len(_days(part)):
                return part[at] if isinstance(part, list) else part.samples()[at]
            at -= len(_days(part))
        raise AssertionError("unreachable")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SampleColumns):
            return list(self) == list(other)
        return isinstance(other, Sequence) and not isinstance(other, (str, bytes)) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SampleColumns({list(self)!r})"


def _days(part: Part) -> Sequence[Any]:
    return part.days if isinstance(part, Series) else part
