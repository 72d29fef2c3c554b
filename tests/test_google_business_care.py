"""Google Business Profile reviews as customer care: each review an inbound item, the owner's reply its answer.

Through the real sync against the fake reviews API (v4), then `tracker report --care`. The account's zone is
Berlin (UTC+1 in November), business hours the default Mon-Fri 09:00-18:00, no holidays; the period is
2026-11-16 (Mon) .. 2026-11-29 (Sun), synced on Mon 2026-11-30. The reviews and their business minutes to the
owner's reply (Google's `reviewReply.updateTime`):

    A  Mon 16 10:00 -> Mon 16 10:30     30  (inside hours)
    B  Fri 20 17:00 -> Mon 23 10:00    120  (Fri 17-18, the weekend skipped, Mon 9-10)
    C  Sat 21 11:00 -> Sat 21 12:00      0  (weekend: no business time passed)
    D  Wed 18 09:00 -> Thu 19 09:00    540  (Wed 9-18)
    E  Tue 24 16:00 -> Wed 25 10:15    195  (Tue 16-18 = 120, Wed 9-10:15 = 75)
    H  Mon 23 09:00 -> Mon 23 09:05      5
    F  Thu 19 12:00, no reply
    G  Thu 26 12:00, no reply
    O  Mon 5 Oct 10:00 -> Tue 6 Oct      (before the period and the 30-day care lookback: not read, not counted)

Inbound 8 (A-H), answered 6: reply rate 75 %. Minutes sorted 0, 5, 30, 120, 195, 540: median (30 + 120) / 2
= 75, 90th percentile (nearest rank, the 6th of 6) 540.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.conftest import noon
from tests.fakes.google_business import (
    ACCOUNT,
    LOCATION,
    REVIEWS_DISABLED,
    FakeGoogleBusiness,
    FakeReview,
    status,
    write_token_file,
)
from tests.test_cli import invoke
from tracker import options as config_options
from tracker.http import HttpSession
from tracker.plugin import CareItem, Channel
from tracker.store.db import open_engine
from tracker.store.models import CARE_ITEM
from tracker.testing import fetch_once, make_options, window
from tracker_plugins import google_business as module
from tracker_plugins.google_business import plugin

BERLIN = ZoneInfo("Europe/Berlin")
START, END, TODAY = date(2026, 11, 16), date(2026, 11, 29), date(2026, 11, 30)


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def review(key: str, created: datetime, reply: datetime | None = None, **kw: Any) -> FakeReview:
    return FakeReview(f"AbFvOq{key}review", 5, created, reply_at=reply, **kw)


def reviews() -> list[FakeReview]:
    """The reviews of the module's docstring, made anew for each test (tests change their replies)."""
    return [
        review("A", berlin(11, 16, 10), berlin(11, 16, 10, 30)),
        review("B", berlin(11, 20, 17), berlin(11, 23, 10)),
        review("C", berlin(11, 21, 11), berlin(11, 21, 12)),
        review("D", berlin(11, 18, 9), berlin(11, 19, 9)),
        review("E", berlin(11, 24, 16), berlin(11, 25, 10, 15)),
        review("H", berlin(11, 23, 9), berlin(11, 23, 9, 5)),
        review("F", berlin(11, 19, 12)),
        review("G", berlin(11, 26, 12)),
        review("O", berlin(10, 5, 10), berlin(10, 6, 10)),
    ]


@pytest.fixture
def fake(httpserver: HTTPServer, tmp_path: Path) -> FakeGoogleBusiness:
    fake = FakeGoogleBusiness(httpserver)
    fake.token_file = write_token_file(tmp_path, fake.token_uri)  # type: ignore[attr-defined]
    for i in range(40):
        fake.seed(TODAY - timedelta(days=i), CALL_CLICKS=2, WEBSITE_CLICKS=3)
    return fake


def options(fake: FakeGoogleBusiness, **extra: object) -> dict[str, object]:
    return {
        "location_id": LOCATION,
        "account_id": ACCOUNT,
        "credentials_file": str(fake.token_file),  # type: ignore[attr-defined]
        "base_url": fake.server.url_for("/"),
        "reviews_base_url": fake.server.url_for("/"),
        **extra,
    }


def sync(fake: FakeGoogleBusiness, make_config, run_sync, first: date | None = START, **extra: object) -> Any:
    cfg = make_config({"gbp": {"plugin": "google_business", "timezone": "Europe/Berlin", **options(fake, **extra)}})
    result = run_sync(cfg, since=first, until=TODAY if first else None, now=noon(TODAY))
    assert result.ok, result.outcomes
    return result


def care_rows(db_url: str) -> list[dict[str, Any]]:
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            query = sa.select(CARE_ITEM).order_by(CARE_ITEM.c.created_at)
            return [dict(r) for r in conn.execute(query).mappings()]
    finally:
        engine.dispose()


def report_care(cli, tmp_path: Path, db_url: str, fake: FakeGoogleBusiness) -> dict[str, Any]:
    """`tracker report --care --format json` for the period, from a config file like the synced one: the
    review channel's row."""
    lines = [f"database = {json.dumps(db_url)}", 'timezone = "Europe/Berlin"', "[accounts.gbp]",
             'plugin = "google_business"'] + [f"{k} = {json.dumps(v)}" for k, v in options(fake).items()]
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke(cli, "report", "--care", "--format", "json", "--days", "14", "--until", END.isoformat(),
                    "--config", str(config))
    assert result.exit_code == 0, result.output
    (row,) = [r for r in json.loads(result.stdout)["care"] if r["platform"] == "google_business"
              and r["channel"] == "review"]
    return row


FIGURES = ("inbound", "answered", "reply_rate", "first_response_median_minutes", "first_response_p90_minutes")


# --- figures --------------------------------------------------------------------------------------------------


def test_reply_rate_median_and_p90_of_reviews_are_the_hand_computed_ones(
    fake: FakeGoogleBusiness, make_config, run_sync, cli, tmp_path: Path, db_url: str
) -> None:
    fake.reviews = reviews()
    sync(fake, make_config, run_sync)
    row = report_care(cli, tmp_path, db_url, fake)
    assert [row[k] for k in FIGURES] == [8, 6, 75, 75, 540]


def test_every_review_is_a_review_item_answered_at_the_owner_replys_time(
    fake: FakeGoogleBusiness, make_config, run_sync, db_url: str
) -> None:
    fake.reviews = reviews()
    sync(fake, make_config, run_sync)
    rows = care_rows(db_url)
    assert {(r["platform"], r["channel"], r["deleted"]) for r in rows} == {("google_business", "review", False)}
    stored = {r["created_at"].astimezone(BERLIN): r["first_reply_at"] for r in rows}
    assert len(stored) == 8 and berlin(10, 5, 10) not in stored  # O is older than the care lookback
    assert stored[berlin(11, 20, 17)] == berlin(11, 23, 10) and stored[berlin(11, 19, 12)] is None


def test_reviews_are_read_with_the_documented_request(fake: FakeGoogleBusiness) -> None:
    fake.reviews = reviews()
    fetch_once(plugin, options(fake), window(START, TODAY, tz="Europe/Berlin"))
    (call,) = fake.review_calls()
    assert call.path == f"/v4/accounts/{ACCOUNT}/locations/{LOCATION}/reviews"
    assert call.args == {"pageSize": ["50"], "orderBy": ["updateTime desc"]}
    assert call.headers["Authorization"].startswith("Bearer ya29.")


def test_care_facts_are_care_items_keyed_by_the_reviews_resource_name(fake: FakeGoogleBusiness) -> None:
    fake.reviews = reviews()
    opts = make_options(plugin, options(fake))
    with HttpSession(retries=0) as http:
        listed = module.list_reviews(module._Client.of(opts, http), berlin(11, 1, 0))
    items = {i.created_at: i for i in module.care_facts(listed.items)}
    assert items[berlin(11, 16, 10)] == CareItem(
        "google_business", Channel.REVIEW, f"accounts/{ACCOUNT}/locations/{LOCATION}/reviews/AbFvOqAreview",
        berlin(11, 16, 10), berlin(11, 16, 10, 30),
    )
    assert len(items) == 8 and items[berlin(11, 26, 12)].first_reply_at is None


# --- paging ---------------------------------------------------------------------------------------------------


def test_a_long_review_list_is_read_page_by_page_and_every_review_counts_once(
    fake: FakeGoogleBusiness, make_config, run_sync, cli, tmp_path: Path, db_url: str
) -> None:
    # 110 reviews on Mon 16 Nov from 09:00, one a minute; every even one answered an hour later, inside hours:
    # inbound 110, answered 55, reply rate 50 %, every response 60 business minutes (median and p90 60).
    first = berlin(11, 16, 9)
    fake.reviews = [
        review(f"P{i:03d}", first + timedelta(minutes=i), first + timedelta(minutes=i + 60) if i % 2 == 0 else None)
        for i in range(110)
    ]
    sync(fake, make_config, run_sync)
    tokens = [c.args.get("pageToken", [None])[0] for c in fake.review_calls()]
    assert len(tokens) == 3 and tokens[0] is None and len(set(tokens[1:])) == 2  # 50 + 50 + 10
    assert [report_care(cli, tmp_path, db_url, fake)[k] for k in FIGURES] == [110, 55, 50, 60, 60]


def test_a_page_token_the_api_did_not_issue_is_refused_by_the_fake(fake: FakeGoogleBusiness) -> None:
    """The fake checks what the plugin sends: only a token from a previous page is accepted."""
    fake.reviews = reviews()
    opts = make_options(plugin, options(fake))
    with HttpSession(retries=0) as http:
        client = module._Client.of(opts, http)
        with pytest.raises(module.ApiError, match="refused the request"):
            client.get(module._reviews_url(opts), [("pageToken", "not-a-token!")], module.REVIEWS)


# --- re-sync and late replies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bumps", [True, False], ids=["reply-moves-updateTime", "reply-leaves-updateTime"])
def test_a_resync_picks_up_a_late_owner_reply_and_counts_nothing_twice(
    fake: FakeGoogleBusiness, make_config, run_sync, cli, tmp_path: Path, db_url: str, bumps: bool
) -> None:
    fake.reviews = reviews()
    fake.reply_updates_review = bumps
    sync(fake, make_config, run_sync)
    late = next(r for r in fake.reviews if r.review_id == "AbFvOqFreview")
    late.reply_at = berlin(11, 30, 10)  # Thu 19 12:00 -> Mon 30 10:00, after the first sync's read
    sync(fake, make_config, run_sync, first=None)  # the cursor's window starts after Nov 19: the care lookback reads F
    assert len(care_rows(db_url)) == 8
    # F: Thu 19 12-18 = 360, Fri 20 = 540, Mon 23 - Fri 27 = 5 x 540 = 2700, Mon 30 9-10 = 60: 3660 minutes.
    # Answered 7 of 8 (87.5 %, shown 88); sorted 0, 5, 30, 120, 195, 540, 3660: median 120, p90 the 7th: 3660.
    assert [report_care(cli, tmp_path, db_url, fake)[k] for k in FIGURES] == [8, 7, 88, 120, 3660]


def test_a_reply_edited_after_it_was_read_keeps_the_time_first_seen(
    fake: FakeGoogleBusiness, make_config, run_sync, db_url: str
) -> None:
    fake.reviews = reviews()
    sync(fake, make_config, run_sync)
    edited = next(r for r in fake.reviews if r.review_id == "AbFvOqAreview")
    edited.reply_at = berlin(11, 30, 8)  # Google keeps only the reply's last updateTime
    sync(fake, make_config, run_sync, first=None)
    stored = {r["created_at"].astimezone(BERLIN): r["first_reply_at"] for r in care_rows(db_url)}
    assert stored[berlin(11, 16, 10)] == berlin(11, 16, 10, 30)


def test_a_review_google_no_longer_lists_stays_counted_as_the_api_says_nothing_of_deletions(
    fake: FakeGoogleBusiness, make_config, run_sync, db_url: str
) -> None:
    fake.reviews = reviews()
    sync(fake, make_config, run_sync)
    fake.reviews = [r for r in fake.reviews if r.review_id != "AbFvOqGreview"]
    sync(fake, make_config, run_sync, first=None)
    rows = care_rows(db_url)
    assert len(rows) == 8 and not any(r["deleted"] for r in rows)


# --- lookback -------------------------------------------------------------------------------------------------


def test_the_care_lookback_decides_how_far_back_reviews_are_read(fake: FakeGoogleBusiness) -> None:
    fake.reviews = reviews()
    recent = window(TODAY - timedelta(days=2), TODAY, tz="Europe/Berlin")
    default = fetch_once(plugin, options(fake), recent)
    assert len(default.care) == 8  # created since Oct 31, 00:00 Berlin: 30 days before Nov 30
    shorter = fetch_once(plugin, options(fake, care_lookback_days=5), recent)
    # since Nov 25 00:00: G (Nov 26), and E, whose reply on Nov 25 10:15 moved its updateTime
    assert {i.created_at for i in shorter.care} == {berlin(11, 24, 16), berlin(11, 26, 12)}


@pytest.mark.parametrize("days", [-1, 366])
def test_a_care_lookback_outside_0_to_365_days_is_one_clear_problem(fake: FakeGoogleBusiness, days: int) -> None:
    _, problems = config_options.build(plugin, options(fake, care_lookback_days=days), where="test", env={})
    assert any(f"care_lookback_days {days} must be between 0 and 365" in p for p in problems), problems


# --- permission -----------------------------------------------------------------------------------------------


def test_a_refused_reviews_api_is_one_notice_and_the_listings_numbers_still_land(
    fake: FakeGoogleBusiness, make_config, run_sync, samples, db_url: str
) -> None:
    fake.reviews = reviews()
    fake.reviews_refusal = REVIEWS_DISABLED
    (outcome,) = sync(fake, make_config, run_sync).outcomes
    (notice,) = outcome.notices
    assert notice.startswith("reviews not read (no rating, review counts or customer care this sync): ")
    assert "mybusiness.googleapis.com is not enabled" in notice
    stored = {(r["metric"], date.fromisoformat(str(r["day"]))): r["value"] for r in samples(db_url)}
    assert stored[("google_business.calls", END)] == 2 and stored[("link_clicks", END)] == 3
    assert not {m for m, _ in stored} & {"rating", "reviews_total", "google_business.reviews_new"}  # unknown, not 0
    assert care_rows(db_url) == []


def test_a_person_without_access_to_the_reviews_gets_a_notice_naming_who_may(fake: FakeGoogleBusiness) -> None:
    fake.reviews = reviews()
    fake.reviews_refusal = status(403, "PERMISSION_DENIED", "The caller does not have permission")
    result = fetch_once(plugin, options(fake), window(START, TODAY, tz="Europe/Berlin"))
    (notice,) = result.notices
    assert "owner or manager" in notice and result.care == [] and result.samples


# --- privacy --------------------------------------------------------------------------------------------------


def test_no_review_text_reviewer_name_or_review_id_is_in_the_database_file(
    fake: FakeGoogleBusiness, make_config, run_sync, db_url: str, tmp_path: Path
) -> None:
    fake.reviews = [review("Z", berlin(11, 24, 9), berlin(11, 24, 11), comment="Kaffee war kalt, Kuchen top",
                           reviewer="Hildegard Knef-Sommer")] + reviews()
    sync(fake, make_config, run_sync)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("tracker.db*"))
    assert care_rows(db_url)[0]["item_hash"].encode() in raw  # the scan reads what was written
    served = json.dumps([r.body(ACCOUNT, LOCATION) for r in fake.reviews], ensure_ascii=False)
    assert "Hildegard" in served and "Danke, Erika" in served  # the fake did serve them
    for secret in ("Kaffee war kalt", "Hildegard", "Knef-Sommer", "Franzbr", "Erika", "Mustermann", "Danke",
                   "AbFvOq", "/reviews/", "lh3.googleusercontent"):
        assert secret.encode() not in raw, secret

