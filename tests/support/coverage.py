"""Which processes a test starts are measured by coverage.

pyproject.toml's `[tool.coverage.run] patch = ["subprocess"]` hands every Python child the variable below, so each
one starts coverage's tracer at start-up. On Python 3.11 that tracer runs on every function call of every module,
measured or not: a Prefect server or Dask scheduler (no segflow code) pays about half again as much CPU for no data,
and so did the simulated year (benchmarks/soak_year.py), whose stages the integration tests measure in-process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

# What coverage (>= 7.10) and pytest-cov read at a child's start-up to begin measuring it.
COVERAGE_VARIABLES = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")


def unmeasured(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of a subprocess environment whose Python processes coverage leaves alone."""
    return {k: v for k, v in env.items() if k not in COVERAGE_VARIABLES}


@contextlib.contextmanager
def unmeasured_children() -> Iterator[None]:
    """While the block runs, processes started from this one's environment are not measured (for library code
    that starts a server with os.environ, such as segflow.orchestration.prefect_server.ensure_running)."""
    saved = {k: os.environ.pop(k) for k in COVERAGE_VARIABLES if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)
