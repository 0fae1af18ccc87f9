"""deployments/prefect.yaml says what the README promises: nightly at 02:00 UTC, a weekly retrain."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def deployments() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    return {d["name"]: d for d in config["deployments"]}


def test_nightly_runs_at_two_utc_on_a_process_pool_one_at_a_time():
    nightly = deployments()["nightly"]
    assert nightly["schedules"] == [{"cron": "0 2 * * *", "timezone": "UTC", "active": True}]
    assert nightly["work_pool"]["name"] == "segflow-process"
    assert nightly["parameters"] == {"retrain": "auto"}


def test_a_run_that_collides_with_its_deployments_running_one_is_cancelled_not_queued():
    # A hung night must not pile up a backlog of stale dates; the flow's time limit ends the hung run.
    from prefect.client.schemas.objects import ConcurrencyLimitConfig

    for name, deployment in deployments().items():
        limit = ConcurrencyLimitConfig(**deployment["concurrency_limit"])
        assert (limit.limit, limit.collision_strategy.value) == (1, "CANCEL_NEW"), name


def test_weekly_retrain_forces_training_from_rebuilt_aggregates():
    weekly = deployments()["weekly-retrain"]
    assert weekly["parameters"] == {"retrain": "always", "rebuild_aggregates": True}
    assert weekly["schedules"][0]["cron"] == "30 3 * * 0"


def test_entrypoints_name_the_real_flow():
    for deployment in deployments().values():
        path, function = deployment["entrypoint"].split(":")
        assert f"def {function}(" in (ROOT / path).read_text()


def test_every_deployment_parameter_is_a_parameter_of_the_flow():
    import inspect

    from flows.nightly import nightly_segmentation

    accepted = set(inspect.signature(nightly_segmentation.fn).parameters)
    for name, deployment in deployments().items():
        assert set(deployment["parameters"]) <= accepted, name


def test_the_drift_trigger_is_a_valid_prefect_trigger_on_the_flows_event():
    from prefect.events import DeploymentEventTrigger

    from segflow.stages.monitor import DRIFT_EVENT

    retrain = deployments()["retrain-on-drift"]
    assert retrain["parameters"] == {"retrain": "always"}
    trigger = DeploymentEventTrigger(**retrain["triggers"][0])
    assert trigger.expect == {DRIFT_EVENT}
    assert trigger.parameters == {"retrain": "always"}
