"""Modelling options through a real night: the algorithms that compete and PCA reach training and the registry."""

from datetime import date

from support.cli import segflow_in_process

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.modelling import registry
from segflow.stages import run_nightly

SPEC = GeneratorSpec(customers=1_500, days=200, seed=11, start=date(2024, 1, 1))
LAST_DAY = date(2024, 7, 18)


def test_a_night_trains_with_the_chosen_algorithms_and_pca_and_records_them(db, settings, fetch):
    generate_transactions(db, SPEC)
    chosen = settings.model_copy(update={"algorithms": ["kmeans", "spectral"], "pca_components": 0.95})
    run_nightly(db, chosen, LAST_DAY)
    ((version, params, gates, candidates),) = fetch(
        db, "select version, params, gates, candidates from segflow.model_versions"
    )
    assert {c["algorithm"] for c in candidates} == {"kmeans", "spectral"}
    assert sorted(c["k"] for c in candidates if c["algorithm"] == "spectral") == [3, 4, 5, 6, 7, 8]
    assert gates["algorithms"] == ["kmeans", "spectral"]
    assert params["pca"]["n_components"] == 0.95 and params["pca"]["explained_variance"] >= 0.95
    model = registry.load(db, version)
    assert model.pca is not None and model.pca.n_components_ == params["pca"]["components"]
    # Published segments carry RFM names (from the features, not the components) and centroids in original units.
    segments = fetch(db, "select name, centroid from segflow.model_segments where model_version = %s", (version,))
    assert all(name and set(centroid) == {"recency_days", "frequency", "monetary"} for name, centroid in segments)

    env = {"SEGFLOW_DATABASE_URL": settings.database_url.get_secret_value(), "SEGFLOW_HOME": str(settings.home)}
    shown = segflow_in_process("models", "show", env=env)
    explained = params["pca"]["explained_variance"]
    assert (
        f"model space: PCA, {params['pca']['components']} components explaining {explained:.1%} of the variance "
        "(SEGFLOW_PCA_COMPONENTS=0.95)"
    ) in " ".join(shown.stdout.split())
