"""Train a model for a run: select it on a sample, register it, and promote it when the policy and the
champion/challenger gate allow; record what happened in the run's row."""

from __future__ import annotations

import pandas as pd

from segflow.data import features as feature_store
from segflow.modelling import mlflow_mirror, policy, registry
from segflow.modelling.segment_model import SegmentModel
from segflow.modelling.segments import PreviousSegments, describe_segments, name_members
from segflow.modelling.selection import bounded_silhouette, select_model
from segflow.orchestration.runs import run_info, timed
from segflow.settings import Settings
from segflow.stages.decide import record
from segflow.storage.db import Database


def train(db: Database, settings: Settings, attempt_id: int, decision: policy.TrainingDecision) -> int:
    """Train, register and (if the decision and the gate allow) promote; returns the version the run scores with."""
    reason = "; ".join(decision.reasons)
    champion = registry.champion(db)
    info = run_info(db, attempt_id)
    feature_set = feature_store.FeatureSet(tuple(info.features))
    with timed(db, attempt_id, "train"):
        cuts = info.rfm_cut_points or {}
        sample = feature_store.training_sample(db, attempt_id, feature_set, settings.max_train_customers, settings.seed)
        if cuts:
            sample = sample.join(feature_store.rfm_scores(sample, cuts))
        selection = select_model(
            sample,
            list(feature_set.names),
            min_clusters=settings.min_clusters,
            max_clusters=settings.max_clusters,
            min_share=settings.min_segment_share,
            silhouette_sample=settings.silhouette_sample,
            seed=settings.seed,
            algorithms=settings.algorithms,
            spectral_sample=settings.spectral_sample,
            pca_components=settings.pca_components,
        )
        previous = champion_segments(db)
        segments, labels = describe_segments(selection.model, sample, previous)
        context = registry.TrainingContext(
            as_of=info.as_of,
            train_window_start=info.window_start if feature_set.uses_transactions else None,
            train_window_end=info.as_of,
            sample_size=len(sample),
            seed=settings.seed,
            rfm_cut_points=cuts,
            trained_in_attempt=attempt_id,
        )
        # The training customers named as the score stage names members, so drift against training compares like
        # with like.
        names = {key: (row["name"], row["action"]) for key, row in segments.iterrows()}
        cluster_keys = pd.Series(selection.model.segment_keys).to_numpy(dtype=object)[labels]
        named = pd.Series(name_members(cluster_keys, names, sample, cuts).keys)
        snapshot = sample.head(settings.drift_sample).assign(segment_key=named.head(settings.drift_sample).to_numpy())
        sizes = {str(key): int(count) for key, count in named.value_counts().sort_index().items()}
        version = registry.register(db, settings.model_path, selection, segments, context, snapshot, sizes)
        promote = decision.may_promote
        if promote and decision.gated and previous is not None and champion is not None:
            challenge = measure_challenge(previous.model, selection.model, sample, settings, (version, champion))
            registry.record_challenge(db, version, challenge.as_dict())
            reason += f"; {challenge.verdict}"
            promote = challenge.promoted
        if promote:
            registry.promote(db, version)
    mlflow_mirror.after_training(db, settings, version)  # off without a tracking URI; a failure only warns
    same_features = champion is not None and previous is not None and previous.model.features == list(info.features)
    used = version if promote or not same_features or champion is None else champion
    record(db, attempt_id, True, reason, used, _outcome(version, champion, used, promote, decision.gated))
    return used


def measure_challenge(
    champion: SegmentModel,
    challenger: SegmentModel,
    sample: pd.DataFrame,
    settings: Settings,
    versions: tuple[int, int],
) -> policy.Challenge:
    """The gate's measurements on the same current customers: both silhouettes, and how alike the two
    models segment them (adjusted Rand index). versions: (challenger, champion)."""
    from sklearn.metrics import adjusted_rand_score

    head = sample.head(settings.silhouette_sample)
    labels, scores = [], []
    for model in (challenger, champion):
        assigned, _, _ = model.assign(head)
        labels.append(assigned)
        z = model.to_model_space(head)
        scores.append(bounded_silhouette(z, assigned) if len(set(assigned)) > 1 else -1.0)
    return policy.Challenge(
        challenger=versions[0],
        champion=versions[1],
        silhouette=round(scores[0], 4),
        champion_silhouette=round(scores[1], 4),
        adjusted_rand_index=round(float(adjusted_rand_score(*labels)), 4),
        margin=settings.challenger_margin,
        min_ari=settings.challenger_min_ari,
    )


def champion_segments(db: Database) -> PreviousSegments | None:
    """The champion's model and segment names, which a new model's segments inherit keys and names from."""
    version = registry.champion(db)
    if version is None:
        return None
    return PreviousSegments(
        registry.load(db, version), registry.segment_names(db, version), registry.next_segment_key_number(db)
    )


def _outcome(version: int, champion: int | None, used: int, promoted: bool, gated: bool) -> str:
    if champion is None:
        return f"trained v{version}, the first champion"
    if promoted:
        return (
            f"trained challenger v{version} and promoted it over v{champion}"
            if gated
            else f"trained v{version} for the run's features; it replaced champion v{champion}"
        )
    if gated:
        return f"trained challenger v{version}, which lost; scored with champion v{champion}"
    return f"trained v{version}, kept as a candidate; scored with v{used}"
