"""Segment names and keys: from R/F/M positions, and for attribute models kept from the champion."""

import numpy as np
import pandas as pd
from support.data import make_mall_customers

from segflow.attribute_names import INCOME_SPENDING_ACTIONS
from segflow.model import select_model
from segflow.segments import (
    NAMES,
    PreviousSegments,
    describe_segments,
    match_to_previous,
    name_segments,
    order_labels,
)


def test_names_follow_rfm_positions_and_are_unique():
    positions = pd.DataFrame(
        {"r": [4.8, 1.2, 4.7, 1.5], "f": [4.9, 1.1, 1.1, 4.8], "m": [4.9, 1.2, 1.4, 4.7]},
        index=["S1", "S2", "S3", "S4"],
    )
    names = name_segments(positions)["name"].to_dict()
    assert names == {"S1": "Champions", "S2": "Lost", "S3": "New", "S4": "Can't lose them"}


def test_champions_only_for_the_best_on_recency_frequency_and_monetary():
    # S1 spends most but S2 bought more recently: nobody is best everywhere, so nobody is a Champion.
    positions = pd.DataFrame(
        {"r": [4.0, 4.9, 1.5], "f": [5.0, 3.0, 1.5], "m": [5.0, 3.0, 1.5]}, index=["S1", "S2", "S3"]
    )
    names = name_segments(positions)
    assert "Champions" not in set(names["name"])
    assert names["name"].is_unique
    assert all(action == NAMES[name][1] for name, action in names.itertuples(index=False))


def test_keys_rank_segments_by_value():
    frame = pd.DataFrame({"r_score": [1, 1, 5, 5, 3], "f_score": [1, 1, 5, 5, 3], "m_score": [1, 2, 5, 4, 3]})
    labels = np.array([0, 0, 1, 1, 2])
    assert order_labels(frame, labels, 3) == ["S3", "S1", "S2"]


def test_matching_follows_centroids_whatever_their_order():
    previous = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    new = np.array([[-5.1, 4.9], [0.1, 0.0], [5.0, 5.2]])
    assert match_to_previous(new, previous, max_distance=0.75) == {0: 2, 1: 0, 2: 1}


def test_a_centroid_far_from_every_old_one_is_a_new_segment():
    previous = np.array([[0.0, 0.0], [5.0, 5.0]])
    new = np.array([[0.2, 0.0], [9.0, -9.0], [5.0, 5.1]])
    assert match_to_previous(new, previous, max_distance=0.75) == {0: 0, 2: 1}


def test_names_taken_by_kept_segments_are_not_given_again():
    positions = pd.DataFrame({"r": [4.8], "f": [4.9], "m": [4.9]}, index=["S7"])
    names = name_segments(positions, taken=frozenset({"Champions"}))
    assert names.loc["S7", "name"] == "Loyal"


def test_attribute_segments_matched_to_the_champion_keep_their_names_and_a_new_one_is_named_in_words():
    customers, features = make_mall_customers(), ["annual_income", "spending_score"]
    four = select_model(customers, features, min_clusters=4, max_clusters=4).model
    champion, _ = describe_segments(four, customers)
    # Four segments: the low-income big spenders are inside the average group.
    assert champion["name"].to_dict() == {
        "S1": "Average income, average spending",
        "S2": "High income, high spending",
        "S3": "High income, low spending",
        "S4": "Low income, low spending",
    }
    names = {key: (row["name"], row["action"]) for key, row in champion.iterrows()}
    previous = PreviousSegments(four, names, next_key_number=5)
    five = select_model(customers, features, min_clusters=5, max_clusters=5).model

    described, _ = describe_segments(five, customers, previous)

    assert described["name"].to_dict() == {
        "S1": "Average income, average spending",
        "S2": "High income, high spending",
        "S5": "Low income, high spending",
        "S3": "High income, low spending",
        "S4": "Low income, low spending",
    }
    assert described.loc["S5", "action"] == INCOME_SPENDING_ACTIONS[("low", "high")]
