"""Scoring outside the nightly run: `segflow score-file` (a CSV of customers) and `segflow api` (HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segflow.cli.errors import RfmOnlyFromTransactions, ScoreFileMissing
from segflow.cli.output import (
    console,
    database,
    err_console,
    is_loopback,
    load_settings,
    parse_date,
    require_extra,
)

GRACEFUL_SHUTDOWN_SECONDS = 5


def score_file(
    file: Annotated[Path, typer.Argument(help="A CSV of customers: an id column and the model's features.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the scored CSV.")],
    map_: Annotated[
        str | None,
        typer.Option("--map", help="target=source,... when the file names features otherwise, e.g. monetary=Spend"),
    ] = None,
    delimiter: Annotated[str, typer.Option(help="Field delimiter.")] = ",",
    encoding: Annotated[str, typer.Option(help="Text encoding of the file.")] = "utf-8-sig",
    model: Annotated[int | None, typer.Option("--model", help="Model version (default: the champion).")] = None,
    transactions: Annotated[
        bool,
        typer.Option(
            "--transactions",
            help="The file holds transaction lines (read as `segflow load` reads them): score its customers' RFM.",
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="With --transactions: RFM as of this date, YYYY-MM-DD (default: the last day)."),
    ] = None,
    date_format: Annotated[
        str | None, typer.Option(help="With --transactions: strptime format of the dates (as `segflow load`).")
    ] = None,
) -> None:
    """Score a CSV of customers (features or transactions).

    Each row gets segment, action, distance and confidence. With --transactions the file holds transaction lines,
    whose customers' RFM features (as a run on --as-of computes them) are scored. Read and written in chunks, so
    memory stays flat. Rows that cannot be scored go to OUT.errors.csv; the exit code is non-zero only when no
    row could be scored.
    """
    from segflow.data.ingest.layouts import parse_mapping
    from segflow.modelling.scoring import MissingFeatureValues, Scorer
    from segflow.serving.score_file import feature_mapping, score_csv, transactions_to_features

    if not file.is_file():
        raise ScoreFileMissing(str(file))
    if transactions:
        mapping = parse_mapping(map_) if map_ is not None else None
    else:
        mapping = feature_mapping(map_) if map_ is not None else None
    settings = load_settings()
    db = database(settings)
    scorer = Scorer.load(db, model)
    if not transactions:
        result = score_csv(scorer, file, output, mapping=mapping, delimiter=delimiter, encoding=encoding)
    else:
        day = parse_date(as_of, "--as-of") if as_of else None
        with transactions_to_features(
            db,
            file,
            as_of=day,
            lookback_days=settings.lookback_days,
            mapping=mapping,
            delimiter=delimiter,
            encoding=encoding,
            date_format=date_format,
        ) as found:
            rejected = sum(found.rejected.values())
            console.print(
                f"{file.name}: {found.lines_read:,} lines, {rejected:,} rejected; RFM as of {found.as_of} over "
                f"{settings.lookback_days} days: {found.customers:,} customers, {found.inactive:,} inactive "
                "(no purchase in the window, not scored)",
                highlight=False,
                soft_wrap=True,
            )
            for line, reason, detail in found.first_rejects:
                err_console.print(f"line {line}: rejected, {reason}: {detail}", highlight=False, soft_wrap=True)
            try:
                result = score_csv(scorer, found.features_csv, output)
            except MissingFeatureValues as exc:
                raise RfmOnlyFromTransactions(exc) from None
    for error in result.first_errors:
        err_console.print(f"row {error.row}: {error.message}", highlight=False, soft_wrap=True)
    if result.row_errors > len(result.first_errors):
        err_console.print(f"... and {result.row_errors - len(result.first_errors):,} more", highlight=False)
    if result.errors_path is not None:
        err_console.print(f"rows not scored: {result.errors_path}", highlight=False, soft_wrap=True)
    console.print(
        f"{result.rows_scored:,} of {result.rows_read:,} rows scored with model v{scorer.version}, "
        f"{result.row_errors:,} not scored: {output}",
        highlight=False,
        soft_wrap=True,
    )
    if result.rows_scored == 0:
        raise typer.Exit(1)


def api(
    host: Annotated[str | None, typer.Option(help="Address (default SEGFLOW_API_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SEGFLOW_API_PORT, 8765).")] = None,
) -> None:
    """Serve the scoring API over HTTP (FastAPI, uvicorn).

    /score, /score/batch, /score/file, /customers/{id}, /segments, /health; OpenAPI docs at /docs. It connects
    read-only (SEGFLOW_API_DATABASE_URL: a BI login) and, with SEGFLOW_API_TOKEN set, needs Authorization: Bearer
    TOKEN on every endpoint but /health.
    """
    require_extra("api", "segflow api")
    import uvicorn

    from segflow.serving.api.app import create_app

    settings = load_settings()
    database(settings)  # migrations applied (by segflow's own login) before the read-only app starts
    host = host or settings.api_host
    port = settings.api_port if port is None else port
    if settings.api_token is None and not is_loopback(host):
        err_console.print(
            f"[bold yellow]warning:[/] the API listens on {host} and has no token (SEGFLOW_API_TOKEN): whoever "
            "reaches it can score and read every customer's segment",
            soft_wrap=True,
        )
    console.print(f"segflow api on http://{host}:{port} (docs: http://{host}:{port}/docs)", highlight=False)
    # On SIGTERM a request still running gets GRACEFUL_SHUTDOWN_SECONDS to finish; then the server stops anyway.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        workers=1,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
