"""Customer partitions and where they run, without a database."""

import pickle

import pytest
from psycopg2 import sql
from pydantic import ValidationError

from segflow.orchestration.partitions import (
    WHOLE,
    Partition,
    dask_task_runner,
    local_workers,
    partitions_of,
    worker_environment,
)
from segflow.settings import Settings


def test_partitions_of_the_settings_cover_every_index_once() -> None:
    parts = partitions_of(Settings(_env_file=None, partitions=3))
    assert parts == [Partition(0, 3), Partition(1, 3), Partition(2, 3)]
    assert [str(p) for p in parts] == ["1/3", "2/3", "3/3"]
    assert partitions_of(Settings(_env_file=None)) == [WHOLE]


def test_a_partition_binds_its_parameters_and_travels_to_a_worker_pickled() -> None:
    part = Partition(2, 8)
    assert part.params() == {"partition": 2, "partitions": 8}
    assert pickle.loads(pickle.dumps(part)) == part


def test_the_whole_population_is_not_filtered_and_a_partition_is() -> None:
    assert WHOLE.predicate() == sql.SQL("true")
    composed = Partition(1, 4).predicate("customer_id")
    assert composed == sql.SQL("segflow.customer_partition({}, {}) = {}").format(
        sql.Identifier("customer_id"), sql.Literal(4), sql.Literal(1)
    )


@pytest.mark.parametrize("address", ["local:0", "local:x", "localhost:8786", "tcp://127.0.0.1", "dask"])
def test_a_malformed_dask_address_is_refused_naming_it(address: str) -> None:
    with pytest.raises(ValidationError, match=f"got '{address}'"):
        Settings(_env_file=None, dask_address=address)


def test_the_partition_count_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="partitions"):
        Settings(_env_file=None, partitions=0)


def test_local_n_makes_a_loopback_cluster_of_n_single_threaded_processes() -> None:
    settings = Settings(_env_file=None, dask_address="local:3")
    assert local_workers(settings) == 3
    runner = dask_task_runner(settings, "http://127.0.0.1:4999/api")
    assert runner.address is None
    assert runner.cluster_kwargs["n_workers"] == 3
    assert runner.cluster_kwargs["threads_per_worker"] == 1
    assert runner.cluster_kwargs["host"] == "127.0.0.1"


def test_a_scheduler_address_is_connected_to_not_started() -> None:
    settings = Settings(_env_file=None, dask_address="tcp://127.0.0.1:8786")
    assert local_workers(settings) is None
    assert dask_task_runner(settings, None).address == "tcp://127.0.0.1:8786"


def test_local_workers_get_the_flow_api_unless_the_environment_already_names_one(monkeypatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    quiet = {"DASK_LOGGING__DISTRIBUTED": "warning"}
    assert worker_environment("http://127.0.0.1:4999/api") == {"PREFECT_API_URL": "http://127.0.0.1:4999/api", **quiet}
    assert worker_environment(None) == quiet
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert worker_environment("http://127.0.0.1:4999/api") == quiet
