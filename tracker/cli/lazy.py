"""A command group that imports a command's module only when that command is asked for.

`tracker report` needs the report's module alone. Importing all the command modules, and letting Typer
turn every command's signature into options, cost each command about 10 ms of start-up
(bench/startup.py). The group knows its commands by name from a table, which is enough to dispatch and
to suggest a name after a typo; `--help` and shell completion ask for every command's short help, so they
load them all, as before. Each command is built by Typer from the same function or sub-app, with the same
panel, so its options, help and errors are the ones the eager app had.

The group's own help lists each command's name, panel and short help and nothing of its options, so it
lists stand-ins that Typer builds from the same docstrings and help texts without any option: turning the
23 commands' signatures into options was half of what `tracker --help` cost beyond a bare Typer app.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import typer
import typer.main
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter


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
        """The names whose command has been built so far (what the tests look at)."""
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
        self._listed = LazyCommands(self.table, self._stand_in)
        self._listing = False

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)  # the names alone: building each command is for help and completion

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """The command to run, or while the group's help is written, its stand-in."""
        if self._listing and cmd_name in self._listed:
            return self._listed[cmd_name]
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The group's help, its command list read from stand-ins (see _stand_in)."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def _build(self, entry: Entry) -> Command:
        """The click command Typer makes of `entry`, as `app.command` or `app.add_typer` would register it."""
        return _typer_command(entry, _target(entry))

    def _stand_in(self, entry: Entry) -> Command:
        """What the group's help lists of `entry`: Typer's command of the same docstring and panel, no options.

        A sub-app stands in as a copy without its commands; a function as one without parameters.
        """
        target = _target(entry)
        if isinstance(target, typer.Typer):
            summary = copy.copy(target)
            summary.registered_commands, summary.registered_groups = [], []
            return _typer_command(entry, summary)
        return _typer_command(entry, _without_options(target.__doc__))


def _target(entry: Entry) -> Any:
    """The command function or sub-app that `entry` names, its module imported now."""
    return getattr(importlib.import_module(entry.module), entry.attribute)


def _typer_command(entry: Entry, target: Any) -> Command:
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=entry.name, rich_help_panel=entry.panel)
    else:
        holder.command(entry.name, rich_help_panel=entry.panel)(target)
    return typer.main.get_group(holder).commands[entry.name]


def _without_options(doc: str | None) -> Callable[[], None]:
    def listed() -> None:
        pass  # never runs: it only carries the command's docstring into the group's help

    listed.__doc__ = doc
    return listed
