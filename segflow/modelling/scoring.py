"""Scoring customers with a saved model: a frame of features in, segments (with names, actions, distance and
confidence) out, and one error per row whose values a model cannot score.

Everything that scores goes through `Scorer.assign`, so they agree to the last digit: the run's score stage and the
comparison's re-scoring (a run's stored features, written by COPY with `copy_assignments`), and what-if,
`score-file` and the API (`Scorer.score`, which first checks values that come from outside).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import psycopg2.extensions

from segflow.data import features
from segflow.errors import NoChampion, SegflowError, joined
from segflow.modelling import registry
from segflow.modelling.segment_model import SegmentModel
from segflow.modelling.segments import MemberNames, name_members
from segflow.storage.db import Database, copy_frame

SCORE_COLUMNS = ("segment_key", "segment_name", "action", "distance", "confidence", "model_version")
# Distance and confidence are rounded so that a customer scored alone and in a file of a million get the same digits.
DECIMALS = 6

# The smallest value each RFM feature can take, and how a value below it is worded. Any other feature (a customer
# attribute) only has to be a finite number.
LOWER_BOUNDS: dict[str, tuple[float, str]] = {
    "recency_days": (0, "recency must be 0 or more days, got {value:g}"),
    "frequency": (
        1,
        "frequency must be at least 1 invoice, got {value:g} "
        "(customers without a purchase in the window are 'inactive', not clustered)",
    ),
    "monetary": (0, "monetary must not be negative, got {value:g}"),
}
# No feature value is further from 0 than this: beyond it a customer is a typo or an attack, and values near the
# float limit (1e308) overflow the distance to infinity. 1e15 is a quadrillion in money or days.
MAX_MAGNITUDE = 1e15
EXCERPT_CHARS = 80  # of a bad cell quoted in its row's error


def value_problem(name: str, value: float) -> str | None:
    """What is wrong with one feature value (None if nothing): not finite, or below the feature's lower bound."""
    if not math.isfinite(value):
        return f"{name} must be a finite number, got {value}"
    if abs(value) > MAX_MAGNITUDE:
        return f"{name} must be between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}, got {value:g}"
    bound = LOWER_BOUNDS.get(name)
    if bound is not None and value < bound[0]:
        return bound[1].format(value=value)
    return None


@dataclass(frozen=True)
class RowError:
    """A row that could not be scored: its 1-based data row number and what is wrong, naming the column."""

    row: int
    message: str
    column: str = ""


@dataclass(frozen=True)
class Assigned:
    """Per customer: the model's cluster, the segment the names' rules give (segflow.modelling.segments.MemberNames:
    key, name, action, R/F/M scores), and the distance and confidence rounded to DECIMALS."""

    cluster_keys: np.ndarray
    members: MemberNames
    distance: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True)
class ScoredBatch:
    """The valid input rows (their own columns kept) with SCORE_COLUMNS added, and the rows that were not scored."""

    rows: pd.DataFrame
    errors: list[RowError]


@dataclasses.dataclass(eq=False)
class MissingFeatureValues(SegflowError):
    """Values of features the model clusters on are missing altogether; `features` names them."""

    version: int
    model_features: list[str]
    features: list[str]
    file: str | None = None  # the file scored, when it is one

    def sentence(self) -> str:
        """What the model needs and what is missing, without the file."""
        return f"model v{self.version} clusters on {joined(self.model_features)}; missing {joined(self.features)}"

    def __str__(self) -> str:
        return f"{self.file}: {self.sentence()}" if self.file else self.sentence()


class Scorer:
    """A model version loaded once, with its segment names and actions: scores frames of features."""

    def __init__(
        self,
        version: int,
        model: SegmentModel,
        names: dict[str, tuple[str, str]],
        cut_points: dict[str, list[float]] | None = None,
    ) -> None:
        self.version = version
        self.model = model
        self.features: list[str] = list(model.features)
        self.names = names
        # The model's R/F/M cut points: the member rule (segflow.modelling.segments.name_members) scores members
        # with them.
        self.cut_points = cut_points or {}

    @classmethod
    def load(
        cls, db: Database, version: int | None = None, fallback_cut_points: dict[str, list[float]] | None = None
    ) -> Scorer:
        """The model of `version` (None: the champion; NoChampion if there is none), its segment names and its R/F/M
        cut points (a model stored without them: fallback_cut_points, a run's own, so scoring a run uses those)."""
        if version is None:
            version = registry.champion(db)
            if version is None:
                raise NoChampion()
        model = registry.load(db, version)  # raises UnknownModelVersion for a version that does not exist
        cuts = registry.rfm_cut_points(db, version) or fallback_cut_points
        return cls(version, model, registry.segment_names(db, version), cuts)

    def input_columns(self, given: list[str] | pd.Index) -> list[str]:
        """The model's features, then those of the names' rules' inputs among `given` that are not features (a
        caller that builds a frame passes these on, so the rules see what the customer's values allow)."""
        return self.features + [n for n in features.NAME_RULE_FEATURES if n in given and n not in self.features]

    def check_columns(self, columns: list[str] | pd.Index) -> None:
        """Raise MissingFeatureValues when the model's features are not all among the columns."""
        missing = [f for f in self.features if f not in columns]
        if missing:
            raise MissingFeatureValues(self.version, list(self.features), missing)

    def assign(self, features: pd.DataFrame, rule_inputs: pd.DataFrame | None = None) -> Assigned:
        """The segment of each row of valid feature values (the model's features, as stored by a run or checked by
        `score`); the names' rules read rule_inputs (default: `features`), see
        segflow.modelling.segments.name_members."""
        labels, distance, confidence = self.model.assign(features)
        cluster_keys = np.asarray(self.model.segment_keys, dtype=object)[labels]
        members = name_members(
            cluster_keys, self.names, features if rule_inputs is None else rule_inputs, self.cut_points
        )
        return Assigned(
            cluster_keys,
            members,
            np.round(distance.astype(float), DECIMALS),
            np.round(confidence.astype(float), DECIMALS),
        )

    def assignment_rows(self, attempt_id: int, features: pd.DataFrame) -> pd.DataFrame:
        """A run's customers (`features`: customer_id and the stored features) as rows of segflow.segment_assignments:
        segment, model version, distance, confidence, cluster and, with cut points, the R/F/M scores."""
        assigned = self.assign(features)
        rows = pd.DataFrame(
            {
                "attempt_id": attempt_id,
                "customer_id": features["customer_id"].to_numpy(),
                "segment_key": assigned.members.keys,
                "segment_name": assigned.members.names,
                "action": assigned.members.actions,
                "model_version": self.version,
                "distance": assigned.distance,
                "confidence": assigned.confidence,
                "cluster_key": assigned.cluster_keys,
            }
        )
        scores = assigned.members.scores
        return rows if scores is None else rows.join(scores.reset_index(drop=True))

    def score(self, frame: pd.DataFrame, first_row: int = 1) -> ScoredBatch:
        """Score every row whose feature values are valid; the others become RowErrors numbered from first_row."""
        self.check_columns(frame.columns)
        values, errors = self._parse(frame, first_row)
        valid = np.ones(len(frame), dtype=bool)
        valid[[e.row - first_row for e in errors]] = False
        # The output is built as one dict of arrays and one DataFrame: adding columns one by one cost most of the
        # time of scoring a single customer (the API's case).
        columns: dict[str, Any] = {column: frame[column].to_numpy()[valid] for column in frame.columns}
        matrix = np.column_stack([values[name][valid] for name in self.features])
        columns.update({name: matrix[:, i] for i, name in enumerate(self.features)})
        if valid.any():
            assigned = self.assign(pd.DataFrame(matrix, columns=self.features), self._rule_inputs(frame, values, valid))
            columns["segment_key"] = assigned.members.keys
            columns["segment_name"] = assigned.members.names
            columns["action"] = assigned.members.actions
            columns["distance"] = assigned.distance
            columns["confidence"] = assigned.confidence
        else:
            columns.update({column: np.array([], dtype=object) for column in SCORE_COLUMNS[:-1]})
        columns["model_version"] = np.full(int(valid.sum()), self.version)
        return ScoredBatch(rows=pd.DataFrame(columns), errors=sorted(errors, key=lambda e: e.row))

    def _rule_inputs(self, frame: pd.DataFrame, values: dict[str, np.ndarray], valid: np.ndarray) -> pd.DataFrame:
        """The valid rows' values the names' rules read (recency_days, frequency, monetary, return_rate), from the
        parsed features or, for one the model does not cluster on, from the frame's own column when it has one (a
        value that is not a number counts as missing there)."""
        inputs = {}
        for name in features.NAME_RULE_FEATURES:
            if name in values:
                inputs[name] = values[name][valid]
            elif name in frame.columns:
                inputs[name] = pd.to_numeric(frame[name].to_numpy()[valid], errors="coerce")
        return pd.DataFrame(inputs)

    def _parse(self, frame: pd.DataFrame, first_row: int) -> tuple[dict[str, np.ndarray], list[RowError]]:
        """Each feature as floats, and one error per row (its first bad column)."""
        values: dict[str, np.ndarray] = {}
        problems: dict[int, RowError] = {}
        for name in self.features:
            raw = frame[name]
            if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
                missing = raw.isna().to_numpy()
                parsed = raw.to_numpy(dtype=float)
                not_number = np.zeros(len(raw), dtype=bool)
            else:
                # Text (a CSV read as strings): parse all at once, then look closer only at what did not parse.
                parsed = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
                unparsed = np.isnan(parsed)
                missing = np.zeros(len(raw), dtype=bool)
                if unparsed.any():
                    text = raw[unparsed].astype("string").str.strip()
                    missing[unparsed] = (text.isna() | (text == "")).to_numpy(dtype=bool)
                not_number = unparsed & ~missing
            values[name] = parsed
            with np.errstate(invalid="ignore"):
                below = parsed < LOWER_BOUNDS[name][0] if name in LOWER_BOUNDS else np.zeros(len(raw), dtype=bool)
            checked = np.where(missing | not_number, 0.0, parsed)
            with np.errstate(invalid="ignore"):
                bad = missing | not_number | ~np.isfinite(checked) | (np.abs(checked) > MAX_MAGNITUDE) | below
            for position in np.flatnonzero(bad):
                if position in problems:
                    continue  # one error per row: the first bad column
                if missing[position]:
                    message = f"{name}: missing value"
                elif not_number[position]:
                    message = f"{name}: {_excerpt(raw.iloc[position])} is not a number"
                else:
                    message = f"{name}: {value_problem(name, float(parsed[position]))}"
                problems[int(position)] = RowError(first_row + int(position), message, name)
        return values, list(problems.values())


def copy_assignments(
    cur: psycopg2.extensions.cursor,
    scorer: Scorer,
    attempt_id: int,
    chunks: Iterable[pd.DataFrame],
    table: str = "segment_assignments",
    columns: Sequence[str] | None = None,
) -> int:
    """Score a run's stored features chunk by chunk and COPY each chunk's assignment rows (Scorer.assignment_rows;
    `columns`: those the table takes, default all) into segflow.<table>, on the caller's transaction; rows written.
    Memory holds one chunk at a time."""
    written = 0
    for chunk in chunks:
        rows = scorer.assignment_rows(attempt_id, chunk)
        copy_frame(cur, table, rows if columns is None else rows[list(columns)])
        written += len(rows)
    return written


def _excerpt(value: object) -> str:
    """A bad cell as a message quotes it: its first EXCERPT_CHARS characters (a cell can be megabytes long)."""
    text = repr(value)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"
