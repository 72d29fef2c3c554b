"""Every released schema upgrades in place with nothing lost.

A database is built at each step of the migration history (the first k
migrations), given one row in every table that exists at that step, then
migrated to this release: every row is still there, and the report runs.
Generic over the tables, so a new migration is covered the day it lands.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from tracker.store import migrations
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
        return datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
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
    metadata = sa.MetaData()
    metadata.reflect(engine)
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

    from tracker.cli.report import build_report

    report = build_report(make_config({"x": {"plugin": "demo"}}, database=url), 30, date(2026, 1, 10), None)
    assert report.removed_accounts == []  # the row of account "x" is configured: counted, not called removed

