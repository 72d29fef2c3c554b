"""`tracker demo`: the real sync and report, on made-up data, in a separate database."""

from datetime import timedelta
from typing import Annotated

import typer

from tracker.cli.common import Format, FormatOption, friendly, stderr, stdout

DEMO_DAYS = 90
# The bakery owner's hours per week on each platform: the verdict weighs them.
DEMO_EFFORT = {"instagram": (0.0, 6.0), "facebook": (0.0, 2.0), "xing": (0.0, 1.0)}


@friendly
def demo(
    days: Annotated[int, typer.Option("--days", "-d", min=1, max=DEMO_DAYS // 2, help="Report period.")] = 30,
    fmt: FormatOption = Format.table,
) -> None:
    """Sync 90 days of a made-up bakery into a demo database and show the report."""
    from tracker import config
    from tracker.cli.report import show
    from tracker.cli.sync import run_sync, summary
    from tracker.report.build import build_report
    from tracker.windows import account_today

    path = config.data_dir() / "demo" / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    tz = config.local_timezone()
    cfg = config.Config(
        path=None,
        database=f"sqlite:///{path}",
        timezone=tz,
        accounts=(config.AccountConfig("demo_bakery", "demo", {}, tz, None, DEMO_DAYS, True, 0),),
        effort={platform: config.Effort(cost, hours) for platform, (cost, hours) in DEMO_EFFORT.items()},
    )
    today = account_today(tz)
    result = run_sync(stderr(), None, None, today - timedelta(days=DEMO_DAYS - 1), today, cfg=cfg)
    if not result.ok:
        stdout().print(summary(result))
        raise typer.Exit(code=1)
    trends = fmt is Format.table and stdout().is_terminal and not stdout().no_color
    show(build_report(cfg, days, today, None, trends=trends), fmt)
    if fmt is Format.table:
        stdout().print(
            f"\nDemo data in {path} (your own database is untouched). Next: `tracker init`, "
            "uncomment your own accounts in the file it writes, then `tracker sync`.",
            highlight=False,
        )
