"""The Matomo plugin against a fake Matomo Reporting API."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED_FIXTURES, noon
from tests.fakes.matomo import FakeMatomo
from tracker.errors import ApiError, AuthError
from tracker.http import HttpSession
from tracker.testing import check_plugin, fetch_once, make_options, raises_domain_error, window
from tracker_plugins import matomo as module
from tracker_plugins.matomo import plugin

TODAY = date(2026, 11, 23)
TOKEN = "0123456789abcdef0123456789abcdef"
ENV = {"TEST_TOKEN": TOKEN}
NOV2, NOV9 = date(2026, 11, 2), date(2026, 11, 9)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeMatomo:
    return FakeMatomo(httpserver, token=TOKEN)


def options(fake: FakeMatomo, **extra: object) -> dict[str, object]:
    return {"base_url": fake.server.url_for("/"), "site_id": 3, "token": "${TEST_TOKEN}", **extra}


def seed(fake: FakeMatomo) -> None:
    fake.add(NOV2, "social", "Facebook", 12, 11, goals={"1": (2, 0), "ecommerceOrder": (1, 79.8)})
    fake.add(NOV2, "social", "Twitter", 2)
    fake.add(NOV2, "social", "reddit", 1)
    fake.add(NOV2, "direct", "", 20, 18, goals={"ecommerceOrder": (1, 35)})
    fake.add(NOV2, "search", "Google", 6)
    fake.add(NOV2, "website", "blog.example", 3)
    fake.add(NOV2, "campaign", "ig", 4, goals={"1": (1, 0)})  # utm_source=ig and no campaign name
    fake.add(NOV2, "campaign", "Spring-Sale", 2)
    fake.add(NOV9, "social", "Facebook", 5)


def stored(rows: list[dict], platform: str, metric: str, day: date) -> float | None:
    match = [r["value"] for r in rows if (r["platform"], r["metric"], r["day"]) == (platform, metric, day.isoformat())]
    return match[0] if match else None


def test_conformance_kit_passes(fake: FakeMatomo) -> None:
    seed(fake)
    result = check_plugin(plugin, options(fake), since=date(2026, 11, 1), until=date(2026, 11, 10), env=ENV)
    assert {s.platform for s in result.samples} == {
        "facebook",
        "x",
        "reddit",
        "direct",
        "other",
        "instagram",
        "unattributed",
    }


def test_base_url_is_required_because_matomo_is_self_hosted() -> None:
    from tracker import options as config_options

    _, problems = config_options.build(plugin, {"site_id": 3, "token": "${T}"}, where="test", env={"T": "x"})
    assert any("base_url" in p for p in problems)


def test_sync_stores_visits_and_conversions_per_day_per_platform(
    fake, make_config, run_sync, samples, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    seed(fake)
    cfg = make_config({"stats": {"plugin": "matomo", **options(fake)}})
    result = run_sync(cfg, now=noon(TODAY))
    assert result.ok, result.outcomes
    rows = samples(cfg.database)
    expected = {
        ("facebook", "visits", NOV2): 12,
        ("facebook", "visitors", NOV2): 11,
        ("facebook", "leads", NOV2): 2,
        ("facebook", "orders", NOV2): 1,
        ("facebook", "conversions", NOV2): 3,
        ("facebook", "revenue", NOV2): 79.8,
        ("facebook", "visits", NOV9): 5,
        ("facebook", "visits", date(2026, 11, 5)): 0,
        ("direct", "visits", NOV2): 20,
        ("direct", "orders", NOV2): 1,
        ("direct", "revenue", NOV2): 35,
        ("x", "visits", NOV2): 2,
        ("reddit", "visits", NOV2): 1,
        ("instagram", "visits", NOV2): 4,
        ("instagram", "leads", NOV2): 1,
        ("other", "visits", NOV2): 9,  # a search engine and an unknown website: kept, as other
        ("unattributed", "visits", NOV2): 2,  # a campaign whose name says nothing about its source
    }
    assert {key: stored(rows, *key) for key in expected} == expected


def test_referrers_that_map_to_one_platform_are_summed_per_day(fake: FakeMatomo) -> None:
    fake.add(NOV2, "social", "Mastodon", 3)
    fake.add(NOV2, "website", "mstdn.example", 2)  # an instance missing from Matomo's social list
    raw = options(fake, attribution={"hosts": {"mstdn.example": "mastodon"}})
    result = fetch_once(plugin, raw, window(NOV2, NOV2), env=ENV)
    assert [(s.platform, s.value) for s in result.samples if s.metric == "visits"] == [("mastodon", 5)]


def test_goals_option_counts_only_the_listed_goals(fake: FakeMatomo) -> None:
    seed(fake)
    result = fetch_once(plugin, options(fake, goals=["1"]), window(NOV2, NOV2), env=ENV)
    facebook = {s.metric: s.value for s in result.samples if s.platform == "facebook"}
    assert (facebook["conversions"], facebook["leads"], facebook["orders"], facebook["revenue"]) == (2, 2, 0, 0)


def test_abandoned_carts_are_not_conversions(fake: FakeMatomo) -> None:
    fake.add(NOV2, "social", "Facebook", 4, goals={"ecommerceAbandonedCart": (3, 90.0)})
    result = fetch_once(plugin, options(fake), window(NOV2, NOV2), env=ENV)
    facebook = {s.metric: s.value for s in result.samples if s.platform == "facebook"}
    assert (facebook["conversions"], facebook["orders"], facebook["revenue"]) == (0, 0, 0)


def test_multi_page_day_tables_are_read_to_the_end(fake: FakeMatomo, monkeypatch) -> None:
    monkeypatch.setattr(module, "PAGE_SIZE", 2)
    for n in range(1, 6):
        fake.add(NOV2, "website", f"site{n}.example", n)
    result = fetch_once(plugin, options(fake), window(NOV2, NOV2), env=ENV)
    assert [s.value for s in result.samples if (s.platform, s.metric) == ("other", "visits")] == [15]
    pages = [r["form"]["filter_offset"] for r in fake.requests if r["form"]["method"] == "Referrers.getWebsites"]
    assert pages == ["0", "2", "4"]


def test_backfill_longer_than_31_days_is_split_into_31_day_requests(
    fake, make_config, run_sync, samples, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_TOKEN", TOKEN)
    fake.add(date(2026, 1, 1), "social", "Facebook", 1)
    fake.add(date(2026, 3, 11), "social", "Facebook", 7)
    cfg = make_config({"stats": {"plugin": "matomo", **options(fake)}})
    result = run_sync(cfg, since=date(2026, 1, 1), until=date(2026, 3, 11), now=noon(TODAY))
    assert result.ok, result.outcomes
    ranges = [r["form"]["date"] for r in fake.requests if r["form"]["method"] == "Referrers.getSocials"]
    assert ranges == ["2026-01-01,2026-01-31", "2026-02-01,2026-03-03", "2026-03-04,2026-03-11"]
    rows = samples(cfg.database)
    assert stored(rows, "facebook", "visits", date(2026, 1, 1)) == 1
    assert stored(rows, "facebook", "visits", date(2026, 3, 11)) == 7


def test_token_is_sent_in_the_post_body_and_never_in_a_url(fake: FakeMatomo) -> None:
    seed(fake)
    fetch_once(plugin, options(fake), window(NOV2, NOV9), env=ENV)
    assert len(fake.requests) == 4
    for request in fake.requests:
        assert request["method"] == "POST"
        assert TOKEN not in request["url"]
        assert request["form"]["token_auth"] == TOKEN


def test_invalid_token_fails_the_account_with_one_line_and_no_token(fake, make_config, run_sync, monkeypatch) -> None:
    monkeypatch.setenv("TEST_TOKEN", "ffffffffffffffffffffffffffffffff")
    cfg = make_config({"stats": {"plugin": "matomo", **options(fake)}})
    outcome = run_sync(cfg, now=noon(TODAY)).outcomes[0]
    assert outcome.status == "failed"
    assert "refused the token for site 3" in outcome.message and "'view' access" in outcome.message
    assert "ffffffff" not in outcome.message and "\n" not in outcome.message


@pytest.mark.parametrize("legacy", [False, True], ids=["matomo5-http401", "older-http200"])
def test_token_errors_are_auth_errors_in_both_envelope_styles(fake: FakeMatomo, legacy: bool) -> None:
    fake.legacy_errors = legacy
    error = raises_domain_error(plugin, options(fake), window(NOV2, NOV2), env={"TEST_TOKEN": "bad"})
    assert isinstance(error, AuthError)


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("Referrers.getFoo", {}, "The method 'getFoo' does not exist"),  # HTTP 400 in Matomo 5.2
        ("Referrers.getSocials", {"period": "day", "date": "2026-13"}, "Date format must be"),  # HTTP 200
    ],
    ids=["unknown-method-400", "bad-date-200"],
)
def test_error_envelopes_become_one_line_api_errors(fake: FakeMatomo, method: str, params: dict, expected: str) -> None:
    opts = make_options(plugin, options(fake), env=ENV)
    with HttpSession(retries=0) as http, pytest.raises(ApiError) as caught:
        module.call(http, opts, method, **params)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_an_html_page_instead_of_json_names_base_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/index.php").respond_with_data("<html>Sign in</html>", content_type="text/html")
    raw = {"base_url": httpserver.url_for("/"), "site_id": 3, "token": "${TEST_TOKEN}"}
    error = raises_domain_error(plugin, raw, window(NOV2, NOV2), env=ENV)
    assert isinstance(error, ApiError) and "base_url" in str(error)


def test_last_two_days_are_provisional(fake: FakeMatomo) -> None:
    fake.add(TODAY, "direct", "", 1)
    result = fetch_once(plugin, options(fake), window(date(2026, 11, 20), TODAY), env=ENV)
    assert {s.day for s in result.samples if s.provisional} == {date(2026, 11, 22), TODAY}


def test_check_names_the_site_and_its_time_zone(fake: FakeMatomo) -> None:
    opts = make_options(plugin, options(fake), env=ENV)
    with HttpSession(retries=0) as http:
        assert (
            plugin.check(opts, http)
            == "site Bäckerei Lindner (https://baeckerei.example), time zone Europe/Berlin, EUR"
        )


def test_check_with_a_wrong_site_raises_auth_error(fake: FakeMatomo) -> None:
    opts = make_options(plugin, options(fake, site_id=4), env=ENV)
    with HttpSession(retries=0) as http, pytest.raises(AuthError, match="site 4"):
        plugin.check(opts, http)


def _xml_rows(element: ET.Element) -> list[dict[str, Any]]:
    """Matomo's XML rows in their JSON form: <goals><row idgoal='1'> -> {"goals": {"idgoal=1": {...}}}."""
    rows = []
    for row in element.findall("row"):
        out: dict[str, Any] = {}
        for child in row:
            if child.tag == "goals":
                out["goals"] = {f"idgoal={g.get('idgoal')}": {c.tag: c.text for c in g} for g in child.findall("row")}
            elif child.tag != "subtable":
                out[child.tag] = child.text
        rows.append(out)
    return rows


def test_fake_and_parser_agree_with_matomos_recorded_outputs(fake: FakeMatomo) -> None:
    folder = SHARED_FIXTURES / "matomo"
    if not folder.is_dir():
        pytest.skip(f"recorded Matomo outputs not available ({folder} is absent)")
    socials = ET.parse(
        folder / "test_oneVisitor_oneWebsite_severalDays_DateRange_IndexedByDate__Referrers.getSocials_day.xml"
    )
    site1 = socials.getroot().find("result[@idSite='1']")
    real = {r.get("date"): _xml_rows(r) for r in site1.findall("result")}
    assert real["2010-12-10"] == []  # empty days are empty tables
    fake.add(date(2010, 12, 14), "social", "Facebook", 2)
    mine = fake._rows("Referrers.getSocials", date(2010, 12, 14))
    assert set(real["2010-12-14"][0]) | {"idsubdatatable"} == set(mine[0])
    attribution = make_options(plugin, options(fake), env=ENV).attribution
    platforms = {(day, module.social_platform(row, attribution)) for day, rows in real.items() for row in rows}
    assert platforms == {("2010-12-14", "facebook"), ("2010-12-15", "facebook"), ("2010-12-15", "x")}
    websites = _xml_rows(ET.parse(folder / "test_OneVisitorTwoVisits__Referrers.getWebsites_day.xml").getroot())
    fake.add(date(2010, 3, 6), "website", "referrer.com", 1, goals={"1": (1, 42)})
    mine_goal = fake._rows("Referrers.getWebsites", date(2010, 3, 6))[0]["goals"]["idgoal=1"]
    assert set(websites[0]["goals"]["idgoal=1"]) == set(mine_goal)
    from tracker_plugins._analytics import Tally
    from tracker_plugins.matomo import _count

    tally = Tally()
    _count(tally, "other", date(2010, 3, 6), websites[0], [])  # real values arrive as text here: coerced
    assert tally.values[("other", "revenue", date(2010, 3, 6))] == 42
    assert tally.values[("other", "leads", date(2010, 3, 6))] == 1
    all_types = _xml_rows(ET.parse(folder / "test_OneVisitorTwoVisits__Referrers.getAll_day.xml").getroot())
    assert [module._referrer_type(r) for r in all_types] == ["search", "website"]
