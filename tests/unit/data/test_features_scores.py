"""R/F/M scores from cut points, by hand."""

import numpy as np
import pandas as pd

from segflow.data.features import FeatureSet, rfm_scores

CUTS = {"recency": [1, 3, 5, 7], "frequency": [1, 1, 2, 3], "monetary": [5, 10, 20, 30]}


def test_scores_count_cut_points_strictly_below_with_recent_as_five():
    frame = pd.DataFrame({"recency_days": [6, 0, 7, 100], "frequency": [2, 1, 3, 9], "monetary": [23, 6.5, 5, 1e6]})
    scores = rfm_scores(frame, CUTS)
    # recency 6 is above 1, 3, 5 -> 5-3 = 2; 0 -> 5; 7 is not above 7 -> 5-3 = 2; 100 -> 1
    assert scores["r_score"].tolist() == [2, 5, 2, 1]
    # frequency 1 is not above 1 -> 1 (the tied bottom fifth all score 1); 2 -> 3; 3 -> 4; 9 -> 5
    assert scores["f_score"].tolist() == [3, 1, 4, 5]
    assert scores["m_score"].tolist() == [4, 2, 1, 5]


def test_customers_without_values_get_no_score():
    frame = pd.DataFrame({"recency_days": [np.nan], "frequency": [np.nan], "monetary": [np.nan]})
    assert rfm_scores(frame, CUTS).isna().all().all()


def test_feature_sets_split_rfm_from_attributes():
    features = FeatureSet(("monetary", "annual_income"))
    assert features.rfm == ("monetary",) and features.attributes == ("annual_income",)
    assert features.uses_transactions and not FeatureSet(("a", "b")).uses_transactions
