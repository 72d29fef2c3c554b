"""The tables, as SQLModel models: every stored number and where it came from.

A sample's `platform` is what the number is about; its `account` is what
produced it (visits from facebook counted by the analytics account have
platform `facebook`). `run_id` names the sync run that last wrote the row.

Samples are stored for the report's reads and the sync's writes: each
(account, platform, metric) is a `series` with an integer id, and its daily
values sit in `series_day`, keyed by (series id, day number) in one b-tree
(SQLite: WITHOUT ROWID), so a period of one series is one range seek and a
gauge's last value one seek. The day is the number of days since 1970-01-01
(tracker.store.samples converts). The view `sample` shows them joined, with
dates, for anyone querying the database by hand.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from tracker.runs import RunStatus


class Account(SQLModel, table=True):
    """A configured source as last synced; options hold `${ENV}` references, never secrets."""

    name: str = Field(primary_key=True)
    plugin: str
    options_json: str = "{}"
    conversion_source: str = "none"
    covers_all_platforms: bool = False
    position: int = 0
    last_good_day: date | None = None
    state_json: str = "{}"
    state_run_id: int | None = None
    updated_at: datetime | None = None
    attribution: str = ""


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime
    finished_at: datetime | None = None
    status: str = RunStatus.RUNNING
    trigger: str = "manual"


class AccountRun(SQLModel, table=True):
    """One account's part of a run: its window, rows written and outcome."""

    __tablename__ = "account_run"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="sync_run.id", index=True)
    account: str = Field(index=True)
    since: date
    until: date
    started_at: datetime
    finished_at: datetime | None = None
    status: str = RunStatus.RUNNING
    rows: int = 0
    error: str | None = None
    notices: str = ""


class Series(SQLModel, table=True):
    """One (account, platform, metric): the small table the samples' integer key points into."""

    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("account", "platform", "metric", name="uq_series_account_platform_metric"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str
    platform: str
    metric: str


class SeriesDay(SQLModel, table=True):
    """One stored number: a series' value on a day (days since 1970-01-01), and the run that last wrote it.

    No foreign keys: checking two parent rows per sample cost SQLite 45 % of the write. The one writer
    (tracker.store.samples) takes series ids from `series` and the run id of the run it writes under, and
    forgetting an account deletes its days before its series.
    """

    __tablename__ = "series_day"
    __table_args__ = {"sqlite_with_rowid": False}

    series_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    value: float
    provisional: bool = False
    run_id: int


class MetricStatus(SQLModel, table=True):
    """A metric a platform retired or refused, so reports say "missing" instead of zero."""

    __tablename__ = "metric_status"

    account: str = Field(primary_key=True)
    platform: str = Field(primary_key=True)
    metric: str = Field(primary_key=True)
    status: str = "unavailable"
    reason: str = ""
    since: datetime
    run_id: int = Field(foreign_key="sync_run.id")


class ConversionRecord(SQLModel, table=True):
    """One order or lead; the account's daily conversion samples are recomputed from these.

    Withdrawn records (`tracker log undo`) are kept, not deleted, and no longer count.
    """

    __tablename__ = "conversion"
    __table_args__ = (Index("ix_conversion_account_platform_day", "account", "platform", "day"),)

    account: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    platform: str
    day: date
    kind: str = "order"
    amount: float | None = 0.0  # None: the order's worth is unknown (never stored as 0)
    currency: str | None = None
    basis: str = "self_reported"
    ref: str = ""
    note: str = ""
    withdrawn: bool = False
    run_id: int = Field(foreign_key="sync_run.id")
    recorded_at: datetime


class SyncLease(SQLModel, table=True):
    """Who is syncing an account right now; a lease past `expires_at`, or of a dead pid on this host, is stale."""

    __tablename__ = "sync_lease"

    account: str = Field(primary_key=True)
    holder: str
    host: str
    pid: int
    acquired_at: datetime
    expires_at: datetime


class AccountBlock(SQLModel, table=True):
    """Until when an account's quota is spent, as the platform said, so no run spends calls before then."""

    __tablename__ = "account_block"

    account: str = Field(primary_key=True)
    until: datetime
    reason: str = ""
    run_id: int = Field(foreign_key="sync_run.id")


class CareItemRecord(SQLModel, table=True):
    """One inbound item's facts (tracker.plugin.CareItem): no text, no author, and its id only as a salted hash.

    Times are UTC. A deleted item is kept, marked, and no longer counted; the account's own items are never stored.
    """

    __tablename__ = "care_item"
    __table_args__ = (Index("ix_care_item_platform_created_at", "platform", "created_at"),)

    account: str = Field(primary_key=True)
    item_hash: str = Field(primary_key=True)  # sha256 of the database's salt, the platform and the platform's id
    platform: str
    channel: str  # comment | reply | mention | message | review
    created_at: datetime
    first_reply_at: datetime | None = None
    deleted: bool = False
    run_id: int = Field(foreign_key="sync_run.id")
    recorded_at: datetime


class CareSalt(SQLModel, table=True):
    """The database's random salt for item hashes (one row): the same item hashes differently in another database."""

    __tablename__ = "care_salt"

    id: int = Field(default=1, primary_key=True)
    salt: str


class TopPost(SQLModel, table=True):
    """One of an account's best or worst posts of a day (tracker.plugin.PostStat), its counts as last read.

    Only the id, the link, the publication day and the counts: never the post's text, nothing about other
    people. tracker.store.posts keeps the few posts with the most and the fewest interactions per account,
    platform and day; a count the platform did not give is NULL, never 0.
    """

    __tablename__ = "top_post"
    __table_args__ = (Index("ix_top_post_platform_day", "platform", "day"),)

    account: str = Field(primary_key=True)
    platform: str = Field(primary_key=True)
    post_id: str = Field(primary_key=True)
    day: date  # the day the post was published, by the plugin's clock
    url: str = ""
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    interactions: int = 0  # likes + reposts + replies, of those counted: what ranks the posts
    run_id: int = Field(foreign_key="sync_run.id")
    read_at: datetime


def _table(model: type[SQLModel]) -> sa.Table:
    """The model's Core table, typed: queries use these names instead of `Model.__table__`."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table


ACCOUNT = _table(Account)
SYNC_RUN = _table(SyncRun)
ACCOUNT_RUN = _table(AccountRun)
SERIES = _table(Series)
SERIES_DAY = _table(SeriesDay)
METRIC_STATUS = _table(MetricStatus)
CONVERSION = _table(ConversionRecord)
SYNC_LEASE = _table(SyncLease)
ACCOUNT_BLOCK = _table(AccountBlock)
CARE_ITEM = _table(CareItemRecord)
CARE_SALT = _table(CareSalt)
TOP_POST = _table(TopPost)
