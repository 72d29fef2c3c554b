"""Shared fixtures: an isolated home, a real SQLite file, configs, syncs and the CLI."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tracker import config as cfgmod
from tracker.http import HttpSession
from tracker.registry import Registry, discover
from tracker.store.db import open_engine
from tracker.sync import Syncer, SyncResult

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every user dir at tmp and drop tracker's env vars, so no test sees the real home."""
    home = tmp_path / "home"
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    for var in list(os.environ):
        if var.startswith("TRACKER_") and not var.startswith("TRACKER_TEST_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "160")
    return home


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tracker.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database on the real PostgreSQL server that .ci/run starts on loopback."""
    admin_url = os.environ.get("TRACKER_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("needs a PostgreSQL server: set TRACKER_TEST_POSTGRES_URL (.ci/run starts one and sets it)")
    name = f"tracker_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def make_config(db_url: str, tmp_path: Path) -> Callable[..., cfgmod.Config]:
    """Build a Config from a dict of accounts, as if read from a TOML file."""

    def make(accounts: dict[str, dict[str, Any]], **top: Any) -> cfgmod.Config:
        raw = {"database": db_url, "timezone": "UTC", **top, "accounts": accounts}
        return cfgmod.parse(raw, tmp_path / "config.toml")

    return make


@pytest.fixture
def registry() -> Registry:
    return discover()


def fast_http(stop: threading.Event) -> HttpSession:
    """Real HTTP with short backoff, so retry tests take milliseconds."""
    return HttpSession(timeout=5, retries=3, backoff=0.01, max_wait=5, stop=stop)


@pytest.fixture
def run_sync(registry: Registry) -> Callable[..., SyncResult]:
    """Run the real sync for a config against its database; `now` pins the accounts' today."""

    def run(
        cfg: cfgmod.Config,
        *,
        accounts: list[str] | None = None,
        since: date | None = None,
        until: date | None = None,
        now: datetime | None = None,
        plugins: Registry | None = None,
    ) -> SyncResult:
        eng = open_engine(cfg.database)
        try:
            syncer = Syncer(cfg, plugins or registry, eng, now=now, http_factory=fast_http)
            return syncer.run(accounts, since, until)
        finally:
            eng.dispose()

    return run


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.fixture
def samples() -> Callable[[str], list[dict[str, Any]]]:
    """All stored samples of a database, as dicts sorted by key."""

    def read(url: str) -> list[dict[str, Any]]:
        eng = open_engine(url)
        try:
            with eng.connect() as conn:
                rows = conn.execute(sa.text("SELECT * FROM sample ORDER BY account, platform, metric, day")).mappings()
                return [dict(r) for r in rows]
        finally:
            eng.dispose()

    return read


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def httpserver(httpserver: Any) -> Iterator[Any]:
    """pytest-httpserver's fake server, failing the test at teardown if a request matched no handler.

    Such a request is answered 500 and only recorded, and so is an exception in a fake's handler; a test that
    passed anyway would hide a plugin calling the API wrongly (a path, method, parameter or header the fake
    does not serve) or a broken fake. A test that sends one on purpose clears it with
    `httpserver.clear_assertions()` and says why.
    """
    yield httpserver
    httpserver.check_assertions()
    httpserver.check_handler_errors()
