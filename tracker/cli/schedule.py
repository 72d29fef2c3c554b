"""`tracker schedule`: the foreground daemon that syncs on the config's schedule."""

import os
import threading
from typing import Annotated

import typer

from tracker.cli.common import ConfigOption, friendly, load_config, load_registry, on_stop_signals, open_engine, stdout


@friendly
def schedule(
    config: ConfigOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Sync the accounts that are due now, show the next runs, and exit.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug lines too.")] = False,
) -> None:
    r"""Sync on the config's \[schedule] until stopped (SIGTERM or Ctrl-C); logs go to stderr and the log dir."""
    import logging

    from tracker import daemon_log as logs
    from tracker.cli.sync import summary
    from tracker.errors import ConfigError
    from tracker.scheduler import Daemon

    cfg = load_config(config, required=True)
    if not any(a.enabled for a in cfg.accounts):
        raise ConfigError(f"{cfg.path}: accounts: none enabled; add an [accounts.NAME] table (see config.example.toml)")
    registry = load_registry(cfg)
    engine = open_engine(cfg)
    stop = threading.Event()
    try:
        with (
            on_stop_signals(lambda *_: stop.set()),
            logs.logging_to(logs.referenced_secrets(cfg), verbose=verbose) as path,
        ):
            daemon = Daemon(cfg, registry, engine, stop=stop)
            log = logging.getLogger("tracker.scheduler")
            if once:
                result = daemon.catch_up()
                console = stdout()
                console.print(summary(result) if result else "Nothing is due.", highlight=False)
                for job, when in daemon.next_runs().items():
                    local = when.astimezone(cfg.schedule.timezone or cfg.timezone) if when else None
                    console.print(
                        f"next {job}: {local:%Y-%m-%d %H:%M %Z}" if local else f"next {job}: never", highlight=False
                    )
                if result and not result.ok:
                    raise typer.Exit(code=1)
                return
            log.info("started", extra=logs.fields(pid=os.getpid(), log_file=str(path)))
            clean = daemon.serve()
    finally:
        engine.dispose()
    if not clean:
        os._exit(1)  # a fetch stuck in a network read; its account commits nothing either way
