"""Runs: `segflow demo`, `run`, `retrain` and `backfill`, each a run of the nightly flow in this process; and
`withdraw`, which takes a published run back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.table import Table

from segflow.cli.output import (
    chunk_progress,
    console,
    database,
    load_settings,
    parse_date,
    print_run,
    require_extra,
)
from segflow.settings import Settings, redact_url
from segflow.storage.db import Database

if TYPE_CHECKING:
    from segflow.orchestration.prefect_api import StageDone

DEMO_CUSTOMERS = 5_000
DEMO_DAYS = 365
DEMO_SEED = 42


def demo(verbose: VerboseOption = False) -> None:
    """Run the main job on demo data (generated if empty)."""
    from segflow.data.generate import GeneratorSpec, generate_transactions
    from segflow.data.ingest.batches import transactions_exist

    settings = load_settings()
    _require_integrations(settings)
    db = database(settings)
    has_data = transactions_exist(db)
    if not has_data:
        spec = GeneratorSpec(
            customers=DEMO_CUSTOMERS,
            days=DEMO_DAYS,
            seed=DEMO_SEED,
            start=date.today() - timedelta(days=DEMO_DAYS),
        )
        with chunk_progress("generating demo data") as report:
            result = generate_transactions(db, spec, progress=report)
        console.print(f"generated {result.lines:,} demo lines for {spec.customers:,} customers")
    from segflow.data.features import transactions_summary

    summary = transactions_summary(db)
    table = Table(title="segflow.transactions")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    last_day = summary["last_line_at"].astimezone(UTC).date()
    console.print(f"running the nightly segmentation flow as of {last_day} …")
    with _flow_session(settings, verbose) as session:
        flow_run = _run_flow(last_day, "auto", None)
        run_page = session.flow_run_url(flow_run.flow_run_id)
    print_run(db, flow_run.attempt_id)
    _print_flow_run(run_page)
    _print_locations(settings, db, session)


def _print_flow_run(run_page: str | None) -> None:
    if run_page:
        console.print(f"flow run: {run_page}", highlight=False, soft_wrap=True)


def _print_locations(settings: Settings, db: Database, session: FlowSession) -> None:
    # Plain lines, not a table: paths and URLs must never be cut to the terminal's width.
    console.print("\n[bold]where things are[/]")
    console.print(f"  home:            {settings.home}", highlight=False, soft_wrap=True)
    if settings.uses_embedded_database:
        console.print(
            f"  database files:  {settings.pg_dir} (stop with: segflow db stop)", highlight=False, soft_wrap=True
        )
    console.print(f"  model artifacts: {settings.model_path}", highlight=False, soft_wrap=True)
    console.print(
        f"  reports:         {settings.report_path} (segments/, drift/; `segflow report` prints "
        "the current run's page)",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"  database url:    {redact_url(db.url)}", highlight=False, soft_wrap=True)
    console.print(f"  connect:         psql '{redact_url(db.url)}'", highlight=False, soft_wrap=True)
    if session.ui_url and session.embedded:
        console.print(
            f"  prefect ui:      {session.ui_url} (runs, logs, schedules; stop with: segflow prefect stop)",
            highlight=False,
            soft_wrap=True,
        )
    elif session.ui_url:
        console.print(f"  prefect ui:      {session.ui_url} (PREFECT_API_URL)", highlight=False, soft_wrap=True)


RetrainOption = Annotated[
    str, typer.Option("--retrain", help="auto (train when the retraining policy says so), always, never.")
]
AllowStaleOption = Annotated[
    bool,
    typer.Option(
        "--allow-stale-source",
        help="Run even if the as-of date is more than SEGFLOW_MAX_SOURCE_LAG_DAYS after the newest line in the "
        "source (a deliberate what-if; recorded with the run).",
    ),
]
FeaturesOption = Annotated[
    str | None, typer.Option("--features", help="Comma-separated features, e.g. recency_days,frequency,monetary.")
]
VerboseOption = Annotated[
    bool, typer.Option("-v", "--verbose", help="Show Prefect's log lines here too (they always go to the log file).")
]


@dataclass(frozen=True)
class FlowSession:
    """Where a command's flow runs report: the Prefect UI's address, and whether it is segflow's own server."""

    ui_url: str | None
    embedded: bool

    def flow_run_url(self, flow_run_id: UUID | None) -> str | None:
        """The flow run's page in that UI (inside the session)."""
        from segflow.orchestration import prefect_api

        return prefect_api.flow_run_url(flow_run_id) if self.ui_url and flow_run_id else None


@dataclass(frozen=True)
class FlowRun:
    attempt_id: int
    flow_run_id: UUID | None


@contextlib.contextmanager
def _flow_session(settings: Settings, verbose: bool) -> Iterator[FlowSession]:
    """Flow runs in the block report to the configured Prefect API, else to the embedded Prefect server
    (started if it is not running, and left running for the next command). Prefect's log lines go to the API and
    the run log; the terminal shows one line per stage unless `verbose` (then Prefect's lines). Prefect's own
    printing of a failed run is left out: main() words the error."""
    from segflow.orchestration import prefect_api, prefect_server

    api_url, embedded = None, prefect_api.configured_api_url() is None
    if embedded:
        server = prefect_server.ensure_running(settings.prefect_dir, settings.prefect_port, settings.prefect_host)
        api_url = server.api_url
    console.print(
        f"Prefect's log: {settings.run_log_path}" + ("" if verbose else " (-v shows it here)"),
        highlight=False,
        soft_wrap=True,
    )
    on_stage = None if verbose else _print_stage
    with (
        prefect_api.reporting_to(api_url),
        prefect_api.quiet_run_errors(),
        prefect_api.run_logs(settings.run_log_path, on_stage),
    ):
        yield FlowSession(prefect_api.ui_url(), embedded)


def _print_stage(stage: StageDone) -> None:
    outcome = "" if stage.completed else "  failed"
    console.print(f"  {stage.name:<34} {stage.seconds:6.1f} s{outcome}", highlight=False, soft_wrap=True)


def _run_flow(as_of: date, retrain: str, features: list[str] | None, allow_stale_source: bool = False) -> FlowRun:
    """Run the nightly flow in this process (inside a _flow_session)."""
    from flows.nightly import nightly_segmentation
    from segflow.orchestration.runs import is_retrain_mode
    from segflow.stages.prepare import UnknownRetrainMode

    if not is_retrain_mode(retrain):  # _preflight has refused it already, in the words of the command's options
        raise UnknownRetrainMode(retrain)
    state = nightly_segmentation(
        as_of=as_of, retrain=retrain, features=features, allow_stale_source=allow_stale_source, return_state=True
    )
    # A failed run raises its own error here, as a plain call would.
    return FlowRun(attempt_id=state.result(), flow_run_id=state.state_details.flow_run_id)


def _preflight(
    db: Database,
    settings: Settings,
    retrain: str,
    features: list[str] | None,
    days: list[date],
    allow_stale_source: bool = False,
) -> None:
    """Refuse a run that cannot succeed (segflow/cli/wording.py words the errors with this command's options)."""
    from segflow.stages.prepare import preflight

    preflight(db, settings, retrain, features, days, allow_stale_source)  # UnknownRetrainMode: worded as --retrain


def _require_integrations(settings: Settings) -> None:
    """Settings that send part of a run to an integration need its extra: said before any work, not from inside
    the flow."""
    if settings.dask_address:
        require_extra("dask", "SEGFLOW_DASK_ADDRESS")
    if settings.mirrors_to_mlflow:
        require_extra("mlflow", "SEGFLOW_MLFLOW_TRACKING_URI")


def _features(option: str | None) -> list[str] | None:
    return [f.strip() for f in option.split(",") if f.strip()] if option else None


def run(
    as_of: Annotated[str | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD (default: today, UTC).")] = None,
    retrain: RetrainOption = "auto",
    features: FeaturesOption = None,
    allow_stale_source: AllowStaleOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Run the nightly flow once and publish its segments."""
    from segflow.orchestration.runtime import as_of_for

    day = as_of_for(None, parse_date(as_of, "--as-of") if as_of else None)
    settings = load_settings()
    _require_integrations(settings)
    db = database(settings)
    # Mistakes are caught here in one line, before a Prefect server starts (or a flow run is recorded) for a run
    # that must fail.
    _preflight(db, settings, retrain, _features(features), [day], allow_stale_source)
    with _flow_session(settings, verbose) as session:
        flow_run = _run_flow(day, retrain, _features(features), allow_stale_source)
        run_page = session.flow_run_url(flow_run.flow_run_id)
    print_run(db, flow_run.attempt_id)
    if allow_stale_source:
        console.print(
            "the source's freshness was not enforced (--allow-stale-source): a what-if, recorded in "
            "segflow.runs.stale_source_allowed",
            highlight=False,
            soft_wrap=True,
        )
    _print_flow_run(run_page)


def retrain_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD (default: today, UTC).")] = None,
    features: FeaturesOption = None,
    allow_stale_source: AllowStaleOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Run the flow with training forced (gated challenger).

    The challenger replaces the champion only if it passes the gate (see docs/operating.md, "Retraining policy").
    """
    run(as_of=as_of, retrain="always", features=features, allow_stale_source=allow_stale_source, verbose=verbose)


def backfill(
    from_: Annotated[str, typer.Option("--from", help="First as-of date, YYYY-MM-DD.")],
    to: Annotated[str, typer.Option("--to", help="Last as-of date, YYYY-MM-DD.")],
    every: Annotated[str, typer.Option("--every", help="day or week.")] = "week",
    retrain: RetrainOption = "auto",
    allow_stale_source: AllowStaleOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Run the flow for a range of as-of dates, oldest first.

    Rerunning a date replaces that run's earlier attempt.
    """
    from segflow.orchestration.runs import backfill_dates, run_summary

    first, last = parse_date(from_, "--from"), parse_date(to, "--to")
    days = backfill_dates(first, last, every)
    settings = load_settings()
    _require_integrations(settings)
    db = database(settings)
    _preflight(db, settings, retrain, None, days, allow_stale_source)
    table = Table(title=f"backfill {first} .. {last}, every {every}")
    for column in ("as of", "run", "model", "customers", "outcome"):
        table.add_column(column, overflow="fold")
    with _flow_session(settings, verbose) as session:
        for day in days:
            if len(days) > 1:
                console.print(f"as of {day}:", highlight=False)
            info = run_summary(db, _run_flow(day, retrain, None, allow_stale_source).attempt_id)
            table.add_row(
                str(day),
                str(info["run_id"]),
                f"v{info['model_version']}",
                f"{info['customers_known']:,}",
                info["outcome"] or "",
            )
    console.print(table)
    if session.ui_url:
        console.print(f"flow runs: {session.ui_url}/runs", highlight=False, soft_wrap=True)


def withdraw_command(
    as_of: Annotated[str, typer.Argument(help="As-of date of the published run to take back, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn (kept with the run).")],
) -> None:
    """Withdraw a published run; BI reads the previous one.

    The model promotion the run made is undone; its rows stay, marked withdrawn.

    Running the date again publishes it anew.
    """
    from segflow.cli.mirror import aliases_in_words
    from segflow.orchestration.withdrawal import withdraw

    day = parse_date(as_of, "AS_OF")
    settings = load_settings()
    done = withdraw(database(settings), settings, day, reason)
    console.print(f"withdrew the run as of {done.as_of} (run {done.run_id}, attempt {done.attempt_id}): {done.reason}")
    if done.was_current:
        console.print(f"BI now reads the run as of {done.current_as_of}")
    else:
        console.print(f"BI still reads the run as of {done.current_as_of} (the withdrawn run was not the current one)")
    if done.retired_version is not None:
        console.print(
            f"model v{done.retired_version}, which this run promoted, is retired; v{done.restored_version} is the "
            "champion again"
        )
    if done.mlflow_aliases is not None:
        console.print(f"MLflow: {aliases_in_words(done.mlflow_aliases)}", highlight=False)
    console.print(f"removed {done.transitions_deleted:,} transition rows into and out of it")
    if done.next_as_of is not None:
        rebuilt = (
            f"rebuilt ({done.transitions_rebuilt:,} rows)"
            if done.transitions_rebuilt is not None
            else "not rebuilt (see the warning above)"
        )
        console.print(f"the transitions of the run as of {done.next_as_of} against its new previous run: {rebuilt}")
    if done.drift_reports_deleted:
        console.print(
            f"removed {len(done.drift_reports_deleted)} drift report(s) against it (runs "
            f"{', '.join(map(str, done.drift_reports_deleted))}); they are rebuilt when those dates run again"
        )
    console.print(f"to publish the date again: segflow run --as-of {done.as_of}", highlight=False)
