"""The nightly flow end to end through Prefect (the session's embedded Prefect server), on generated customers."""

import asyncio
from datetime import date

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.nightly import nightly_segmentation
from segflow.data.generate import GeneratorSpec, generate_transactions

pytestmark = pytest.mark.slow


@pytest.fixture
def prefect_api(prefect_api_url):
    # The server the CLI tests share, instead of a harness of this module's own (about 20 s to start).
    with temporary_settings(updates={PREFECT_API_URL: prefect_api_url}):
        yield


def test_nightly_flow_publishes_and_leaves_a_segment_table_artifact(
    prefect_api, db, db_url, tmp_path, fetch, monkeypatch
):
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEGFLOW_HOME", str(tmp_path / "home"))
    generate_transactions(db, GeneratorSpec(customers=2_000, days=180, seed=5, start=date(2025, 1, 1)))

    state = nightly_segmentation(as_of=date(2025, 6, 29), return_state=True)
    attempt = state.result()

    status = fetch(db, "select status, retrained, model_version from segflow.runs where attempt_id = %s", (attempt,))
    assert status == [("published", True, 1)]
    assert fetch(db, "select count(*) from segflow.current_segments")[0][0] == 2_000
    assert (tmp_path / "home" / "models" / "segflow-model-v1.joblib").exists()

    async def artifacts_of_the_run():
        flow_run = ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=flow_run))

    artifacts = [a for a in asyncio.run(artifacts_of_the_run()) if a.key == "segment-table"]
    assert artifacts and "# Segments as of 2025-06-29 (model v1)" in artifacts[0].data


def test_a_failing_flow_marks_the_attempt_failed(prefect_api, db, db_url, tmp_path, fetch, monkeypatch):
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEGFLOW_HOME", str(tmp_path / "home"))
    with pytest.raises(Exception, match="no purchase lines up to 2025-06-29"):
        nightly_segmentation(as_of=date(2025, 6, 29))
    assert fetch(db, "select status from segflow.run_attempts") == [("failed",)]


def test_a_stale_night_ends_the_flow_run_failed_naming_both_dates(
    prefect_api, db, db_url, tmp_path, fetch, monkeypatch
):
    # What a broken upstream export does to a scheduled night: the flow run ends Failed (so the failure automation
    # notifies), with the one line that names both dates and the setting; nothing is published.
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEGFLOW_HOME", str(tmp_path / "home"))
    generate_transactions(db, GeneratorSpec(customers=50, days=30, seed=5, start=date(2025, 1, 1)))
    newest = fetch(db, "select max(invoiced_at at time zone 'UTC')::date from segflow.transactions")[0][0]

    state = nightly_segmentation(as_of=date(2025, 3, 1), return_state=True)

    assert state.is_failed()
    days = (date(2025, 3, 1) - newest).days
    assert (
        f"its newest line is {newest}, {days} days before the as-of date 2025-03-01 (SEGFLOW_MAX_SOURCE_LAG_DAYS is 3)"
        in (state.message or "")
    )
    assert fetch(db, "select status from segflow.run_attempts") == [("failed",)]
    assert fetch(db, "select count(*) from segflow.current_run") == [(0,)]
