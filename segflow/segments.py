"""Segment profiles and names: what each cluster is, in numbers and in business terms."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

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


def name_by_features(centroids_z: pd.DataFrame) -> pd.DataFrame:
    """Names for segments of non-RFM features: each feature high/mid/low by its standardised centroid."""
    def level(value: float) -> str:
        return "high" if value > 0.5 else "low" if value < -0.5 else "mid"

    names = []
    for key, row in centroids_z.iterrows():
        base = ", ".join(f"{level(v)} {feature.replace('_', ' ')}" for feature, v in row.items())
        name = base if base not in names else f"{base} ({key})"
        names.append(name)
    return pd.DataFrame({"name": names, "action": "Review the segment profile and tailor an offer."},
                        index=centroids_z.index)


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
