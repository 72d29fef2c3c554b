"""A database written by an older release loses the credentials it stored in clear, and nothing else.

Older releases kept an account's `base_url` with its `user:password@`, a plugin state holding a token, and
platform errors echoing `access_token=...` verbatim (issue 17, secrets item 4). The first command of this
release migrates the file (m010_scrub_stored_secrets): afterwards no 8-character piece of any of those
secrets is in any table, nor (SQLite) anywhere in the file's bytes, and every other cell is as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tracker.cli.main import app
from tracker.redact import FRAGMENT
from tracker.store import migrations
from tracker.store.db import open_engine

PASSWORD = "pw-Vq7Lx2Rt9Zk4Hs8Mn3"
TOKEN = "EAABtokQ1w2e3r4t5y6u7i8o9pZ"
STATE_TOKEN = "st8Kd93LmQp2Xv7Rb4Nc"
BEARER = "bear9Fk2Lx8Qm4Tz7Wc3Yv"
SECRETS = (PASSWORD, TOKEN, STATE_TOKEN, BEARER)
WHEN = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)

OLD_ROWS = {
    "sync_run": [{"id": 1, "started_at": WHEN, "finished_at": WHEN, "status": "failed", "trigger": "manual"}],
    "account": [
        {"name": "shop", "plugin": "matomo", "conversion_source": "analytics", "covers_all_platforms": True,
         "position": 0, "attribution": "", "state_run_id": 1, "updated_at": WHEN,
         "options_json": f'{{"base_url": "https://owner:{PASSWORD}@stats.example.org/", "site_id": 3}}',
         "state_json": f'{{"access_token": "{STATE_TOKEN}", "cursor": "2026-02-28", '
                       f'"next": "https://stats.example.org/index.php?token_auth={TOKEN}&page=2"}}'},
        {"name": "bakery", "plugin": "demo", "conversion_source": "first_party", "covers_all_platforms": False,
         "position": 1, "attribution": "", "state_run_id": 1, "updated_at": WHEN,
         "options_json": '{"base_url": "https://stats.example.org/", "seed": 7}',
         "state_json": '{"cursor": "2026-02-28", "seen": ["a", "b"]}'},
    ],
    "account_run": [
        {"id": 1, "run_id": 1, "account": "shop", "since": WHEN.date(), "until": WHEN.date(), "started_at": WHEN,
         "finished_at": WHEN, "status": "failed", "rows": 0,
         "error": f"Matomo refused https://stats.example.org/index.php?module=API&token_auth={TOKEN}: HTTP 401",
         "notices": f"retried with Authorization: Bearer {BEARER}"},
        {"id": 2, "run_id": 1, "account": "bakery", "since": WHEN.date(), "until": WHEN.date(), "started_at": WHEN,
         "finished_at": WHEN, "status": "ok", "rows": 12, "error": None, "notices": "2 rows skipped: no date"},
    ],
    "metric_status": [
        {"account": "shop", "platform": "facebook", "metric": "reach", "status": "unavailable", "since": WHEN,
         "run_id": 1, "reason": f"(#100) Invalid parameter access_token={TOKEN} for this call"},
        {"account": "bakery", "platform": "facebook", "metric": "likes", "status": "unavailable", "since": WHEN,
         "run_id": 1, "reason": "(#10) needs pages_read_engagement"},
    ],
    "account_block": [
        {"account": "shop", "until": WHEN, "run_id": 1,
         "reason": f"quota spent at https://owner:{PASSWORD}@stats.example.org/"},
    ],
}
SCRUBBED = {("account", "options_json"), ("account", "state_json"), ("account_run", "error"),
            ("account_run", "notices"), ("metric_status", "reason"), ("account_block", "reason")}


def fragments() -> set[str]:
    return {s[i : i + FRAGMENT] for s in SECRETS for i in range(len(s) - FRAGMENT + 1)}


def write_as_an_older_release(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The schema of the release before m010, and rows as it stored them: in clear."""
    head = list(migrations.MIGRATIONS)
    before = [m for m in head if m.name != "m010_scrub_stored_secrets"]
    monkeypatch.setattr(migrations, "MIGRATIONS", before)
    old = open_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(old)
    with old.begin() as conn:
        for table, rows in OLD_ROWS.items():
            conn.execute(metadata.tables[table].insert(), rows)
    old.dispose()
    monkeypatch.setattr(migrations, "MIGRATIONS", head)


def every_row(url: str) -> dict[str, list[dict[str, object]]]:
    engine = open_engine(url, migrate=False)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        dump = {
            name: [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for name, t in metadata.tables.items()
            if name != migrations.TABLE
        }
    engine.dispose()
    return dump


def run_a_command(cli, tmp_path: Path, url: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{url}"\ntimezone = "UTC"\n[accounts.bakery]\nplugin = "demo"\n', encoding="utf-8")
    result = cli.invoke(app, ["status", "--config", str(config)])
    assert result.exit_code == 0, result.output


def secrets_in_rows(dump: dict[str, list[dict[str, object]]]) -> list[str]:
    text = repr(dump)
    return sorted(f for f in fragments() if f in text)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'old.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    write_as_an_older_release(url, monkeypatch)
    return url


def test_an_older_database_holds_the_secrets_before_it_is_migrated(old_database):
    assert secrets_in_rows(every_row(old_database))  # the test's rows really are an old release's leak


def test_the_first_command_leaves_no_fragment_of_a_stored_secret_in_any_table(cli, tmp_path, old_database):
    run_a_command(cli, tmp_path, old_database)
    assert secrets_in_rows(every_row(old_database)) == []


def test_the_scrub_changes_only_the_cells_that_held_a_secret(cli, tmp_path, old_database):
    before = every_row(old_database)
    run_a_command(cli, tmp_path, old_database)
    after = every_row(old_database)
    for table, rows in before.items():
        assert len(after[table]) == len(rows), table
        for old, new in zip(rows, after[table], strict=True):
            for column, value in old.items():
                if (table, column) not in SCRUBBED or not any(f in str(value) for f in fragments()):
                    assert new[column] == value, (table, column)


def test_what_the_scrub_keeps_of_a_row_still_reads(cli, tmp_path, old_database):
    run_a_command(cli, tmp_path, old_database)
    rows = every_row(old_database)
    shop = next(a for a in rows["account"] if a["name"] == "shop")
    assert shop["options_json"] == '{"base_url": "https://REDACTED@stats.example.org/", "site_id": 3}'
    assert shop["state_json"] == '{"cursor": "2026-02-28"}'  # entries holding a credential dropped, never masked
    failed = next(r for r in rows["account_run"] if r["id"] == 1)
    assert failed["error"].startswith("Matomo refused https://stats.example.org/index.php?module=API&token_auth=")
    assert failed["error"].endswith(": HTTP 401")


def test_no_fragment_of_a_stored_secret_is_left_in_the_sqlite_files_bytes(cli, tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    write_as_an_older_release(f"sqlite:///{path}", monkeypatch)
    run_a_command(cli, tmp_path, f"sqlite:///{path}")
    files = [p for p in tmp_path.iterdir() if p.name.startswith("old.db")]
    data = b"".join(p.read_bytes() for p in files)
    assert [f for f in sorted(fragments()) if f.encode() in data] == []
