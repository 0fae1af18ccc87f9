"""deployments/automations.yaml is a valid Prefect automation that notifies on every segflow run that ends badly."""

import uuid
from pathlib import Path

import pytest

from segflow.orchestration.alerts import WEBHOOK_BLOCK, AutomationsFileError, automations_from_file

ROOT = Path(__file__).resolve().parents[3]


def test_the_automation_sends_to_the_saved_webhook_block_when_a_segflow_run_fails_crashes_or_times_out():
    block_id = uuid.uuid4()
    (automation,) = automations_from_file(ROOT / "deployments" / "automations.yaml", block_id)
    assert automation.name == "segflow-run-failed"
    trigger = automation.trigger
    assert trigger.expect == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed", "prefect.flow-run.TimedOut"}
    assert trigger.posture == "Reactive" and trigger.threshold == 1
    related = trigger.match_related[0] if isinstance(trigger.match_related, list) else trigger.match_related
    assert related.model_dump() == {"prefect.resource.role": "flow", "prefect.resource.name": "nightly-segmentation"}
    (action,) = automation.actions
    assert action.type == "send-notification" and action.block_document_id == block_id
    assert "{{ flow_run.name }}" in action.subject and "{{ flow_run.state.name }}" in action.subject
    assert "{{ flow_run.id }}" in action.body


def test_the_flow_the_automation_watches_is_segflows_flow():
    from flows.nightly import nightly_segmentation

    (automation,) = automations_from_file(ROOT / "deployments" / "automations.yaml", uuid.uuid4())
    related = automation.trigger.match_related
    related = related[0] if isinstance(related, list) else related
    assert related.model_dump()["prefect.resource.name"] == nightly_segmentation.name


def test_the_file_names_the_webhook_block_segflow_saves():
    assert f"block_document_id: {WEBHOOK_BLOCK}" in (ROOT / "deployments" / "automations.yaml").read_text()


def test_a_missing_automations_file_is_named(tmp_path):
    with pytest.raises(AutomationsFileError, match=r"nope\.yaml: cannot be read"):
        automations_from_file(tmp_path / "nope.yaml", uuid.uuid4())


def test_an_invalid_automation_is_named(tmp_path):
    path = tmp_path / "automations.yaml"
    path.write_text("automations:\n  - name: broken\n    trigger: {type: event, posture: Sideways}\n    actions: []\n")
    with pytest.raises(AutomationsFileError, match="automation 'broken' is invalid"):
        automations_from_file(path, uuid.uuid4())
