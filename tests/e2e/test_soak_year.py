"""The simulated year (benchmarks/soak_year.py) passes its checks: the nightly holds for months unattended."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.coverage import unmeasured

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "soak_year.py"


def test_a_simulated_year_of_nights_backfills_and_kills_holds(db_url, tmp_path):
    # Not measured by coverage: its stages are the ones the integration tests measure in-process, and tracing
    # made this, the longest test, about 1.6 times slower (support/coverage.py).
    env = unmeasured({k: v for k, v in os.environ.items() if not k.startswith("SEGFLOW_")})
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--database-url", db_url, "--home", str(tmp_path / "home")],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    figures = result.stdout
    assert result.returncode == 0, f"{figures}\n--- stderr (tail) ---\n{result.stderr[-5000:]}"
    assert "0 check(s) failed" in figures
    assert figures.count("  ok    ") >= 13 and "FAIL" not in figures
