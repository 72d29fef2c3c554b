"""The period's top posts per platform: `tracker report --posts` and the HTML report.

Read from what tracker.store.posts kept (each day's best and worst posts of
each account, counts as last read), for configured accounts only, so a removed
account's posts never show. A post ranks by its interactions: likes + reposts +
replies, of the counts its platform gave; a count it did not give is shown as
missing ("–", null, an empty cell), never as 0.

JSON keys of a post are the CSV headers of `--posts --format csv`, which
prints only the post records: the platform rows' JSON keys stay their CSV
headers, so posts go under their own top-level key, `top_posts`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa
from rich import box
from rich.console import Console
from rich.table import Table

from tracker.output import write_csv, write_json
from tracker.store.models import TOP_POST

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tracker.config import Config
    from tracker.report.rows import Report

TOP = 3
NOTHING = (
    "Top posts: none stored for this period. Accounts whose plugin reads each post's likes, reposts and "
    "replies (x with post_metrics = true, mastodon, bluesky) store their best posts on `tracker sync`."
)
EXPLAINED = "Interactions = likes + reposts + replies, lifetime counts as last read."
NOT_GIVEN = "– marks a count the platform did not give (not 0)."


@dataclass(frozen=True)
class TopPost:
    """One post of the period's top ones: its rank on its platform, where it is, and its counts as last read."""

    platform: str
    rank: int
    account: str
    post_id: str
    url: str
    published: date
    likes: int | None
    reposts: int | None
    replies: int | None
    interactions: int


@dataclass(frozen=True)
class PlatformPosts:
    platform: str
    posts: list[TopPost]


COLUMNS = [f.name for f in dataclasses.fields(TopPost)]


def top_posts(
    engine: Engine, start: date, end: date, configured: set[str], platforms: Sequence[str], limit: int = TOP
) -> list[PlatformPosts]:
    """The `limit` posts with the most interactions published in start..end, per platform, in `platforms` order.

    Ties go to the newer post, then to the post id, so the same stored rows always give the same list.
    Platforms without a stored post in the period are left out.
    """
    t = TOP_POST
    if not configured or not platforms:
        return []
    query = (
        sa.select(t)
        .where(t.c.day.between(start, end), t.c.account.in_(sorted(configured)), t.c.platform.in_(list(platforms)))
        .order_by(t.c.platform, t.c.interactions.desc(), t.c.day.desc(), t.c.post_id)
    )
    by_platform: dict[str, list[TopPost]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            ranked = by_platform.setdefault(row["platform"], [])
            if len(ranked) < limit:
                ranked.append(_post(row, len(ranked) + 1))
    return [PlatformPosts(p, by_platform[p]) for p in platforms if p in by_platform]


def _post(row: Any, rank: int) -> TopPost:
    return TopPost(
        platform=row["platform"],
        rank=rank,
        account=row["account"],
        post_id=row["post_id"],
        url=row["url"],
        published=row["day"],
        likes=row["likes"],
        reposts=row["reposts"],
        replies=row["replies"],
        interactions=row["interactions"],
    )


def load(cfg: Config, report: Report) -> list[PlatformPosts]:
    """The top posts for a report: its period, its platforms in its order, the config's accounts."""
    from tracker.store.db import open_engine

    engine = open_engine(cfg.database)
    try:
        configured = {a.name for a in cfg.accounts}
        return top_posts(engine, report.start, report.end, configured, [r.platform for r in report.rows])
    finally:
        engine.dispose()


# --- output ---------------------------------------------------------------------------------------


def records(found: list[PlatformPosts]) -> list[dict[str, Any]]:
    """Every post as a flat record (the CSV's rows), days as ISO dates."""
    return [
        {**dataclasses.asdict(post), "published": post.published.isoformat()} for group in found for post in group.posts
    ]


def to_json(found: list[PlatformPosts]) -> list[dict[str, Any]]:
    """`top_posts`: one entry per platform with its `posts` list, each post keyed as the CSV's headers."""
    return [{"platform": group.platform, "posts": records([group])} for group in found]


def as_json(report: Report, found: list[PlatformPosts], out: IO[str]) -> None:
    """The report's JSON with `top_posts` beside `platforms`."""
    write_json({**report.to_json(), "top_posts": to_json(found)}, out)


def as_csv(found: list[PlatformPosts], out: IO[str]) -> None:
    """Only the posts: one CSV holds one kind of record, and the platform rows have other headers."""
    write_csv(records(found), out, COLUMNS)


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _table(group: PlatformPosts) -> Table:
    table = Table(
        title=f"Top posts: {group.platform}", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )
    for header, justify in (("#", "right"), ("Published", "left"), ("Likes", "right"), ("Reposts", "right"),
                            ("Replies", "right"), ("Interactions", "right")):
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for post in group.posts:
        table.add_row(str(post.rank), post.published.isoformat(), _count(post.likes), _count(post.reposts),
                      _count(post.replies), f"{post.interactions:,}")
    return table


def table(found: list[PlatformPosts], console: Console) -> None:
    """A small table per platform, each post's link on its own line below it: a link is never cut.

    Links are printed whole, even past the console's width (the terminal wraps them), so one can be
    copied or clicked.
    """
    console.print()
    if not found:
        console.print(NOTHING, highlight=False, markup=False)
        return
    for group in found:
        console.print(_table(group))
        for post in group.posts:
            where = post.url or f"post id {post.post_id} ({post.account})"
            console.print(f"{post.rank}  {where}", highlight=False, markup=False, soft_wrap=True)
        console.print()
    console.print(EXPLAINED, highlight=False, markup=False)
    if any(None in (p.likes, p.reposts, p.replies) for group in found for p in group.posts):
        console.print(NOT_GIVEN, highlight=False, markup=False)
