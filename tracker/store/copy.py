"""Copying a whole history into another database: `tracker db migrate --to URL`.

An agency outgrows one SQLite file; a worker on a second machine needs a
server. The target's schema is made by the same migrations every command
runs, then every table the two schemas share is copied in primary-key order,
in batches: the source is read through one streaming query per table (a
server-side cursor on PostgreSQL), so memory stays bounded at any size.

Each batch commits together with a progress row in the target
(`_tracker_copy`: the table's last copied key), so a copy stopped anywhere,
even by SIGKILL, goes on after its last committed batch with `--resume` and
copies no row twice. Keys are compared only in the source database, whose
own ordering produced them (SQLite and PostgreSQL sort text differently).

The tables are read from the databases themselves, never listed here: a
table a later migration adds is copied without a change to this module.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracker.errors import StoreError, TrackerError, UsageError
from tracker.redact import redact_url
from tracker.store import migrations
from tracker.store.db import WRITE_OPTION

PROGRESS_TABLE = "_tracker_copy"
BATCH = 5000
BOOKKEEPING = frozenset({migrations.TABLE, PROGRESS_TABLE})  # each database keeps its own


STOPPED = "stopped; the batches copied so far are kept: run the same command with --resume to finish"


class CopyStopped(TrackerError):
    """A stop was asked for (Ctrl-C, SIGTERM): the copy ended after its last whole batch."""

    exit_code = 130


@dataclass(frozen=True)
class TableCount:
    """One table's rows on both sides once the copy ended."""

    name: str
    source: int
    target: int

    @property
    def equal(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class CopyResult:
    tables: list[TableCount]
    resumed: bool
    left_out: list[str]  # tables only the source has: not tracker's, so not copied

    @property
    def differing(self) -> list[TableCount]:
        return [t for t in self.tables if not t.equal]


class CopyProgress(Protocol):
    def start(self, resumed: bool) -> None: ...
    def table(self, name: str, total: int, done: int) -> None: ...
    def copied(self, name: str, rows: int) -> None: ...


class NoProgress:
    def start(self, resumed: bool) -> None:
        pass

    def table(self, name: str, total: int, done: int) -> None:
        pass

    def copied(self, name: str, rows: int) -> None:
        pass


@dataclass(frozen=True)
class _Pair:
    """A table as each database spells it: read with the source's types, written with the target's."""

    source: sa.Table
    target: sa.Table

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def key(self) -> list[sa.Column[Any]]:
        """The source's primary key, or every column for a table without one (a stable, total order)."""
        return list(self.source.primary_key.columns) or list(self.source.columns)


@dataclass(frozen=True)
class _Writing:
    """Where and how a table's batches go."""

    target: Engine
    progress_table: sa.Table
    batch: int
    progress: CopyProgress
    stop: threading.Event

    def check(self) -> None:
        if self.stop.is_set():
            raise CopyStopped(STOPPED)


@dataclass
class _Done:
    """One table's progress row in the target."""

    table: str
    source: str
    last_key: list[Any] | None
    rows: int
    finished: bool


def target_url(value: str) -> str:
    """A database URL as given, or a plain file path as a SQLite URL (like the config's `database`)."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def shown(url: str) -> str:
    """A database as the user may see it: a SQLite file's path, or the URL without its login."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    return redact_url(url)


def refuse_same(source_url: str, target: str) -> None:
    if sa.make_url(source_url) == sa.make_url(target):
        raise UsageError(f"--to {shown(target)} is the config's own database; give another database to copy into")


def copy_history(
    source: Engine,
    target: Engine,
    *,
    resume: bool = False,
    batch: int = BATCH,
    progress: CopyProgress | None = None,
    stop: threading.Event | None = None,
) -> CopyResult:
    """Copy every shared table from `source` into `target`, whose schema is already migrated; counts both sides.

    The source is read inside one transaction, so the copy is one consistent moment of it even while a
    sync writes there (a resumed copy reads a later moment: the counts at the end tell if the two differ).
    `stop` ends the copy after the batch being written, with CopyStopped: a batch is never cut in two.
    """
    progress = progress or NoProgress()
    origin = shown(source.url.render_as_string(hide_password=False))
    pairs, left_out = _pairs(source, target)
    writing = _Writing(target, _progress_table(target), batch, progress, stop or threading.Event())
    done = _read_progress(target, writing.progress_table)
    _check_target(target, pairs, done, origin, resume)
    progress.start(bool(done))
    with _snapshot(source) as reading:
        totals = {p.name: _count(reading, p.source) for p in pairs}
        for pair in pairs:
            state = done.get(pair.name) or _Done(pair.name, origin, None, 0, False)
            progress.table(pair.name, totals[pair.name], state.rows)
            if not state.finished:
                _copy_table(reading, pair, state, writing)
    _reset_sequences(target, pairs)
    with target.connect() as conn:
        counts = [TableCount(p.name, totals[p.name], _count(conn, p.target)) for p in pairs]
    return CopyResult(counts, resumed=bool(done), left_out=left_out)


def _pairs(source: Engine, target: Engine) -> tuple[list[_Pair], list[str]]:
    """The tables both schemas hold, in foreign-key order (a run before the samples naming it)."""
    src, dst = sa.MetaData(), sa.MetaData()
    src.reflect(bind=source)
    dst.reflect(bind=target)
    pairs = []
    for table in dst.sorted_tables:
        if table.name in BOOKKEEPING or table.name not in src.tables:
            continue
        pair = _Pair(src.tables[table.name], table)
        theirs, ours = {c.name for c in pair.source.columns}, {c.name for c in table.columns}
        if theirs != ours:
            missing = ", ".join(sorted(theirs ^ ours))
            raise StoreError(
                f"table {table.name} has different columns in the two databases ({missing}); "
                "run the same tracker release on both"
            )
        pairs.append(pair)
    left_out = sorted(set(src.tables) - set(dst.tables) - BOOKKEEPING)
    return pairs, left_out


def _progress_table(target: Engine) -> sa.Table:
    table = sa.Table(
        PROGRESS_TABLE,
        sa.MetaData(),
        sa.Column("table_name", sa.String, primary_key=True),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("last_key", sa.String),  # JSON list of the last copied row's key values
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("finished", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    with target.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        table.create(conn, checkfirst=True)
    return table


def _read_progress(target: Engine, table: sa.Table) -> dict[str, _Done]:
    with target.connect() as conn:
        rows = conn.execute(sa.select(table)).mappings().all()
    return {
        r["table_name"]: _Done(r["table_name"], r["source"], json.loads(r["last_key"]) if r["last_key"] else None,
                               r["rows"], bool(r["finished"]))
        for r in rows
    }


def _check_target(target: Engine, pairs: list[_Pair], done: dict[str, _Done], origin: str, resume: bool) -> None:
    """An empty target, or (with --resume) one that a copy from the same source left."""
    where = shown(target.url.render_as_string(hide_password=False))
    if done:
        source = next(iter(done.values())).source
        if source != origin:
            raise UsageError(f"{where} holds a copy from {source}, not from {origin}; copy into an empty database")
        if not resume:
            raise UsageError(
                f"{where} already holds a copy from {origin}; add --resume to finish (or check) it, "
                "or copy into an empty database"
            )
        return
    with target.connect() as conn:
        held = [(p.name, n) for p in pairs if (n := _count(conn, p.target))]
    if held:
        rows = ", ".join(f"{n} row{'s' if n != 1 else ''} in {name}" for name, n in held[:3])
        why = " that no copy from this database left" if resume else ""
        raise UsageError(f"{where} already holds other data ({rows}){why}; copy into an empty database")


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction on the source: SQLite's WAL and PostgreSQL's REPEATABLE READ give one moment."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin() as transaction:
            yield conn
            transaction.rollback()  # it only read


def _count(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _copy_table(reading: Connection, pair: _Pair, state: _Done, writing: _Writing) -> None:
    key = pair.key
    columns = [c.name for c in pair.target.columns]
    where = [columns.index(c.name) for c in key]
    query = sa.select(*(pair.source.c[name] for name in columns)).order_by(*key)
    if state.last_key is not None:
        query = query.where(_after(key, _decode_key(key, state.last_key)))
    fit = _fitting(pair.target, columns)
    progress_table = writing.progress_table
    with writing.target.connect().execution_options(**{WRITE_OPTION: True}) as conn:
        if state.last_key is None and state.rows == 0:
            with conn.begin():
                _save_progress(conn, progress_table, state, new=True)
        for rows in _batches(reading, query, writing.batch):
            state.last_key = _encode_key([rows[-1][i] for i in where])
            state.rows += len(rows)
            with conn.begin():
                _write(conn, pair.target, columns, [fit(row) for row in rows])
                _save_progress(conn, progress_table, state)
            writing.progress.copied(pair.name, len(rows))
            writing.check()
        state.finished = True
        with conn.begin():
            _save_progress(conn, progress_table, state)


def _batches(conn: Connection, query: sa.Select[Any], size: int) -> Iterator[Sequence[sa.Row[Any]]]:
    """Rows `size` at a time from one streaming query (server-side cursor where the driver has one)."""
    result = conn.execute(query.execution_options(yield_per=size))
    yield from result.partitions(size)


def _write(conn: Connection, table: sa.Table, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert the rows the fastest way each database takes them: COPY on PostgreSQL, the driver's executemany."""
    if conn.dialect.name == "postgresql":
        _copy_in(conn, table, columns, rows)
    elif conn.dialect.paramstyle == "qmark":  # SQLite: the same values SQLAlchemy would bind, without its overhead
        dialect = conn.dialect
        processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
        insert = str(table.insert().compile(dialect=conn.dialect, column_keys=columns))
        conn.exec_driver_sql(insert, [_bound(processors, row) for row in rows])
    else:
        conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


def _bound(processors: Sequence[Callable[[Any], Any] | None], row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(value if process is None else process(value) for process, value in zip(processors, row, strict=True))


def _copy_in(conn: Connection, table: sa.Table, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    quote = conn.dialect.identifier_preparer
    names = ", ".join(quote.quote(name) for name in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {quote.format_table(table)} ({names}) FROM STDIN") as copying:
        for row in rows:
            copying.write_row(row)


def _after(key: list[sa.Column[Any]], last: list[Any]) -> sa.ColumnElement[bool]:
    bound = [sa.literal(value, type_=column.type) for column, value in zip(key, last, strict=True)]
    if len(key) == 1:
        return key[0] > bound[0]
    return sa.tuple_(*key) > sa.tuple_(*bound)


def _save_progress(conn: Connection, table: sa.Table, state: _Done, *, new: bool = False) -> None:
    values = {
        "source": state.source,
        "last_key": json.dumps(state.last_key) if state.last_key is not None else None,
        "rows": state.rows,
        "finished": state.finished,
        "updated_at": datetime.now(UTC).replace(tzinfo=None),
    }
    if new:
        conn.execute(sa.delete(table).where(table.c.table_name == state.table))
        conn.execute(sa.insert(table).values(table_name=state.table, **values))
    else:
        conn.execute(sa.update(table).where(table.c.table_name == state.table).values(**values))


def _encode_key(values: list[Any]) -> list[Any]:
    return [v.isoformat() if isinstance(v, (date, datetime)) else v for v in values]


def _decode_key(key: list[sa.Column[Any]], values: list[Any]) -> list[Any]:
    return [_decoded(column.type, value) for column, value in zip(key, values, strict=True)]


def _decoded(kind: sa.types.TypeEngine[Any], value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        python = kind.python_type
    except NotImplementedError:
        return value
    if python is datetime:
        return datetime.fromisoformat(value)
    if python is date:
        return date.fromisoformat(value)
    return value


def _fitting(table: sa.Table, columns: list[str]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A row's values as the target stores them; only its time columns need a hand."""
    times = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, sa.DateTime)]
    if not times:
        return tuple
    kinds = {i: table.c[columns[i]].type for i in times}

    def fit(row: Sequence[Any]) -> tuple[Any, ...]:
        values = list(row)
        for i, kind in kinds.items():
            values[i] = _fitted(kind, values[i])
        return tuple(values)

    return fit


def _fitted(kind: sa.types.TypeEngine[Any], value: Any) -> Any:
    """A time as the target column stores it: UTC, with its zone only where the column keeps one."""
    if not isinstance(value, datetime):
        return value
    keeps_zone = isinstance(kind, sa.DateTime) and kind.timezone
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC) if keeps_zone else value
    utc = value.astimezone(UTC)
    return utc if keeps_zone else utc.replace(tzinfo=None)


def _reset_sequences(target: Engine, pairs: list[_Pair]) -> None:
    """PostgreSQL's id counters start after the copied ids, so the next sync run does not collide with them."""
    if target.dialect.name != "postgresql":
        return  # SQLite's integer keys continue from the largest stored
    with target.connect() as conn, conn.begin():
        for pair in pairs:
            for column in pair.target.columns:
                sequence = conn.execute(
                    sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
                    {"table": pair.name, "column": column.name},
                ).scalar()
                if sequence is None:
                    continue
                top = conn.execute(sa.select(sa.func.max(column))).scalar()
                conn.execute(
                    sa.text("SELECT setval(:sequence, :value, :called)"),
                    {"sequence": sequence, "value": top if top is not None else 1, "called": top is not None},
                )
