"""Segments: profiles, names and actions in business terms, and stable keys that a new model's segments inherit
from the champion's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from segflow.attribute_names import name_attribute_segments
from segflow.model import SegmentModel

# Where each name sits in (mean R score, mean F score, mean M score), scores 1-5, and what to do.
NAMES: dict[str, tuple[tuple[float, float, float], str]] = {
    "Champions": ((4.6, 4.6, 4.6), "Reward them: early access, loyalty perks, ask for reviews."),
    "Loyal": ((3.8, 4.0, 4.0), "Upsell higher-value products and keep them engaged."),
    "Potential loyalists": ((4.2, 2.8, 2.8), "Offer membership or a loyalty programme."),
    "New": ((4.6, 1.2, 1.5), "Onboard them well: welcome series, first-repeat incentive."),
    "Promising": ((3.6, 1.6, 2.0), "Build the habit: recommendations and a time-limited offer."),
    "Need attention": ((3.0, 3.0, 3.0), "Re-engage with personalised, limited-time offers."),
    "At risk": ((2.0, 3.6, 3.6), "Win them back: personal outreach and a strong offer."),
    "Can't lose them": ((1.4, 4.6, 4.6), "Call them: find out what changed, make it right."),
    "Hibernating": ((1.8, 1.8, 2.0), "Reactivate with relevant products and low-cost campaigns."),
    "Lost": ((1.2, 1.1, 1.2), "Try one last reactivation, then stop spending on them."),
}
INACTIVE = ("inactive", "inactive", "No purchase in the lookback window: win-back or sunset campaign.")
UNSCORED = ("unscored", "unscored", "Missing a model feature: complete the customer's attributes.")


def segment_key_order(key: str) -> tuple[int, int, str]:
    """Sort key for segment keys, the same on both axes of every matrix: S1, S2, ..., S10 by number, then
    the rule segments (and any other key) by name, then 'new_customer' and 'gone'."""
    if key[:1] == "S" and key[1:].isdigit():
        return 0, int(key[1:]), key
    if key in ("new_customer", "gone"):
        return 2, 0, key
    return 1, 0, key


def name_segments(positions: pd.DataFrame, taken: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Unique names and actions for segments given their mean r/f/m scores (index: segment key).

    Names are assigned by minimum total distance between segments and name prototypes (Hungarian
    matching), so they are unique. "Champions" is only allowed for a segment that is best on all of
    recency, frequency and monetary; otherwise no segment is called that. Names in `taken` (kept by
    segments matched to an earlier model) are not given again.
    """
    names = [n for n in NAMES if n not in taken]
    prototypes = np.array([NAMES[n][0] for n in names])
    points = positions[["r", "f", "m"]].to_numpy(dtype=float)
    cost = np.sqrt(((points[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2))
    best_everywhere = (points >= points.max(axis=0) - 1e-9).all(axis=1)
    if "Champions" in names:
        cost[~best_everywhere, names.index("Champions")] = 1e6
    rows, cols = linear_sum_assignment(cost)
    chosen = {positions.index[r]: names[c] for r, c in zip(rows, cols, strict=True)}
    return pd.DataFrame(
        {"name": [chosen[k] for k in positions.index], "action": [NAMES[chosen[k]][1] for k in positions.index]},
        index=positions.index,
    )


def match_to_previous(centroids: np.ndarray, previous: np.ndarray, max_distance: float) -> dict[int, int]:
    """Pairs (new cluster -> previous cluster) by Hungarian matching on centroid distance in one space.

    Only pairs closer than `max_distance` count: a new segment far from every old one is new.
    """
    if len(centroids) == 0 or len(previous) == 0:
        return {}
    cost = np.sqrt(((centroids[:, None, :] - previous[None, :, :]) ** 2).sum(axis=2))
    rows, cols = linear_sum_assignment(cost)
    return {int(r): int(c) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= max_distance}


def profile(frame: pd.DataFrame, labels: np.ndarray, keys: list[str], features: list[str]) -> pd.DataFrame:
    """Per segment key: size, share, and mean and median of every feature and of the R/F/M scores."""
    data = frame[features + [c for c in ("r_score", "f_score", "m_score") if c in frame.columns]].copy()
    data["segment_key"] = np.asarray(keys)[labels]
    grouped = data.groupby("segment_key")
    out = grouped.size().rename("size").to_frame()
    out["share"] = out["size"] / len(data)
    for column in data.columns.drop("segment_key"):
        out[f"mean_{column}"] = grouped[column].mean()
        out[f"median_{column}"] = grouped[column].median()
    return out.reindex(keys)


def order_labels(frame: pd.DataFrame, labels: np.ndarray, k: int) -> list[str]:
    """Segment keys S1..Sk per cluster label, S1 for the most valuable (highest mean R+F+M score)."""
    if {"r_score", "f_score", "m_score"} <= set(frame.columns) and frame["r_score"].notna().all():
        value = (frame["r_score"] + frame["f_score"] + frame["m_score"]).to_numpy(dtype=float)
    else:
        value = np.zeros(len(frame))
    means = np.array([value[labels == label].mean() if (labels == label).any() else -np.inf for label in range(k)])
    rank = np.argsort(-means, kind="stable")
    keys = [""] * k
    for position, label in enumerate(rank, start=1):
        keys[label] = f"S{position}"
    return keys


# Matched segments must be this close (in the new model's standardised space) to keep an old key.
MATCH_MAX_DISTANCE = 0.75


@dataclass(frozen=True)
class PreviousSegments:
    """The champion's segments, which a new model's segments inherit keys and names from."""

    model: SegmentModel
    names: dict[str, tuple[str, str]]
    next_key_number: int


def segment_keys(
    model: SegmentModel, sample: pd.DataFrame, labels: np.ndarray, previous: PreviousSegments | None
) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """Key per cluster label, and the (name, action) kept from the previous champion per kept key.

    With no previous champion (or other features) keys are S1..Sk by value. Otherwise each cluster is
    matched to the champion's by Hungarian matching on centroid distance, both mapped into the new
    model's space: a matched cluster keeps the key and name; the rest get new keys after the highest
    ever used, in order of value.
    """
    by_value = order_labels(sample, labels, model.k)
    if previous is None or previous.model.features != model.features:
        return by_value, {}
    old_in_new_space = model.to_model_space(previous.model.centroids_original_units())
    matched = match_to_previous(model.centroids, old_in_new_space, MATCH_MAX_DISTANCE)
    keys = [""] * model.k
    kept: dict[str, tuple[str, str]] = {}
    for label, old_label in matched.items():
        keys[label] = previous.model.segment_keys[old_label]
        kept[keys[label]] = previous.names[keys[label]]
    number = previous.next_key_number
    for label in sorted(range(model.k), key=lambda lbl: int(by_value[lbl][1:])):
        if not keys[label]:
            keys[label] = f"S{number}"
            number += 1
    return keys, kept


def describe_segments(
    model: SegmentModel, sample: pd.DataFrame, previous: PreviousSegments | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Give the model its segment keys; return each segment's name, action and profile, and the
    sample's cluster labels."""
    labels, _, _ = model.assign(sample)
    keys, kept = segment_keys(model, sample, labels, previous)
    model.segment_keys = keys
    stats = profile(sample, labels, keys, model.features)
    fresh = [k for k in keys if k not in kept]
    has_rfm_scores = "mean_r_score" in stats.columns and stats["mean_r_score"].notna().all()
    if not fresh:
        names = pd.DataFrame(columns=["name", "action"])
    elif has_rfm_scores:
        positions = stats.loc[fresh, ["mean_r_score", "mean_f_score", "mean_m_score"]].set_axis(["r", "f", "m"], axis=1)
        names = name_segments(positions, taken=frozenset(name for name, _ in kept.values()))
    else:
        # Named together with the kept segments, so that a fresh segment is told apart from a kept one it resembles;
        # standardised per feature (not in PCA space), so names speak of the features.
        centroids_z = pd.DataFrame(model.standardised_centroids(), columns=model.features, index=keys)
        names = name_attribute_segments(centroids_z, taken=frozenset(name for name, _ in kept.values())).loc[fresh]
    kept_names = pd.DataFrame([{"name": n, "action": a} for n, a in kept.values()], index=list(kept))
    names = pd.concat([kept_names, names]).reindex(keys)
    centroids = model.centroids_original_units().set_axis(keys)
    out = names.join(stats[["size", "share"]])
    out["centroid"] = [{f: round(float(v), 4) for f, v in centroids.loc[k].items()} for k in keys]
    out["profile"] = [{c: _json_number(v) for c, v in stats.loc[k].items() if c not in ("size", "share")} for k in keys]
    for column in ("mean_r_score", "mean_f_score", "mean_m_score"):
        out[column] = stats[column] if column in stats.columns else np.nan
    return out, labels


def _json_number(value: float) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)
