"""Names and actions of attribute segments from hand-built standardised centroids."""

import pandas as pd
import pytest

from segflow.data.attribute_names import (
    INCOME_SPENDING_ACTIONS,
    TYPICAL_ACTION,
    feature_label,
    feature_title,
    level_of,
    name_attribute_segments,
)

MALL_FEATURES = ["annual_income_k", "spending_score_1_100"]


def centroids(rows: dict[str, list[float]], features: list[str] = MALL_FEATURES) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=features)


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("annual_income_k", "income"),
        ("spending_score_1_100", "spending"),
        ("age", "age"),
        ("customer_age_years", "age"),
        ("household_income_eur", "income"),
        ("visits_per_month", "visits per month"),
        ("loyalty_points_k", "loyalty points"),
        ("basket_value_usd", "basket value"),
        ("income_growth_pct", "income growth"),  # not just "income": growth is a meaning of its own
        ("score_1_10", "score"),
    ],
)
def test_labels_drop_units_and_use_a_marketers_word(column, label):
    assert feature_label(column) == label


def test_a_title_is_the_label_capitalised():
    assert feature_title("annual_income_k") == "Income"
    assert feature_title("loyalty_points_k") == "Loyalty points"


@pytest.mark.parametrize(("z", "level"), [(0.51, "high"), (0.5, "average"), (-0.5, "average"), (-0.51, "low")])
def test_levels_are_half_a_standard_deviation_either_side_of_the_average(z, level):
    assert level_of(z) == level


def test_the_five_mall_clusters_get_names_and_actions_in_words():
    # The classic five groups, standardised: income mean 60.6 k$, sd 26.2; spending mean 50.2, sd 25.8.
    named = name_attribute_segments(
        centroids(
            {
                "S1": [1.05, 1.23],
                "S2": [1.12, -1.29],
                "S3": [-0.21, -0.01],
                "S4": [-1.30, 1.12],
                "S5": [-1.32, -1.17],
            }
        )
    )
    assert named["name"].to_dict() == {
        "S1": "High income, high spending",
        "S2": "High income, low spending",
        "S3": "Average income, average spending",
        "S4": "Low income, high spending",
        "S5": "Low income, low spending",
    }
    assert named.loc["S2", "action"] == "Find out what keeps them from buying: premium offers, personal outreach."
    assert named.loc["S4", "action"].startswith("Reward loyalty, bundle value offers")
    assert named["action"].is_unique


def test_every_income_and_spending_pair_has_its_own_action():
    pairs = [(i, s) for i in ("high", "average", "low") for s in ("high", "average", "low")]
    assert len({INCOME_SPENDING_ACTIONS[p] for p in pairs}) == 9


def test_age_is_named_by_its_level_alone():
    named = name_attribute_segments(
        centroids({"S1": [-1.2, 0.9], "S2": [1.1, -0.8], "S3": [0.1, 0.2]}, ["age", "spending_score_1_100"])
    )
    assert named["name"].to_list() == ["Young, high spending", "Older, low spending", "Middle-aged, average spending"]
    # Spending without income still picks the spending rule.
    assert named.loc["S1", "action"] == INCOME_SPENDING_ACTIONS[(None, "high")]


def test_segments_with_the_same_levels_are_told_apart_by_where_they_differ_most():
    named = name_attribute_segments(
        centroids({"S1": [1.0, 0.7], "S2": [1.1, 1.9], "S3": [-1.0, -1.0], "S4": [-1.1, -1.6], "S5": [-0.9, -2.2]})
    )
    assert named["name"].to_list() == [
        "High income, high spending (lower spending)",
        "High income, high spending (higher spending)",
        "Low income, low spending (highest spending)",
        "Low income, low spending (2nd highest spending)",
        "Low income, low spending (lowest spending)",
    ]


def test_a_name_kept_by_an_earlier_segment_is_not_given_again():
    named = name_attribute_segments(centroids({"S6": [1.0, 1.0]}), taken=frozenset({"High income, high spending"}))
    assert named.loc["S6", "name"] == "High income, high spending (new)"


def test_other_attributes_get_a_generic_action_that_names_what_sets_them_apart():
    named = name_attribute_segments(
        centroids({"S1": [1.4, -0.2], "S2": [0.0, 0.3], "S3": [-1.3, -0.1]}, ["visits_per_month", "age"])
    )
    assert named["name"].to_list() == [
        "High visits per month, middle-aged",
        "Average visits per month, middle-aged",
        "Low visits per month, middle-aged",
    ]
    assert named.loc["S1", "action"] == (
        "Build the offer around what sets them apart (high visits per month) and test it against the regular programme."
    )
    assert named.loc["S2", "action"] == TYPICAL_ACTION


def test_two_columns_with_one_label_keep_their_own_words():
    named = name_attribute_segments(
        centroids({"S1": [1.0, -1.0], "S2": [-1.0, 1.0]}, ["annual_income_k", "household_income_k"])
    )
    assert named["name"].to_list() == [
        "High annual income k, low household income k",
        "Low annual income k, high household income k",
    ]
