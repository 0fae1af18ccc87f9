"""A Dask worker preload (`dask worker --preload`) for the distributed test: after a score partition has written
its rows, the worker records it (a marker file naming the partition and the worker's process id) and waits a
moment before reporting back, so the test can kill the worker between the write and the report: the case where
Dask runs the partition again on another worker (PrefectHQ/prefect#15442) and its writes must replace, not add."""

from __future__ import annotations

import os
import time
from pathlib import Path

from segflow.stages import score

# Dask may import a preload more than once: wrap the original stage, never the wrapper.
_score_partition = getattr(score.score_partition, "__wrapped__", score.score_partition)


def _written_then_wait(db, settings, attempt_id, partition):  # the stage's own signature
    result = _score_partition(db, settings, attempt_id, partition)
    (Path(os.environ["SEGFLOW_TEST_MARKERS"]) / f"written-{partition.index}-{os.getpid()}").touch()
    time.sleep(float(os.environ.get("SEGFLOW_TEST_REPORT_DELAY", "4")))
    return result


# The flow's partition task refers to the stage by module and name, so a worker resolves it to this wrapper.
_written_then_wait.__wrapped__ = _score_partition  # type: ignore[attr-defined]
score.score_partition = _written_then_wait
