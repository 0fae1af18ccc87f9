"""Segment names and keys: from R/F/M positions, and for attribute models kept from the champion."""

import numpy as np
import pandas as pd
from support.data import make_mall_customers

from segflow.data.attribute_names import INCOME_SPENDING_ACTIONS
from segflow.data.features import rfm_scores
from segflow.modelling.segments import (
    NAMES,
    RETURNED_ALL,
    PreviousSegments,
    centroid_fits,
    describe_segments,
    fitting_names,
    match_to_previous,
    name_members,
    name_rule_key,
    name_segments,
    order_labels,
)
from segflow.modelling.selection import select_model


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


# Names that fit every member (issue 21). With these cut points recency 5/15/25/35/100 days score r 5/4/3/2/1,
# frequency 1/2/3/4/9 score f 1/2/3/4/5, monetary 50/150/250/350/1000 score m 1/2/3/4/5.
CUTS = {"recency": [10, 20, 30, 40], "frequency": [1, 2, 3, 4], "monetary": [100, 200, 300, 400]}
MODEL_SEGMENTS = {
    "S1": ("Champions", NAMES["Champions"][1]),
    "S2": ("Loyal", NAMES["Loyal"][1]),
    "S3": ("At risk", NAMES["At risk"][1]),
}


def members(recency, frequency, monetary, return_rate=None) -> pd.DataFrame:
    frame = pd.DataFrame({"recency_days": recency, "frequency": frequency, "monetary": monetary})
    if return_rate is not None:
        frame["return_rate"] = return_rate
    return frame


def test_the_lowest_recency_score_contradicts_exactly_the_five_recent_names():
    fits = dict(zip(NAMES, fitting_names(np.array([[1.0, 3.0, 3.0]]))[0], strict=True))
    assert sorted(name for name, fit in fits.items() if not fit) == [
        "Champions",
        "Loyal",
        "New",
        "Potential loyalists",
        "Promising",
    ]


def test_a_score_exactly_two_and_a_half_from_the_prototype_still_fits():
    # Need attention sits at (3, 3, 3) and Loyal at (3.8, 4, 4): 0.5 and 5.5 are exactly 2.5 from 3, 1.5 from 4.
    points = np.array([[0.5, 5.5, 3.0], [0.49, 3.0, 3.0], [3.8, 1.5, 4.0], [3.8, 1.49, 4.0]])
    fits = fitting_names(points)
    attention, loyal = list(NAMES).index("Need attention"), list(NAMES).index("Loyal")
    assert fits[:, attention].tolist() == [True, False, True, True]
    assert fits[:, loyal].tolist() == [False, False, True, False]


def test_a_lapsed_member_of_a_loyal_cluster_carries_a_name_that_fits_it_and_keeps_its_cluster():
    # All three in the Loyal cluster S2: (5, 4, 4) fits Loyal; (1, 4, 4) lapsed, and At risk (2, 3.6, 3.6) is the
    # model's nearest fitting name; (1, 1, 1) fits no segment of the model, so the rule segment of its nearest name.
    frame = members([5, 100, 100], [4, 4, 1], [350, 350, 50])
    named = name_members(np.array(["S2", "S2", "S2"]), MODEL_SEGMENTS, frame, CUTS)
    assert named.keys.tolist() == ["S2", "S3", "lost"]
    assert named.names.tolist() == ["Loyal", "At risk", "Lost"]
    assert named.actions.tolist() == [NAMES["Loyal"][1], NAMES["At risk"][1], NAMES["Lost"][1]]
    assert named.scores["r_score"].tolist() == [5, 1, 1]
    assert (named.moved, named.returned_all) == (2, 0)


def test_customers_whose_returns_cancel_their_purchases_get_no_value_based_name():
    # Bought 74,215 units and returned every one the same day: return_rate exactly 1, net spend 0.
    frame = members([5, 5, 5], [9, 9, 9], [77_183.6, 77_183.6, 1_000], return_rate=[1.0, 0.99, 2.0])
    named = name_members(np.array(["S1", "S1", "S1"]), MODEL_SEGMENTS, frame, CUTS)
    assert named.keys.tolist() == [RETURNED_ALL[0], "S1", RETURNED_ALL[0]]
    assert named.names.tolist() == ["Returned everything", "Champions", "Returned everything"]
    assert (named.moved, named.returned_all) == (0, 2)


def test_without_scores_or_with_names_of_attributes_members_keep_their_cluster():
    frame = members([100], [1], [50])
    assert name_members(np.array(["S2"]), MODEL_SEGMENTS, frame, {}).keys.tolist() == ["S2"]
    worded = {"S1": ("High income, high spending", "Premium offers.")}
    assert name_members(np.array(["S1"]), worded, frame, CUTS).names.tolist() == ["High income, high spending"]


def test_rule_keys_come_from_names():
    assert [name_rule_key(n) for n in ("At risk", "Can't lose them", "Potential loyalists")] == [
        "at_risk",
        "cant_lose_them",
        "potential_loyalists",
    ]


def three_groups() -> pd.DataFrame:
    """30 customers each at scores (5, 5, 5), (1, 1, 1) and (3, 3, 3), a little apart."""
    rng = np.random.default_rng(3)
    centres = [(5, 9, 1_000), (100, 1, 50), (25, 3, 250)]
    frame = pd.concat([members([r] * 30, [f] * 30, [m] * 30) for r, f, m in centres], ignore_index=True).astype(float)
    frame["monetary"] += rng.uniform(-5, 5, len(frame))
    return frame.join(rfm_scores(frame, CUTS))


def test_an_inherited_name_the_segment_no_longer_fits_is_renamed_and_recorded():
    sample = three_groups()
    model = select_model(sample, ["recency_days", "frequency", "monetary"], min_clusters=3, max_clusters=3).model
    first, _ = describe_segments(model, sample)
    assert sorted(first["name"]) == ["Champions", "Lost", "Need attention"]
    lost = first.index[first["name"] == "Lost"][0]
    # The champion called the (1, 1, 1) segment "Loyal" (e.g. before its customers lapsed).
    inherited = {key: (row["name"], row["action"]) for key, row in first.iterrows()} | {lost: ("Loyal", "old")}

    described, _ = describe_segments(model, sample, PreviousSegments(model, inherited, next_key_number=4))

    assert described.loc[lost, ["name", "renamed_from"]].tolist() == ["Lost", "Loyal"]
    assert described.loc[lost, "action"] == NAMES["Lost"][1]
    assert described["renamed_from"].drop(lost).isna().all()  # the two that still fit kept their names
    assert centroid_fits(np.array([3.0, 2.5, 2.5]), "Loyal") and not centroid_fits(np.array([3.0, 2.4, 3]), "Loyal")
