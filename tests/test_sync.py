"""The sync: accounts isolated from each other, atomic per account, idempotent, traced."""

import threading
from dataclasses import dataclass
from datetime import UTC, date, timedelta

import pytest
import sqlalchemy as sa

from tracker.errors import ApiError, QuotaExhausted, RateLimited, UnknownAccount
from tracker.plugin import Plugin, Sample, Secret, State, option
from tracker.registry import Entry, discover
from tracker.store.db import open_engine

from .conftest import noon

TODAY = date(2026, 11, 27)


@dataclass(frozen=True)
class TokenOptions:
    token: Secret = option(help="API token")


def plugin(name, fetch, options=None, **kw):
    return Plugin(name=name, platforms=(name,), fetch=fetch, options=options, **kw)


def registry_with(*plugins):
    registry = discover()
    for p in plugins:
        registry.add(Entry(p.name, "test", p))
    return registry


def one_per_day(platform):
    def fetch(opts, window, http, state):
        yield [Sample(platform, "likes", day, day.day) for day in window.days()]

    return fetch


def query(url, sql):
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).all()
    finally:
        engine.dispose()


def test_a_failing_account_does_not_stop_the_others(make_config, run_sync, samples):
    def fails(opts, window, http, state):
        raise ApiError("the platform is down")
        yield

    registry = registry_with(plugin("broken", fails))
    cfg = make_config({"bakery": {"plugin": "demo"}, "other": {"plugin": "broken"}})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry)
    by_name = {o.account: o for o in result.outcomes}
    assert not result.ok
    assert by_name["bakery"].status == "ok" and by_name["bakery"].rows > 0
    assert by_name["other"].status == "failed" and by_name["other"].message == "the platform is down"
    assert {s["account"] for s in samples(cfg.database)} == {"bakery"}


def test_an_account_failing_mid_fetch_leaves_none_of_its_rows(make_config, run_sync, samples):
    def half(opts, window, http, state):
        yield [Sample("half", "likes", window.since, 1)]
        raise ApiError("page 2 failed")

    cfg = make_config({"half": {"plugin": "half"}})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("half", half)))
    assert result.outcomes[0].status == "failed"
    assert samples(cfg.database) == []
    assert query(cfg.database, "SELECT status, error FROM account_run") == [("failed", "page 2 failed")]


def test_running_the_same_sync_twice_stores_each_row_once(make_config, run_sync, samples):
    cfg = make_config({"bakery": {"plugin": "demo"}})
    run_sync(cfg, now=noon(TODAY))
    first = samples(cfg.database)
    run_sync(cfg, now=noon(TODAY))
    second = samples(cfg.database)
    assert len(first) == len(second) > 0
    assert [(r["metric"], r["day"], r["value"]) for r in first] == [(r["metric"], r["day"], r["value"]) for r in second]


def test_every_sample_names_the_run_that_wrote_it(make_config, run_sync):
    cfg = make_config({"bakery": {"plugin": "demo"}})
    first = run_sync(cfg, now=noon(TODAY))
    second = run_sync(cfg, now=noon(TODAY + timedelta(days=1)))
    run_ids = {r[0] for r in query(cfg.database, "SELECT DISTINCT run_id FROM sample")}
    assert run_ids == {first.run_id, second.run_id}
    assert query(cfg.database, "SELECT id, status FROM sync_run ORDER BY id") == [
        (first.run_id, "ok"),
        (second.run_id, "ok"),
    ]


def test_secrets_never_reach_the_message_or_the_database(make_config, run_sync, monkeypatch):
    def leaky(opts, window, http, state):
        raise ApiError(f"rejected token {opts.token.reveal()} at https://api.example/x?access_token={opts.token.reveal()}")
        yield

    monkeypatch.setenv("LEAKY_TOKEN", "tok-123-secret")
    cfg = make_config({"leaky": {"plugin": "leaky", "token": "${LEAKY_TOKEN}"}})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("leaky", leaky, TokenOptions)))
    assert "tok-123-secret" not in result.outcomes[0].message
    stored = query(cfg.database, "SELECT error FROM account_run")[0][0]
    assert "tok-123-secret" not in stored and "***" in stored


def test_options_stored_with_the_account_keep_the_env_reference_not_the_secret(make_config, run_sync, monkeypatch):
    monkeypatch.setenv("PAGE_TOKEN", "tok-456-secret")
    cfg = make_config({"page": {"plugin": "page", "token": "${PAGE_TOKEN}"}})
    run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("page", one_per_day("page"), TokenOptions)))
    (options_json,) = query(cfg.database, "SELECT options_json FROM account")[0]
    assert "${PAGE_TOKEN}" in options_json and "tok-456-secret" not in options_json


def test_a_missing_environment_variable_fails_only_that_account(make_config, run_sync):
    cfg = make_config({"page": {"plugin": "page", "token": "${NOT_SET_ANYWHERE}"}, "bakery": {"plugin": "demo"}})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("page", one_per_day("page"), TokenOptions)))
    by_name = {o.account: o for o in result.outcomes}
    assert by_name["bakery"].status == "ok"
    assert by_name["page"].status == "failed"
    assert "accounts.page.token" in by_name["page"].message and "NOT_SET_ANYWHERE" in by_name["page"].message


def test_a_plugin_bug_is_reported_as_such_and_isolated(make_config, run_sync):
    def buggy(opts, window, http, state):
        yield [Sample("buggy", "likes", window.since, {}["missing"])]

    cfg = make_config({"buggy": {"plugin": "buggy"}})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("buggy", buggy)))
    assert result.outcomes[0].message.startswith("plugin bug: KeyError")


@pytest.mark.parametrize(
    ("sample", "complaint"),
    [
        (Sample("elsewhere", "likes", TODAY, 1), "platform 'elsewhere'"),
        (Sample("strict", "likez", TODAY, 1), "metric 'likez'"),
        (Sample("strict", "likes", TODAY + timedelta(days=1), 1), "outside the window"),
    ],
)
def test_invalid_samples_fail_the_account_with_the_reason(make_config, run_sync, samples, sample, complaint):
    def fetch(opts, window, http, state):
        yield [sample]

    cfg = make_config({"strict": {"plugin": "strict"}})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("strict", fetch)))
    assert complaint in result.outcomes[0].message
    assert samples(cfg.database) == []


def test_namespaced_extra_metrics_are_accepted(make_config, run_sync, samples):
    def fetch(opts, window, http, state):
        yield [Sample("extra", "extra.saves", TODAY, 4)]

    cfg = make_config({"extra": {"plugin": "extra"}})
    assert run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("extra", fetch))).ok
    assert [s["metric"] for s in samples(cfg.database)] == ["extra.saves"]


def test_state_is_saved_and_handed_to_the_next_run(make_config, run_sync):
    seen = []

    def fetch(opts, window, http, state):
        seen.append(dict(state))
        yield [Sample("stateful", "likes", window.until, 1)]
        yield State({"cursor": len(seen)})

    registry = registry_with(plugin("stateful", fetch))
    cfg = make_config({"s": {"plugin": "stateful"}})
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    assert seen == [{}, {"cursor": 1}]


def test_the_next_run_starts_lookback_days_before_the_last_good_day(make_config, run_sync):
    windows = []

    def fetch(opts, window, http, state):
        windows.append((window.since, window.until))
        yield [Sample("w", "likes", window.until, 1)]

    registry = registry_with(plugin("w", fetch, lookback_days=5))
    cfg = make_config({"w": {"plugin": "w"}}, initial_days=10)
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    run_sync(cfg, now=noon(TODAY + timedelta(days=3)), plugins=registry)
    assert windows == [(TODAY - timedelta(days=9), TODAY), (TODAY - timedelta(days=5), TODAY + timedelta(days=3))]


def test_account_lookback_overrides_the_plugin_default(make_config, run_sync):
    windows = []

    def fetch(opts, window, http, state):
        windows.append(window.since)
        yield []

    registry = registry_with(plugin("w", fetch, lookback_days=5))
    cfg = make_config({"w": {"plugin": "w", "lookback_days": 1}})
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    assert windows[1] == TODAY - timedelta(days=1)


def test_a_short_rate_limit_is_waited_out_and_the_fetch_retried(make_config, run_sync, samples):
    calls = []

    def fetch(opts, window, http, state):
        calls.append(1)
        if len(calls) == 1:
            raise RateLimited("slow down", retry_after=0.2)
        yield [Sample("limited", "likes", TODAY, 3)]

    cfg = make_config({"l": {"plugin": "limited"}})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("limited", fetch)))
    assert result.ok and len(calls) == 2
    assert [s["value"] for s in samples(cfg.database)] == [3.0]


def test_rate_limit_retries_share_one_session_so_its_deadline_bounds_the_whole_fetch(make_config, run_sync):
    sessions = []

    def fetch(opts, window, http, state):
        sessions.append(http)  # kept alive, so two sessions can never share an id
        if len(sessions) == 1:
            raise RateLimited("slow down", retry_after=0.1)
        yield [Sample("limited", "likes", TODAY, 3)]

    cfg = make_config({"l": {"plugin": "limited"}})
    assert run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("limited", fetch))).ok
    assert len(sessions) == 2 and sessions[0] is sessions[1]


def test_a_spent_quota_fails_the_account_without_retrying(make_config, run_sync):
    calls = []

    def fetch(opts, window, http, state):
        calls.append(1)
        raise QuotaExhausted("daily quota spent; it resets at midnight UTC")
        yield

    cfg = make_config({"q": {"plugin": "quota"}})
    result = run_sync(cfg, now=noon(TODAY), plugins=registry_with(plugin("quota", fetch)))
    assert result.outcomes[0].message == "daily quota spent; it resets at midnight UTC"
    assert len(calls) == 1


def test_accounts_fetch_concurrently(make_config, run_sync):
    barrier = threading.Barrier(2, timeout=5)

    def together(opts, window, http, state):
        barrier.wait()  # only passes if both accounts are fetching at the same time
        yield []

    registry = registry_with(plugin("together", together))
    cfg = make_config({"a": {"plugin": "together"}, "b": {"plugin": "together"}}, workers=2)
    assert run_sync(cfg, now=noon(TODAY), plugins=registry).ok


def test_unknown_account_name_is_refused(make_config, run_sync):
    cfg = make_config({"bakery": {"plugin": "demo"}})
    with pytest.raises(UnknownAccount, match="nope"):
        run_sync(cfg, accounts=["nope"], now=noon(TODAY))


def test_unknown_plugin_fails_that_account_naming_the_available_ones(make_config, run_sync):
    cfg = make_config({"x": {"plugin": "no_such_plugin"}, "bakery": {"plugin": "demo"}})
    result = run_sync(cfg, now=noon(TODAY))
    by_name = {o.account: o for o in result.outcomes}
    assert "no plugin named 'no_such_plugin'" in by_name["x"].message and "demo" in by_name["x"].message
    assert by_name["bakery"].status == "ok"


def test_stop_marks_the_run_interrupted_and_writes_nothing_half(make_config, registry):
    from tracker.sync import Syncer

    stop = threading.Event()

    def fetch(opts, window, http, state):
        yield [Sample("slow", "likes", TODAY, 1)]
        stop.set()
        http.get("http://127.0.0.1:9/never")  # refused: the session checks stop first

    cfg = make_config({"slow": {"plugin": "slow"}})
    engine = open_engine(cfg.database)
    result = Syncer(cfg, registry_with(plugin("slow", fetch)), engine, stop=stop, now=noon(TODAY)).run()
    assert result.outcomes[0].status == "interrupted"
    assert query(cfg.database, "SELECT status FROM sync_run") == [("interrupted",)]
    assert query(cfg.database, "SELECT COUNT(*) FROM sample") == [(0,)]
    engine.dispose()


def test_a_plugin_option_can_set_the_lookback(make_config, run_sync):
    @dataclass(frozen=True)
    class PostOptions:
        post_lookback_days: int = option(7, help="days of posts to re-read")

    windows = []

    def fetch(opts, window, http, state):
        windows.append(window.since)
        yield []

    registry = registry_with(plugin("posts", fetch, PostOptions, lookback_days=7, lookback_option="post_lookback_days"))
    cfg = make_config({"p": {"plugin": "posts", "post_lookback_days": 14}})
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    run_sync(cfg, now=noon(TODAY), plugins=registry)
    assert windows[1] == TODAY - timedelta(days=14)


def test_a_spent_quota_with_a_reset_time_skips_the_account_until_then(make_config, run_sync):
    from datetime import datetime

    calls = []
    reset = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)

    def fetch(opts, window, http, state):
        calls.append(1)
        if len(calls) == 1:
            raise QuotaExhausted("LinkedIn's daily quota is spent", until=reset)
        yield [Sample("quota", "likes", window.until, 1)]

    registry = registry_with(plugin("quota", fetch))
    cfg = make_config({"q": {"plugin": "quota"}})
    assert run_sync(cfg, now=noon(TODAY), plugins=registry).outcomes[0].status == "failed"
    second = run_sync(cfg, now=noon(TODAY), plugins=registry).outcomes[0]
    assert second.status == "skipped" and "waiting until 2026-11-28 00:00 UTC" in second.message
    assert len(calls) == 1
    third = run_sync(cfg, now=noon(TODAY + timedelta(days=1)), plugins=registry).outcomes[0]
    assert third.status == "ok" and len(calls) == 2


def test_a_run_left_running_by_a_dead_process_is_closed_as_interrupted(make_config, run_sync, engine):
    from tracker.store import writes

    cfg = make_config({"bakery": {"plugin": "demo"}})
    dead = writes.start_run(engine, "manual")
    writes.start_account_run(engine, dead, "bakery", TODAY, TODAY)  # the process was killed here
    run_sync(cfg, now=noon(TODAY))
    rows = query(cfg.database, "SELECT run_id, status, error FROM account_run ORDER BY id")
    assert rows[0] == (dead, "interrupted", "the process ended before this run finished")
    assert rows[1][1] == "ok"
