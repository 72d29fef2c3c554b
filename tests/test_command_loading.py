"""Commands load their module only when asked for, and the command line looks and answers as an eager app would.

The eager app here registers the same functions and sub-apps with `app.command` and `app.add_typer`, word for
word as tracker/cli/main.py did before its commands became lazy: its help, errors and completions are the
reference. A new command goes in both.
"""

import importlib

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from tracker.cli.main import COMMANDS, app, main

ENV = {"COLUMNS": "100", "NO_COLOR": "1"}


def eager_app() -> typer.Typer:
    """tracker's app as it was with every command module imported and registered up front."""
    from tracker.cli import (
        accounts,
        alerts,
        chart,
        config,
        db,
        demo,
        explain,
        link,
        log,
        plugins,
        report,
        schedule,
        status,
        sync,
    )

    eager = typer.Typer(
        name="tracker",
        help="Does social media earn you customers? Likes and followers beside visits, leads and sales, per platform.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        add_completion=True,
    )
    eager.callback()(main)
    eager.command(rich_help_panel="Daily use")(sync.sync)
    eager.command(rich_help_panel="Daily use")(report.report)
    eager.command(rich_help_panel="Daily use")(explain.explain)
    eager.command(rich_help_panel="Daily use")(chart.chart)
    eager.add_typer(log.app, name="log", rich_help_panel="Daily use")
    eager.command(rich_help_panel="Daily use")(link.link)
    eager.command(rich_help_panel="Getting started")(demo.demo)
    eager.command(rich_help_panel="Getting started")(config.init)
    eager.add_typer(config.app, name="config", rich_help_panel="Setup")
    eager.add_typer(accounts.app, name="accounts", rich_help_panel="Setup")
    eager.add_typer(plugins.app, name="plugins", rich_help_panel="Setup")
    eager.add_typer(db.app, name="db", rich_help_panel="Setup")
    eager.command(rich_help_panel="Running unattended")(schedule.schedule)
    eager.command(rich_help_panel="Running unattended")(status.status)
    eager.command(rich_help_panel="Running unattended")(alerts.alerts)
    return eager


def answer(which: typer.Typer, *args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(which, list(args), env={**ENV, **env}, prog_name="tracker")
    return result.exit_code, result.output


def command_words() -> list[tuple[str, ...]]:
    """Every command and sub-command, as the words a user types."""
    words: list[tuple[str, ...]] = []
    root = typer.main.get_command(eager_app())
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        words.append((name,))
        words += [(name, sub) for sub in getattr(command, "commands", {})]
    return words


def test_help_lists_every_command_in_its_panel_as_the_eager_app_does() -> None:
    assert answer(app, "--help") == answer(eager_app(), "--help")


def test_no_arguments_show_the_same_help_as_the_eager_app() -> None:
    assert answer(app) == answer(eager_app())


@pytest.mark.parametrize("words", command_words(), ids=" ".join)
def test_each_commands_help_is_the_eager_apps(words: tuple[str, ...]) -> None:
    assert answer(app, *words, "--help") == answer(eager_app(), *words, "--help")


@pytest.mark.parametrize("typo", ["reprot", "confg", "acounts"])
def test_a_mistyped_command_is_refused_with_the_closest_names(typo: str) -> None:
    code, output = answer(app, typo)
    assert code == 2
    assert f"No such command '{typo}'. Did you mean" in output
    assert (code, output) == answer(eager_app(), typo)


def test_a_bad_option_value_is_refused_as_by_the_eager_app() -> None:
    code, output = answer(app, "report", "--days", "0")
    assert code == 2 and "--days" in output
    assert (code, output) == answer(eager_app(), "report", "--days", "0")


@pytest.mark.parametrize("words", ["tracker ", "tracker re", "tracker log ", "tracker report --f"])
def test_shell_completion_offers_what_the_eager_app_offers(words: str) -> None:
    env = {"_TRACKER_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": words}
    lazy = answer(app, **env)
    assert lazy[1].strip(), "no completion at all"
    assert lazy == answer(eager_app(), **env)


def test_the_table_names_each_command_as_typer_would() -> None:
    """A table name that differs from the function's would still dispatch, but the docs and tests use Typer's."""
    for entry in COMMANDS:
        target = getattr(importlib.import_module(entry.module), entry.attribute)
        if not isinstance(target, typer.Typer):
            assert typer.main.get_command_name(target.__name__) == entry.name


def test_the_help_lists_every_command_without_building_one(capsys: pytest.CaptureFixture[str]) -> None:
    """The list needs names, panels and short help: Typer turning 23 signatures into options is not needed."""
    group = typer.main.get_command(app)
    group.main(["--help"], prog_name="tracker", standalone_mode=False)
    listed = capsys.readouterr().out
    assert all(f" {entry.name} " in listed for entry in COMMANDS)
    assert group.commands.loaded() == []  # type: ignore[attr-defined]


def test_a_command_run_after_the_help_is_the_real_one() -> None:
    group = typer.main.get_command(app)
    group.main(["--help"], prog_name="tracker", standalone_mode=False)
    report = group.get_command(typer.Context(group), "report")
    assert {p.name for p in report.params} >= {"days", "until", "platform", "fmt"}  # type: ignore[union-attr]
