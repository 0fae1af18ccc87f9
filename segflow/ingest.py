"""Import of transaction CSV files (.csv or .csv.gz) into segflow.transactions.

The file streams through the csv module into COPY in chunks, all inside one transaction: memory stays
flat whatever the file size, and a failure part-way loads nothing. Lines that cannot be used are kept
in segflow.import_rejects with their line number and reason.

A batch is identified by the file's content and the options it was read with (mapping, delimiter,
encoding, date format): importing it again the same way is a no-op, the same content read another way is
refused unless it replaces the earlier batch. An import that rejects every line, or more than
`max_reject_share` of them, loads nothing and is recorded as a failed batch.
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import gzip
import hashlib
import io
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import psycopg2.extensions

if TYPE_CHECKING:  # csv.reader() returns this type; only the type checker names it
    import _csv

from segflow import aggregates
from segflow.db import Database, copy_in, copy_text_value, run_named
from segflow.errors import BatchReadDifferently, FileMissing, FileProblem, ImportFailed, ImportRejected, joined

log = logging.getLogger(__name__)

TARGET_FIELDS = (
    "invoice_id",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "invoiced_at",
    "customer_id",
    "country",
)
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

# Reasons a single line is rejected (the rest of the file still loads).
MISSING_FIELD = "missing_required_field"
BAD_NUMBER = "unparseable_number"
BAD_DATE = "unparseable_date"
FIELD_COUNT = "wrong_field_count"
UNDEFINED_PRICE = "amount_with_zero_quantity"

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Layout:
    """Which CSV column feeds which transaction field."""

    name: str
    columns: dict[str, str]  # target field -> header name in the file
    required: tuple[str, ...]


ONLINE_RETAIL = Layout(
    "online_retail",
    {
        "invoice_id": "InvoiceNo",
        "stock_code": "StockCode",
        "description": "Description",
        "quantity": "Quantity",
        "invoiced_at": "InvoiceDate",
        "unit_price": "UnitPrice",
        "customer_id": "CustomerID",
        "country": "Country",
    },
    required=("invoice_id", "quantity", "invoiced_at", "unit_price", "customer_id"),
)
ONLINE_RETAIL_II = Layout(
    "online_retail_ii",
    {
        "invoice_id": "Invoice",
        "stock_code": "StockCode",
        "description": "Description",
        "quantity": "Quantity",
        "invoiced_at": "InvoiceDate",
        "unit_price": "Price",
        "customer_id": "Customer ID",
        "country": "Country",
    },
    required=("invoice_id", "quantity", "invoiced_at", "unit_price", "customer_id"),
)
KNOWN_LAYOUTS = (ONLINE_RETAIL, ONLINE_RETAIL_II)
# Fields a line cannot do without when its layout has them (customer_id may be empty: unknown customer).
_VALUE_REQUIRED = ("invoice_id", "quantity", "unit_price", "amount", "invoiced_at", "customer_id")

# Date layouts tried after ISO 8601; US month-first is what the UCI Online Retail CSV exports use.
FALLBACK_DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y %H:%M")
# The first two numbers of a slash date: which is the day says whether the file is month-first.
_SLASH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/\d{2,4}\b")


@dataclasses.dataclass(eq=False)
class DatesReadBothWays(ImportRejected):
    """A file's slash dates (without a date format given) do not say whether they are month-first or day-first: every
    one has day and month of 12 or less, or the file holds both kinds. Nothing is loaded."""

    name: str
    example: str
    day_first: str | None
    month_first: str | None

    @property
    def formats(self) -> dict[str, str]:
        """strptime formats that read the example day-first and month-first."""
        return _slash_formats(self.example)

    def why(self) -> str:
        """Why the dates cannot be read without a format."""
        if self.day_first and self.month_first:
            return (
                f"it holds day-first dates (e.g. {self.day_first!r}) and month-first dates "
                f"(e.g. {self.month_first!r}), so {self.example!r} cannot be read either way"
            )
        if self.day_first:
            return (
                f"its dates are day-first ({self.day_first!r} has a day above 12), and dates without a format are "
                "read month-first"
            )
        first, second = (int(part) for part in self.example.strip().split("/", 2)[:2])
        return (
            f"no date in it has a day above 12, so {self.example!r} could be {first} {calendar.month_name[second]} "
            f"or {second} {calendar.month_name[first]}"
        )

    def __str__(self) -> str:
        return f"{self.name}: the dates read both ways: {self.why()}; nothing was loaded: name the date format"


def _slash_formats(example: str) -> dict[str, str]:
    """strptime formats that read a slash date shaped like `example`, day-first and month-first."""
    date_part, _, time_part = example.strip().partition(" ")
    year = "%Y" if len(date_part.rsplit("/", 1)[-1]) == 4 else "%y"
    clock = {0: "", 1: " %H:%M", 2: " %H:%M:%S"}.get(time_part.count(":"), "") if time_part else ""
    return {"day-first": f"%d/%m/{year}{clock}", "month-first": f"%m/%d/{year}{clock}"}


@dataclass
class SlashDateEvidence:
    """What a file's slash dates (read without a date format) say about their order: the first distinct date
    that only reads day-first, one that only reads month-first, and one that reads both ways differently."""

    day_first: str | None = None
    month_first: str | None = None
    both_ways: str | None = None

    def note(self, text: str) -> None:
        match = _SLASH_DATE.match(text)
        if match is None:
            return
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12:
            self.day_first = self.day_first or text
        elif second > 12:
            self.month_first = self.month_first or text
        elif first != second:
            self.both_ways = self.both_ways or text

    def check(self, name: str) -> None:
        """Refuse a file whose dates were read month-first without evidence that they are."""
        if self.day_first or (self.both_ways and not self.month_first):
            example = self.both_ways or self.month_first or self.day_first or ""
            raise DatesReadBothWays(name, example, self.day_first, self.month_first)


_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_FLOAT_FORMATTED_ID = re.compile(r"^(\d+)\.0+$")


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


# Which fields a mapping must name, in words (docs/data.md says the same).
MAPPING_RULE = (
    "invoiced_at and customer_id, and either quantity with unit_price, or amount (the line's total; "
    "with amount, quantity is optional and counts as 1 when not mapped)"
)


@dataclasses.dataclass(eq=False)
class OtherDelimiter(ImportRejected):
    """The file's one header column holds another delimiter; `found` is it, as shown to people."""

    template = "{file}: the header has one column; the file seems to use {found!r} as delimiter, not {delimiter!r}"
    file: str
    found: str
    delimiter: str


@dataclasses.dataclass(eq=False)
class NotInEncoding(ImportRejected):
    """The file is not valid text in the encoding it was read with."""

    file: str
    encoding: str
    line: int | None = None  # None when the reader cannot tell

    def where(self) -> str:
        """'{file}: not valid {encoding} text at line {line}', the line left out when unknown."""
        at = f" at line {self.line}" if self.line is not None else ""
        return f"{self.file}: not valid {self.encoding} text{at}"

    def __str__(self) -> str:
        return f"{self.where()}; read it with its own encoding (e.g. latin-1)"


@dataclasses.dataclass(eq=False)
class MalformedCsv(ImportRejected):
    """The CSV reader gave up on a line (an unclosed quote, a field over its size limit, ...)."""

    template = "{file}: malformed CSV at line {line}: {reason}"
    file: str
    line: int
    reason: str


class HeaderRejected(ImportRejected):
    """A header that no layout or mapping can read; `file` is set once the file is known."""

    file: str | None

    def __str__(self) -> str:
        return f"{self.file}: {self.sentence()}" if self.file else self.sentence()

    def sentence(self) -> str:
        """The problem, without the file's name."""
        return self.template.format(**self.facts())


@dataclasses.dataclass(eq=False)
class UnrecognisedHeader(HeaderRejected):
    """A header that is neither known layout: the file needs a mapping."""

    template = (
        "unrecognised header ({shown}); expected the Online Retail or Online Retail II layout, "
        "or a mapping target=source,... (e.g. {example})"
    )
    header: list[str]
    example: str = "invoiced_at=Date,customer_id=Client,..."
    file: str | None = None

    @property
    def shown(self) -> str:
        return ", ".join(self.header[:10])

    def facts(self) -> dict[str, Any]:
        return {**super().facts(), "shown": self.shown}


@dataclasses.dataclass(eq=False)
class MappingColumnsAbsent(HeaderRejected):
    """A mapping names source columns the file's header lacks."""

    template = "the mapping names column(s) the file does not have: {missing_text} (header: {header_text})"
    missing: list[str]
    header: list[str]
    file: str | None = None

    def facts(self) -> dict[str, Any]:
        return {**super().facts(), "missing_text": joined(self.missing), "header_text": joined(self.header)}


@dataclasses.dataclass(eq=False)
class RequiredColumnsAbsent(HeaderRejected):
    """A known layout's header lacks columns the layout requires."""

    template = "missing required column(s): {missing_text} ({layout} layout)"
    missing: list[str]
    layout: str
    file: str | None = None

    def facts(self) -> dict[str, Any]:
        return {**super().facts(), "missing_text": joined(self.missing)}


@dataclasses.dataclass(eq=False)
class MappingInvalid(ImportRejected):
    """A column mapping target=source,... that cannot be used; `problem` says which rule it breaks."""

    problem: Literal["entry", "target", "empty", "both_prices", "incomplete"]
    entry: str = ""
    fields: list[str] = dataclasses.field(default_factory=list)

    def __str__(self) -> str:
        if self.problem == "entry":
            return f"mapping entry {self.entry!r} is not of the form target=source"
        if self.problem == "target":
            return f"mapping target {self.entry!r} is not a transaction field; use one of {joined(self.fields)}"
        if self.problem == "empty":
            return "the mapping is empty; give target=source pairs such as invoiced_at=Date"
        if self.problem == "both_prices":
            return (
                "the mapping names both unit_price and amount; map one: unit_price (the price of one "
                "item) or amount (the line's total)"
            )
        return f"the mapping lacks required field(s) {joined(self.fields)}: a mapping needs {MAPPING_RULE}"


@dataclasses.dataclass(eq=False)
class ImportOptionInvalid(ImportRejected):
    """An import option out of its range: the delimiter or the largest share of rejected lines."""

    template = "{option} must be {rule}, got {value!r}"
    option: str
    rule: str
    value: object


@dataclasses.dataclass(eq=False)
class BatchNotRemovable(ImportRejected):
    """A batch that does not exist or is not imported (failed, removed) cannot be removed."""

    batch_id: int
    name: str | None = None
    status: str | None = None

    def __str__(self) -> str:
        if self.status is None:
            return f"batch {self.batch_id} does not exist"
        return f"batch {self.batch_id} ({self.name}) is {self.status}, not imported: nothing to remove"


def parse_mapping(spec: str) -> dict[str, str]:
    """Parse `target=source,...` into {target: source}; targets must be transaction fields."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        target, sep, source = part.partition("=")
        target, source = target.strip(), source.strip()
        if not sep or not target or not source:
            raise MappingInvalid("entry", part)
        if target not in TARGET_FIELDS:
            raise MappingInvalid("target", target, list(TARGET_FIELDS))
        mapping[target] = source
    if not mapping:
        raise MappingInvalid("empty")
    if "amount" in mapping and "unit_price" in mapping:
        raise MappingInvalid("both_prices")
    missing = [t for t in ("invoiced_at", "customer_id") if t not in mapping]
    if "amount" not in mapping:
        missing += [t for t in ("quantity", "unit_price") if t not in mapping]
    if missing:
        raise MappingInvalid("incomplete", fields=missing)
    return mapping


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s_]+", "", name).lower()


def resolve_layout(header: list[str], mapping: dict[str, str] | None) -> tuple[Layout, dict[str, int]]:
    """Pick the layout for a header and return it with each target field's column index."""
    positions = {_normalise_header(name): i for i, name in enumerate(header)}
    if mapping is not None:
        missing = [source for source in mapping.values() if _normalise_header(source) not in positions]
        if missing:
            raise MappingColumnsAbsent(missing, list(header))
        required = tuple(t for t in _VALUE_REQUIRED if t in mapping)
        layout = Layout("custom", mapping, required=required)
        return layout, {t: positions[_normalise_header(s)] for t, s in mapping.items()}

    def matches(layout: Layout) -> int:
        return sum(_normalise_header(col) in positions for col in layout.columns.values())

    best = max(KNOWN_LAYOUTS, key=matches)
    if matches(best) < 4:
        raise UnrecognisedHeader(list(header))
    missing = [best.columns[t] for t in best.required if _normalise_header(best.columns[t]) not in positions]
    if missing:
        raise RequiredColumnsAbsent(missing, best.name)
    indexes = {
        target: positions[_normalise_header(col)]
        for target, col in best.columns.items()
        if _normalise_header(col) in positions
    }
    return best, indexes


def content_sha256(path: Path) -> str:
    """sha256 of the file's decompressed bytes: the same data as .csv or .csv.gz is one import."""
    digest = hashlib.sha256()
    with _open_binary(path) as (stream, _raw):
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path) -> None:
    """Refuse, with a one-line reason, anything that is not a readable CSV text file."""
    if not path.exists():
        raise FileMissing(str(path), "file not found")
    if not path.is_file():
        raise FileMissing(str(path), "not a file")
    name = path.name.lower()
    if not (name.endswith(".csv") or name.endswith(".csv.gz")):
        raise FileProblem(path.name, "expected a .csv or .csv.gz file")
    with path.open("rb") as raw:
        magic = raw.read(4)
    if name.endswith(".gz") and magic[:2] != b"\x1f\x8b":
        raise FileProblem(path.name, "named .gz but is not gzip-compressed")
    try:
        with _open_binary(path) as (stream, _raw):
            head = stream.read(64 * 1024)
    except (OSError, EOFError) as exc:
        raise FileProblem(path.name, f"cannot be read: {exc}") from exc
    if not head.strip():
        raise FileProblem(path.name, "the file is empty")
    if head.startswith(b"PK\x03\x04"):
        raise FileProblem(path.name, "is a zip/Excel file, not CSV; export the sheet as CSV first")
    if b"\x00" in head:
        raise FileProblem(path.name, "is not a CSV text file (it contains binary data)")


def auto_invoice_id(customer: str, invoiced_at: str) -> str:
    """The invoice of a line from a file without invoice ids: one per customer and moment.

    A customer's lines at the same timestamp are one order, so frequency counts orders, and identical lines
    (same customer, time, product, quantity and price) are exact duplicates that count once, also across
    overlapping exports.
    """
    return "auto-" + hashlib.sha256(f"{customer}|{invoiced_at}".encode()).hexdigest()[:16]


@contextmanager
def _open_binary(path: Path) -> Iterator[tuple[gzip.GzipFile | io.BufferedReader, io.BufferedReader]]:
    """The decompressed byte stream and the raw file under it (whose position shows progress)."""
    with path.open("rb") as raw:
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) as unzipped:
                yield unzipped, raw
        else:
            raw.seek(0)
            yield raw, raw


class _LineParser:
    """Turns one CSV record into a COPY line or a reject reason; private, assumes a resolved layout."""

    def __init__(self, layout: Layout, indexes: dict[str, int], width: int, date_format: str | None):
        self.indexes = indexes
        self.width = width
        self.required = [t for t in layout.required if t in indexes and t != "customer_id"]
        self.date_format = date_format
        self._dates: dict[str, str | None] = {}
        self.slash_dates = SlashDateEvidence()

    def parse(self, record: list[str], line_number: int, batch_id: int) -> tuple[str | None, str, str]:
        """(copy_line, reason, detail): copy_line is None when the record is rejected."""
        if len(record) != self.width:
            return None, FIELD_COUNT, f"expected {self.width} fields, found {len(record)}"
        idx = self.indexes
        values = {t: record[i].strip() for t, i in idx.items()}
        for target in self.required:
            if not values[target]:
                return None, MISSING_FIELD, f"{target} is empty"

        quantity = values.get("quantity", "1")
        if not _NUMBER.match(quantity):
            return None, BAD_NUMBER, f"quantity {quantity!r}"
        if "unit_price" in values:
            unit_price = values["unit_price"]
            if not _NUMBER.match(unit_price):
                return None, BAD_NUMBER, f"unit_price {unit_price!r}"
        else:
            amount = values["amount"]
            if not _NUMBER.match(amount):
                return None, BAD_NUMBER, f"amount {amount!r}"
            try:
                unit_price = str(Decimal(amount) / Decimal(quantity))
            except (InvalidOperation, ZeroDivisionError):
                return None, UNDEFINED_PRICE, f"amount {amount!r} with quantity {quantity!r}"

        raw_date = values["invoiced_at"]
        invoiced_at = self._dates.get(raw_date, "")
        if invoiced_at == "":
            invoiced_at = self._parse_timestamp(raw_date)
            if len(self._dates) > 200_000:  # invoices repeat timestamps; keep the cache bounded
                self._dates.clear()
            self._dates[raw_date] = invoiced_at
        if invoiced_at is None:
            return None, BAD_DATE, f"invoiced_at {raw_date!r}"

        customer = values["customer_id"]
        float_id = _FLOAT_FORMATTED_ID.match(customer)
        if float_id:  # spreadsheet exports turn 13085 into 13085.0
            customer = float_id.group(1)
        invoice = values.get("invoice_id") or auto_invoice_id(customer, invoiced_at)

        fields = (
            invoice,
            values.get("stock_code") or None,
            values.get("description") or None,
            quantity,
            unit_price,
            invoiced_at,
            customer or None,
            values.get("country") or None,
        )
        line = "\t".join(map(copy_text_value, fields)) + f"\t{batch_id}\t{line_number}\n"
        return line, "", ""

    def _parse_timestamp(self, text: str) -> str | None:
        formats: tuple[str, ...] = (self.date_format,) if self.date_format else ()
        parsed: datetime | None = None
        if not formats:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                formats = FALLBACK_DATE_FORMATS
                self.slash_dates.note(text)
        for fmt in formats:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            return None
        # Naive timestamps are UTC by contract; aware ones are converted.
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        return parsed.isoformat()


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
    with _open_binary(path) as (stream, raw):
        total_bytes = path.stat().st_size
        text = io.TextIOWrapper(stream, encoding=reading.encoding, newline="")
        reader = csv.reader(text, delimiter=reading.delimiter)
        try:
            header = next(reader)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise FileProblem(path.name, f"cannot read the header: {exc}") from exc
        _check_delimiter(path, header, reading.delimiter)
        try:
            layout, indexes = resolve_layout(header, reading.mapping)
        except HeaderRejected as exc:
            exc.file = path.name
            raise
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
        parser = _LineParser(layout, indexes, len(header), reading.date_format)
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
            rejects.write(
                f"{failure.batch_id}\t{line_number}\t{reason}\t{copy_text_value(detail)}\t{copy_text_value(raw_line)}\n"
            )
        rejects.seek(0)
        copy_in(cur, "import_rejects", REJECT_COLUMNS, rejects)


def remove_batch(db: Database, batch_id: int) -> int:
    """Take an imported batch back in one transaction: its lines and rejects are deleted; lines deleted."""
    with db.transaction() as cur:
        rows = run_named(cur, "queries/ingest/batch_status", {"batch_id": batch_id})
        if not rows:
            raise BatchNotRemovable(batch_id)
        if rows[0][0] != "imported":
            raise BatchNotRemovable(batch_id, rows[0][1], rows[0][0])
        _marked, deleted = run_named(cur, "queries/ingest/remove_batch", {"batch_id": batch_id})[0]
        aggregates.fold_imported_lines(cur)
    log.info("removed batch %d: %d lines deleted", batch_id, deleted)
    return deleted


def list_batches(db: Database) -> list[dict[str, Any]]:
    """Every import, newest first: name, status, options, counts and times."""
    columns = (
        "batch_id",
        "kind",
        "name",
        "status",
        "layout",
        "options",
        "lines_read",
        "lines_loaded",
        "lines_rejected",
        "rejected_by_reason",
        "started_at",
        "finished_at",
        "removed_at",
        "error",
    )
    return [dict(zip(columns, row, strict=True)) for row in db.run("queries/ingest/list_batches")]


def _check_delimiter(path: Path, header: list[str], delimiter: str) -> None:
    if len(header) > 1:
        return
    for candidate in (";", "\t", "|", ","):
        if candidate != delimiter and candidate in header[0]:
            shown = "\\t" if candidate == "\t" else candidate
            raise OtherDelimiter(path.name, shown, delimiter)


def _stream_lines(
    cur: psycopg2.extensions.cursor,
    reader: _csv.Reader,
    parser: _LineParser,
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
                rejects.write(
                    f"{batch_id}\t{start_line}\t{reason}\t{copy_text_value(detail)}\t{copy_text_value(raw_line)}\n"
                )
            pending += 1
            if pending >= chunk_rows:
                _flush(cur, rows, rejects)
                rows, rejects, pending = io.StringIO(), io.StringIO(), 0
                report_progress()
    except UnicodeDecodeError as exc:
        raise NotInEncoding(path.name, encoding, _first_undecodable_line(path, encoding)) from exc
    except csv.Error as exc:
        raise MalformedCsv(path.name, line_number + 1, str(exc)) from exc
    _flush(cur, rows, rejects)
    report_progress()
    result.lines_read, result.lines_loaded = read, loaded


def _first_undecodable_line(path: Path, encoding: str) -> int:
    # The text layer decodes whole blocks, so the csv reader's position is not where the bad byte is.
    with _open_binary(path) as (stream, _raw):
        for number, raw_line in enumerate(stream, start=1):
            try:
                raw_line.decode(encoding)
            except UnicodeDecodeError:
                return number
    return 0


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


def has_generated_data(db: Database) -> bool:
    """Whether the transactions include generated (demo) lines."""
    return bool(db.run("queries/ingest/has_generated_data")[0][0])


def transactions_exist(db: Database) -> bool:
    """Whether segflow.transactions holds any line."""
    return bool(db.run("queries/ingest/transactions_exist")[0][0])
