"""`tracker db status`: where the database is and what it holds."""

from __future__ import annotations

import typer

from tracker.cli.common import ConfigOption, friendly, load_config, stdout

app = typer.Typer(help="Inspect the database.", no_args_is_help=True)


@app.command("status")
@friendly
def status(config: ConfigOption = None) -> None:
    """Show the database URL, schema migrations and row counts (read-only)."""
    import sqlalchemy as sa

    from tracker.store import migrations
    from tracker.store.db import open_engine

    cfg = load_config(config)
    engine = open_engine(cfg.database, migrate=False)
    try:
        schema = migrations.state(engine)
        known = len(migrations.MIGRATIONS)
        console = stdout()
        console.print(f"database: {engine.url.render_as_string(hide_password=True)}", highlight=False)
        if schema.newer:
            # Shown, then refused like every other command: the tables may mean what this release does not know.
            console.print(f"migrations applied: {len(schema.applied)}, this release knows {known}", highlight=False)
            console.print(f"unknown to this release: {', '.join(schema.unknown)}", highlight=False, markup=False)
            migrations.refuse_newer(engine, set(schema.applied))
        console.print(f"migrations applied: {len(schema.applied)}, pending: {len(schema.pending)}", highlight=False)
        if schema.pending:
            names = ", ".join(schema.pending)
            console.print(f"pending (applied by the next command that writes): {names}", highlight=False)
            return
        with engine.connect() as conn:
            for table in ("account", "sample", "sync_run", "metric_status"):
                count = conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                console.print(f"{table}: {count} rows")
    finally:
        engine.dispose()
