"""Generated inputs for every parser that reads what a stranger wrote: platform answers, shop and metric
exports, the config (issue 17).

Hand-written cases test the shapes someone thought of; hypothesis generates the ones nobody did (a count of
1e308 where an integer was, an object where a list was, a date of 0001-01-01, a cell of 200,000 characters)
and shrinks a failure to its smallest form. The rule each test checks: no input ends in anything but a
domain error (`TrackerError`, whose one line the user sees) or a result the store may take, and nothing
that is kept holds a non-finite number.

Platform answers go through the real HTTP path: each plugin first fetches from its fake server
(tests/fakes/), the server's log is kept as a script, and every generated example then replays that script
from the same local server with one answer changed, so a plugin reads the bytes over a socket exactly as it
reads a platform.

Every test is bounded (`max_examples`) and derandomized, so CI sees the same examples each run; the whole
module takes well under a minute (TRACKER_TEST_FUZZ_SCALE multiplies the examples for a longer hunt).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.fakes.google_business import ACCOUNT, LOCATION, FakeGoogleBusiness, write_token_file
from tests.fakes.pinterest import TOKEN as PIN_TOKEN
from tests.fakes.pinterest import FakePinterest
from tests.fakes.threads import TOKEN as THREADS_TOKEN
from tests.fakes.threads import FakePost, FakeThreads, FakeThreadsUser
from tests.fakes.tiktok import BUSINESS_ID, BUSINESS_TOKEN, DISPLAY_TOKEN, FakeTikTok
from tests.test_response_shapes import CASES, SECRETS
from tracker import config as cfgmod
from tracker.collect import Fetched
from tracker.errors import TrackerError
from tracker.registry import discover
from tracker.testing import fetch_once, window
from tracker.windows import plan_window

TODAY = date(2026, 11, 23)
Options = dict[str, Any]


def fuzz_settings(examples: int) -> settings:
    """Few examples, the same ones every run, no example database left in the work tree.

    TRACKER_TEST_FUZZ_SCALE=20 searches twenty times longer (for a local hunt; CI keeps the bound).
    """
    return settings(
        max_examples=examples * int(os.environ.get("TRACKER_TEST_FUZZ_SCALE", "1")),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def assert_storable(fetched: Fetched) -> None:
    """What the sync would store: every sample and amount a finite number."""
    for sample in fetched.samples:
        assert isinstance(sample.value, (int, float)) and math.isfinite(sample.value), sample
    for record in fetched.conversions:
        assert record.amount is None or math.isfinite(record.amount), record


# --- generated JSON ----------------------------------------------------------------------------------------

ODD_TEXT = [
    "", " ", "0", "-1", "12", "1e308", "-1e308", "1e400", "NaN", "Infinity", "-Infinity", "12,5", "1.234,56",
    "0x1F", "٣", "2026-11-20", "2026-11-20T09:00:00+0000", "2026-13-45", "0001-01-01", "9999-12-31T23:59:59Z",
    "null", "[]", "{}", "\x00", "\u202e", "=HYPERLINK(\"http://x\")", "a" * 300,
]
ODD_NUMBERS = [0, -1, -0.0, 2**31, 2**63, 2**64, 10**19, -(10**19), 10**400, -(10**400), 1e308, -1e308, 5e-324,
               float("nan"), float("inf"), float("-inf")]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(ODD_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def paths(value: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every place in a JSON value, with what is there (the root first)."""
    yield here, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*here, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from paths(child, (*here, i))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (replaced(v, rest, new) if k == head else v) for k, v in value.items()}
    return [replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]


def without(value: Any, path: tuple[Any, ...]) -> Any:
    """`value` with the key or item at `path` left out."""
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (without(v, rest) if k == head and rest else v) for k, v in value.items() if rest or k != head}
    return [without(v, rest) if i == head and rest else v for i, v in enumerate(value) if rest or i != head]


# --- a local server that replays a recorded fetch with one answer changed -----------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Script:
    """The fake's answers to one real fetch, served again by request; one of them may be swapped."""

    exact: dict[tuple[str, str, bytes, bytes], Answer] = field(default_factory=dict)
    loose: dict[tuple[str, str, bytes], Answer] = field(default_factory=dict)
    order: list[tuple[str, str, bytes, bytes]] = field(default_factory=list)
    swapped: dict[tuple[str, str, bytes], Answer] = field(default_factory=dict)  # by method, path and query
    served: int = 0
    limit: int = 0

    @classmethod
    def recorded(cls, server: HTTPServer) -> Script:
        script = cls()
        for request, response in server.log:
            key = (request.method, request.path, request.query_string, request.get_data())
            headers = tuple((k, v) for k, v in response.headers.items() if k.lower() in ("content-type", "retry-after"))
            answer = Answer(response.status_code, headers, response.get_data())
            if key not in script.exact:
                script.order.append(key)
            script.exact.setdefault(key, answer)
            script.loose.setdefault(key[:3], answer)  # a signed token request (a JWT's iat) differs each time
        script.limit = 4 * len(script.log_keys()) + 20
        return script

    def log_keys(self) -> list[tuple[str, str, bytes, bytes]]:
        return self.order

    def json_answers(self) -> list[tuple[str, str, bytes, bytes]]:
        return [k for k in self.order if 200 <= self.exact[k].status < 300 and self.exact[k].json() is not None]

    def serve(self, request: Request) -> Response:
        self.served += 1
        key = (request.method, request.path, request.query_string, request.get_data())
        answer = self.swapped.get(key[:3]) or self.exact.get(key) or self.loose.get(key[:3])
        if answer is None or self.served > self.limit:
            body = json.dumps({"error": {"message": "no such recorded request", "code": 404}})
            return Response(body, status=404, content_type="application/json")
        return Response(answer.body, status=answer.status, headers=list(answer.headers))


@dataclass(frozen=True)
class Subject:
    """A built-in HTTP plugin, how to seed its fake, and the secrets its options name."""

    plugin: str
    start: Callable[[HTTPServer, Path, date], Options]
    env: Mapping[str, str] = field(default_factory=lambda: dict(SECRETS))
    days: int = 4

    def __str__(self) -> str:
        return self.plugin


def threads(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeThreads(server, today=today)
    span = [today - timedelta(days=i) for i in range(1, 12)]
    fake.add_user(FakeThreadsUser(
        "17841400000000001",
        daily={m: {d: 10 + d.day for d in span} for m in ("views", "likes", "replies", "reposts", "quotes")},
        clicks={"https://acme.example/menu": {d: d.day % 5 for d in span}},
        posts=[FakePost("m1", datetime.combine(today - timedelta(days=2), time(9), UTC), "TEXT_POST",
                        {"views": 50, "likes": 9, "shares": 2})],
    ))
    return {"user_id": "17841400000000001", "token": "${THREADS_TOKEN}", "base_url": server.url_for("/")}


def tiktok_business(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeTikTok(server, today=today, last_complete=today - timedelta(days=2))
    for i in range(12):
        fake.seed(today - timedelta(days=i), video_views=1000 + i, likes=90 + i, comments=i % 7, shares=i % 5,
                  profile_views=40, daily_new_followers=5, daily_lost_followers=1, daily_total_followers=4)
    fake.post(datetime.combine(today - timedelta(days=3), time(9), UTC), likes=12, views=300)
    return {"token": "${BIZ}", "business_id": BUSINESS_ID, "base_url": server.url_for("/")}


def tiktok_display(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeTikTok(server, today=today, last_complete=today - timedelta(days=2))
    fake.post(datetime.combine(today - timedelta(days=3), time(9), UTC), likes=12, views=300)
    return {"token": "${DISP}", "base_url": server.url_for("/")}


def pinterest(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakePinterest(server, today=today)
    for i in range(40):
        day = today - timedelta(days=i)
        fake.seed(day, IMPRESSION=500 + i, SAVE=i % 7, PIN_CLICK=20 + i, OUTBOUND_CLICK=i % 11, ENGAGEMENT=30 + i)
    fake.pin("1", datetime.combine(today - timedelta(days=3), time(9), UTC), reactions=4, comments=1)
    return {"token": "${PIN_TOKEN}", "base_url": fake.url()}


def google_business(server: HTTPServer, tmp: Path, today: date) -> Options:
    fake = FakeGoogleBusiness(server)
    token_file = write_token_file(tmp, fake.token_uri)
    for i in range(20):
        fake.seed(today - timedelta(days=i), CALL_CLICKS=i % 4, WEBSITE_CLICKS=3 + i % 5,
                  BUSINESS_IMPRESSIONS_MOBILE_MAPS=40 + i, BUSINESS_DIRECTION_REQUESTS=i % 3)
    return {"location_id": LOCATION, "account_id": ACCOUNT, "credentials_file": str(token_file),
            "base_url": server.url_for("/"), "reviews_base_url": server.url_for("/")}


EXTRA_ENV = {"THREADS_TOKEN": THREADS_TOKEN, "BIZ": BUSINESS_TOKEN, "DISP": DISPLAY_TOKEN, "PIN_TOKEN": PIN_TOKEN}
SUBJECTS = [Subject(case.plugin, case.start) for case in CASES] + [
    Subject("threads", threads, EXTRA_ENV),
    Subject("tiktok", tiktok_business, EXTRA_ENV),
    Subject("tiktok", tiktok_display, EXTRA_ENV),
    Subject("pinterest", pinterest, EXTRA_ENV),
    Subject("google_business", google_business, EXTRA_ENV),
]
SUBJECT_IDS = [f"{s.plugin}-{s.start.__name__}" if s.plugin == "tiktok" else s.plugin for s in SUBJECTS]


@dataclass
class Recorded:
    """One plugin's real fetch from its fake, ready to be replayed with changed answers."""

    subject: Subject
    options: Options
    script: Script
    server: HTTPServer

    def fetch(self, swapped: dict[tuple[str, str, bytes], Answer]) -> Fetched | TrackerError:
        """The plugin's fetch against the script with `swapped` answers; a domain error is an answer too."""
        self.script.swapped, self.script.served = swapped, 0
        plugin = discover().get(self.subject.plugin)
        win = window(TODAY - timedelta(days=self.subject.days - 1), TODAY)
        try:
            fetched = fetch_once(plugin, self.options, win, env=self.subject.env)
        except TrackerError as exc:
            return exc
        assert self.script.served <= self.script.limit, "the plugin kept asking: does it loop on a repeated cursor?"
        return fetched


def record(subject: Subject, server: HTTPServer, tmp: Path) -> Recorded:
    options = subject.start(server, tmp, TODAY)
    plugin = discover().get(subject.plugin)
    first = fetch_once(plugin, options, window(TODAY - timedelta(days=subject.days - 1), TODAY), env=subject.env)
    assert first.samples or first.conversions, f"{subject}: the fake gave nothing to replay"
    script = Script.recorded(server)
    server.clear()
    server.expect_request(re.compile(".*")).respond_with_handler(script.serve)
    recorded = Recorded(subject, options, script, server)
    again = recorded.fetch({})
    assert isinstance(again, Fetched) and set(again.samples) == set(first.samples), f"{subject}: the replay differs"
    return recorded


def swap(key: tuple[str, str, bytes, bytes], old: Answer, body: bytes, status: int | None = None) -> dict:
    headers = (("Content-Type", "application/json"),)
    return {key[:3]: Answer(old.status if status is None else status, headers, body)}


def dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@pytest.mark.parametrize("subject", SUBJECTS, ids=SUBJECT_IDS)
def test_answers_of_the_right_shape_with_any_values_end_in_data_or_a_domain_error(
    subject: Subject, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Same keys and nesting as the platform's answer; some of the values replaced by any JSON scalar."""
    recorded = record(subject, httpserver, tmp_path)
    keys = recorded.script.json_answers()

    @fuzz_settings(25)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(keys), label="answer")
        old = recorded.script.exact[key]
        body = old.json()
        leaves = [p for p, v in paths(body) if not isinstance(v, (dict, list))]
        for _ in range(data.draw(st.integers(1, 4), label="changes")):
            if not leaves:
                break
            where = data.draw(st.sampled_from(leaves), label="leaf")
            body = replaced(body, where, data.draw(scalars, label="value"))
        result = recorded.fetch(swap(key, old, dumps(body)))
        if isinstance(result, Fetched):
            assert_storable(result)

    run()


BODIES = st.one_of(
    json_values.map(dumps),
    st.binary(max_size=64),
    st.sampled_from([b"", b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
                     b"1" * 5_000, b"<html>Service Unavailable</html>", b"\xff\xfe{\x00}\x00", b"null"]),
)


@pytest.mark.parametrize("subject", SUBJECTS, ids=SUBJECT_IDS)
def test_answers_of_any_shape_end_in_data_or_a_domain_error(
    subject: Subject, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A part of an answer replaced by any JSON or left out, a whole body of any bytes, an error of any body."""
    recorded = record(subject, httpserver, tmp_path)
    keys = recorded.script.json_answers()

    @fuzz_settings(30)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(keys), label="answer")
        old = recorded.script.exact[key]
        body = old.json()
        how = data.draw(st.sampled_from(["part", "leave out", "whole body", "error status"]), label="how")
        places = [p for p, _ in paths(body)]
        if how == "part":
            where = data.draw(st.sampled_from(places), label="where")
            answer = swap(key, old, dumps(replaced(body, where, data.draw(json_values, label="value"))))
        elif how == "leave out" and len(places) > 1:
            answer = swap(key, old, dumps(without(body, data.draw(st.sampled_from(places[1:]), label="where"))))
        elif how == "error status":
            status = data.draw(st.sampled_from([400, 401, 403, 404, 409, 426, 429, 500, 503]), label="status")
            answer = swap(key, old, data.draw(BODIES, label="body"), status)
        else:
            answer = swap(key, old, data.draw(BODIES, label="body"))
        result = recorded.fetch(answer)
        if isinstance(result, Fetched):
            assert_storable(result)

    run()


# --- shop exports and metric exports ------------------------------------------------------------------------

SHOP_HEADERS = ["Name", "Created at", "Total", "Order #", "Date", "Order Date", "Amount", "Net sales", "Currency",
                "Discount Code", "Source", "utm_source", "Kind", "Financial Status", "Status", "Refunded Amount",
                "Note Attributes", "Cancelled at", "How did you hear about us?", "Lineitem quantity"]
METRIC_HEADERS = ["Date", "Datum", "Day", "Impressions", "Impressionen", "Clicks", "Reactions", "Comments",
                  "Reposts", "Engagement rate", "New followers", "Total followers", "Followers", "Metric", "Value",
                  "followers", "likes", "views"]
CELLS = st.one_of(
    st.sampled_from([
        "", "2026-11-20", "2026-11-20 09:15:00 +0100", "20.11.2026", "11/20/2026", "20/11/2026", "0001-01-01",
        "9999-12-31", "2026-02-30", "10.00", "1.234,56", "12,50 €", "-5", "1e308", "1,67185E+13", "NaN", "inf",
        "9" * 400, "=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(A1)", "paid", "refunded",
        "cancelled", "lead", "order", "instagram", "INSTA10", "EUR", "€", "-", "n/a", "x" * 140_000, "a\x00b",
        "line\nbreak", '"', "1 204", "1.204", "3,5%",
    ]),
    st.text(max_size=10),
)


@st.composite
def tables(draw: st.DrawFn, headers: list[str]) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(st.one_of(st.sampled_from(headers), st.text(max_size=8)), min_size=1, max_size=6))
    width = st.integers(max(0, len(header) - 1), len(header) + 1)
    rows = draw(st.lists(width.flatmap(lambda n: st.lists(CELLS, min_size=n, max_size=n)), max_size=6))
    return header, rows


@st.composite
def export_bytes(draw: st.DrawFn, headers: list[str]) -> bytes:
    """A generated table written as a spreadsheet program might: any delimiter, encoding and quoting, or junk."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    header, rows = draw(tables(headers))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    out = io.StringIO()
    if draw(st.booleans()):
        csv.writer(out, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(
            [header, *rows])
    else:  # unquoted: a delimiter, a quote or a line break inside a cell breaks the row
        out.write("\n".join(delimiter.join(r) for r in [header, *rows]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    return out.getvalue().encode(encoding, errors="replace")


def fetch_file(plugin: str, raw: Options, content: bytes, path: Path) -> Fetched | TrackerError:
    path.write_bytes(content)
    try:
        return fetch_once(discover().get(plugin), raw, window(TODAY - timedelta(days=400), TODAY))
    except TrackerError as exc:
        return exc


def test_generated_shop_exports_end_in_records_or_a_domain_error(tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"

    @fuzz_settings(120)
    @given(export_bytes(SHOP_HEADERS), st.sampled_from(["", "order", "lead"]))
    @example(b"\xc2", "")  # a file cut inside a UTF-8 character, found by this test
    def run(content: bytes, kind: str) -> None:
        result = fetch_file("csv", {"path": str(export), "kind": kind}, content, export)
        if isinstance(result, Fetched):
            assert_storable(result)

    run()


def test_generated_metric_exports_end_in_samples_or_a_domain_error(tmp_path: Path) -> None:
    export = tmp_path / "content.csv"

    @fuzz_settings(100)
    @given(export_bytes(METRIC_HEADERS))
    @example(b"Date,Impressions\n2026-11-20,5\n\xc2")
    def run(content: bytes) -> None:
        result = fetch_file("metrics_csv", {"path": str(export), "platform": "linkedin"}, content, export)
        if isinstance(result, Fetched):
            assert_storable(result)

    run()


def xlsx_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX_CELLS = st.one_of(CELLS.filter(lambda c: "\x00" not in c and len(c) < 30_000), st.integers(-10**6, 10**15),
                       st.floats(allow_nan=False), st.dates(date(1900, 1, 1), date(2100, 1, 1)), st.none())


def test_generated_xlsx_metric_exports_end_in_samples_or_a_domain_error(tmp_path: Path) -> None:
    export = tmp_path / "content.xlsx"

    @fuzz_settings(25)
    @given(st.lists(st.one_of(st.sampled_from(METRIC_HEADERS), st.text(max_size=8)), min_size=1, max_size=4),
           st.lists(st.lists(XLSX_CELLS, max_size=5), max_size=5), st.booleans())
    def run(header: list[str], rows: list[list[Any]], broken: bool) -> None:
        header = [re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", h) for h in header]
        rows = [[re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", c) if isinstance(c, str) else c for c in r] for r in rows]
        content = xlsx_bytes(header, rows)
        if broken:  # a download cut short
            content = content[: len(content) // 2]
        result = fetch_file("metrics_csv", {"path": str(export), "platform": "xing"}, content, export)
        if isinstance(result, Fetched):
            assert_storable(result)

    run()


# --- the config ----------------------------------------------------------------------------------------------

ODD_SETTINGS = st.sampled_from([
    "demo", "csv", "UTC", "Europe/Berlin", "Europe", "../../etc/passwd", "~nosuchuser/x", "a\x00b", "06:30", "25:99",
    "* * * * *", "*/0 * * * *", "${HOME}", "http://u:p@h/x", "x" * 300, "",
    0, -1, 1, 10**6, 10**11, 2**63, 10**30, math.nan, math.inf, -math.inf, 1e308,
])
toml_scalars = st.one_of(
    ODD_SETTINGS,
    ODD_SETTINGS,  # twice: a setting meets an odd value as often as a generated one
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.times(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)
def some_of(keys: object, values: st.SearchStrategy[Any] = toml_values) -> st.SearchStrategy[dict[str, Any]]:
    """A table holding any of `keys` (each about half the time) and now and then a key nobody knows."""
    known = st.fixed_dictionaries({}, optional={k: values for k in sorted(keys)})  # type: ignore[call-overload]
    unknown = st.dictionaries(st.text(max_size=6), toml_values, max_size=1)
    return st.builds(lambda a, b: {**b, **a}, known, unknown)


ACCOUNT_KEYS = cfgmod.ACCOUNT_KEYS | {"seed", "path", "token"}
accounts = st.dictionaries(
    st.one_of(st.sampled_from(["shop", "manual", "", "=cmd"]), st.text(max_size=8)),
    st.one_of(
        some_of(ACCOUNT_KEYS).map(lambda t: {"plugin": "demo", **t}),
        toml_values,
    ),
    max_size=3,
)
TABLES = {"accounts", "effort", "schedule", "alerts", "attribution"}
configs = st.builds(
    lambda top, tables: {**top, **tables},
    some_of(cfgmod.TOP_KEYS - TABLES),
    st.fixed_dictionaries({}, optional={
        "accounts": accounts,
        "effort": st.dictionaries(st.text(max_size=8), st.one_of(some_of({"monthly_cost", "hours_per_week"}),
                                                                   toml_values), max_size=2),
        "schedule": st.one_of(some_of(set(cfgmod.SCHEDULE_KEYS)), toml_values),
        "alerts": st.one_of(some_of(set(cfgmod.ALERT_KEYS)), toml_values),
        "attribution": st.one_of(some_of({"hosts", "sources"}, st.dictionaries(st.text(max_size=6), toml_values,
                                                                                max_size=2)), toml_values),
    }),
)


def test_generated_configs_parse_or_name_their_problems(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"

    @fuzz_settings(300)
    @given(configs)
    @example({"database": "~nosuchuser/tracker.db"})  # the crashes this test found, kept as regressions
    @example({"plugin_dirs": ["a\x00b"]})
    @example({"hourly_rate": math.nan})
    @example({"effort": {"instagram": {"monthly_cost": math.inf}}})
    @example({"lookback_days": 10**11, "accounts": {"shop": {"plugin": "demo"}}})
    @example({"accounts": {"shop": {"plugin": "demo", "initial_days": 10**11}}})
    def run(raw: dict[str, Any]) -> None:
        try:
            cfg = cfgmod.parse(raw, path)
        except cfgmod.ConfigError as exc:
            assert exc.problems and all(p.startswith(f"{path}: ") for p in exc.problems)
            return
        assert math.isfinite(cfg.hourly_rate)
        assert all(math.isfinite(e.monthly_cost) and math.isfinite(e.hours_per_week) for e in cfg.effort.values())
        for account in cfg.accounts:  # what the first and every later sync plans from these numbers
            for last in (None, TODAY - timedelta(days=1)):
                plan_window(tz=account.timezone, today=TODAY, last_good_day=last,
                            lookback_days=account.lookback_days or cfg.lookback_days,
                            initial_days=account.initial_days)

    run()


def test_generated_config_files_load_or_name_their_problems(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    pieces = st.sampled_from(["[accounts.a]\n", 'plugin = "demo"\n', "a = ", "[", "]", "{", "}", '"', "'''", "\n",
                              "=", "1e999", "nan", "inf", "1979-05-27T07:32:00Z", "0x", "\\u0000", "[[x]]\n", ","])

    @fuzz_settings(150)
    @given(st.one_of(st.lists(pieces, max_size=30).map("".join).map(str.encode), st.binary(max_size=200),
                     st.just(b"a = " + b"[" * 50_000), st.just(b"a = " + b"{b = " * 20_000)))
    def run(content: bytes) -> None:
        path.write_bytes(content)
        try:
            cfgmod.load(path)
        except cfgmod.ConfigError as exc:
            assert exc.problems and all(p.startswith(f"{path}: ") for p in exc.problems)

    run()


def test_a_count_too_large_for_a_float_is_dropped_with_a_notice_not_a_crash() -> None:
    """What the fuzz found in X's and Bluesky's follower counts: JSON holds integers of 400 digits."""
    from tracker.collect import sample_problem
    from tracker.plugin import Sample

    notice = sample_problem(Sample("x", "followers", TODAY, 10**400))
    assert notice is not None and "that number was dropped" in notice


def test_a_post_count_too_large_for_a_float_drops_the_post_with_a_notice_not_a_crash() -> None:
    """What the fuzz found in X's retweet_count: the post's counts pass the same guard as samples."""
    from tracker.collect import post_problem
    from tracker.plugin import PostStat

    post = PostStat(platform="x", post_id="1", url="https://x.com/i/status/1",
                    published=datetime(2026, 11, 20, 9, tzinfo=UTC), likes=10**400)
    notice = post_problem(post)
    assert notice is not None and "the post was dropped" in notice
