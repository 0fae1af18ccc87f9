"""Scoring frames with a hand-built model: exact segments, distances and confidences, and one error per bad row."""

import numpy as np
import pandas as pd
import pytest
from support.scorers import FEATURES, hand_built_scorer

from segflow.modelling.scoring import MissingFeatureValues, RowError, Scorer


def test_valid_rows_get_segment_name_action_distance_and_confidence():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "recency_days": [0, 10], "frequency": [1, 1], "monetary": [0, 50]})
    batch = hand_built_scorer().score(frame)
    assert batch.errors == []
    assert batch.rows["customer_id"].tolist() == ["a", "b"]
    assert batch.rows["segment_key"].tolist() == ["S1", "S2"]
    assert batch.rows["segment_name"].tolist() == ["Loyal", "Big spenders"]
    assert batch.rows["action"].tolist() == ["Thank them", "Upsell"]
    # b: 50 from S2's centroid, sqrt(10² + 50²) = 50.990195 from S1's; confidence = (50.990195 - 50) / 50.990195.
    assert batch.rows["distance"].tolist() == [0.0, 50.0]
    assert batch.rows["confidence"].tolist() == [1.0, 0.019419]
    assert batch.rows["model_version"].tolist() == [7, 7]


def test_bad_rows_are_reported_by_number_and_column_and_good_rows_still_scored():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f", "g"],
            "recency_days": ["0", "", "-3", "10", "inf", "2", " 1 "],
            "frequency": ["1", "2", "1", "0", "1", "1", "1"],
            "monetary": ["0", "5", "abc", "50", "1", "-0.5", "2.5"],
        }
    )
    batch = hand_built_scorer().score(frame, first_row=101)
    assert batch.errors == [
        RowError(102, "recency_days: missing value", "recency_days"),
        RowError(103, "recency_days: recency must be 0 or more days, got -3", "recency_days"),
        RowError(
            104,
            "frequency: frequency must be at least 1 invoice, got 0 "
            "(customers without a purchase in the window are 'inactive', not clustered)",
            "frequency",
        ),
        RowError(105, "recency_days: recency_days must be a finite number, got inf", "recency_days"),
        RowError(106, "monetary: monetary must not be negative, got -0.5", "monetary"),
    ]
    assert batch.rows["customer_id"].tolist() == ["a", "g"]
    assert batch.rows["recency_days"].tolist() == [0.0, 1.0]
    assert batch.rows["segment_key"].tolist() == ["S1", "S1"]


def test_a_word_where_a_number_belongs_is_named_with_its_value():
    frame = pd.DataFrame({"recency_days": ["1"], "frequency": ["1"], "monetary": ["abc"]})
    assert hand_built_scorer().score(frame).errors == [RowError(1, "monetary: 'abc' is not a number", "monetary")]


def test_values_beyond_a_quadrillion_are_refused_and_a_long_cell_is_quoted_short():
    # 1e308 is finite, but its distance to any centroid overflows to infinity: refused like a negative recency.
    frame = pd.DataFrame(
        {"recency_days": ["1", "1", "1e15"], "frequency": ["1", "-1e16", "1"], "monetary": ["1e308", "1", "1"]}
    )
    batch = hand_built_scorer().score(frame)
    assert batch.errors == [
        RowError(1, "monetary: monetary must be between -1e+15 and 1e+15, got 1e+308", "monetary"),
        RowError(2, "frequency: frequency must be between -1e+15 and 1e+15, got -1e+16", "frequency"),
    ]
    # The bound itself is a value: 1e15 from S1's centroid (0, 1, 0) is a finite distance of about 1e15.
    assert batch.rows["distance"].tolist() == [pytest.approx(1e15)]
    frame = pd.DataFrame({"recency_days": ["1"], "frequency": ["1"], "monetary": ["x" * 5000]})
    assert hand_built_scorer().score(frame).errors == [
        RowError(1, "monetary: '" + "x" * 78 + "… is not a number", "monetary")
    ]


def test_a_frame_with_no_valid_row_gives_no_rows_and_every_error():
    frame = pd.DataFrame({"recency_days": [np.nan], "frequency": [1.0], "monetary": [1.0]})
    batch = hand_built_scorer().score(frame)
    assert batch.errors == [RowError(1, "recency_days: missing value", "recency_days")]
    assert batch.rows.empty
    assert {"segment_key", "distance", "model_version"} <= set(batch.rows.columns)


def test_a_missing_feature_column_is_named():
    message = "model v7 clusters on recency_days, frequency, monetary; missing monetary"
    with pytest.raises(MissingFeatureValues, match=message):
        hand_built_scorer().score(pd.DataFrame({"recency_days": [1], "frequency": [1]}))


def test_a_features_file_is_scored_in_chunks_with_bad_rows_in_a_side_file(tmp_path):
    from segflow.serving.score_file import score_csv

    source = tmp_path / "customers.csv"
    source.write_text("id,Recency,frequency,monetary\na,0,1,0\nb,10,1,50\nc,x,1,1\nd,1,1,1\ne,2,0,1\n")
    target = tmp_path / "scored.csv"
    # d: sqrt(1 + 1) = 1.414214 from S1, sqrt(81 + 9801) = 99.408249 from S2; 1 - 1.414214 / 99.408249 = 0.985774.
    result = score_csv(hand_built_scorer(), source, target, mapping={"recency_days": "Recency"}, chunk_rows=2)
    assert (result.rows_read, result.rows_scored, result.row_errors) == (5, 3, 2)
    assert [e.row for e in result.first_errors] == [3, 5]
    assert target.read_text().splitlines() == [
        "id,recency_days,frequency,monetary,segment_key,segment_name,action,distance,confidence,model_version",
        "a,0.0,1.0,0.0,S1,Loyal,Thank them,0.0,1.0,7",
        "b,10.0,1.0,50.0,S2,Big spenders,Upsell,50.0,0.019419,7",
        "d,1.0,1.0,1.0,S1,Loyal,Thank them,1.414214,0.985774,7",
    ]
    assert result.errors_path == tmp_path / "scored.errors.csv"
    assert result.errors_path.read_text().splitlines() == [
        "row,column,message",
        "3,recency_days,recency_days: 'x' is not a number",
        '5,frequency,"frequency: frequency must be at least 1 invoice, got 0 (customers without a purchase in the '
        "window are 'inactive', not clustered)\"",
    ]


def test_the_scorer_gives_a_lapsed_member_a_name_that_fits_it_and_names_returns_that_cancel_purchases():
    # recency 0 scores r 5 and 9 scores r 1; frequency 1 and monetary 0 score 5 (every cut point is below them).
    cuts = {"recency": [1, 2, 3, 4], "frequency": [0, 0, 0, 0], "monetary": [-4, -3, -2, -1]}
    model = hand_built_scorer().model
    scorer = Scorer(7, model, {"S1": ("Loyal", "Thank them"), "S2": ("Big spenders", "Upsell")}, cuts)
    frame = pd.DataFrame(
        {"recency_days": [0, 9, 0], "frequency": [1, 1, 1], "monetary": [0, 0, 0], "return_rate": [0.2, 0.0, 1.0]}
    )
    assert scorer.input_columns(["monetary", "return_rate", "frequency", "recency_days", "x"]) == [
        *FEATURES,
        "return_rate",
    ]
    rows = scorer.score(frame).rows
    # All three are nearest S1 ("Loyal"); (1, 5, 5) contradicts it and fits "Can't lose them" best, which no segment
    # of this model is called: a rule segment. The third returned everything it bought.
    assert rows["segment_key"].tolist() == ["S1", "cant_lose_them", "returned_all"]
    assert rows["segment_name"].tolist() == ["Loyal", "Can't lose them", "Returned everything"]
    assert rows["distance"].tolist() == [0.0, 9.0, 0.0]


HOSTILE = ('=HYPERLINK("http://evil.example","x")', "+cmd", "@SUM(1+1)*cmd|'/C calc'!A0", "-2+3", "\tTAB", "\rCR")
# A carriage return inside a cell must not end the row: the text after it would start a row (and a formula) itself.
INSIDE = "x\r=cmd"


def _live_formulas(path) -> list[str]:
    """Cells (column names included) a spreadsheet would run: starting with = + - @ tab or CR and not a number."""
    import csv
    import re

    with path.open(newline="", encoding="utf-8") as file:
        cells = [cell for row in csv.reader(file) for cell in row]
    number = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
    return [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not number.fullmatch(c)]


def test_a_scored_file_and_its_errors_file_carry_no_live_formula(tmp_path):
    from segflow.serving.score_file import score_csv

    source = tmp_path / "customers.csv"
    rows = [["id", "=note", "recency_days", "frequency", "monetary", "balance"]]
    rows += [[hostile, hostile, "0", "1", "0", "-12.5"] for hostile in HOSTILE]
    rows += [[INSIDE, "ok", "0", "1", "0", "1"]]
    rows += [["bad", "+x", "0", "1", "=1+1"]]  # monetary not a number: its message quotes the value
    import csv

    with source.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(rows)
    target = tmp_path / "scored.csv"
    result = score_csv(hand_built_scorer(), source, target, chunk_rows=2)
    assert (result.rows_read, result.rows_scored, result.row_errors) == (8, 7, 1)
    assert _live_formulas(target) == []
    assert _live_formulas(result.errors_path) == []
    with target.open(newline="", encoding="utf-8") as file:
        scored = list(csv.DictReader(file))
    assert list(scored[0])[:2] == ["id", "'=note"]
    assert [r["id"] for r in scored] == ["'" + hostile for hostile in HOSTILE] + [INSIDE]
    assert [r["'=note"] for r in scored] == ["'" + hostile for hostile in HOSTILE] + ["ok"]
    assert [r["balance"] for r in scored] == ["-12.5"] * 6 + ["1"]  # a negative number stays a number
    assert result.errors_path.read_text().splitlines()[1] == "8,monetary,monetary: '=1+1' is not a number"
