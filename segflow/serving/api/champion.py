"""The champion model the API scores with, kept in memory and swapped when another version becomes champion.

The app asks the database which version is champion at most once every CHAMPION_CHECK_SECONDS (one small query):
a promotion is picked up within that time, without a restart, and the model is loaded again only when the version
changed.
"""

from __future__ import annotations

import threading
import time

from segflow.errors import NoChampion
from segflow.modelling import registry
from segflow.modelling.scoring import Scorer
from segflow.storage.db import Database

CHAMPION_CHECK_SECONDS = 1.0


class ChampionModel:
    """The champion's Scorer, reloaded when another version becomes champion."""

    def __init__(self, db: Database, check_seconds: float = CHAMPION_CHECK_SECONDS) -> None:
        self.db = db
        self.check_seconds = check_seconds
        self._scorer: Scorer | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def loaded_version(self) -> int | None:
        return self._scorer.version if self._scorer is not None else None

    def current(self) -> Scorer:
        """The champion's scorer; NoChampion when nothing has been trained."""
        with self._lock:
            now = time.monotonic()
            if self._scorer is None or now - self._checked_at >= self.check_seconds:
                version = registry.champion(self.db)
                self._checked_at = now
                if version is None:
                    raise NoChampion()
                if self._scorer is None or self._scorer.version != version:
                    self._scorer = Scorer.load(self.db, version)
            return self._scorer
