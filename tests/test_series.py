"""Figures over time follow the report's arithmetic for every bucket."""

from datetime import date, timedelta

from tests.test_report import store
from tracker.plugin import Sample
from tracker.report import compute, rows
from tracker.report.series import Step, buckets, series

END = date(2026, 3, 31)
PERIOD = compute.Period(END - timedelta(days=13), END)  # 14 days


def test_weeks_end_on_the_periods_last_day_and_the_first_may_be_shorter():
    got = buckets(compute.Period(date(2026, 3, 1), END), Step.week)
    assert [(b.start, b.end) for b in got][-1] == (date(2026, 3, 25), END)
    assert (got[0].start, got[0].end) == (date(2026, 3, 1), date(2026, 3, 3))
    assert sum(b.days for b in got) == 31


def test_daily_counters_add_up_to_the_reports_total(engine):
    store(engine, "insta", [Sample("instagram", "likes", END - timedelta(days=i), i + 1) for i in range(14)])
    (likes,) = series(engine, PERIOD)
    total = rows.build(compute.compute(engine, PERIOD), "EUR").rows[0].engagement
    assert sum(v for v in likes.values("engagement") if v is not None) == total == sum(range(1, 15))


def test_a_gauge_point_is_the_last_value_not_a_sum(engine):
    store(engine, "insta", [Sample("instagram", "followers", END - timedelta(days=i), 100 - i) for i in range(14)])
    (weekly,) = series(engine, PERIOD, Step.week)
    assert weekly.values("followers") == [93, 100]


def test_a_bucket_without_data_is_none_not_zero(engine):
    store(engine, "insta", [Sample("instagram", "likes", END, 5)])
    (likes,) = series(engine, compute.Period(END - timedelta(days=2), END))
    assert likes.values("engagement") == [None, None, 5]
