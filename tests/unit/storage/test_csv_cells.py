"""CSV cells for people: formula-starting text gets a leading quote, numbers and plain text stay as they are."""

import decimal

import pandas as pd

from segflow.storage.csv_cells import csv_text, neutralised, neutralised_text


def test_text_that_starts_a_formula_is_quoted_and_numbers_stay_numbers():
    frame = pd.DataFrame(
        {
            "customer_id": ["=1+1", "+cmd", "-12.5", "@SUM(A1)", "\tx", "\rx", "-1+1", "+3", "1e-4", "ok", None],
            "amount": [-12.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            "paid": [decimal.Decimal("-1")] * 11,  # an object column without text, as the database gives
        },
        index=range(50_000, 50_011),  # a later chunk's index
    )
    out = neutralised(frame)
    assert out["customer_id"].tolist() == [
        "'=1+1",
        "'+cmd",
        "-12.5",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "'-1+1",
        "+3",
        "1e-4",
        "ok",
        None,
    ]
    assert out["amount"].tolist() == frame["amount"].tolist()
    assert csv_text(frame).split("\r\n")[1] == "'=1+1,-12.5,-1"
    assert csv_text(pd.DataFrame({"id": ["x\r=cmd"]})) == 'id\r\n"x\r=cmd"\r\n'  # quoted: the row goes on


def test_column_names_are_quoted_and_a_clean_frame_is_returned_untouched():
    assert list(neutralised(pd.DataFrame({"=x": ["a"], "-inf": ["b"]})).columns) == ["'=x", "'-inf"]
    clean = pd.DataFrame({"customer_id": ["C1", "C2"], "monetary": [-1.0, 2.0]})
    assert neutralised(clean) is clean
    assert neutralised_text("-0.5") == "-0.5"
    assert neutralised_text("=A1") == "'=A1"
