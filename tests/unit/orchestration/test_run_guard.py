"""The run slot's name per database, the flow run's name, and the time limit, without a Prefect server."""

import re
import time
from datetime import date

import pytest

from segflow.orchestration.run_guard import RunTimedOut, slot_name, time_limit
from segflow.orchestration.runtime import run_name


def test_one_database_has_one_slot_whatever_the_credentials():
    first = slot_name("postgresql://segflow:secret@db.internal:5432/segflow")
    assert first == slot_name("postgresql://worker:other@db.internal/segflow?sslmode=require")
    assert re.fullmatch(r"segflow-run-segflow-[0-9a-f]{10}", first)


def test_databases_of_one_name_on_other_servers_or_ports_have_their_own_slot():
    names = {
        slot_name("postgresql://u@db.internal:5432/segflow"),
        slot_name("postgresql://u@db.internal:5433/segflow"),
        slot_name("postgresql://u@db.other:5432/segflow"),
        slot_name("postgresql://u@db.internal:5432/segflow_test"),
    }
    assert len(names) == 4


def test_the_embedded_servers_socket_folder_tells_its_databases_apart():
    # The embedded server's URL names its socket folder in the query, as libpq reads it.
    one = slot_name("postgresql://postgres:@/postgres?host=/home/a/.segflow/pg")
    other = slot_name("postgresql://postgres:@/postgres?host=/home/b/.segflow/pg")
    assert one != other and one.startswith("segflow-run-postgres-")


def test_a_database_name_is_made_safe_for_a_limit_name():
    assert re.fullmatch(r"segflow-run-sales-eu-2-[0-9a-f]{10}", slot_name("postgresql://u@h/Sales%20EU_2"))


def test_a_url_that_is_not_postgresql_is_refused_by_name():
    with pytest.raises(ValueError, match="scheme 'mysql'"):
        slot_name("mysql://u@h/db")


def test_a_flow_run_is_named_by_its_date_and_mode():
    assert run_name(date(2010, 12, 9), "auto") == "2010-12-09-auto"
    assert run_name(date(2010, 12, 5), "always", rebuild_aggregates=True) == "2010-12-05-always-rebuild"


def test_the_time_limit_stops_a_block_that_runs_past_it():
    finished = []
    expected = "time limit of 1 s \\(SEGFLOW_FLOW_TIMEOUT_SECONDS\\)"
    with pytest.raises(RunTimedOut, match=expected) as raised, time_limit(1):
        time.sleep(30)
        finished.append(True)
    assert finished == []  # interrupted inside the block, not raised after it ran to its end
    assert isinstance(raised.value, TimeoutError)  # what makes Prefect record the flow run TimedOut


def test_a_zero_time_limit_is_no_limit():
    with time_limit(0):
        time.sleep(0.01)
