"""What scripts read: JSON that always parses, CSV cells a spreadsheet never runs."""

import csv
import io
import json

import pytest

from tracker import output


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\tx", "\rx"]
)
def test_formula_like_text_is_neutralised(text):
    out = io.StringIO()
    output.write_csv([{"note": text}], out)
    assert next(csv.DictReader(io.StringIO(out.getvalue(), newline="")))["note"] == "'" + text.replace("\r", "\n")


def test_negative_numbers_stay_numbers():
    out = io.StringIO()
    output.write_csv([{"change": -5, "revenue": -1.5}], out)
    assert out.getvalue().splitlines()[1] == "-5,-1.5"


def test_none_is_an_empty_cell_and_plain_text_is_untouched():
    out = io.StringIO()
    output.write_csv([{"a": None, "b": "bakery", "c": 0}], out)
    assert out.getvalue().splitlines()[1] == ",bakery,0"


def test_json_never_holds_infinity_or_nan():
    out = io.StringIO()
    output.write_json({"likes": float("inf"), "rows": [{"v": float("nan")}, {"v": 1.5}]}, out)
    assert json.loads(out.getvalue()) == {"likes": None, "rows": [{"v": None}, {"v": 1.5}]}
    assert "Infinity" not in out.getvalue() and "NaN" not in out.getvalue()


def test_csv_header_is_every_key_in_first_seen_order():
    out = io.StringIO()
    output.write_csv([{"a": 1}, {"b": 2, "a": 3}], out)
    assert out.getvalue().splitlines() == ["a,b", "1,", "3,2"]


def test_whole_numbers_are_written_as_integers_and_booleans_as_json_does():
    out = io.StringIO()
    output.write_csv([{"conversions": 34.0, "rate": 8.2, "tracked": True, "provisional": False}], out)
    assert out.getvalue().splitlines()[1] == "34,8.2,true,false"
    out = io.StringIO()
    output.write_json({"conversions": 34.0, "rate": 8.2}, out)
    assert out.getvalue() == '{\n  "conversions": 34,\n  "rate": 8.2\n}\n'
