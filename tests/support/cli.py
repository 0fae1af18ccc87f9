"""The `segflow` command in tests: as a real process, or in this process where only its output matters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner


def segflow(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m segflow ARGS` as a user would (exit code, stdout, stderr), without the caller's SEGFLOW_*."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SEGFLOW_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "segflow", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=300
    )


def segflow_in_process(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run a segflow command in this process with Typer's CliRunner; an unexpected exception propagates.

    For what a command prints when it succeeds. How an error reaches the user (one line on stderr, exit 1)
    is the console script's job (segflow.cli.main): test that with `segflow(...)`, a real process.
    """
    from segflow.cli import app

    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
