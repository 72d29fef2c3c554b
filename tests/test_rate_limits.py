"""`[rate_limits]`: a per-platform request budget that many workers share and never exceed, by waiting."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import fast_http, noon
from tests.fakes.counting import CountedPlausible
from tracker import config as cfgmod
from tracker.cli.main import app
from tracker.errors import ConfigError
from tracker.plugin import Plugin, Sample
from tracker.ratelimit import BUILT_IN, RateLimits, Window, parse_rate
from tracker.registry import Entry, discover
from tracker.store.db import open_engine
from tracker.sync import Outcome, Syncer

TODAY = date(2026, 11, 23)
KEY = "plausible-test-key"
ACCOUNTS = 10
WORKERS = 8


@dataclass
class Waits:
    """A progress display that keeps what it is told about rate-limit waits."""

    told: list[tuple[str, float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def started(self, account: str) -> None:
        pass

    def fetched(self, account: str, samples: int) -> None:
        pass

    def finished(self, outcome: Outcome) -> None:
        pass

    def waiting(self, account: str, seconds: float, why: str) -> None:
        with self.lock:
            self.told.append((account, seconds, why))


@pytest.fixture
def fake() -> CountedPlausible:
    server = HTTPServer(threaded=True)  # requests from several workers at once, as a platform gets them
    server.start()
    yield CountedPlausible(server, key=KEY)
    # requests no handler matched and errors in a fake's handler, as conftest's httpserver checks them
    unmatched = [*server.assertions, *server.handler_errors]
    server.clear()
    server.stop()
    assert not unmatched, unmatched[0]


def sync_sites(fake: CountedPlausible, make_config, monkeypatch, rate: str) -> tuple[list[Outcome], Waits]:
    monkeypatch.setenv("TEST_TOKEN", KEY)
    fake.add_visits(date(2026, 11, 22), "Facebook", 10, 8)
    site = {
        "plugin": "plausible", "site_id": "example.com", "token": "${TEST_TOKEN}", "base_url": fake.server.url_for("/")
    }
    cfg = make_config(
        {f"site{i:02d}": dict(site) for i in range(ACCOUNTS)},
        workers=WORKERS, initial_days=1, rate_limits={"plausible": rate},
    )
    waits = Waits()
    engine = open_engine(cfg.database)
    try:
        result = Syncer(cfg, discover(), engine, now=noon(TODAY), http_factory=fast_http, progress=waits).run()
    finally:
        engine.dispose()
    return result.outcomes, waits


def test_many_workers_never_send_more_than_the_configured_rate(fake, make_config, monkeypatch):
    outcomes, _ = sync_sites(fake, make_config, monkeypatch, "5/second")
    assert [o.status for o in outcomes] == ["ok"] * ACCOUNTS, [o.message for o in outcomes]
    assert len(fake.arrivals.times) > 2 * 5, "enough requests to need several windows"
    assert fake.arrivals.most_within(1.0) <= 5


def test_a_spent_budget_is_waited_for_and_the_wait_is_told(fake, make_config, monkeypatch):
    outcomes, waits = sync_sites(fake, make_config, monkeypatch, "5/second")
    assert all(o.status == "ok" for o in outcomes)
    assert waits.told, "the progress display was told of the waits"
    assert {why for _, _, why in waits.told} == {"plausible is limited to 5/second ([rate_limits])"}
    noticed = [n for o in outcomes for n in o.notices if n.startswith("waited ")]
    assert noticed, "an account that waited a second or more says so in a notice"
    told = "s in all before requests: plausible is limited to 5/second ([rate_limits])"
    assert all(n.endswith(told) for n in noticed)


def test_without_a_limit_the_same_sync_goes_over_it(fake, make_config, monkeypatch):
    """The counterpart of the test above: the fake's count is what catches a sync that does not wait."""
    outcomes, waits = sync_sites(fake, make_config, monkeypatch, "none")
    assert all(o.status == "ok" for o in outcomes)
    assert fake.arrivals.most_within(1.0) > 5
    assert waits.told == []


@pytest.mark.parametrize(
    ("text", "count", "period"),
    [
        ("200/hour", 200, 3600), ("5/second", 5, 1), ("10 / minute", 10, 60), ("1000/Day", 1000, 86400),
        ("3/hours", 3, 3600), ("300/15 minutes", 300, 900), ("3000/5minutes", 3000, 300),
    ],
)
def test_a_rate_reads_as_requests_per_second_minute_hour_or_day(text, count, period):
    rate = parse_rate(text)
    assert rate is not None
    assert (rate.count, rate.period) == (count, period)


def test_none_turns_a_default_limit_off():
    assert parse_rate("none") is None
    limits = RateLimits.build({"facebook": None}, {"facebook": None})
    assert limits.rate("facebook") is None


@pytest.mark.parametrize(
    "value", ['"fast"', '"0/hour"', '"200/week"', '"200"', "200", '"-1/second"', '"5/0 minutes"', '"5/1.5 hours"']
)
def test_a_bad_rate_is_one_line_naming_the_key_and_the_form(tmp_path, value):
    path = tmp_path / "config.toml"
    path.write_text(f'[rate_limits]\nfacebook = {value}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        cfgmod.load(path)
    (line,) = caught.value.problems
    assert line.startswith(f'{path}: rate_limits.facebook: must be "N/second|minute|hour|day" with N at least 1')
    assert "\n" not in line


def test_sync_with_a_bad_rate_says_so_in_one_line_with_exit_2(cli, tmp_path, db_url):
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{db_url.removeprefix("sqlite:///")}"\n[rate_limits]\nfacebook = "fast"\n'
        '[accounts.bakery]\nplugin = "demo"\n'
    )
    result = cli.invoke(app, ["sync", "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr == (
        f'error: {config}: rate_limits.facebook: must be "N/second|minute|hour|day" with N at least 1, '
        "like \"200/hour\" or \"300/15 minutes\", or \"none\"; not 'fast'\n"
    )


def test_config_check_names_a_rate_limit_for_a_plugin_that_is_not_installed(cli, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{tmp_path / "t.db"}"\n[rate_limits]\nfacebok = "200/hour"\n', encoding="utf-8")
    result = cli.invoke(app, ["config", "check", "--config", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert f"{config}: rate_limits.facebok: no plugin named 'facebok' (available: " in result.output


def test_rate_limits_must_be_a_table(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('rate_limits = "200/hour"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rate_limits: must be a table like \[rate_limits\]"):
        cfgmod.load(path)


def test_the_config_wins_over_the_plugin_which_wins_over_the_built_in_table():
    declared = {"facebook": "100/hour", "instagram": None, "mine": "7/minute", "quiet": None}
    limits = RateLimits.build({"facebook": parse_rate("50/hour")}, declared)
    assert limits.rate("facebook") == parse_rate("50/hour")
    assert limits.rate("instagram") == parse_rate(BUILT_IN["instagram"])
    assert limits.rate("mine") == parse_rate("7/minute")
    assert limits.rate("quiet") is None


def test_a_plugin_declares_its_own_rate_limit():
    def fetch(opts, window, http, state):
        yield [Sample("paced", "likes", day, 1.0) for day in window.days()]

    registry = discover()
    registry.add(Entry("paced", "test", Plugin(name="paced", platforms=("paced",), fetch=fetch, rate_limit="9/minute")))
    limits = RateLimits.build({}, {p.name: p.rate_limit for p in registry.plugins()})
    assert limits.rate("paced") == parse_rate("9/minute")


def test_every_built_in_default_names_a_built_in_plugin_and_reads_as_a_rate():
    names = {p.name for p in discover().plugins()}
    assert set(BUILT_IN) <= names
    assert all(parse_rate(text) is not None for text in BUILT_IN.values())


def test_a_full_window_gives_the_next_request_a_slot_one_period_after_the_oldest():
    now = [100.0]
    window = Window(parse_rate("5/second"), clock=lambda: now[0])
    assert [window.reserve() for _ in range(5)] == [0.0] * 5
    sixth, seventh = window.reserve(), window.reserve()
    assert sixth >= 1.0 and seventh >= sixth  # a slot leaves the window a period (and a margin) after it was taken
    now[0] += 10.0
    assert window.reserve() == 0.0


def test_two_hosts_of_one_plugin_have_a_budget_each():
    limits = RateLimits.build({"mastodon": parse_rate("1/hour")}, {"mastodon": None})
    one = limits.window("mastodon", "https://mastodon.social/api/v1/accounts/1")
    other = limits.window("mastodon", "https://fosstodon.org/api/v1/accounts/1")
    assert one is not None and other is not None and one is not other
    assert one.reserve() == 0.0 and other.reserve() == 0.0
    assert limits.window("mastodon", "https://mastodon.social/api/v1/statuses") is one
