"""Look-ups: a customer's segments, the current run's segments, and whether the API is healthy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.encoders import jsonable_encoder

from segflow.modelling import registry
from segflow.modelling.segments import RULE_SEGMENTS
from segflow.serving.api.champion import ChampionModel
from segflow.serving.api.models import ID_PATTERN, MAX_ID_LENGTH, Health
from segflow.serving.customers import customer_view
from segflow.storage.db import Database


def lookup_routes(db: Database, champion: ChampionModel, guarded: list[Any]) -> APIRouter:
    """/customers/{customer_id} and /segments behind the `guarded` dependencies; /health open to every caller."""
    router = APIRouter()

    @router.get("/customers/{customer_id}", dependencies=guarded)
    def customer(
        customer_id: Annotated[str, Path(max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)],
    ) -> dict[str, Any]:
        """A customer's segment in the current run (null if not in it) and in every published run."""
        view = customer_view(db, customer_id, model_features=False)  # BI login: current_segments' columns only
        return jsonable_encoder({"customer_id": view.customer_id, "current": view.current, "history": view.history})

    @router.get("/segments", dependencies=guarded)
    def segments() -> dict[str, Any]:
        """The segments of the current published run: size, share, means, revenue, action."""
        rows = db.records("queries/api/current_segments")
        run = {k: rows[0][k] for k in ("run_id", "as_of")} if rows else {"run_id": None, "as_of": None}
        segments = [{k: v for k, v in row.items() if k not in ("run_id", "as_of")} for row in rows]
        for segment in segments:  # a rule segment's action is segflow's, not a model's
            segment["action"] = segment["action"] or RULE_SEGMENTS.get(segment["segment_key"], ("", None))[1]
        return jsonable_encoder({**run, "segments": segments})

    @router.get("/health")
    def health() -> Health:
        """Whether the database answers, and the champion's version (also the one loaded, if any)."""
        return Health(
            status="ok",
            database="reachable",
            champion_version=registry.champion(db),
            loaded_version=champion.loaded_version,
        )

    return router
