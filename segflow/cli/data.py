"""Data in: `segflow load`, `generate`, `load-customers`, and `segflow batches` to list and take back imports."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from segflow.cli.errors import AggregatesDiffer
from segflow.cli.output import (
    byte_progress,
    chunk_progress,
    console,
    database,
    err_console,
    load_settings,
    parse_date,
)

batches_app = typer.Typer(help="Imports: list them, take one back.", invoke_without_command=True)


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
        typer.Option(
            help="Fail, loading nothing, when more than this share of lines is rejected (default 0.1).",
            min=0.0,
            max=1.0,
        ),
    ] = None,
) -> None:
    """Import transactions from a CSV file.

    Online Retail and Online Retail II layouts are recognised by their header; others need --map.
    """
    from segflow.data.ingest.batches import has_generated_data
    from segflow.data.ingest.layouts import parse_mapping
    from segflow.data.ingest.load import import_transactions

    mapping = parse_mapping(map_) if map_ is not None else None
    settings = load_settings()
    db = database(settings)
    share = settings.max_reject_share if max_reject_share is None else max_reject_share
    with byte_progress(f"loading {file.name}") as report:
        result = import_transactions(
            db,
            file,
            mapping=mapping,
            delimiter=delimiter,
            encoding=encoding,
            date_format=date_format,
            chunk_rows=settings.import_chunk_rows,
            progress=report,
            replace=replace,
            max_reject_share=share,
        )
    for batch_id in result.replaced:
        console.print(f"replaced batch {batch_id}: its lines were removed in the same transaction")
    if result.duplicate_lines and not result.identifies_products:
        err_console.print(
            f"note: {result.duplicate_lines:,} lines repeat another line of the same customer, time, quantity and "
            "price exactly; they count once (the duplicate rule). If they are different products, map their "
            "product column (stock_code=... or description=...) and load again with --replace",
            highlight=False,
            soft_wrap=True,
        )
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
    if has_generated_data(db):
        err_console.print(
            "note: this database also holds generated (demo) data, and segments will mix both; for your "
            "own data alone use a fresh SEGFLOW_HOME (or another database)",
            highlight=False,
            soft_wrap=True,
        )


@batches_app.callback()
def batches_list(ctx: typer.Context) -> None:
    """List imports, newest first (file, options, lines read/loaded/rejected, when, status)."""
    if ctx.invoked_subcommand is not None:
        return
    from segflow.data.ingest.batches import list_batches

    batches = list_batches(database())
    if not batches:
        console.print("no imports yet; load a file with segflow load (or segflow generate)")
        return
    table = Table(title="import batches")
    for column in ("batch", "status", "source", "options", "read", "loaded", "rejected", "when"):
        table.add_column(
            column, overflow="fold", justify="right" if column in ("batch", "read", "loaded", "rejected") else "left"
        )
    for b in batches:
        when = f"{b['started_at']:%Y-%m-%d %H:%M}"
        if b["removed_at"] is not None:
            when += f", removed {b['removed_at']:%Y-%m-%d %H:%M}"
        table.add_row(
            str(b["batch_id"]),
            b["status"],
            f"{b['name']} ({b['kind']}, {b['layout']})",
            _describe_options(b["options"], b["kind"]),
            f"{b['lines_read']:,}",
            f"{b['lines_loaded']:,}",
            f"{b['lines_rejected']:,}",
            when,
        )
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
    from segflow.data.ingest.batches import remove_batch

    deleted = remove_batch(database(), batch_id)
    console.print(f"removed batch {batch_id}: {deleted:,} lines deleted; the next run no longer counts them")


def generate(
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 10_000,
    days: Annotated[int, typer.Option(help="Length of the period in days.")] = 365,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 42,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD); default: DAYS days before today.")] = None,
    archetypes: Annotated[
        str | None, typer.Option(help="Only these archetypes, comma-separated (e.g. one_time); default: all.")
    ] = None,
) -> None:
    """Write realistic synthetic transactions."""
    from segflow.data.generate import GeneratorSpec, generate_transactions

    first_day = parse_date(start, "--start") if start else date.today() - timedelta(days=days)
    chosen = tuple(a.strip() for a in archetypes.split(",") if a.strip()) if archetypes else ()
    spec = GeneratorSpec(customers=customers, days=days, seed=seed, start=first_day, archetypes=chosen)
    spec.validate()  # InvalidSpec names a field, which segflow/cli/wording.py words as this command's option
    db = database()
    with chunk_progress("generating") as report:
        result = generate_transactions(db, spec, progress=report)
    if result.already_generated:
        console.print(f"this data set was already generated (batch {result.batch_id}): 0 lines added")
        return
    rate = result.lines / result.seconds if result.seconds else 0
    console.print(
        f"generated {result.lines:,} lines for {customers:,} customers, {first_day} .. "
        f"{first_day + timedelta(days=days - 1)}, in {result.seconds:.1f}s ({rate:,.0f} lines/s)"
    )


def load_customers(
    file: Annotated[Path, typer.Argument(help="CSV with one row per customer.")],
    id_column: Annotated[str | None, typer.Option("--id", help="Customer id column (default: customer_id/id).")] = None,
) -> None:
    """Load customer attributes to cluster on (--features)."""
    from segflow.data.attributes import load_customer_attributes

    result = load_customer_attributes(database(), file, id_column)
    console.print(
        f"loaded {len(result.columns)} attribute(s) for {result.customers:,} customers: {', '.join(result.columns)}"
    )


def rebuild(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Change nothing: compare the aggregates with a full recompute from the lines instead."
        ),
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="With --check: the as-of date to compare (default: today, UTC).")
    ] = None,
) -> None:
    """Recompute the aggregates from every line (or --check them).

    Nights fold only the lines that changed into per-customer aggregates; a rebuild recomputes
    them from every line of the source table (the weekly retrain does too). Use it after changing
    old rows of a source other than segflow.transactions.
    """
    import time

    from segflow.data import aggregates
    from segflow.data.aggregates_check import check_against_lines
    from segflow.orchestration.runtime import as_of_for

    settings = load_settings()
    db = database(settings)
    if check:
        day = as_of_for(None, parse_date(as_of, "--as-of") if as_of else None)
        result = check_against_lines(db, settings, day)
        if result.exact:
            console.print(
                f"the aggregates of {settings.source_table} equal a full recompute from its lines as of {day}: "
                f"{result.customers:,} customers, data-quality counts equal",
                highlight=False,
            )
            return
        counts = {
            name: (result.counts_from_aggregates[name], value)
            for name, value in result.counts_from_lines.items()
            if result.counts_from_aggregates.get(name) != value
        }
        raise AggregatesDiffer(
            day, result.differing_customers, result.customers, list(result.example_customers), counts
        )
    started = time.perf_counter()
    done = aggregates.bring_current(db, settings, rebuild=True)
    state = aggregates.summary(db)
    console.print(
        f"aggregates of {settings.source_table} {done.action} in {time.perf_counter() - started:.1f} s: "
        f"{state['customers']:,} customers, lines up to {state['watermark_day'] or 'none'}",
        highlight=False,
    )
