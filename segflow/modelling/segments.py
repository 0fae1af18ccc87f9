"""Segments: profiles, names and actions in business terms, and stable keys that a new model's segments inherit
from the champion's.

A name is a promise about every customer who carries it, not only about the cluster's centre (issue 21):

* **Member rule.** A member contradicts a name when any of its own R, F or M scores (1-5) is more than
  MEMBER_TOLERANCE (2.5) from the name's prototype on that axis; exactly 2.5 away still fits. So the lowest recency
  score (r_score 1) contradicts Champions, Loyal, Potential loyalists, New and Promising, and "Need attention"
  (3, 3, 3) fits anyone. A member that contradicts its cluster's name moves to the segment of the same model whose
  name fits it best (the nearest prototype to its own scores among the fitting names); when no segment of the model
  has a fitting name, to a rule segment named by its own scores: the nearest fitting name, its action, and the key
  `name_rule_key(name)` (e.g. 'at_risk'). The cluster the model put it in stays in `cluster_key`.
* **Returns that cancel purchases.** A customer whose returns in the window are at least its purchases
  (return_rate >= 1, i.e. net spend <= 0; monetary is gross, before returns) gets no value-based name: the rule
  segment RETURNED_ALL ('returned_all'), whatever its cluster.
* **Inherited names.** A new model's segment that inherits a key from the champion keeps its name only while its
  mean R/F/M scores are within CENTROID_TOLERANCE (1.5) of the name's prototype on every axis; otherwise it is
  renamed by the same Hungarian naming as a fresh segment (among the names not kept) and the old name is recorded
  in model_segments.renamed_from.
* Models without R/F/M scores (customer attributes only) keep today's naming: neither rule applies to them.

`name_members` applies the member and returns rules; the score stage, the comparison re-scoring and
`segflow.modelling.scoring.Scorer` (API, score-file, what-if, the app) all call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from segflow.data.attribute_names import name_attribute_segments
from segflow.modelling.segment_model import SegmentModel

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
RETURNED_ALL = (
    "returned_all",
    "Returned everything",
    "Review before any offer: returns cancel the purchases.",
)
# A member's own score may be this far from its name's prototype on each axis (1-5 scale), no further: 2.5 keeps
# r_score 1 out of every name whose prototype has recency 3.6 or more, and lets "Need attention" (3, 3, 3) fit all.
MEMBER_TOLERANCE = 2.5
# A segment keeps an inherited name while its mean scores are this close to the name's prototype on every axis.
CENTROID_TOLERANCE = 1.5


def name_rule_key(name: str) -> str:
    """The stable key of the rule segment a name gives members no segment of their model fits ('at_risk')."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower().replace("'", "")).strip("_")


# Every rule segment: key -> (name, action). Their keys do not depend on the model.
RULE_SEGMENTS: dict[str, tuple[str, str]] = {
    INACTIVE[0]: INACTIVE[1:],
    UNSCORED[0]: UNSCORED[1:],
    RETURNED_ALL[0]: RETURNED_ALL[1:],
    **{name_rule_key(name): (name, action) for name, (_, action) in NAMES.items()},
}


def segment_key_order(key: str) -> tuple[int, int, str]:
    """Sort key for segment keys, the same on both axes of every matrix: S1, S2, ..., S10 by number, then
    the rule segments (and any other key) by name, then 'new_customer' and 'gone'."""
    if key[:1] == "S" and key[1:].isdigit():
        return 0, int(key[1:]), key
    if key in ("new_customer", "gone"):
        return 2, 0, key
    return 1, 0, key


def name_segments(
    positions: pd.DataFrame, taken: frozenset[str] = frozenset(), refused: dict[str, str] | None = None
) -> pd.DataFrame:
    """Unique names and actions for segments given their mean r/f/m scores (index: segment key).

    Names are assigned by minimum total distance between segments and name prototypes (Hungarian
    matching), so they are unique. "Champions" is only allowed for a segment that is best on all of
    recency, frequency and monetary; otherwise no segment is called that. Names in `taken` (kept by
    segments matched to an earlier model) are not given again; nor is a segment given the name `refused` maps its
    key to (the inherited name it no longer fits).
    """
    names = [n for n in NAMES if n not in taken]
    prototypes = np.array([NAMES[n][0] for n in names])
    points = positions[["r", "f", "m"]].to_numpy(dtype=float)
    cost = np.sqrt(((points[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2))
    best_everywhere = (points >= points.max(axis=0) - 1e-9).all(axis=1)
    if "Champions" in names:
        cost[~best_everywhere, names.index("Champions")] = 1e6
    for key, name in (refused or {}).items():
        if key in positions.index and name in names:
            cost[positions.index.get_loc(key), names.index(name)] = 1e6
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
    """Give the model its segment keys; return each segment's name, action, profile and the inherited name it was
    renamed from (None if not renamed), and the sample's cluster labels."""
    labels, _, _ = model.assign(sample)
    keys, kept = segment_keys(model, sample, labels, previous)
    model.segment_keys = keys
    stats = profile(sample, labels, keys, model.features)
    has_rfm_scores = "mean_r_score" in stats.columns and stats["mean_r_score"].notna().all()
    score_means = ["mean_r_score", "mean_f_score", "mean_m_score"]
    renamed = (
        {
            key: name
            for key, (name, _) in kept.items()
            if not centroid_fits(stats.loc[key, score_means].to_numpy(dtype=float), name)
        }
        if has_rfm_scores
        else {}
    )
    kept = {key: value for key, value in kept.items() if key not in renamed}
    fresh = [k for k in keys if k not in kept]
    if not fresh:
        names = pd.DataFrame(columns=["name", "action"])
    elif has_rfm_scores:
        positions = stats.loc[fresh, score_means].set_axis(["r", "f", "m"], axis=1)
        names = name_segments(positions, taken=frozenset(name for name, _ in kept.values()), refused=renamed)
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
    # With no other free name left the matching may give a segment its old name back: then it was not renamed.
    out["renamed_from"] = [renamed[k] if k in renamed and renamed[k] != names.loc[k, "name"] else None for k in keys]
    return out, labels


def centroid_fits(mean_scores: np.ndarray, name: str) -> bool:
    """Whether a segment's mean R/F/M scores are within CENTROID_TOLERANCE of the name's prototype on every axis (a
    name that is not an R/F/M name, an attribute model's, always fits)."""
    if name not in NAMES:
        return True
    return bool((np.abs(mean_scores - np.asarray(NAMES[name][0])) <= CENTROID_TOLERANCE).all())


@dataclass(frozen=True)
class MemberNames:
    """Per member: the segment key, name and action it carries; its R/F/M scores (None without cut points or the
    R/F/M columns); how many members contradicted their cluster's name and moved, and how many returned all."""

    keys: np.ndarray
    names: np.ndarray
    actions: np.ndarray
    scores: pd.DataFrame | None
    moved: int
    returned_all: int


def fitting_names(scores: np.ndarray) -> np.ndarray:
    """Per row of R/F/M scores (n x 3), per name of NAMES (in order): whether the name fits (every axis within
    MEMBER_TOLERANCE of its prototype). A row with a missing score fits every name."""
    prototypes = np.array([prototype for prototype, _ in NAMES.values()])
    gap = np.abs(scores[:, None, :] - prototypes[None, :, :])
    with np.errstate(invalid="ignore"):
        return ~(gap > MEMBER_TOLERANCE).any(axis=2)


def name_members(
    cluster_keys: np.ndarray,
    segments: dict[str, tuple[str, str]],
    frame: pd.DataFrame,
    cut_points: dict[str, list[float]] | None,
) -> MemberNames:
    """The segment each member carries: its cluster's, unless the returns rule or the member rule (module docstring)
    gives it another. cluster_keys: the model's key per row of `frame`; segments: the model's key -> (name,
    action); frame: the members' recency_days, frequency and monetary (with cut points, for the R/F/M scores) and
    return_rate, each optional: a rule whose inputs are absent does not apply."""
    from segflow.data.features import SCORED_FEATURES, rfm_scores

    cluster_keys = np.asarray(cluster_keys, dtype=object)
    keys = cluster_keys.copy()
    names, actions = _names_and_actions(segments, cluster_keys)
    scores = None
    moved = np.zeros(len(keys), dtype=bool)
    if cut_points and all(column in frame.columns for column in SCORED_FEATURES):
        scores = rfm_scores(frame, cut_points)
        moved = _move_contradicting(cluster_keys, segments, scores, keys, names, actions)
    returned = np.zeros(len(keys), dtype=bool)
    if "return_rate" in frame.columns:
        with np.errstate(invalid="ignore"):
            returned = frame["return_rate"].to_numpy(dtype=float) >= 1
        keys[returned], names[returned], actions[returned] = RETURNED_ALL
    return MemberNames(keys, names, actions, scores, int((moved & ~returned).sum()), int(returned.sum()))


def _move_contradicting(
    cluster_keys: np.ndarray,
    segments: dict[str, tuple[str, str]],
    scores: pd.DataFrame,
    keys: np.ndarray,
    names: np.ndarray,
    actions: np.ndarray,
) -> np.ndarray:
    """Give members whose scores contradict their cluster's name a fitting name, in place; which ones moved."""
    name_list = list(NAMES)
    prototypes = np.array([prototype for prototype, _ in NAMES.values()])
    # Segments named by R/F/M prototypes; any other name (an attribute model's) promises nothing about scores.
    named = {key: name_list.index(name) for key, (name, _) in segments.items() if name in NAMES}
    if not named:
        return np.zeros(len(keys), dtype=bool)
    points = scores[["r_score", "f_score", "m_score"]].to_numpy(dtype=float, na_value=np.nan)
    own = pd.Series(named).reindex(cluster_keys).to_numpy(dtype=float)
    checked = ~np.isnan(own)
    # Each member against its own cluster's prototype first; the other names only for the few that contradict it.
    moved = np.zeros(len(keys), dtype=bool)
    with np.errstate(invalid="ignore"):
        gap = np.abs(points[checked] - prototypes[own[checked].astype(int)])
        moved[checked] = (gap > MEMBER_TOLERANCE).any(axis=1)
    if not moved.any():
        return moved
    fits = fitting_names(points[moved])
    distance = np.sqrt(((points[moved][:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2))
    model_keys = np.array(list(named), dtype=object)
    model_columns = np.array(list(named.values()))
    # Nearest fitting prototype among the model's own segments, else among every name (a rule segment).
    own_fit = np.where(fits[:, model_columns], distance[:, model_columns], np.inf)
    in_model = np.isfinite(own_fit.min(axis=1))
    to_segment, to_rule = np.flatnonzero(moved)[in_model], np.flatnonzero(moved)[~in_model]
    target = model_keys[own_fit.argmin(axis=1)[in_model]]
    keys[to_segment] = target
    names[to_segment], actions[to_segment] = _names_and_actions(segments, target)
    nearest = np.where(fits[~in_model], distance[~in_model], np.inf).argmin(axis=1)
    keys[to_rule] = np.array([name_rule_key(name) for name in name_list], dtype=object)[nearest]
    names[to_rule] = np.array(name_list, dtype=object)[nearest]
    actions[to_rule] = np.array([action for _, action in NAMES.values()], dtype=object)[nearest]
    return moved


def _names_and_actions(segments: dict[str, tuple[str, str]], keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Name and action per key, by array lookup (a key the model does not have is its own name, no action)."""
    known = list(segments)
    position = pd.Index(known).get_indexer(keys)
    names = np.array([segments[k][0] for k in known] + [""], dtype=object)[position]
    actions = np.array([segments[k][1] for k in known] + [""], dtype=object)[position]
    unknown = position < 0
    names[unknown] = keys[unknown]
    return names, actions


def _json_number(value: float) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)
