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
        pending = migrations.pending(engine)
        console = stdout()
        console.print(f"database: {engine.url.render_as_string(hide_password=True)}", highlight=False)
        console.print(f"migrations applied: {len(migrations.MIGRATIONS) - len(pending)}, pending: {len(pending)}")
        if pending:
            console.print(f"pending (applied by the next command that writes): {', '.join(pending)}")
            return
        with engine.connect() as conn:
            for table in ("account", "sample", "sync_run", "metric_status"):
                count = conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                console.print(f"{table}: {count} rows")
    finally:
        engine.dispose()
