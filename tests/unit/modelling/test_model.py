"""Model selection on hand-built data: the right k, the whale gate, the pieces of a model."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score
from support.data import make_mall_customers, make_rfm_with_whales

from segflow.errors import SegflowError
from segflow.modelling.algorithms import DEFAULT_ALGORITHMS
from segflow.modelling.candidates import Candidate, fit_candidates, labels_of
from segflow.modelling.segment_model import LogSkewed, _NearestCentroid, choose_log_features
from segflow.modelling.selection import SILHOUETTE_TIE, evaluate, select, select_model


def test_mall_like_customers_give_five_segments():
    selection = select_model(make_mall_customers(), ["annual_income", "spending_score"])
    assert selection.model.k == 5
    assert selection.chosen.metrics["silhouette"] > 0.6
    assert {c.algorithm for c in selection.candidates} >= {"kmeans", "gaussian_mixture", "agglomerative_ward", "dbscan"}


def test_every_candidate_has_all_three_metrics_or_a_reason():
    selection = select_model(make_mall_customers(), ["annual_income", "spending_score"])
    for candidate in selection.candidates:
        summary = candidate.summary()
        assert summary["rejected_because"] or {"silhouette", "davies_bouldin", "calinski_harabasz"} <= set(
            summary["metrics"]
        )


def test_a_whale_cluster_is_rejected_by_the_share_gate():
    data = make_rfm_with_whales()
    # Without log1p, raw-scaled monetary lets the 30 whales (1.5%) form their own segment.
    selection = select_model(data, ["recency_days", "frequency", "monetary"], min_share=0.03)
    rejected = [c for c in selection.candidates if c.rejected_because and "smallest segment" in c.rejected_because]
    assert rejected, "some candidate should have isolated the whales and been rejected"
    assert selection.chosen.metrics["min_share"] >= 0.03
    labels, _, _ = selection.model.assign(data)
    assert np.bincount(labels).min() / len(data) >= 0.03


def test_no_candidate_passing_is_an_error_naming_the_gate():
    data = make_rfm_with_whales()
    with pytest.raises(SegflowError, match="no candidate model passed the quality gates"):
        select_model(data, ["recency_days", "frequency", "monetary"], min_share=0.45)


def test_only_long_tailed_non_negative_features_are_logged():
    data = make_rfm_with_whales()
    data["centred"] = np.random.default_rng(0).normal(0, 1, len(data))
    assert choose_log_features(data, ["recency_days", "frequency", "monetary", "centred"]) == ["frequency", "monetary"]


def test_log_skewed_round_trips():
    x = np.array([[0.0, 5.0], [10.0, 7.0]])
    step = LogSkewed((0,))
    np.testing.assert_allclose(step.transform(x)[:, 0], np.log1p([0.0, 10.0]))
    np.testing.assert_allclose(step.inverse_transform(step.transform(x)), x)


def test_assignments_carry_distance_and_confidence_in_range():
    data = make_mall_customers()
    model = select_model(data, ["annual_income", "spending_score"]).model
    labels, distance, confidence = model.assign(data)
    assert len(labels) == 200 and set(labels) == set(range(5))
    assert (distance >= 0).all() and ((confidence >= 0) & (confidence <= 1)).all()
    centroids = model.centroids_original_units()
    assert list(centroids.columns) == ["annual_income", "spending_score"]
    # the high-income, high-score group's centroid, back in k$ and score points
    top = centroids.loc[(centroids["annual_income"] > 70) & (centroids["spending_score"] > 70)]
    assert len(top) == 1 and abs(top["annual_income"].iloc[0] - 86) < 4


def test_wcss_is_the_squared_distance_of_each_customer_to_its_centroid():
    z = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 4.0]])
    # Nearest centroid: the first two customers to (0, 1), the last two to (10, 2).
    candidate = Candidate("agglomerative_ward", 2, {}, centroids=np.array([[0.0, 1.0], [10.0, 2.0]]))
    evaluate([candidate], z, eval_size=4, k_range=range(2, 3), min_share=0.1)
    # 1 + 1 (one unit either side of (0, 1)) + 4 + 4 (two units either side of (10, 2))
    assert candidate.metrics["wcss"] == 10.0


def test_kmeans_wcss_is_its_inertia():
    selection = select_model(make_mall_customers(), ["annual_income", "spending_score"])
    for candidate in (c for c in selection.candidates if c.algorithm == "kmeans"):
        assert candidate.metrics["wcss"] == pytest.approx(candidate.estimator.inertia_, abs=5e-4)  # wcss has 3 decimals


def test_customers_that_mostly_share_one_point_reject_dbscan_instead_of_crashing():
    # 200 customers with the same features and three small groups: the 90th percentile of the distance to
    # the 5th neighbour, DBSCAN's radius, is 0.
    points = [(10.0, 1.0, 50.0)] * 200 + [(200.0, 1.0, 20.0)] * 4 + [(5.0, 9.0, 900.0)] * 4 + [(90.0, 3.0, 150.0)] * 4
    frame = pd.DataFrame(points, columns=["recency_days", "frequency", "monetary"])
    selection = select_model(
        frame, ["recency_days", "frequency", "monetary"], min_clusters=2, max_clusters=3, min_share=0.01
    )
    dbscan = [c for c in selection.candidates if c.algorithm == "dbscan"]
    assert [c.rejected_because for c in dbscan] == ["most customers are identical (neighbour distance 0)"]


# select(): among candidates that passed the gates, those within SILHOUETTE_TIE of the best silhouette,
# then the lowest (davies_bouldin, k). Candidates are built by hand with the metrics each case needs.


def _scored(
    algorithm: str,
    k: int,
    silhouette: float,
    davies_bouldin: float,
    *,
    passed: bool = True,
    rejected_because: str | None = None,
    finalist: bool = False,
) -> Candidate:
    metrics = {"silhouette": silhouette, "davies_bouldin": davies_bouldin}
    if finalist:
        metrics["finalist"] = True
    return Candidate(algorithm, k, {}, metrics=metrics, passed=passed, rejected_because=rejected_because)


def test_select_takes_the_clear_silhouette_winner_over_a_lower_davies_bouldin():
    leader = _scored("kmeans", 4, silhouette=0.60, davies_bouldin=0.90)
    runner_up = _scored("gaussian_mixture", 3, silhouette=0.50, davies_bouldin=0.40)  # 0.10 behind: no tie
    assert select([runner_up, leader]) is leader


def test_select_within_the_tie_prefers_the_lower_davies_bouldin_despite_a_lower_silhouette():
    leader = _scored("kmeans", 4, silhouette=0.600, davies_bouldin=0.80)
    tied = _scored("agglomerative_ward", 5, silhouette=0.595, davies_bouldin=0.70)  # 0.005 behind
    assert select([leader, tied]) is tied


def test_select_with_equal_davies_bouldin_in_the_tie_prefers_fewer_segments():
    five = _scored("kmeans", 5, silhouette=0.600, davies_bouldin=0.70)
    three = _scored("gaussian_mixture", 3, silhouette=0.595, davies_bouldin=0.70)
    four = _scored("kmeans", 4, silhouette=0.598, davies_bouldin=0.70)
    assert select([five, four, three]) is three


@pytest.mark.parametrize(
    ("behind", "winner"),
    [
        (SILHOUETTE_TIE + 0.001, "leader"),  # just outside the tie: its better Davies-Bouldin does not count
        (SILHOUETTE_TIE - 0.001, "challenger"),  # just inside: it does
    ],
    ids=["just-outside-the-tie", "just-inside-the-tie"],
)
def test_select_counts_davies_bouldin_only_within_the_tie(behind, winner):
    leader = _scored("kmeans", 4, silhouette=0.600, davies_bouldin=0.90)
    challenger = _scored("kmeans", 3, silhouette=0.600 - behind, davies_bouldin=0.30)
    assert select([leader, challenger]) is {"leader": leader, "challenger": challenger}[winner]


def test_select_never_picks_a_candidate_that_failed_the_gates():
    failed = _scored(
        "kmeans",
        3,
        silhouette=0.90,
        davies_bouldin=0.10,
        passed=False,
        rejected_because="smallest segment is 1.5% of customers, below the 3% minimum",
    )
    passed = _scored("gaussian_mixture", 5, silhouette=0.40, davies_bouldin=1.20)
    assert select([failed, passed]) is passed


def test_select_only_lets_finalists_compete_when_there_are_finalists():
    # Finalists' silhouette is on the full evaluation sample; the others' only on the screening sample.
    screened_only = _scored("kmeans", 3, silhouette=0.70, davies_bouldin=0.50)
    finalist = _scored("kmeans", 4, silhouette=0.55, davies_bouldin=0.80, finalist=True)
    assert select([screened_only, finalist]) is finalist


def test_select_without_a_passed_candidate_raises_naming_each_reason():
    candidates = [
        _scored(
            "kmeans",
            3,
            silhouette=0.80,
            davies_bouldin=0.30,
            passed=False,
            rejected_because="smallest segment is 1.5% of customers, below the 3% minimum",
        ),
        Candidate("dbscan", 1, {}, rejected_because="found 1 cluster(s)"),
    ]
    with pytest.raises(SegflowError) as raised:
        select(candidates)
    assert str(raised.value) == (
        "no candidate model passed the quality gates (kmeans k=3: smallest segment is 1.5% of customers, "
        "below the 3% minimum; dbscan k=1: found 1 cluster(s))"
    )


def test_silhouette_holds_a_bounded_block_of_distances_and_gives_sklearns_score():
    # 8,000 customers: sklearn's default 1 GB working memory would hold one 8,000 x 8,000 block (512 MB).
    rng = np.random.default_rng(7)
    labels = np.tile([0, 1], 4_000)  # alternating, so the 4,000 screened first hold both
    z = rng.normal(0, 1, (8_000, 5)) + 4.0 * labels[:, None]
    candidate = Candidate("agglomerative_ward", 2, {}, centroids=np.array([[0.0] * 5, [4.0] * 5]))
    tracemalloc.start()
    try:
        evaluate([candidate], z, eval_size=len(z), k_range=range(2, 3), min_share=0.1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20, f"evaluate peaked at {peak / 2**20:.0f} MB"
    assert candidate.metrics["silhouette_sample"] == 8_000  # screened on 4,000, then the finalist on all
    assert candidate.metrics["silhouette"] == round(float(silhouette_score(z, labels)), 5)


# Spectral clustering and the choice of algorithms.


def _blobs(per_blob: int = 60, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Three tight, far-apart blobs in two dimensions, and which blob each point came from."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    truth = np.repeat([0, 1, 2], per_blob)
    return centres[truth] + rng.normal(0, 0.3, (len(truth), 2)), truth


def test_spectral_recovers_well_separated_blobs():
    z, truth = _blobs()
    (spectral,) = fit_candidates(z, range(3, 4), seed=42, algorithms=("spectral",))
    labels = labels_of(spectral, z)
    # Every blob is one cluster and every cluster one blob, whatever the numbering.
    assert {(int(t), int(lab)) for t, lab in zip(truth, labels, strict=True)} == {
        (t, int(labels[truth == t][0])) for t in range(3)
    }
    assert len(set(labels)) == 3


def test_spectral_candidates_are_listed_with_their_k_and_fit_on_a_bounded_subsample():
    z, _ = _blobs()
    candidates = fit_candidates(z, range(2, 5), seed=42, algorithms=("kmeans", "spectral"), spectral_sample=100)
    assert [(c.algorithm, c.k) for c in candidates if c.algorithm == "spectral"] == [
        ("spectral", 2),
        ("spectral", 3),
        ("spectral", 4),
    ]
    assert {c.params["fit_sample"] for c in candidates if c.algorithm == "spectral"} == {100}
    assert [c.algorithm for c in candidates].count("kmeans") == 3


def test_turning_spectral_on_leaves_the_other_candidates_as_they_were():
    z = make_rfm_with_whales().to_numpy(dtype=float)
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    without = fit_candidates(z, range(3, 4), seed=42)
    with_spectral = fit_candidates(z, range(3, 4), seed=42, algorithms=(*DEFAULT_ALGORITHMS, "spectral"))
    others = [c for c in with_spectral if c.algorithm != "spectral"]
    assert [(c.algorithm, c.k, c.params) for c in others] == [(c.algorithm, c.k, c.params) for c in without]
    for a, b in zip(others, without, strict=True):
        np.testing.assert_array_equal(a.fitted_centroids(), b.fitted_centroids())


def test_a_spectral_champion_scores_new_customers_by_the_nearest_centroid():
    z, _ = _blobs()
    frame = pd.DataFrame(z, columns=["x", "y"])
    selection = select_model(frame, ["x", "y"], min_clusters=2, max_clusters=5, algorithms=["spectral"])
    model = selection.model
    assert (model.algorithm, model.k) == ("spectral", 3)
    assert isinstance(model.pipeline[-1], _NearestCentroid)
    # New customers: one near each blob's centre, and one between the first two (nearer the first).
    new = pd.DataFrame([[0.2, -0.1], [5.9, 0.3], [-0.2, 6.1], [2.5, 0.0]], columns=["x", "y"])
    labels, distance, _ = model.assign(new)
    in_model_space = model.to_model_space(new)
    nearest = ((in_model_space[:, None, :] - model.centroids[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    np.testing.assert_array_equal(labels, nearest)
    assert len(set(labels[:3])) == 3 and labels[3] == labels[0]
    np.testing.assert_allclose(distance, np.linalg.norm(in_model_space - model.centroids[labels], axis=1))


def test_an_unknown_algorithm_is_an_error_naming_it_and_the_choices():
    with pytest.raises(SegflowError, match=r"unknown spectrall; choose among kmeans, .*spectral"):
        select_model(make_mall_customers(), ["annual_income", "spending_score"], algorithms=["kmeans", "spectrall"])


# PCA in model space.


def _three_features(seed: int = 5) -> pd.DataFrame:
    """Mall-like customers with a third feature that mostly repeats income (so PCA has something to drop)."""
    frame = make_mall_customers(seed)
    frame["household_income"] = frame["annual_income"] * 1.1 + np.random.default_rng(seed).normal(0, 2, len(frame))
    return frame


FEATURES_3 = ["annual_income", "spending_score", "household_income"]


def test_with_pca_a_model_scores_names_segments_and_stores_the_explained_variance():
    from segflow.modelling.segments import describe_segments

    data = _three_features()
    selection = select_model(data, FEATURES_3, pca_components=0.95)
    model = selection.model
    pca = model.params["pca"]
    assert pca["n_components"] == 0.95 and pca["components"] == 2  # household income adds almost nothing
    assert len(pca["explained_variance_ratio"]) == 2 and pca["explained_variance"] >= 0.95
    assert model.to_model_space(data).shape == (200, 2) and model.centroids.shape == (model.k, 2)
    labels, distance, confidence = model.assign(data)
    assert set(labels) == set(range(model.k)) and (distance >= 0).all() and (confidence <= 1).all()
    segments, _ = describe_segments(model, data)
    # Names come from the features, not the components: the high-income, high-spending group is named so.
    top = segments.loc[[c["annual_income"] > 70 and c["spending_score"] > 70 for c in segments["centroid"]]]
    assert len(top) == 1
    assert top["name"].iloc[0] == "High annual income, high spending, high household income"
    assert abs(top["centroid"].iloc[0]["annual_income"] - 86) < 5


def test_with_pca_the_same_seed_gives_the_same_model():
    data = _three_features()
    options = {"pca_components": 2, "seed": 7, "algorithms": ["kmeans", "gaussian_mixture", "spectral"]}
    first = select_model(data, FEATURES_3, **options).model
    second = select_model(data, FEATURES_3, **options).model
    assert (first.algorithm, first.k, first.params) == (second.algorithm, second.k, second.params)
    np.testing.assert_array_equal(first.centroids, second.centroids)
    np.testing.assert_array_equal(first.pca.components_, second.pca.components_)


def test_pca_with_more_components_than_features_is_an_error_naming_both():
    with pytest.raises(SegflowError, match=r"pca_components 3 must be .* at most the number of features \(2\)"):
        select_model(make_mall_customers(), ["annual_income", "spending_score"], pca_components=3)
