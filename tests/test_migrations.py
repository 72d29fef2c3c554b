"""Every released schema upgrades in place with nothing lost.

A database is built at each step of the migration history (the first k
migrations), given one row in every table that exists at that step, then
migrated to this release: every row is still there, and the report runs.
Generic over the tables, so a new migration is covered the day it lands.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tracker.store import migrations, samples
from tracker.store.db import open_engine

STEPS = range(1, len(migrations.MIGRATIONS))


def value_for(column: sa.Column) -> object:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, (sa.Float, sa.Numeric)):
        return 1.5
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 1, 1, 12, tzinfo=UTC)
    if isinstance(kind, sa.Date):
        return date(2026, 1, 1)
    return "facebook" if column.name == "platform" else "x"


def fill_every_table(engine: sa.Engine) -> dict[str, int]:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name == migrations.TABLE:
                continue
            conn.execute(table.insert().values({c.name: value_for(c) for c in table.columns}))
    return counts(engine)


def counts(engine: sa.Engine) -> dict[str, int]:
    """Rows per table, and per view: the `sample` view stands where the sample table stood before."""
    metadata = sa.MetaData()
    metadata.reflect(engine, views=True)
    with engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
            if t.name != migrations.TABLE
        }


@pytest.mark.parametrize("step", STEPS, ids=lambda k: migrations.MIGRATIONS[k - 1].name)
def test_a_database_from_an_earlier_schema_upgrades_with_every_row_kept(step, tmp_path, monkeypatch, make_config):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    head = list(migrations.MIGRATIONS)
    monkeypatch.setattr(migrations, "MIGRATIONS", head[:step])
    old = open_engine(url)
    before = fill_every_table(old)
    old.dispose()
    monkeypatch.setattr(migrations, "MIGRATIONS", head)

    engine = open_engine(url)
    after = counts(engine)
    assert migrations.pending(engine) == []
    engine.dispose()
    assert {name: after[name] for name in before} == before

    from tracker.report.build import build_report

    report = build_report(make_config({"x": {"plugin": "demo"}}, database=url), 30, date(2026, 1, 10), None)
    assert report.removed_accounts == []  # the row of account "x" is configured: counted, not called removed



# --- m009: samples move into the integer-keyed series / series_day tables -------------------------------------------

INTEGER_KEYS = next(i for i, m in enumerate(migrations.MIGRATIONS) if m.name == "m009_integer_keyed_samples")
END = date(2026, 1, 10)


def old_samples() -> list[tuple[str, str, str, date, float, bool, int]]:
    """Two accounts, two platforms, a gauge and counters, gaps, fractions, a provisional day and two runs."""
    rows = []
    for a, account in enumerate(("page", "shop")):
        for platform in ("facebook", "instagram"):
            for metric in ("followers", "likes", "impressions"):
                for n in range(0, 70, 1 + a + (metric == "followers")):
                    day = END - timedelta(days=n)
                    value = 1000.0 + n * 3 if metric == "followers" else n * 1.25 + a
                    rows.append((account, platform, metric, day, value, n == 0, 1 if n > 20 else 2))
    return rows


def add_runs(conn: sa.Connection) -> None:
    for run_id in (1, 2):
        conn.execute(
            sa.text("INSERT INTO sync_run (id, started_at, status, \"trigger\") VALUES (:id, :at, 'ok', 'manual')"),
            {"id": run_id, "at": datetime(2026, 1, run_id)},
        )


def old_database(url: str, monkeypatch: pytest.MonkeyPatch, rows: list[tuple]) -> None:
    head = list(migrations.MIGRATIONS)
    monkeypatch.setattr(migrations, "MIGRATIONS", head[:INTEGER_KEYS])
    engine = open_engine(url)
    with engine.begin() as conn:
        add_runs(conn)
        conn.execute(
            sa.text("INSERT INTO sample VALUES (:a, :p, :m, :d, :v, :prov, :run)"),
            [dict(zip(("a", "p", "m", "d", "v", "prov", "run"), r, strict=True)) for r in rows],
        )
    engine.dispose()
    monkeypatch.setattr(migrations, "MIGRATIONS", head)


def new_database(url: str, rows: list[tuple]) -> None:
    """The same samples written straight into this release's tables."""
    engine = open_engine(url)
    with engine.begin() as conn:
        add_runs(conn)
        for account in sorted({r[0] for r in rows}):
            mine = [r for r in rows if r[0] == account]
            ids = samples.series_ids(conn, account, {(r[1], r[2]) for r in mine})
            keyed = [(ids[(p, m)], samples.day_number(d), v, prov, run) for _, p, m, d, v, prov, run in mine]
            samples.upsert(conn, keyed)
    engine.dispose()


def stored(url: str) -> list[tuple]:
    engine = open_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT * FROM sample")).all()
    engine.dispose()
    return sorted((a, p, m, d if isinstance(d, date) else date.fromisoformat(d), v, bool(prov), run)
                  for a, p, m, d, v, prov, run in found)


def report_json(make_config, url: str) -> dict:
    from tracker.report.build import build_report

    cfg = make_config({"page": {"plugin": "demo"}, "shop": {"plugin": "demo"}}, database=url)
    found = build_report(cfg, 30, END, None).to_json()
    found.pop("generated_at")
    return found


@pytest.fixture(params=["sqlite", "postgres"])
def two_urls(request, tmp_path):
    """Two empty databases of one kind: one to migrate, one written by this release."""
    if request.param == "sqlite":
        yield [f"sqlite:///{tmp_path / name}" for name in ("old.db", "new.db")]
        return
    first = request.getfixturevalue("pg_url")
    admin = sa.create_engine(first, isolation_level="AUTOCOMMIT")
    second = f"{sa.make_url(first).database}_new"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {second}")
    admin.dispose()
    yield [first, sa.make_url(first).set(database=second).render_as_string(hide_password=False)]
    admin = sa.create_engine(first.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {second} WITH (FORCE)")
    admin.dispose()


def test_integer_keyed_samples_keep_every_row_with_its_day_value_flag_and_run(two_urls, monkeypatch):
    rows = old_samples()
    old_database(two_urls[0], monkeypatch, rows)
    assert stored(two_urls[0]) == sorted(rows)  # migrated on open: read back through the `sample` view


def test_integer_keyed_samples_give_the_same_report_as_a_database_this_release_wrote(
    two_urls, monkeypatch, make_config
):
    rows = old_samples()
    old_database(two_urls[0], monkeypatch, rows)
    new_database(two_urls[1], rows)
    migrated, written = report_json(make_config, two_urls[0]), report_json(make_config, two_urls[1])
    assert len(migrated["platforms"]) == 2  # facebook and instagram: figures to compare
    assert migrated == written


def test_the_old_sample_table_and_its_index_are_gone_after_the_migration(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old_database(url, monkeypatch, old_samples())
    engine = open_engine(url)
    inspector = sa.inspect(engine)
    assert "sample" not in inspector.get_table_names() and "sample" in inspector.get_view_names()
    assert inspector.get_indexes("series_day") == []  # the primary key (series_id, day) is the only b-tree
    engine.dispose()
