"""CSV files of customers uploaded to the API (/score/file) and the app (batch page), read and scored within bounds.

An upload comes from whoever reaches the server, so nothing in it may decide how much memory or time it costs:
its header may have at most `max_columns` columns (a 10 MB header of 5.2 million empty names kept a worker at 100 %
CPU for minutes), no physical line may be longer than `max_line_bytes` (nor one row of 5 million commas), chunks
hold at most CELLS_PER_CHUNK cells whatever the width, and the scored result goes to a spooled temporary file, not
a list in memory, so the server's memory stays flat in the file's size. A deadline, checked as the file is read and
between chunks, stops the work itself (not just the answer) when scoring takes too long.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, BinaryIO, Literal

import pandas as pd

from segflow.errors import SegflowError
from segflow.modelling.scoring import RowError, Scorer
from segflow.storage.csv_cells import write_csv

CELLS_PER_CHUNK = 1_000_000  # rows x columns parsed at once: ~50,000 rows of a 20-column file
MAX_CHUNK_ROWS = 50_000
SPOOL_BYTES = 1 << 20  # a scored result up to 1 MiB stays in memory; a larger one goes to a temporary file
FIRST_ROWS = 1_000  # scored rows kept to show (the app's preview)
FIRST_ERRORS = 100  # row errors kept to show; all of them are counted (and listed in the JSON form)


class UploadRefused(SegflowError):
    """An uploaded file is beyond a limit; the message names the file, the limit and its setting."""


@dataclass(eq=False)
class TooManyColumns(UploadRefused):
    template = "{name}: the header has {columns:,} columns, more than the limit of {limit:,} ({setting})"
    name: str
    columns: int
    limit: int
    setting: str = "SEGFLOW_UPLOAD_MAX_COLUMNS"


@dataclass(eq=False)
class LineTooLong(UploadRefused):
    template = "{name}: line {line:,} is longer than the limit of {limit:,} bytes ({setting})"
    name: str
    line: int
    limit: int
    setting: str = "SEGFLOW_UPLOAD_MAX_LINE_BYTES"


@dataclass(eq=False)
class ScoringTooSlow(UploadRefused):
    template = (
        "{name}: scoring took longer than the limit of {seconds:g} s after {rows:,} rows "
        "({setting}); send smaller files, or use `segflow score-file`"
    )
    name: str
    seconds: float
    rows: int
    setting: str = "SEGFLOW_API_REQUEST_TIMEOUT_SECONDS"


@dataclass(eq=False)
class UnreadableCsv(SegflowError):
    """The upload is not CSV text (binary, another encoding, broken quoting)."""

    template = "{name}: not a readable CSV file ({problem})"
    name: str
    problem: str


@dataclass(frozen=True)
class UploadLimits:
    """How much of an upload segflow reads: columns of its header, bytes of any line, and a monotonic deadline
    (None: no time limit)."""

    max_columns: int
    max_line_bytes: int
    deadline: float | None = None
    seconds: float | None = None  # what the deadline was set from, for the message
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def within(cls, max_columns: int, max_line_bytes: int, seconds: float | None) -> UploadLimits:
        deadline = time.monotonic() + seconds if seconds is not None else None
        return cls(max_columns, max_line_bytes, deadline, seconds)

    def passed(self) -> bool:
        return self.deadline is not None and self.clock() > self.deadline


class _DeadlinePassed(Exception):
    """Raised inside the reader when the deadline passes; turned into ScoringTooSlow with the rows done."""


class _CheckedLines(io.RawIOBase):
    """The upload's bytes as they are read, refused once a line passes the limit or the deadline passes: checked
    block by block, so a line of megabytes is refused after its first `max_line_bytes`, never parsed."""

    def __init__(self, header: bytes, rest: BinaryIO, name: str, limits: UploadLimits) -> None:
        self._pending = header
        self._rest = rest
        self._name = name
        self._limits = limits
        self._run = 0  # bytes of the current line so far
        self._lines = 0  # line ends seen

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._limits.passed():
            raise _DeadlinePassed()
        if self._pending:
            block, self._pending = self._pending[: len(buffer)], self._pending[len(buffer) :]
        else:
            block = self._rest.read(len(buffer))
        self._check(block)
        buffer[: len(block)] = block
        return len(block)

    def _check(self, block: bytes) -> None:
        limit = self._limits.max_line_bytes
        parts = block.split(b"\n")
        self._run += len(parts[0])
        if self._run > limit:
            raise LineTooLong(self._name, self._lines + 1, limit)
        for i, part in enumerate(parts[1:-1], start=1):
            if len(part) > limit:
                raise LineTooLong(self._name, self._lines + i + 1, limit)
        if len(parts) > 1:
            self._lines += len(parts) - 1
            self._run = len(parts[-1])
            if self._run > limit:
                raise LineTooLong(self._name, self._lines + 1, limit)


def header_columns(stream: BinaryIO, name: str, limits: UploadLimits, encoding: str = "utf-8-sig") -> list[str]:
    """The column names of an upload's header (its first line), refused beyond the limits; the stream is left just
    after the header line."""
    header = _header_line(stream, name, limits)
    return _columns(header, name, limits, encoding)


def _header_line(stream: BinaryIO, name: str, limits: UploadLimits) -> bytes:
    header = stream.readline(limits.max_line_bytes + 1)
    if len(header.rstrip(b"\r\n")) > limits.max_line_bytes:
        raise LineTooLong(name, 1, limits.max_line_bytes)
    if not header.strip():
        raise UnreadableCsv(name, "no header line")
    return header


def _columns(header: bytes, name: str, limits: UploadLimits, encoding: str) -> list[str]:
    try:
        text = codecs.decode(header, encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableCsv(name, f"not {encoding} text: {exc.reason} at byte {exc.start}") from None
    # A cheap count first: the csv module would build millions of empty names before we could refuse them.
    if text.count(",") + 1 > limits.max_columns:
        columns = next(csv.reader([text]), [])
        if len(columns) > limits.max_columns:
            raise TooManyColumns(name, len(columns), limits.max_columns)
    return next(csv.reader([text]), [])


def csv_chunks(
    stream: BinaryIO, name: str, limits: UploadLimits, encoding: str = "utf-8-sig"
) -> Iterator[pd.DataFrame]:
    """The upload as text frames (every cell a string, as typed), CELLS_PER_CHUNK cells at most per frame;
    TooManyColumns, LineTooLong or UnreadableCsv when the file is beyond the limits or not CSV. A passed deadline
    raises _DeadlinePassed (score_upload words it)."""
    header = _header_line(stream, name, limits)
    columns = _columns(header, name, limits, encoding)
    rows = max(1, min(MAX_CHUNK_ROWS, CELLS_PER_CHUNK // max(len(columns), 1)))
    checked = io.BufferedReader(_CheckedLines(header, stream, name, limits), buffer_size=1 << 16)
    try:
        yield from pd.read_csv(checked, dtype=str, keep_default_na=False, chunksize=rows, encoding=encoding)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UnreadableCsv(name, _first_line(exc)) from None


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


@dataclass
class ScoredUpload:
    """A scored upload: the result (CSV of the scored rows, or JSON {"rows": [...], "errors": [...]}) in a spooled
    file positioned at its start, what was counted, and the first rows and errors to show."""

    body: IO[bytes]
    rows_read: int = 0
    rows_scored: int = 0
    row_errors: int = 0
    first_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    first_errors: list[RowError] = field(default_factory=list)

    def blocks(self, size: int = 1 << 16) -> Iterator[bytes]:
        """The result in blocks, the file closed after the last (or when the reader stops early)."""
        try:
            while block := self.body.read(size):
                yield block
        finally:
            self.body.close()

    def size(self) -> int:
        here = self.body.tell()
        end = self.body.seek(0, io.SEEK_END)
        self.body.seek(here)
        return end


def score_upload(
    scorer: Scorer,
    stream: BinaryIO,
    name: str,
    limits: UploadLimits,
    form: Literal["csv", "json"] = "csv",
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> ScoredUpload:
    """Score an uploaded CSV chunk by chunk into a spooled file (memory flat in the file's size). `prepare` maps a
    chunk's columns to the model's features first (the app's column mapping). CSV cells that would start a formula
    are neutralised (segflow.storage.csv_cells); row errors are counted (and listed in the JSON form)."""
    # Not a `with`: the body outlives this call; ScoredUpload.blocks closes it once streamed.
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")  # noqa: SIM115
    result = ScoredUpload(body)
    text = io.TextIOWrapper(body, encoding="utf-8", newline="", write_through=True)
    try:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+t", encoding="utf-8") as errors:
            _score_chunks(scorer, stream, name, limits, form, prepare, text, errors, result)
        text.flush()
    except BaseException:
        text.detach()
        body.close()
        raise
    text.detach()  # the body stays open for the caller
    body.seek(0)
    return result


def _score_chunks(
    scorer: Scorer,
    stream: BinaryIO,
    name: str,
    limits: UploadLimits,
    form: Literal["csv", "json"],
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None,
    text: IO[str],
    errors: IO[str],
    result: ScoredUpload,
) -> None:
    """Score chunk after chunk into `text` (rows) and `errors` (the JSON form's error list), counting in `result`."""
    if form == "json":
        text.write('{"rows": [')
    try:
        for chunk in csv_chunks(stream, name, limits):
            if limits.passed():
                raise _DeadlinePassed()
            batch = scorer.score(prepare(chunk) if prepare else chunk, first_row=result.rows_read + 1)
            _write_rows(text, batch.rows, form, first=result.rows_scored == 0)
            _write_errors(errors, batch.errors, form, first=result.row_errors == 0)
            _keep_first_rows(result, batch.rows)
            result.first_errors.extend(batch.errors[: FIRST_ERRORS - len(result.first_errors)])
            result.rows_read += len(chunk)
            result.rows_scored += len(batch.rows)
            result.row_errors += len(batch.errors)
    except _DeadlinePassed:
        raise ScoringTooSlow(name, limits.seconds or 0, result.rows_read) from None
    if form == "json":
        text.write('], "errors": [')
        errors.seek(0)
        while block := errors.read(1 << 16):
            text.write(block)
        text.write("]}")


def _keep_first_rows(result: ScoredUpload, rows: pd.DataFrame) -> None:
    shown = len(result.first_rows)
    if shown >= FIRST_ROWS or rows.empty:
        return
    more = rows.head(FIRST_ROWS - shown)
    result.first_rows = more if shown == 0 else pd.concat([result.first_rows, more], ignore_index=True)


def _write_rows(out: IO[str], rows: pd.DataFrame, form: Literal["csv", "json"], first: bool) -> None:
    if rows.empty:
        return
    if form == "csv":
        write_csv(rows, out, header=first)
        return
    records = json.dumps(rows.to_dict(orient="records"), ensure_ascii=False, allow_nan=False)
    out.write(("" if first else ", ") + records[1:-1])


def _write_errors(out: IO[str], errors: list[RowError], form: Literal["csv", "json"], first: bool) -> None:
    if form != "json" or not errors:
        return
    records = json.dumps([{"row": e.row, "column": e.column, "message": e.message} for e in errors])
    out.write(("" if first else ", ") + records[1:-1])
