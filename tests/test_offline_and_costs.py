"""Logged offline sales, tagged links, effort and attribution in the report."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tracker import manual
from tracker.attribution import Attribution
from tracker.config import Effort
from tracker.errors import ConfigError, TrackerError
from tracker.links import tagged
from tracker.plugin import Basis, Conversion, Sample
from tracker.report import compute, rows
from tracker.store import writes

from .test_report import END, PERIOD, report, row, store


def test_logged_sales_add_to_online_conversions_and_show_as_their_own_part(engine):
    store(
        engine,
        "shop",
        [Sample("instagram", "conversions", END, 2), Sample("instagram", "revenue", END, 80.0)],
        source="first_party",
    )
    manual.log(engine, platform="instagram", kind="order", day=END, amount=25.0)
    r = row(report(engine), "instagram")
    assert (r.conversions, r.conversions_offline) == (3, 1)
    assert (r.revenue, r.revenue_offline) == (105.0, 25.0)
    assert r.conversions_source == "shop"


def test_a_logged_sale_alone_makes_the_platform_tracked(engine):
    store(engine, "xing_page", [Sample("xing", "followers", END, 300)])
    manual.log(engine, platform="xing", kind="lead", day=END)
    r = row(report(engine), "xing")
    assert r.tracked and r.conversions == 1 and r.verdict == "converts"


def test_undo_withdraws_a_logged_sale_and_leaves_no_empty_platform_row(engine):
    record = manual.log(engine, platform="xing", kind="order", day=END, amount=10.0)
    manual.undo(engine, record)
    assert [r.platform for r in report(engine).rows] == []
    assert [e.withdrawn for e in manual.listed(engine, include_withdrawn=True)] == [True]
    assert manual.listed(engine) == []


def test_undoing_twice_says_there_is_nothing_to_undo(engine):
    record = manual.log(engine, platform="xing", kind="order", day=END)
    manual.undo(engine, record)
    with pytest.raises(TrackerError, match="no logged conversion"):
        manual.undo(engine, record)


def test_logging_needs_a_platform_key(engine):
    with pytest.raises(ConfigError, match="--platform"):
        manual.log(engine, platform="Insta Gram", kind="order", day=END)


def test_cost_and_hours_per_conversion_come_from_configured_effort(engine):
    store(
        engine,
        "ga4",
        [Sample("instagram", "conversions", END, 4), Sample("instagram", "visits", END, 40)],
        source="analytics",
        covers_all=True,
    )
    costs = rows.Costs({"instagram": Effort(monthly_cost=73.0, hours_per_week=7.0)}, hourly_rate=20.0)
    r = rows.build(compute.compute(engine, PERIOD), "EUR", costs).rows[0]
    # 10 days: 7 h/week -> 10 h; 73/month -> 73*10*12/365 = 24.00; 10 h * 20 = 200.00; total 224.00.
    assert (r.hours, r.cost) == (10.0, 224.0)
    assert (r.hours_per_conversion, r.cost_per_conversion) == (2.5, 56.0)
    assert "2.5 h and 56.00 EUR per conversion" in r.verdict_text


def test_effort_with_no_conversions_is_named_in_the_verdict(engine):
    store(engine, "insta", [Sample("instagram", "likes", END, 900)])
    store(engine, "ga4", [Sample("facebook", "visits", END, 3)], source="analytics", covers_all=True)
    costs = rows.Costs({"instagram": Effort(hours_per_week=6.0)})
    r = next(x for x in rows.build(compute.compute(engine, PERIOD), "EUR", costs).rows if x.platform == "instagram")
    assert r.verdict == "vanity_only" and "for 6.0 h/week" in r.verdict_text
    assert r.cost_per_conversion is None


def test_each_conversion_figure_states_its_attribution_basis(engine):
    run_id = writes.start_run(engine, "t")
    account_run = writes.start_account_run(engine, run_id, "shop", END, END)
    records = [
        Conversion("1", "instagram", END, "order", 10.0, "EUR", Basis.COUPON),
        Conversion("2", "instagram", END, "order", 10.0, "EUR", Basis.SELF_REPORTED),
    ]
    result = writes.AccountResult(
        "shop", "csv", "{}", "first_party", False, 0, conversions=records, attribution="coupon or answer"
    )
    writes.commit_account(engine, run_id, account_run, result)
    r = row(report(engine), "instagram")
    assert r.conversions_basis == "coupon, self_reported"
    assert r.attribution == "coupon or answer"


def test_revenue_in_another_currency_is_flagged_not_converted(engine):
    run_id = writes.start_run(engine, "t")
    account_run = writes.start_account_run(engine, run_id, "shop", END, END)
    records = [Conversion("1", "facebook", END, "order", 30.0, "CHF", Basis.COUPON)]
    writes.commit_account(
        engine,
        run_id,
        account_run,
        writes.AccountResult("shop", "csv", "{}", "first_party", False, 0, conversions=records),
    )
    r = row(report(engine), "facebook")
    assert r.revenue == 30.0
    assert r.currency_note == "revenue includes CHF, not converted to EUR"


def test_tagged_link_carries_the_canonical_platform_as_utm_source():
    url = tagged("https://shop.example/offer?ref=7&utm_source=old", "instagram", "spring", Attribution())
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "ref": ["7"],
        "utm_source": ["instagram"],
        "utm_medium": ["social"],
        "utm_campaign": ["instagram-spring"],
    }
    assert Attribution().platform_for_source(query["utm_source"][0]) == "instagram"


def test_tagged_link_refuses_a_platform_the_mapping_would_not_send_back():
    with pytest.raises(ConfigError, match="\\[attribution\\] sources"):
        tagged("https://shop.example", "myspace", None, Attribution())
    extended = Attribution().extended(sources={"myspace": "myspace"})
    assert "utm_source=myspace" in tagged("https://shop.example", "myspace", None, extended)


def test_log_commands_record_list_and_undo(cli, tmp_path):
    from tracker.cli.main import app

    config = tmp_path / "config.toml"
    config.write_text(f'database = "{tmp_path / "t.db"}"\ntimezone = "UTC"\n')
    out = cli.invoke(
        app, ["log", "sale", "--platform", "xing", "--amount", "49.90", "--date", "2026-03-31", "--config", str(config)]
    )
    assert out.exit_code == 0, out.output
    record_id = out.stdout.split()[2]
    listed = json.loads(cli.invoke(app, ["log", "list", "--format", "json", "--config", str(config)]).stdout)
    assert [(e["id"], e["platform"], e["amount"], e["day"]) for e in listed] == [
        (record_id, "xing", 49.9, "2026-03-31")
    ]
    assert cli.invoke(app, ["log", "undo", record_id, "--config", str(config)]).exit_code == 0
    again = cli.invoke(app, ["log", "undo", record_id, "--config", str(config)])
    assert again.exit_code == 1 and "no logged conversion" in again.stderr
