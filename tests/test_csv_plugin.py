"""The csv plugin: shop exports (Shopify, WooCommerce, spreadsheets) become order records, once each.

Every file is generated here in tmp_path with made-up customers; no real export is copied.
"""

from __future__ import annotations

import codecs
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import noon
from tracker.errors import ApiError, NotFound
from tracker.http import HttpSession
from tracker.plugin import Basis
from tracker.store.db import open_engine
from tracker.testing import check_plugin, fetch_once, make_options, raises_domain_error, window
from tracker_plugins.csv import plugin

TODAY = date(2026, 4, 20)
WIN = window(date(2026, 4, 1), TODAY)

WOO_HEADER = "Date,Order #,Status,Customer,Customer type,Product(s),Items sold,Coupon(s),Net sales,Attribution"
WOO_ROWS = [
    "2026-03-02 10:15:00,1001,completed,Anna Müller,new,1× Brötchen,1,INSTA10,12.50,Direct",
    "2026-03-02 11:00:00,1002,processing,Jörg Weiß,new,2× Kuchen,2,,30.00,Source: Facebook",
    "2026-03-03 09:30:00,1003,completed,Zoë Dupré,returning,1× Torte,1,,20.00,Referral: M.facebook.com",
    "2026-02-30 09:00:00,1004,completed,Bad Date,new,1× Torte,1,,20.00,Organic: Google",
    "2026-03-03 17:45:00,1005,completed,Renée Ø,new,1× Brot,1,,4.80,Unknown",
]
SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,Subtotal,Shipping,"
    "Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,Lineitem name,"
    "Lineitem price,Billing Zip,Notes,Note Attributes,Cancelled at,Refunded Amount,Vendor,Id,Tags,Source"
)


def write(path: Path, lines: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def shopify_row(name: str, *, status: str = "paid", currency: str = "EUR", total: str = "", code: str = "",
                created: str = "2026-04-05 21:06:21 +0200", item: str = "Brot", notes: str = "", cancelled: str = "",
                refunded: str = "", tags: str = "", first: bool = True) -> str:
    """One line item; the order's first row carries the order fields, later rows leave them empty."""
    if not first:
        status = currency = total = code = notes = refunded = tags = ""
    cells = [name, "kunde@example.test", status, "", "fulfilled", "", "no", currency, total, "0.00", "0.00", total,
             code, "", "", created, "1", item, "5.00", "'01067", "", notes, cancelled, refunded, "Bäckerei",
             "6543210987654" if first else "", tags, "web" if first else ""]
    return ",".join(f'"{c}"' if ("," in c or "\n" in c) else c for c in cells)


def conversions(result) -> dict[str, tuple]:
    return {c.id: (c.platform, c.day.isoformat(), c.amount, c.basis) for c in result.conversions}


# --- conformance and declaration ------------------------------------------------------------------------------------


def test_conformance_kit_passes_and_saved_state_skips_an_unchanged_file(tmp_path: Path) -> None:
    assert plugin.conversion_source.value == "first_party" and plugin.platforms == ("*",)
    export = write(tmp_path / "orders.csv", [WOO_HEADER, *WOO_ROWS])
    raw = {"path": str(export)}
    first = check_plugin(plugin, raw, since=WIN.since, until=WIN.until, today=WIN.today)
    assert first.conversions and not first.samples
    again = fetch_once(plugin, raw, WIN, state=first.state)
    assert again.conversions == [] and again.state == first.state


def test_invalid_options_are_refused_with_the_reason() -> None:
    for raw, words in (
        ({"path": "x.csv", "preset": "magento"}, "preset"),
        ({"path": "x.csv", "coupons": {"INSTA10": "Instagram Ads"}}, "coupons"),
        ({"path": "x.csv", "kind": "sale"}, "kind"),
        ({"path": "x.csv", "encoding": "klingon"}, "encoding"),
    ):
        with pytest.raises(AssertionError, match=words):
            make_options(plugin, raw)


# --- the Done-when, through the real sync ---------------------------------------------------------------------


def test_woocommerce_csv_with_a_bad_row_a_duplicate_reimport_and_cp1252_lands_good_rows_once(
    tmp_path: Path, make_config, run_sync, samples
) -> None:
    shop = tmp_path / "exports"
    shop.mkdir()
    write(shop / "woo-march.csv", [WOO_HEADER, *WOO_ROWS], encoding="cp1252", newline="\r\n")
    cfg = make_config({"shop": {"plugin": "csv", "path": str(shop), "currency": "EUR",
                                "coupons": {"insta10": "instagram"}}})

    first = run_sync(cfg, now=noon(TODAY))
    assert first.ok, first.outcomes[0].message
    assert first.outcomes[0].notices == ["woo-march.csv line 5: '2026-02-30 09:00:00' is not a date; row skipped"]
    # The same orders exported again (UTF-8 this time, overlapping rows) beside the first file.
    write(shop / "woo-march-again.csv", [WOO_HEADER, WOO_ROWS[1], WOO_ROWS[4]])
    second = run_sync(cfg, now=noon(TODAY))
    assert second.ok and second.outcomes[0].notices == []

    engine = open_engine(cfg.database)
    with engine.connect() as conn:
        query = "SELECT id, platform, day, amount, currency, basis, ref FROM conversion ORDER BY id"
        rows = conn.execute(sa.text(query))
        stored = [tuple(r) for r in rows]
    engine.dispose()
    assert [(r[0], r[1], str(r[2]), r[3], r[4], r[5]) for r in stored] == [
        ("1001", "instagram", "2026-03-02", 12.5, "EUR", "coupon"),
        ("1002", "facebook", "2026-03-02", 30.0, "EUR", "utm"),
        ("1003", "facebook", "2026-03-03", 20.0, "EUR", "session_source"),
        ("1005", "unattributed", "2026-03-03", 4.8, "EUR", "session_source"),
    ]
    daily = {(s["platform"], s["metric"], str(s["day"])): s["value"] for s in samples(cfg.database)}
    assert daily[("instagram", "orders", "2026-03-02")] == 1
    assert daily[("instagram", "revenue", "2026-03-02")] == 12.5
    assert daily[("facebook", "orders", "2026-03-02")] == 1
    assert daily[("facebook", "revenue", "2026-03-02")] == 30.0
    assert daily[("facebook", "orders", "2026-03-03")] == 1
    assert daily[("unattributed", "conversions", "2026-03-03")] == 1
    assert sum(v for (p, m, d), v in daily.items() if m == "orders") == 4


def test_an_unchanged_file_is_not_read_again_and_a_changed_one_is(tmp_path: Path) -> None:
    export = write(tmp_path / "orders.csv", [WOO_HEADER, *WOO_ROWS[:2]])
    first = fetch_once(plugin, {"path": str(export)}, WIN)
    assert fetch_once(plugin, {"path": str(export)}, WIN, state=first.state).conversions == []
    write(export, [WOO_HEADER, *WOO_ROWS[:3]])
    changed_file = fetch_once(plugin, {"path": str(export)}, WIN, state=first.state)
    assert set(conversions(changed_file)) == {"1001", "1002", "1003"}
    raw = {"path": str(export), "coupons": {"INSTA10": "instagram"}}
    changed_options = fetch_once(plugin, raw, WIN, state=first.state)
    assert conversions(changed_options)["1001"][0] == "instagram"


# --- Shopify --------------------------------------------------------------------------------------------------------


def test_shopify_multi_line_item_order_counts_once_with_the_first_rows_total(
    tmp_path: Path, make_config, run_sync, samples
) -> None:
    export = write(tmp_path / "orders_export.csv", [
        SHOPIFY_HEADER,
        shopify_row("#1042", total="1400.00", item="Hochzeitstorte"),
        shopify_row("#1042", item="Kerzen", first=False),
        shopify_row("#1042", item="Lieferung", first=False),
        shopify_row("#1043", total="25.00", created="2026-04-06 08:00:00 +0200"),
    ])
    cfg = make_config({"shop": {"plugin": "csv", "path": str(export), "preset": "shopify"}})
    assert run_sync(cfg, now=noon(TODAY)).ok
    daily = {(s["platform"], s["metric"], str(s["day"])): s["value"] for s in samples(cfg.database)}
    assert daily[("unattributed", "orders", "2026-04-05")] == 1
    assert daily[("unattributed", "revenue", "2026-04-05")] == 1400.0
    assert daily[("unattributed", "orders", "2026-04-06")] == 1


def test_generic_preset_recognises_shopify_and_ignores_its_sales_channel_source(tmp_path: Path) -> None:
    export = write(tmp_path / "orders_export.csv", [SHOPIFY_HEADER, shopify_row("#1", total="9.90")])
    (record,) = fetch_once(plugin, {"path": str(export)}, WIN).conversions
    assert (record.id, record.platform, record.currency, record.amount) == ("#1", "unattributed", "EUR", 9.9)


def test_shopify_net_of_refunded_amount_and_cancelled_orders_skipped(tmp_path: Path) -> None:
    export = write(tmp_path / "orders_export.csv", [
        SHOPIFY_HEADER,
        shopify_row("#1", status="partially_refunded", total="100.00", refunded="40.00"),
        shopify_row("#2", status="voided", total="50.00"),
        shopify_row("#3", status="refunded", total="60.00", cancelled="2026-04-06 10:00:00 +0200"),
        shopify_row("#4", status="pending", total="15.00"),
    ])
    assert {k: v[2] for k, v in conversions(fetch_once(plugin, {"path": str(export)}, WIN)).items()} == {
        "#1": 60.0, "#4": 15.0}


def test_how_did_you_hear_about_us_in_note_attributes_is_a_self_reported_answer(tmp_path: Path) -> None:
    export = write(tmp_path / "orders_export.csv", [
        SHOPIFY_HEADER,
        shopify_row("#1", total="10.00", notes="Lieferdatum: 2026-04-07\nHow did you hear about us?: Instagram"),
        shopify_row("#2", total="10.00", notes="UTM source: fb\nUTM medium: paid"),
        shopify_row("#3", total="10.00", notes="How did you hear about us?: a friend"),
        shopify_row("#4", total="10.00", tags="VIP, HDYHAU: Xing"),
    ])
    assert conversions(fetch_once(plugin, {"path": str(export)}, WIN)) == {
        "#1": ("instagram", "2026-04-05", 10.0, Basis.SELF_REPORTED),
        "#2": ("facebook", "2026-04-05", 10.0, Basis.UTM),
        "#3": ("other", "2026-04-05", 10.0, Basis.SELF_REPORTED),
        "#4": ("xing", "2026-04-05", 10.0, Basis.SELF_REPORTED),
    }


# --- encodings and locales ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
def test_bom_utf16_and_cp1252_files_read_alike(tmp_path: Path, encoding: str) -> None:
    export = write(tmp_path / "orders.csv", ["Order ID,Date,Amount,Wie haben Sie von uns erfahren?",
                                             "A-1,2026-04-02,19.90,Über Instagram"], encoding=encoding)
    (record,) = fetch_once(plugin, {"path": str(export)}, WIN).conversions
    assert (record.id, record.platform, record.amount, record.note) == (
        "A-1", "instagram", 19.9, "Wie haben Sie von uns erfahren?: Über Instagram")
    assert encoding != "utf-16" or export.read_bytes().startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def test_semicolons_decimal_commas_and_day_first_dates_from_an_excel_resave(tmp_path: Path) -> None:
    export = write(tmp_path / "bestellungen.csv", [
        "Order ID;Date;Amount;Source",
        "B-1;05.04.2026 21:06;1.400,00;Instagram",
        "B-2;06.04.2026;12,5;fb",
        '"B-3";07.04.2026;"-3,20";Xing',
    ], encoding="cp1252")
    assert conversions(fetch_once(plugin, {"path": str(export)}, WIN)) == {
        "B-1": ("instagram", "2026-04-05", 1400.0, Basis.SELF_REPORTED),
        "B-2": ("facebook", "2026-04-06", 12.5, Basis.SELF_REPORTED),
        "B-3-refund-20260407": ("xing", "2026-04-07", -3.2, Basis.SELF_REPORTED),
    }


def test_month_first_dates_are_recognised_per_file_from_a_day_over_12(tmp_path: Path) -> None:
    export = write(tmp_path / "us.csv", ["Order ID,Date,Amount", "1,4/5/2026,10", "2,4/13/2026,10"])
    result = fetch_once(plugin, {"path": str(export)}, WIN)
    assert {c.id: c.day for c in result.conversions} == {"1": date(2026, 4, 5), "2": date(2026, 4, 13)}
    assert result.notices == []


def test_ambiguous_slash_dates_are_read_day_first_and_flagged(tmp_path: Path) -> None:
    export = write(tmp_path / "uk.csv", ["Order ID,Date,Amount", "1,2/3/2026,10"])
    result = fetch_once(plugin, {"path": str(export)}, WIN)
    assert result.conversions[0].day == date(2026, 3, 2)
    assert "uk.csv" in result.notices[0] and "date_format" in result.notices[0]
    explicit = fetch_once(plugin, {"path": str(export), "date_format": "%m/%d/%Y"}, WIN)
    assert explicit.conversions[0].day == date(2026, 2, 3) and explicit.notices == []


# --- attribution ----------------------------------------------------------------------------------------------------


def test_coupon_codes_map_to_platforms_case_insensitively_and_win_over_answers(tmp_path: Path) -> None:
    export = write(tmp_path / "orders.csv", [
        "Order ID,Date,Amount,Coupon,How did you hear about us?",
        "1,2026-04-02,10,insta10,Facebook",
        "2,2026-04-02,10,\"SUMMER, XING5\",",
        "3,2026-04-02,10,UNKNOWN1,",
    ])
    raw = {"path": str(export), "coupons": {"INSTA10": "instagram", "xing5": "xing"}}
    records = {c.id: c for c in fetch_once(plugin, raw, WIN).conversions}
    assert (records["1"].platform, records["1"].basis) == ("instagram", Basis.COUPON)
    assert records["1"].note == "coupon insta10"
    assert (records["2"].platform, records["2"].basis) == ("xing", Basis.COUPON)
    assert (records["3"].platform, records["3"].note) == ("unattributed", "coupon UNKNOWN1 (not in `coupons`)")


def test_woocommerce_attribution_column_utm_referral_organic_direct_and_unknown(tmp_path: Path) -> None:
    export = write(tmp_path / "analytics.csv", [
        "Date,Order #,Status,Net Sales,Origin",
        "2026-04-02 10:00:00,1,completed,10,Source: Ig",
        "2026-04-02 10:00:00,2,completed,10,Referral: L.instagram.com",
        "2026-04-02 10:00:00,3,completed,10,Organic: Google",
        "2026-04-02 10:00:00,4,completed,10,Direct",
        "2026-04-02 10:00:00,5,completed,10,Web admin",
        "2026-04-02 10:00:00,6,completed,10,Source: Newsletter",
    ])
    raw = {"path": str(export), "preset": "woocommerce", "attribution": {"sources": {"newsletter": "email"}}}
    assert {k: v[0:4:3] for k, v in conversions(fetch_once(plugin, raw, WIN)).items()} == {
        "1": ("instagram", Basis.UTM),
        "2": ("instagram", Basis.SESSION_SOURCE),
        "3": ("other", Basis.SESSION_SOURCE),
        "4": ("direct", Basis.SESSION_SOURCE),
        "5": ("unattributed", Basis.SESSION_SOURCE),
        "6": ("email", Basis.UTM),
    }


def test_refund_rows_are_negative_records_of_their_own_on_the_refund_day(tmp_path: Path) -> None:
    export = write(tmp_path / "analytics.csv", [
        WOO_HEADER,
        WOO_ROWS[1],
        "2026-03-09 08:00:00,1002,refunded,Jörg Weiß,new,1× Kuchen,1,,-15.00,Source: Facebook",
    ])
    assert conversions(fetch_once(plugin, {"path": str(export)}, WIN)) == {
        "1002": ("facebook", "2026-03-02", 30.0, Basis.UTM),
        "1002-refund-20260309": ("facebook", "2026-03-09", -15.0, Basis.UTM),
    }
    later_export = write(tmp_path / "april.csv", [WOO_HEADER, "2026-03-09 08:00:00,1002,refunded,J,new,x,1,,-15.00,"])
    assert [c.id for c in fetch_once(plugin, {"path": str(later_export)}, WIN).conversions] == ["1002-refund-20260309"]


def test_leads_without_order_numbers_get_stable_content_ids_and_twins_stay_two(tmp_path: Path) -> None:
    lines = ["Datum;Kanal;Art", "02.04.2026;Xing;Anfrage", "02.04.2026;Xing;Anfrage", "03.04.2026;Messe;lead"]
    export = write(tmp_path / "leads.csv", lines)
    raw = {"path": str(export), "kind": "lead", "source_column": "Kanal", "kind_column": "Art",
           "attribution": {"sources": {"messe": "trade-fair"}}}
    first = conversions(fetch_once(plugin, raw, WIN))
    assert sorted(v[0] for v in first.values()) == ["trade-fair", "xing", "xing"]
    resaved = write(tmp_path / "leads.csv", [line.replace(";", ",") for line in lines])
    assert conversions(fetch_once(plugin, {**raw, "path": str(resaved)}, WIN)) == first


# --- bad input ------------------------------------------------------------------------------------------------------


def test_bad_rows_are_named_by_file_and_line_and_the_good_rows_kept(tmp_path: Path) -> None:
    export = write(tmp_path / "orders.csv", [
        "Order ID,Date,Amount,Notes,Type",
        '1,2026-04-02,10,"a note\nover two lines",order',
        "2,2026-04-02,zehn,,order",
        "3,2026-04-02,,,order",
        "4,2026-04-02,5,,refund please",
        "5,2099-01-01,5,,order",
        "6,2026-04-03,7,,order",
    ])
    result = fetch_once(plugin, {"path": str(export), "kind_column": "Type"}, WIN)
    assert [c.id for c in result.conversions] == ["1", "6"]
    assert result.notices == [
        "orders.csv line 4: amount 'zehn' is not a number; row skipped",
        "orders.csv line 5: the amount is empty; row skipped",
        "orders.csv line 6: kind 'refund please' is neither order nor lead; row skipped",
        "orders.csv line 7: dated 2099-01-01, in the future; row skipped",
    ]


def test_a_named_column_the_file_lacks_skips_the_file_with_its_columns_listed(tmp_path: Path) -> None:
    export = write(tmp_path / "orders.csv", ["Order ID,Date,Amount", "1,2026-04-02,10"])
    result = fetch_once(plugin, {"path": str(export), "source_column": "How did you find us"}, WIN)
    assert result.conversions == []
    assert result.notices == ["orders.csv has no column 'How did you find us' (source_column); its columns are: "
                              "Order ID, Date, Amount; file skipped"]


def test_a_missing_file_is_a_one_line_not_found_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "orders.csv"
    error = raises_domain_error(plugin, {"path": str(missing)}, WIN)
    assert isinstance(error, NotFound) and str(missing) in str(error) and "\n" not in str(error)
    glob_error = raises_domain_error(plugin, {"path": str(tmp_path / "orders_*.csv")}, WIN)
    assert isinstance(glob_error, NotFound) and "orders_*.csv" in str(glob_error)


def test_an_unreadable_folder_is_a_one_line_api_error_naming_it(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()

    def denied(self: Path):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", denied)  # chmod does not stop root, which CI runs as
    error = raises_domain_error(plugin, {"path": str(folder)}, WIN)
    assert isinstance(error, ApiError) and str(folder) in str(error) and "Permission denied" in str(error)


def test_a_home_relative_glob_reads_every_matching_file(tmp_path: Path, isolated_env: Path) -> None:
    exports = isolated_env / "exports"
    exports.mkdir(parents=True)
    write(exports / "orders_march.csv", ["Order ID,Date,Amount", "1,2026-03-02,10"])
    write(exports / "orders_april.csv", ["Order ID,Date,Amount", "2,2026-04-02,20"])
    write(exports / "notes.csv", ["Order ID,Date,Amount", "3,2026-04-02,30"])
    result = fetch_once(plugin, {"path": "~/exports/orders_*.csv"}, WIN)
    assert sorted(c.id for c in result.conversions) == ["1", "2"]


# --- check ----------------------------------------------------------------------------------------------------------


def _check(raw: dict) -> str:
    import threading

    with HttpSession(timeout=1, retries=0, stop=threading.Event()) as http:
        return plugin.check(make_options(plugin, raw), http)


def test_check_says_what_a_sync_would_import(tmp_path: Path) -> None:
    export = write(tmp_path / "orders.csv", [WOO_HEADER, *WOO_ROWS])
    assert _check({"path": str(export)}) == (
        "1 file(s): 4 orders from 2026-03-02 to 2026-03-03, 1 notice(s): "
        "orders.csv line 5: '2026-02-30 09:00:00' is not a date; row skipped"
    )


def test_check_fails_on_a_file_without_a_date_column(tmp_path: Path) -> None:
    export = write(tmp_path / "orders.csv", ["Kunde,Betrag", "Anna,10"])
    with pytest.raises(ApiError, match="orders.csv has no date column"):
        _check({"path": str(export)})


def test_woocommerce_exporter_plugins_are_read_by_their_own_headers(tmp_path: Path) -> None:
    skyverge = write(tmp_path / "customer-order-export.csv", [
        "order_id,order_number,order_number_formatted,date,status,order_total,refunded_total,order_currency,"
        "coupon_items,_wc_order_attribution_source_type,_wc_order_attribution_utm_source,"
        "_wc_order_attribution_referrer",
        "88,1201,WC-1201,2026-04-02 10:00:00,completed,50.00,10.00,EUR,code:LINKED5;amount:5.00,utm,linkedin,",
        "89,1202,WC-1202,2026-04-03 10:00:00,completed,20.00,0.00,EUR,,referral,,https://lnkd.in/abc",
    ])
    algolplus = write(tmp_path / "orders-advanced.csv", [
        "Order Number,Order Status,Order Date,Order Subtotal Amount,Order Refund Amount,Order Total Amount,"
        "Coupon Code",
        "1203,wc-completed,2026-04-04 09:00,30.00,-5.00,35.00,LINKED5",
    ])
    raw = {"path": str(tmp_path / "*.csv"), "coupons": {"linked5": "linkedin"}}
    assert conversions(fetch_once(plugin, raw, WIN)) == {
        "WC-1201": ("linkedin", "2026-04-02", 40.0, Basis.COUPON),
        "WC-1202": ("linkedin", "2026-04-03", 20.0, Basis.SESSION_SOURCE),
        "1203": ("linkedin", "2026-04-04", 30.0, Basis.COUPON),
    }
    assert skyverge.exists() and algolplus.exists()
