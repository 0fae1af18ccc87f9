"""The app's pure helpers: filtering members by feature ranges, mapping a file's columns to model features."""

import pandas as pd
import pytest

from segflow.ui.data import map_columns, within_ranges


def test_within_ranges_keeps_rows_inside_every_inclusive_range():
    frame = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "frequency": [1, 3, 5, 7], "monetary": [10.0, 50, 90, 20]}
    )

    kept = within_ranges(frame, {"frequency": (3, 7), "monetary": (20, 50)})

    assert list(kept["customer_id"]) == ["b", "d"]  # c is outside monetary, a outside frequency; ends included


def test_within_no_ranges_keeps_every_row():
    frame = pd.DataFrame({"frequency": [1, 2]})
    assert within_ranges(frame, {}).equals(frame)


def test_map_columns_copies_each_features_column_and_keeps_the_files_own():
    frame = pd.DataFrame({"id": ["a"], "days": ["3"], "orders": ["12"], "spend": ["2500"]})

    mapped = map_columns(frame, {"recency_days": "days", "frequency": "orders", "monetary": "spend"})

    assert mapped.to_dict("records") == [
        {
            "id": "a",
            "days": "3",
            "orders": "12",
            "spend": "2500",
            "recency_days": "3",
            "frequency": "12",
            "monetary": "2500",
        }
    ]


def test_map_columns_may_map_a_feature_to_a_column_named_like_another():
    # The file's "frequency" holds spend: mapping reads the file's columns, not the ones already mapped.
    frame = pd.DataFrame({"frequency": ["900"], "orders": ["4"]})

    mapped = map_columns(frame, {"monetary": "frequency", "frequency": "orders"})

    assert (mapped.loc[0, "monetary"], mapped.loc[0, "frequency"]) == ("900", "4")


def test_map_columns_names_a_column_the_file_lacks():
    with pytest.raises(ValueError, match="the file has no column\\(s\\) spend"):
        map_columns(pd.DataFrame({"id": ["a"]}), {"monetary": "spend"})
