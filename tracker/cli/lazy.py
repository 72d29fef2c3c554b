"""A command group that imports a command's module only when that command is asked for.

`tracker report` needs the report's module alone. Importing all the command modules, and letting Typer
turn every command's signature into options, cost each command about 10 ms of start-up
(bench/startup.py). The group knows its commands by name from a table, which is enough to dispatch and
to suggest a name after a typo; `--help` and shell completion ask for every command's short help, so they
load them all, as before. Each command is built by Typer from the same function or sub-app, with the same
panel, so its options, help and errors are the ones the eager app had.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import typer
import typer.main
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command, Context


class Entry(NamedTuple):
    """One command: the word a user types, where its function or sub-app lives, and its help panel.

    A NamedTuple, not a dataclass: the table is built on every start-up, and a dataclass costs more to define.
    """

    name: str
    module: str
    attribute: str
    panel: str


class LazyCommands(MutableMapping[str, "Command"]):
    """The group's commands by name, each built on first access; names come from the table, in its order."""

    def __init__(self, table: tuple[Entry, ...], build: Callable[[Entry], Command]) -> None:
        self._table = {entry.name: entry for entry in table}
        self._build = build
        self._built: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            self._built[name] = self._build(self._table[name])  # KeyError for an unknown name, as a dict
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._table and name not in self._built:
            raise KeyError(name)
        self._table.pop(name, None)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._built if name not in self._table)

    def __len__(self) -> int:
        return len(self._table.keys() | self._built.keys())

    def loaded(self) -> list[str]:
        """The names whose command has been built so far (what the architecture tests look at)."""
        return list(self._built)


class LazyGroup(TyperGroup):
    """A TyperGroup whose `commands` come from `table`: subclass it, set the table, pass it as the app's `cls`.

    Each command is built in a Typer app of its own with Typer's default settings, so the app that uses this
    group keeps those defaults for what shapes a command (rich_markup_mode, pretty_exceptions_short,
    suggest_commands); tests/test_architecture.py checks that tracker's does.
    """

    table: ClassVar[tuple[Entry, ...]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        eager = dict(self.commands)
        self.commands = LazyCommands(self.table, self._build)
        self.commands.update(eager)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)  # the names alone: building each command is for help and completion

    def _build(self, entry: Entry) -> Command:
        """The click command Typer makes of `entry`, as `app.command` or `app.add_typer` would register it."""
        target = getattr(importlib.import_module(entry.module), entry.attribute)
        holder = typer.Typer()
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=entry.name, rich_help_panel=entry.panel)
        else:
            holder.command(entry.name, rich_help_panel=entry.panel)(target)
        return typer.main.get_group(holder).commands[entry.name]
