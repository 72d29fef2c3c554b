"""The `tracker` command: one Typer app whose commands load their module only when asked for (tracker.cli.lazy)."""

import typer

from tracker.cli.lazy import Entry, LazyGroup

DAILY, STARTING, SETUP, UNATTENDED = "Daily use", "Getting started", "Setup", "Running unattended"

# In the order Typer listed them when each module was registered up front: the commands, then the groups.
COMMANDS = (
    Entry("sync", "tracker.cli.sync", "sync", DAILY),
    Entry("report", "tracker.cli.report", "report", DAILY),
    Entry("explain", "tracker.cli.explain", "explain", DAILY),
    Entry("chart", "tracker.cli.chart", "chart", DAILY),
    Entry("link", "tracker.cli.link", "link", DAILY),
    Entry("demo", "tracker.cli.demo", "demo", STARTING),
    Entry("init", "tracker.cli.config", "init", STARTING),
    Entry("schedule", "tracker.cli.schedule", "schedule", UNATTENDED),
    Entry("status", "tracker.cli.status", "status", UNATTENDED),
    Entry("alerts", "tracker.cli.alerts", "alerts", UNATTENDED),
    Entry("log", "tracker.cli.log", "app", DAILY),
    Entry("config", "tracker.cli.config", "app", SETUP),
    Entry("accounts", "tracker.cli.accounts", "app", SETUP),
    Entry("plugins", "tracker.cli.plugins", "app", SETUP),
    Entry("db", "tracker.cli.db", "app", SETUP),
)


class TrackerGroup(LazyGroup):
    table = COMMANDS


app = typer.Typer(
    name="tracker",
    help="Does social media earn you customers? Likes and followers beside visits, leads and sales, per platform.",
    cls=TrackerGroup,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold tokens
    add_completion=True,  # tracker --install-completion (bash, zsh, fish, PowerShell)
)


def _show_version(value: bool) -> None:
    if value:
        from tracker import __version__

        typer.echo(f"tracker {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    pass  # only carries --version; the app's help text is set on the Typer app above


def run() -> None:
    app()
