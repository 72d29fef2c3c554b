"""The `tracker` command: joins the command modules into one Typer app."""

import typer

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

app = typer.Typer(
    name="tracker",
    help="Does social media earn you customers? Likes and followers beside visits, leads and sales, per platform.",
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


app.command(rich_help_panel="Daily use")(sync.sync)
app.command(rich_help_panel="Daily use")(report.report)
app.command(rich_help_panel="Daily use")(explain.explain)
app.command(rich_help_panel="Daily use")(chart.chart)
app.add_typer(log.app, name="log", rich_help_panel="Daily use")
app.command(rich_help_panel="Daily use")(link.link)
app.command(rich_help_panel="Getting started")(demo.demo)
app.command(rich_help_panel="Getting started")(config.init)
app.add_typer(config.app, name="config", rich_help_panel="Setup")
app.add_typer(accounts.app, name="accounts", rich_help_panel="Setup")
app.add_typer(plugins.app, name="plugins", rich_help_panel="Setup")
app.add_typer(db.app, name="db", rich_help_panel="Setup")
app.command(rich_help_panel="Running unattended")(schedule.schedule)
app.command(rich_help_panel="Running unattended")(status.status)
app.command(rich_help_panel="Running unattended")(alerts.alerts)


def run() -> None:
    app()
