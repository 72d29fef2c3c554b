"""Writing top posts: per account, platform and day, the few posts with the most and the fewest interactions.

Plugins re-read the posts of the last `post_lookback_days` on every run, so a
post's counts are upserted as last read. Each day then keeps only its `KEEP`
best and `KEEP` worst posts: enough for the report's top 3 of any period (a
period's top 3 are each among their own day's top 3), and few enough that the
table stays small. A post kept earlier that a later read no longer returns (it
was deleted) keeps its last counts: the table is history, not a mirror.

Nothing but the post's id, link, day and counts is written: the text of a post
and anything about other people never reach this module (tracker.plugin.PostStat
has no field for them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracker.plugin import PostStat
from tracker.store.models import TOP_POST

KEEP = 3  # best and worst posts kept per account, platform and day
BATCH = 1000
KEY = ("account", "platform", "post_id")


def interactions(post: PostStat) -> int:
    """Likes + reposts + replies, of the counts the platform gave: what ranks a post."""
    return sum(n for n in (post.likes, post.reposts, post.replies) if n is not None)


def save(conn: Connection, run_id: int, account: str, posts: list[PostStat]) -> int:
    """Upsert the account's posts as last read, then trim each day they touch; returns the posts read."""
    if not posts:
        return 0
    latest = {(p.platform, p.post_id): p for p in posts}  # pages may overlap: the last read wins
    read_at = datetime.now(UTC)
    rows = [_row(account, run_id, read_at, p) for p in latest.values()]
    _upsert(conn, rows)
    _trim(conn, account, {(p.platform, p.published) for p in latest.values()})
    return len(rows)


def _row(account: str, run_id: int, read_at: datetime, post: PostStat) -> dict[str, Any]:
    return {
        "account": account,
        "platform": post.platform,
        "post_id": post.post_id,
        "day": post.published,
        "url": post.url,
        "likes": post.likes,
        "reposts": post.reposts,
        "replies": post.replies,
        "interactions": interactions(post),
        "run_id": run_id,
        "read_at": read_at,
    }


def _upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(TOP_POST)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY), set_={c: stmt.excluded[c] for c in rows[0] if c not in KEY}
    )
    for start in range(0, len(rows), BATCH):
        conn.execute(stmt, rows[start : start + BATCH])


def _trim(conn: Connection, account: str, days: set[tuple[str, date]]) -> None:
    """Delete all but the KEEP best and KEEP worst posts of each (platform, day).

    Ties rank by post id, so the same posts are kept whichever order they were read in.
    """
    t = TOP_POST
    platforms = sorted({platform for platform, _ in days})
    first, last = min(day for _, day in days), max(day for _, day in days)
    query = sa.select(t.c.platform, t.c.day, t.c.post_id, t.c.interactions).where(
        t.c.account == account, t.c.platform.in_(platforms), t.c.day.between(first, last)
    )
    by_day: dict[tuple[str, date], list[tuple[int, str]]] = {}
    for row in conn.execute(query):
        if (row.platform, row.day) in days:
            by_day.setdefault((row.platform, row.day), []).append((row.interactions, row.post_id))
    dropped = {(platform, post_id) for (platform, _), ranked in by_day.items() for post_id in _beyond_keep(ranked)}
    for platform, ids in _grouped(dropped):
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            conn.execute(sa.delete(t).where(t.c.account == account, t.c.platform == platform, t.c.post_id.in_(chunk)))


def _beyond_keep(ranked: list[tuple[int, str]]) -> list[str]:
    """Post ids that are neither among the KEEP most nor the KEEP fewest interactions."""
    best = sorted(ranked, key=lambda r: (-r[0], r[1]))[:KEEP]
    worst = sorted(ranked, key=lambda r: (r[0], r[1]))[:KEEP]
    kept = {post_id for _, post_id in (*best, *worst)}
    return [post_id for _, post_id in ranked if post_id not in kept]


def _grouped(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    found: dict[str, list[str]] = {}
    for platform, post_id in sorted(pairs):
        found.setdefault(platform, []).append(post_id)
    return list(found.items())
