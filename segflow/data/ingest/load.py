"""Loading a transaction CSV file (.csv or .csv.gz) into segflow.transactions: the one-transaction COPY.

The file streams through the csv module into COPY in chunks, all inside one transaction: memory stays
flat whatever the file size, and a failure part-way loads nothing. Lines that cannot be used are kept
in segflow.import_rejects with their line number and reason.

A batch is identified by the file's content and the options it was read with (mapping, delimiter,
encoding, date format): importing it again the same way is a no-op, the same content read another way is
refused unless it replaces the earlier batch. An import that rejects every line, or more than
`max_reject_share` of them, loads nothing and is recorded as a failed batch.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg2.extensions

if TYPE_CHECKING:  # csv.reader() returns this type; only the type checker names it
    import _csv

from segflow.data import aggregates
from segflow.data.ingest.files import NotInEncoding, check_file, content_sha256, first_undecodable_line, open_binary
from segflow.data.ingest.layouts import read_header
from segflow.data.ingest.parse import LineParser
from segflow.errors import BatchReadDifferently, FileProblem, ImportFailed, ImportRejected
from segflow.storage.db import Database, copy_in, copy_text_value, run_named

log = logging.getLogger(__name__)

TRANSACTION_COLUMNS = (
    "invoice_id",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "invoiced_at",
    "customer_id",
    "country",
    "batch_id",
    "line_number",
)
REJECT_COLUMNS = ("batch_id", "line_number", "reason", "detail", "raw_line")

ProgressCallback = Callable[[int, int], None]


@dataclass
class ImportResult:
    """What an import did: counts per outcome and where the lines went."""

    source: str
    layout: str
    batch_id: int | None = None
    lines_read: int = 0
    lines_loaded: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    already_imported: bool = False
    seconds: float = 0.0
    replaced: list[int] = field(default_factory=list)
    # The first rejected lines (line number, reason, detail, raw line), kept with a failed batch.
    first_rejects: list[tuple[int, str, str, str]] = field(default_factory=list)
    # Lines that repeat another line of the batch exactly, and whether the file names its products: without
    # invoice and product columns, two products bought together at one price look like one line twice.
    duplicate_lines: int = 0
    identifies_products: bool = True

    @property
    def lines_rejected(self) -> int:
        return sum(self.rejected.values())


@dataclasses.dataclass(eq=False)
class MalformedCsv(ImportRejected):
    """The CSV reader gave up on a line (an unclosed quote, a field over its size limit, ...)."""

    template = "{file}: malformed CSV at line {line}: {reason}"
    file: str
    line: int
    reason: str


@dataclasses.dataclass(eq=False)
class ImportOptionInvalid(ImportRejected):
    """An import option out of its range: the delimiter or the largest share of rejected lines."""

    template = "{option} must be {rule}, got {value!r}"
    option: str
    rule: str
    value: object


# Rejected lines kept with a failed batch, so the reasons can be looked at although nothing was loaded.
FAILED_BATCH_SAMPLE = 100


def reading_options(
    mapping: dict[str, str] | None, delimiter: str, encoding: str, date_format: str | None
) -> dict[str, object]:
    """The options that change what an import loads from a file: part of a batch's identity."""
    return {
        "mapping": dict(sorted(mapping.items())) if mapping else None,
        "delimiter": delimiter,
        "encoding": encoding,
        "date_format": date_format,
    }


def import_transactions(
    db: Database,
    path: Path,
    *,
    mapping: dict[str, str] | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8-sig",
    date_format: str | None = None,
    chunk_rows: int = 50_000,
    progress: ProgressCallback | None = None,
    replace: bool = False,
    max_reject_share: float = 0.1,
) -> ImportResult:
    """Import one CSV file into segflow.transactions in one transaction.

    The same content read the same way adds nothing; read another way it is refused (BatchReadDifferently)
    unless `replace`, which removes the imported batches of the same content or file name in the same
    transaction. Too many rejected lines (ImportFailed) load nothing and leave a failed batch on record.
    """
    started = time.perf_counter()
    path = Path(path)
    check_file(path)
    if len(delimiter) != 1:
        raise ImportOptionInvalid("the delimiter", "one character", delimiter)
    if not 0 <= max_reject_share <= 1:
        raise ImportOptionInvalid("max_reject_share", "between 0 and 1", max_reject_share)
    reading = _Reading(path, content_sha256(path), mapping, delimiter, encoding, date_format)
    try:
        with db.transaction() as cur:
            result = _import(cur, reading, chunk_rows, progress, replace, max_reject_share)
    except ImportFailed as failure:
        _record_failure(db, reading, failure)
        log.info("import of %s failed: %s", path.name, failure)
        raise
    result.seconds = time.perf_counter() - started
    if not result.already_imported:
        log.info(
            "imported %s: %d read, %d loaded, %d rejected in %.1fs",
            path.name,
            result.lines_read,
            result.lines_loaded,
            result.lines_rejected,
            result.seconds,
        )
    return result


@dataclass(frozen=True)
class _Reading:
    """One file and the options it is read with."""

    path: Path
    digest: str
    mapping: dict[str, str] | None
    delimiter: str
    encoding: str
    date_format: str | None

    @property
    def options(self) -> dict[str, object]:
        return reading_options(self.mapping, self.delimiter, self.encoding, self.date_format)


def _import(
    cur: psycopg2.extensions.cursor,
    reading: _Reading,
    chunk_rows: int,
    progress: ProgressCallback | None,
    replace: bool,
    max_reject_share: float,
) -> ImportResult:
    path = reading.path
    existing = run_named(cur, "queries/ingest/import_batch_by_sha", {"sha256": reading.digest})
    if existing and not replace:
        batch_id, layout_name, lines_read, earlier, _name = existing[0]
        if earlier is None or earlier == reading.options:  # None: imported before options were recorded
            return ImportResult(
                source=str(path), layout=layout_name, batch_id=batch_id, lines_read=lines_read, already_imported=True
            )
        raise BatchReadDifferently(path.name, batch_id, earlier, reading.options)
    replaced = []
    if replace:
        for batch_id, _name, _lines in run_named(
            cur, "queries/ingest/batches_to_replace", {"sha256": reading.digest, "name": path.name}
        ):
            run_named(cur, "queries/ingest/remove_batch", {"batch_id": batch_id})
            replaced.append(batch_id)
    with open_binary(path) as (stream, raw):
        total_bytes = path.stat().st_size
        text = io.TextIOWrapper(stream, encoding=reading.encoding, newline="")
        reader = csv.reader(text, delimiter=reading.delimiter)
        header, layout, indexes = read_header(reader, path, reading.delimiter, reading.mapping)
        batch_id = run_named(
            cur,
            "queries/ingest/insert_import_batch",
            {
                "kind": "file",
                "name": path.name,
                "sha256": reading.digest,
                "layout": layout.name,
                "options": json.dumps(reading.options),
            },
        )[0][0]
        result = ImportResult(source=str(path), layout=layout.name, batch_id=batch_id, replaced=replaced)
        parser = LineParser(layout, indexes, len(header), reading.date_format)
        _stream_lines(
            cur,
            reader,
            parser,
            batch_id,
            result,
            chunk_rows,
            path,
            reading.encoding,
            lambda: progress(raw.tell(), total_bytes) if progress else None,
        )
    if result.lines_read == 0:
        raise FileProblem(path.name, "has a header but no data lines")
    parser.slash_dates.check(path.name)  # before counting rejects: day-first dates are rejected as month-first
    if result.lines_loaded == 0 or result.lines_rejected > max_reject_share * result.lines_read:
        raise ImportFailed(
            path.name, layout.name, result.lines_read, dict(result.rejected), result.first_rejects, max_reject_share
        )
    result.duplicate_lines = run_named(cur, "queries/ingest/batch_duplicate_lines", {"batch_id": batch_id})[0][0]
    # In the import's own transaction: the aggregates never show half an import, nor miss one.
    aggregates.fold_imported_lines(cur)
    result.identifies_products = bool({"invoice_id", "stock_code", "description"} & set(indexes))
    run_named(
        cur,
        "queries/ingest/finish_import_batch",
        {
            "batch_id": batch_id,
            "lines_read": result.lines_read,
            "lines_loaded": result.lines_loaded,
            "lines_rejected": result.lines_rejected,
            "rejected_by_reason": json.dumps(dict(sorted(result.rejected.items()))),
        },
    )
    return result


def _record_failure(db: Database, reading: _Reading, failure: ImportFailed) -> None:
    """The failed import's transaction rolled back: record the attempt and its first rejects on their own."""
    with db.transaction() as cur:
        failure.batch_id = run_named(
            cur,
            "queries/ingest/record_failed_import",
            {
                "name": reading.path.name,
                "sha256": reading.digest,
                "layout": failure.layout,
                "options": json.dumps(reading.options),
                "error": failure.summary(),
                "lines_read": failure.lines_read,
                "lines_rejected": sum(failure.rejected.values()),
                "rejected_by_reason": json.dumps(dict(sorted(failure.rejected.items()))),
            },
        )[0][0]
        rejects = io.StringIO()
        for line_number, reason, detail, raw_line in failure.first_rejects:
            rejects.write(_reject_row(failure.batch_id, line_number, reason, detail, raw_line))
        rejects.seek(0)
        copy_in(cur, "import_rejects", REJECT_COLUMNS, rejects)


def _stream_lines(
    cur: psycopg2.extensions.cursor,
    reader: _csv.Reader,
    parser: LineParser,
    batch_id: int,
    result: ImportResult,
    chunk_rows: int,
    path: Path,
    encoding: str,
    report_progress: Callable[[], None],
) -> None:
    rows = io.StringIO()
    rejects = io.StringIO()
    pending = 0
    line_number = reader.line_num
    rejected = result.rejected
    loaded = read = 0
    try:
        for record in reader:
            start_line = line_number + 1
            line_number = reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            read += 1
            copy_line, reason, detail = parser.parse(record, start_line, batch_id)
            if copy_line is not None:
                rows.write(copy_line)
                loaded += 1
            else:
                rejected[reason] += 1
                raw_line = _join_record(record, reader.dialect.delimiter)
                if len(result.first_rejects) < FAILED_BATCH_SAMPLE:
                    result.first_rejects.append((start_line, reason, detail, raw_line))
                rejects.write(_reject_row(batch_id, start_line, reason, detail, raw_line))
            pending += 1
            if pending >= chunk_rows:
                _flush(cur, rows, rejects)
                rows, rejects, pending = io.StringIO(), io.StringIO(), 0
                report_progress()
    except UnicodeDecodeError as exc:
        raise NotInEncoding(path.name, encoding, first_undecodable_line(path, encoding)) from exc
    except csv.Error as exc:
        raise MalformedCsv(path.name, line_number + 1, str(exc)) from exc
    _flush(cur, rows, rejects)
    report_progress()
    result.lines_read, result.lines_loaded = read, loaded


def _reject_row(batch_id: int, line_number: int, reason: str, detail: str, raw_line: str) -> str:
    """One segflow.import_rejects row (REJECT_COLUMNS) in COPY's text format."""
    return f"{batch_id}\t{line_number}\t{reason}\t{copy_text_value(detail)}\t{copy_text_value(raw_line)}\n"


def _flush(cur: psycopg2.extensions.cursor, rows: io.StringIO, rejects: io.StringIO) -> None:
    for table, columns, buffer in (
        ("transactions", TRANSACTION_COLUMNS, rows),
        ("import_rejects", REJECT_COLUMNS, rejects),
    ):
        if buffer.tell():
            buffer.seek(0)
            copy_in(cur, table, columns, buffer)


def _join_record(record: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(record)
    return out.getvalue()
