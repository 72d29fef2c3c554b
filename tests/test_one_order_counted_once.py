"""GA4 purchases and the shop's own export describe the same orders: the report counts them once."""

from datetime import date

import pytest

from tests.conftest import noon
from tests.fakes.ga4 import FakeGa4, new_key, write_key_file
from tracker.report.build import build_report

DAY = date(2026, 11, 2)
TODAY = date(2026, 11, 23)
EMAIL = "t@bakery.iam.gserviceaccount.com"


@pytest.fixture
def accounts(httpserver, tmp_path):
    """GA4 saw 2 purchases from facebook (and 40 sessions); the shop export has those 2 orders plus a third."""
    key_file, public_key = write_key_file(tmp_path, httpserver.url_for("/token"), EMAIL, new_key())
    fake = FakeGa4(httpserver, public_key, email=EMAIL)
    fake.add_sessions(DAY, "l.facebook.com", 40, 35, revenue=70.0)
    fake.add_events(DAY, "l.facebook.com", "purchase", 2)
    export = tmp_path / "orders.csv"
    export.write_text(
        "Order ID,Date,Amount,Coupon\n"
        "1001,2026-11-02,30.00,FB10\n"
        "1002,2026-11-02,40.00,FB10\n"
        "1003,2026-11-02,25.00,FB10\n",
        encoding="utf-8",
    )
    return {
        "ga": {
            "plugin": "ga4", "property_id": fake.property_id, "credentials_file": str(key_file),
            "base_url": httpserver.url_for("/"),
        },
        "shop": {"plugin": "csv", "path": str(export), "coupons": {"FB10": "facebook"}, "currency": "EUR"},
    }


def facebook(cfg, run_sync):
    assert run_sync(cfg, now=noon(TODAY)).ok
    report = build_report(cfg, 30, TODAY, ["facebook"])
    return report.rows[0]


def test_shop_orders_win_over_ga4_purchases_and_are_not_added_to_them(accounts, make_config, run_sync):
    row = facebook(make_config(accounts), run_sync)
    assert (row.conversions, row.revenue, row.conversions_source) == (3, 95.0, "shop")
    assert (row.visits, row.visits_source) == (40, "ga")
    assert row.conversions_basis == "coupon"


def test_configured_precedence_can_prefer_ga4(accounts, make_config, run_sync):
    row = facebook(make_config(accounts, precedence=["ga"]), run_sync)
    assert (row.conversions, row.revenue, row.conversions_source) == (2, 70.0, "ga")
