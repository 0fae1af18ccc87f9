"""Scoring a file: a CSV of customers' features, or a transactions file read as `segflow load` reads it and
turned into RFM features by the SQL of a run, scored chunk by chunk with a saved model (`segflow score-file`)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, cast

import pandas as pd
from psycopg2 import sql

from segflow.data import features
from segflow.data.ingest.files import NotInEncoding, check_file, open_binary
from segflow.data.ingest.layouts import MappingInvalid, read_header
from segflow.data.ingest.parse import LineParser
from segflow.errors import FileProblem
from segflow.modelling.scoring import MissingFeatureValues, RowError, Scorer
from segflow.storage.csv_cells import write_csv
from segflow.storage.db import Database, copy_named, read_sql, run_named

FIRST_ERRORS = 5  # rows with an error kept in memory to show; all of them go to the errors file


@dataclass(frozen=True)
class FileScoring:
    """What scoring a file did: rows read and scored, how many could not be, the first of those."""

    rows_read: int
    rows_scored: int
    row_errors: int
    first_errors: list[RowError]
    errors_path: Path | None  # None when every row was scored


def feature_mapping(spec: str) -> dict[str, str]:
    """Parse `target=source,...` (target: a model feature or customer_id; source: the file's column)."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        target, sep, source = (s.strip() for s in part.partition("="))
        if not sep or not target or not source:
            raise MappingInvalid("entry", part)
        mapping[target] = source
    return mapping


def score_csv(
    scorer: Scorer,
    source: Path | IO[str],
    target: Path,
    *,
    mapping: dict[str, str] | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8-sig",
    chunk_rows: int = 50_000,
) -> FileScoring:
    """Score a CSV of customers' features chunk by chunk into `target` (memory stays flat): each valid row with
    SCORE_COLUMNS added; invalid rows go to `<target>.errors.csv` (row, column, message). Both files neutralise
    formula-starting text (segflow.storage.csv_cells)."""
    renames = {source_column: name for name, source_column in (mapping or {}).items()}
    errors_path = target.with_name(target.name.removesuffix(".csv") + ".errors.csv")
    errors_path.unlink(missing_ok=True)
    read = scored = failed = 0
    first: list[RowError] = []
    try:
        chunks = pd.read_csv(
            source, dtype=str, keep_default_na=False, chunksize=chunk_rows, sep=delimiter, encoding=encoding
        )
        with target.open("w", newline="", encoding="utf-8") as out:
            for chunk in chunks:
                batch = scorer.score(chunk.rename(columns=renames), first_row=read + 1)
                write_csv(batch.rows, out, header=read == 0)
                read += len(chunk)
                scored += len(batch.rows)
                failed += len(batch.errors)
                first.extend(batch.errors[: FIRST_ERRORS - len(first)])
                if batch.errors:
                    errors = pd.DataFrame(
                        [(e.row, e.column, e.message) for e in batch.errors], columns=["row", "column", "message"]
                    )
                    write_csv(errors, errors_path, header=not errors_path.exists(), append=True)
    except MissingFeatureValues as exc:
        exc.file = source.name if isinstance(source, Path) else None
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FileProblem(str(source), f"not a readable CSV file ({exc})") from None
    return FileScoring(read, scored, failed, first, errors_path if failed else None)


@dataclass(frozen=True)
class FileCustomers:
    """What reading a transactions file gave: lines read and rejected (by reason, the first few with their line
    number), the as-of date, its active customers' features (CSV, with header) and how many were inactive."""

    lines_read: int
    rejected: dict[str, int]
    first_rejects: list[tuple[int, str, str]]
    as_of: date | None
    customers: int
    inactive: int
    features_csv: IO[str]


@contextmanager
def transactions_to_features(
    db: Database,
    path: Path,
    *,
    as_of: date | None = None,
    lookback_days: int = 365,
    mapping: dict[str, str] | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8-sig",
    date_format: str | None = None,
    chunk_rows: int = 50_000,
) -> Iterator[FileCustomers]:
    """The RFM features, as of a date (default: the file's last day), of the customers in a transactions file.

    The file is read exactly as `segflow load` reads it (layouts, mapping, date formats, rejected lines) into a
    temporary table, and the features come from the very SQL of a run's full recompute
    (queries/features/compute_rfm_features_from_lines over sql/staging): the same lines give the same features
    as a run on that date. Nothing is written to segflow's tables.
    """
    check_file(path)
    rejected: Counter[str] = Counter()
    first: list[tuple[int, str, str]] = []
    read = 0
    with db.transaction() as cur, tempfile.SpooledTemporaryFile(max_size=64 << 20, mode="w+b") as spool:
        run_named(cur, "queries/score_file/create_file_lines")
        with open_binary(path) as (stream, _raw):
            reader = csv.reader(io.TextIOWrapper(stream, encoding=encoding, newline=""), delimiter=delimiter)
            header, layout, indexes = read_header(reader, path, delimiter, mapping)
            parser = LineParser(layout, indexes, len(header), date_format)
            rows = io.StringIO()
            try:
                for record in reader:
                    if not record or (len(record) == 1 and not record[0].strip()):
                        continue  # blank line, as `load` skips it
                    read += 1
                    line, reason, detail = parser.parse(record, reader.line_num, 0)
                    if line is None:
                        rejected[reason] += 1
                        if len(first) < FIRST_ERRORS:
                            first.append((reader.line_num, reason, detail))
                        continue
                    rows.write(line)
                    if read % chunk_rows == 0:
                        rows.seek(0)
                        copy_named(cur, "queries/score_file/copy_file_lines", rows)
                        rows = io.StringIO()
            except UnicodeDecodeError as exc:
                raise NotInEncoding(path.name, encoding) from exc
            rows.seek(0)
            copy_named(cur, "queries/score_file/copy_file_lines", rows)
            parser.slash_dates.check(path.name)
        if as_of is None:
            as_of = run_named(cur, "queries/score_file/file_last_day")[0][0]
        run_named(cur, "queries/score_file/create_file_features")
        if as_of is not None:
            features.insert_rfm_features_of(
                cur, sql.Identifier("score_file_lines"), sql.Identifier("score_file_features"), as_of, lookback_days
            )
        inactive = run_named(cur, "queries/score_file/file_inactive_customers")[0][0]
        # In memory up to 64 MB, on disk beyond: memory stays flat however many customers the file has.
        cur.copy_expert(read_sql("queries/score_file/copy_file_features"), cast(IO[bytes], spool))
        customers = cur.rowcount
        spool.seek(0)
        text = io.TextIOWrapper(cast(IO[bytes], spool), encoding="utf-8", newline="")
        yield FileCustomers(read, dict(rejected), first, as_of, customers, inactive, text)
