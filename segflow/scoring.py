"""TEMP stub of the scoring core for the app's batch page (the real module comes from branch scoring-api):
a model version loaded once, with its segment names and actions, scoring frames of features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segflow import registry
from segflow.db import Database
from segflow.errors import NoChampion, SegflowError
from segflow.model import SegmentModel


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row number in the input
    message: str  # names the column and the bad value


@dataclass(frozen=True)
class ScoredBatch:
    rows: pd.DataFrame
    errors: list[RowError]


class Scorer:
    """A model version loaded once, with its segment names and actions: scores frames of features."""

    def __init__(self, version: int, model: SegmentModel, names: dict[str, tuple[str, str]]) -> None:
        self.version = version
        self.features = list(model.features)
        self._model = model
        self._names = names

    @classmethod
    def load(cls, db: Database, version: int | None = None) -> Scorer:
        if version is None:
            version = registry.champion(db)
            if version is None:
                raise NoChampion()
        return cls(version, registry.load(db, version), registry.segment_names(db, version))

    def score(self, frame: pd.DataFrame) -> ScoredBatch:
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise SegflowError(
                f"model v{self.version} scores on {', '.join(self.features)}; missing {', '.join(missing)}"
            )
        frame = frame.reset_index(drop=True)
        values = pd.DataFrame({f: pd.to_numeric(frame[f], errors="coerce") for f in self.features})
        bad = pd.Series(False, index=frame.index)
        errors: list[RowError] = []
        for feature in self.features:
            wrong = ~np.isfinite(values[feature].astype(float))
            for index in frame.index[wrong & ~bad]:
                errors.append(RowError(int(index) + 1, f"{feature}: {frame.at[index, feature]!r} is not a number"))
            bad |= wrong
        errors.sort(key=lambda e: e.row)
        good = frame[~bad].copy()
        if len(good):
            labels, distance, confidence = self._model.assign(values[~bad].astype(float))
            keys = [self._model.segment_keys[int(label)] for label in labels]
            good["segment_key"] = keys
            good["segment_name"] = [self._names[k][0] for k in keys]
            good["action"] = [self._names[k][1] for k in keys]
            good["distance"] = np.round(distance, 6)
            good["confidence"] = np.round(confidence, 6)
            good["model_version"] = self.version
        return ScoredBatch(rows=good, errors=errors)
