"""Schema versions: an ordered list of named migrations, applied in place on open.

The pending migrations and the records of them run in one transaction, so a
crash leaves either the old schema or the new one. That transaction holds the
database's write lock (SQLite: BEGIN IMMEDIATE, which waits out the busy
timeout; PostgreSQL: a transaction-scoped advisory lock) from before it reads
what is applied, so two processes opening a fresh database migrate it once,
one after the other, and neither fails. Names are keys: never rename, reorder
or reuse one; add a new function at the end instead. Migrations are written
with SQLAlchemy Core so that SQLite and PostgreSQL take the same steps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracker.errors import NewerSchema
from tracker.redact import Redactor, is_credential_name

TABLE = "_tracker_migrations"
# The execution option on which tracker.store.db begins SQLite transactions with BEGIN IMMEDIATE (a writer
# takes the lock up front). Defined here, where migrations first need it, so db can import this module.
WRITE_OPTION = "tracker_write"


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[Connection], None]


MIGRATIONS: list[Migration] = []


def migration(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
    if any(m.name == fn.__name__ for m in MIGRATIONS):
        raise ValueError(f"duplicate migration name {fn.__name__}")
    MIGRATIONS.append(Migration(fn.__name__, fn))
    return fn


def _record_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        TABLE,
        metadata,
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("applied_at", sa.DateTime, nullable=False),
    )


def applied(conn: Connection) -> list[str]:
    if not sa.inspect(conn).has_table(TABLE):
        return []
    return [row[0] for row in conn.execute(sa.text(f"SELECT name FROM {TABLE}"))]


def location(engine: Engine) -> str:
    """The database as the user named it: a SQLite file's path, or the URL without its password."""
    if engine.dialect.name == "sqlite" and engine.url.database:
        return engine.url.database
    return engine.url.render_as_string(hide_password=True)


def refuse_newer(engine: Engine, done: set[str]) -> None:
    """A schema this release does not know may mean anything: reading it could mislead, writing it could damage."""
    unknown = done - {m.name for m in MIGRATIONS}
    if unknown:
        raise NewerSchema(
            f"upgrade tracker: {location(engine)} was written by a newer tracker "
            f"(schema {len(done)}; this release knows up to {len(MIGRATIONS)}); it was left untouched"
        )


@dataclass(frozen=True)
class SchemaState:
    """What `tracker db status` shows: the migrations a database records, against those this release knows."""

    applied: list[str]
    pending: list[str]
    unknown: list[str]

    @property
    def newer(self) -> bool:
        return bool(self.unknown)


def state(engine: Engine) -> SchemaState:
    """Reads only: a newer schema is described here, not refused, so that it can be shown."""
    with engine.connect() as conn:
        done = applied(conn)
    known = [m.name for m in MIGRATIONS]
    return SchemaState(
        applied=done,
        pending=[name for name in known if name not in done],
        unknown=sorted(set(done) - set(known)),
    )


def pending(engine: Engine) -> list[str]:
    """Names not yet applied; reads only. A newer schema is refused."""
    with engine.connect() as conn:
        done = set(applied(conn))
    refuse_newer(engine, done)
    return [m.name for m in MIGRATIONS if m.name not in done]


# Any fixed 64-bit number that other users of the same PostgreSQL database are unlikely to pick.
PG_LOCK_KEY = 0x747261636B6572  # "tracker"


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """One transaction that holds the database's write lock from its first statement, whoever else opens the file."""
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        yield conn


def migrate(engine: Engine) -> list[str]:
    """Apply every pending migration in order; returns the names applied (none if another process just did).

    Nothing is written before `pending` has read the schema, so a newer database stays byte for byte as it was,
    and an up-to-date one is never locked. What is applied is read again under the lock: another process may
    have migrated in between.
    """
    if not pending(engine):
        return []
    metadata = sa.MetaData()
    record = _record_table(metadata)
    with _locked(engine) as conn:
        done = set(applied(conn))
        refuse_newer(engine, done)
        names = [m.name for m in MIGRATIONS if m.name not in done]
        metadata.create_all(conn)
        for step in MIGRATIONS:
            if step.name in names:
                step.apply(conn)
                conn.execute(record.insert().values(name=step.name, applied_at=datetime.now(UTC)))
    return names


@migration
def m001_initial(conn: Connection) -> None:
    """The first schema; spelled out here because later migrations change the models."""
    md = sa.MetaData()
    sa.Table(
        "account",
        md,
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("plugin", sa.String, nullable=False),
        sa.Column("options_json", sa.String, nullable=False),
        sa.Column("conversion_source", sa.String, nullable=False),
        sa.Column("covers_all_platforms", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("last_good_day", sa.Date),
        sa.Column("state_json", sa.String, nullable=False),
        sa.Column("state_run_id", sa.Integer),
        sa.Column("updated_at", sa.DateTime),
    )
    sa.Table(
        "sync_run",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("trigger", sa.String, nullable=False),
    )
    sa.Table(
        "account_run",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_run.id"), nullable=False, index=True),
        sa.Column("account", sa.String, nullable=False, index=True),
        sa.Column("since", sa.Date, nullable=False),
        sa.Column("until", sa.Date, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("error", sa.String),
    )
    sa.Table(
        "sample",
        md,
        sa.Column("account", sa.String, primary_key=True),
        sa.Column("platform", sa.String, primary_key=True),
        sa.Column("metric", sa.String, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("provisional", sa.Boolean, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_run.id"), nullable=False),
        sa.Index("ix_sample_platform_metric_day", "platform", "metric", "day"),
    )
    sa.Table(
        "metric_status",
        md,
        sa.Column("account", sa.String, primary_key=True),
        sa.Column("platform", sa.String, primary_key=True),
        sa.Column("metric", sa.String, primary_key=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("since", sa.DateTime, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_run.id"), nullable=False),
    )
    md.create_all(conn)


@migration
def m002_conversion_records(conn: Connection) -> None:
    """Order-level records, so re-imports, undo and precedence are exact; plus notices and attribution text."""
    md = sa.MetaData()
    sa.Table("sync_run", md, sa.Column("id", sa.Integer, primary_key=True))  # exists: only the FK target
    conversion = sa.Table(
        "conversion",
        md,
        sa.Column("account", sa.String, primary_key=True),
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("platform", sa.String, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("currency", sa.String),
        sa.Column("basis", sa.String, nullable=False),
        sa.Column("ref", sa.String, nullable=False),
        sa.Column("note", sa.String, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_run.id"), nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Index("ix_conversion_account_platform_day", "account", "platform", "day"),
    )
    md.create_all(conn, tables=[conversion])
    conn.execute(sa.text("ALTER TABLE account ADD COLUMN attribution VARCHAR NOT NULL DEFAULT ''"))
    conn.execute(sa.text("ALTER TABLE account_run ADD COLUMN notices VARCHAR NOT NULL DEFAULT ''"))


@migration
def m003_sync_lease(conn: Connection) -> None:
    """One row per account being synced, so two processes never sync the same account at once."""
    md = sa.MetaData()
    sa.Table(
        "sync_lease",
        md,
        sa.Column("account", sa.String, primary_key=True),
        sa.Column("holder", sa.String, nullable=False),
        sa.Column("host", sa.String, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("acquired_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    md.create_all(conn)


@migration
def m004_account_block(conn: Connection) -> None:
    """Remember a spent daily/monthly quota across runs (LinkedIn, YouTube, X), instead of calling again."""
    md = sa.MetaData()
    sa.Table("sync_run", md, sa.Column("id", sa.Integer, primary_key=True))  # exists: only the FK target
    block = sa.Table(
        "account_block",
        md,
        sa.Column("account", sa.String, primary_key=True),
        sa.Column("until", sa.DateTime, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_run.id"), nullable=False),
    )
    md.create_all(conn, tables=[block])


@migration
def m005_conversion_amount_may_be_unknown(conn: Connection) -> None:
    """An order's amount may be unknown (NULL): a sheet without amounts, `tracker log sale` without --amount.

    Orders that earlier releases stored as 0.00 from a file without an amount column (the account's revenue
    status names that file) become unknown, and their days lose the revenue sample that summed them as 0.
    """
    if conn.dialect.name == "sqlite":  # SQLite cannot drop NOT NULL in place: copy into the new shape
        conn.execute(sa.text(
            "CREATE TABLE conversion_new (account VARCHAR NOT NULL, id VARCHAR NOT NULL, platform VARCHAR NOT NULL, "
            "day DATE NOT NULL, kind VARCHAR NOT NULL, amount FLOAT, currency VARCHAR, basis VARCHAR NOT NULL, "
            "ref VARCHAR NOT NULL, note VARCHAR NOT NULL, withdrawn BOOLEAN NOT NULL, run_id INTEGER NOT NULL, "
            "recorded_at DATETIME NOT NULL, PRIMARY KEY (account, id), FOREIGN KEY(run_id) REFERENCES sync_run (id))"
        ))
        conn.execute(sa.text(
            "INSERT INTO conversion_new (account, id, platform, day, kind, amount, currency, basis, ref, note, "
            "withdrawn, run_id, recorded_at) "
            "SELECT account, id, platform, day, kind, amount, currency, basis, ref, note, withdrawn, run_id, "
            "recorded_at FROM conversion"
        ))
        conn.execute(sa.text("DROP TABLE conversion"))
        conn.execute(sa.text("ALTER TABLE conversion_new RENAME TO conversion"))
        conn.execute(sa.text("CREATE INDEX ix_conversion_account_platform_day ON conversion (account, platform, day)"))
    else:
        conn.execute(sa.text("ALTER TABLE conversion ALTER COLUMN amount DROP NOT NULL"))
    statuses = conn.execute(sa.text(
        "SELECT account, platform, reason FROM metric_status "
        "WHERE metric = 'revenue' AND reason LIKE '% has no amount column (%'"
    )).all()
    for account, platform, reason in statuses:
        prefix = reason.split(" has no amount column (")[0] + " line "
        where = ("account = :account AND platform = :platform AND kind = 'order' AND substr(ref, 1, :n) = :prefix")
        values = {"account": account, "platform": platform, "n": len(prefix), "prefix": prefix}
        conn.execute(sa.text(f"UPDATE conversion SET amount = NULL WHERE amount = 0 AND {where}"), values)
        conn.execute(sa.text(
            "DELETE FROM sample WHERE account = :account AND platform = :platform AND metric = 'revenue' AND day IN "
            f"(SELECT day FROM conversion WHERE amount IS NULL AND {where})"
        ), values)


@migration
def m007_top_posts(conn: Connection) -> None:
    """The best and worst posts of each day per account (issue 16): ids, links and counts, never text."""
    md = sa.MetaData()
    sa.Table("sync_run", md, sa.Column("id", sa.Integer, primary_key=True))  # exists: only the FK target
    posts = sa.Table(
        "top_post",
        md,
        sa.Column("account", sa.String, primary_key=True),
        sa.Column("platform", sa.String, primary_key=True),
        sa.Column("post_id", sa.String, primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("url", sa.String, nullable=False),
        sa.Column("likes", sa.Integer),
        sa.Column("reposts", sa.Integer),
        sa.Column("replies", sa.Integer),
        sa.Column("interactions", sa.Integer, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_run.id"), nullable=False),
        sa.Column("read_at", sa.DateTime, nullable=False),
        sa.Index("ix_top_post_platform_day", "platform", "day"),
    )
    md.create_all(conn, tables=[posts])


@migration
def m008_care_items(conn: Connection) -> None:
    """Customer care facts per inbound item (issue 20), and the per-database salt their ids are hashed with.

    The salt is written on first use, not here, so a freshly migrated database holds no row of its own.
    """
    md = sa.MetaData()
    sa.Table("sync_run", md, sa.Column("id", sa.Integer, primary_key=True))  # exists: only the FK target
    items = sa.Table(
        "care_item",
        md,
        sa.Column("account", sa.String, primary_key=True),
        sa.Column("item_hash", sa.String, primary_key=True),
        sa.Column("platform", sa.String, nullable=False),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("first_reply_at", sa.DateTime),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_run.id"), nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Index("ix_care_item_platform_created_at", "platform", "created_at"),
    )
    salt = sa.Table(
        "care_salt",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("salt", sa.String, nullable=False),
    )
    md.create_all(conn, tables=[items, salt])


# Julian day number of 1970-01-01 at midnight: SQLite turns ISO dates into day numbers through it.
_UNIX_EPOCH_JULIAN = 2440587.5


@migration
def m009_integer_keyed_samples(conn: Connection) -> None:
    """Samples keyed by integers (issue 18): a `series` row per (account, platform, metric), and `series_day`
    keyed by (series id, days since 1970-01-01) in one b-tree, so the report seeks instead of scanning history.

    Every row moves with its value, provisional flag and run id; the old table and its non-covering index go,
    and a view named `sample` shows the same columns as before (dates as dates) for queries typed by hand.
    `series_day` has no foreign keys: checking two parents per row cost SQLite 45 % of the sync's writes.
    """
    md = sa.MetaData()
    series = sa.Table(
        "series",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String, nullable=False),
        sa.Column("platform", sa.String, nullable=False),
        sa.Column("metric", sa.String, nullable=False),
        sa.UniqueConstraint("account", "platform", "metric", name="uq_series_account_platform_metric"),
    )
    days = sa.Table(
        "series_day",
        md,
        sa.Column("series_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("day", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("provisional", sa.Boolean, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )
    md.create_all(conn, tables=[series, days])
    sqlite = conn.dialect.name == "sqlite"
    day_number = (
        f"CAST(julianday(s.day) - {_UNIX_EPOCH_JULIAN} AS INTEGER)" if sqlite else "(s.day - DATE '1970-01-01')"
    )
    conn.execute(sa.text(
        "INSERT INTO series (account, platform, metric) "
        "SELECT DISTINCT account, platform, metric FROM sample ORDER BY account, platform, metric"
    ))
    conn.execute(sa.text(
        f"INSERT INTO series_day (series_id, day, value, provisional, run_id) "
        f"SELECT r.id, {day_number}, s.value, s.provisional, s.run_id FROM sample s "
        "JOIN series r ON r.account = s.account AND r.platform = s.platform AND r.metric = s.metric "
        "ORDER BY r.id, 2"
    ))
    conn.execute(sa.text("DROP TABLE sample"))  # its index ix_sample_platform_metric_day goes with it
    day = f"date(d.day + {_UNIX_EPOCH_JULIAN})" if sqlite else "(DATE '1970-01-01' + d.day)"
    conn.execute(sa.text(
        f"CREATE VIEW sample AS SELECT s.account, s.platform, s.metric, {day} AS day, d.value, d.provisional, d.run_id "
        "FROM series s JOIN series_day d ON d.series_id = s.id"
    ))


# Text columns older releases filled from what plugins and platforms returned: (table, key columns, column).
_TEXT_CELLS = (
    ("account_run", ("id",), "error"),
    ("account_run", ("id",), "notices"),
    ("metric_status", ("account", "platform", "metric"), "reason"),
    ("account_block", ("account",), "reason"),
    ("top_post", ("account", "platform", "post_id"), "url"),
)


@migration
def m010_scrub_stored_secrets(conn: Connection) -> None:
    """Credentials older releases stored in clear (issue 17): URL userinfo, token-like query parameters,
    `Bearer` values and `access_token=...` in account options, plugin state, run errors, notices and reasons.

    Every cell goes through tracker.redact as this release writes it, and only a cell that changes is
    rewritten. Options are masked as the sync masks them; a state entry that holds a credential (or is named
    like one) is dropped, as tracker.collect drops it, since a masked token handed back to a plugin would be
    used as one and every plugin copes with a missing entry. On SQLite freed space is zeroed while this runs
    (secure_delete), so the old text is not left in the file's free pages either.
    """
    redactor = Redactor()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        secure = conn.exec_driver_sql("PRAGMA secure_delete").scalar()
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
    _scrub_cells(conn, redactor)
    if sqlite:
        conn.exec_driver_sql(f"PRAGMA secure_delete = {int(bool(secure))}")


def _scrub_cells(conn: Connection, redactor: Redactor) -> None:
    tables = set(sa.inspect(conn).get_table_names())
    if "account" in tables:
        rows = conn.execute(sa.text("SELECT name, options_json, state_json FROM account")).all()
        for name, options, state in rows:
            scrubbed = {"options_json": _scrubbed_json(options, redactor.mapping, redactor),
                        "state_json": _scrubbed_json(state, lambda data: _state_without_credentials(data, redactor),
                                                     redactor)}
            _update_changed(conn, "account", {"name": name}, {"options_json": options, "state_json": state}, scrubbed)
    for table, keys, column in _TEXT_CELLS:
        if table not in tables:
            continue
        query = f"SELECT {', '.join(keys)}, {column} FROM {table} WHERE {column} IS NOT NULL"
        for row in conn.execute(sa.text(query)).all():
            key, value = dict(zip(keys, row[:-1], strict=True)), row[-1]
            _update_changed(conn, table, key, {column: value}, {column: redactor.text(value)})


def _scrubbed_json(
    text: str | None, scrub: Callable[[dict[str, object]], dict[str, object]], redactor: Redactor
) -> str | None:
    """A JSON object's text with `scrub` applied, unchanged (same text) when there was nothing to scrub."""
    if not text:
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return redactor.text(text)
    if not isinstance(data, dict):
        return text
    cleaned = scrub(data)
    return text if cleaned == data else json.dumps(cleaned, sort_keys=True)


def _state_without_credentials(state: dict[str, object], redactor: Redactor) -> dict[str, object]:
    """The entries of a plugin's state that hold no credential the redaction rules can see without the run."""
    return {key: value for key, value in state.items() if not _holds_credential(key, value, redactor)}


def _holds_credential(key: str, value: object, redactor: Redactor) -> bool:
    if is_credential_name(str(key)):
        return True
    if isinstance(value, dict):
        return any(_holds_credential(k, v, redactor) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_credential("", v, redactor) for v in value)
    return isinstance(value, str) and redactor.text(value) != value


def _update_changed(
    conn: Connection, table: str, key: Mapping[str, object], before: Mapping[str, object], after: Mapping[str, object]
) -> None:
    """One UPDATE of the cells that differ, or none: an untouched row keeps its text byte for byte."""
    changed = {column: value for column, value in after.items() if value != before[column]}
    if not changed:
        return
    sets = ", ".join(f"{column} = :new_{column}" for column in changed)
    where = " AND ".join(f"{column} = :key_{column}" for column in key)
    params = {f"new_{c}": v for c, v in changed.items()} | {f"key_{c}": v for c, v in key.items()}
    conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE {where}"), params)
