"""Customer attribute files (one row per customer) for clustering on more than RFM."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segflow.data.ingest.files import check_file, open_binary
from segflow.errors import FileProblem, ImportRejected, joined
from segflow.storage.db import Database, copy_named, copy_text_value, run_named

log = logging.getLogger(__name__)

ID_CANDIDATES = ("customer_id", "customerid", "client_id", "id")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def snake_case(name: str) -> str:
    """'Annual Income (k$)' -> 'annual_income_k'; 'spendingScore' -> 'spending_score'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


@dataclass
class AttributeLoad:
    customers: int
    columns: list[str]


def load_customer_attributes(
    db: Database, path: Path, id_column: str | None = None, delimiter: str = ","
) -> AttributeLoad:
    """Load a one-row-per-customer CSV; reloading replaces those customers' attributes."""
    path = Path(path)
    check_file(path)
    with open_binary(path) as (stream, _raw):
        reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""), delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise FileProblem(path.name, "the file is empty")
        names = [snake_case(h) for h in header]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ColumnsCollide(path.name, duplicated)
        id_index = _id_index(path, header, names, id_column)
        buffer = io.StringIO()
        seen: dict[str, int] = {}
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if len(record) != len(header):
                raise CustomerLineInvalid(path.name, reader.line_num, fields=len(record), header_fields=len(header))
            customer = record[id_index].strip()
            if not customer:
                raise CustomerLineInvalid(path.name, reader.line_num)
            if customer in seen:
                raise CustomerRepeated(path.name, customer, seen[customer], reader.line_num)
            seen[customer] = reader.line_num
            values = {
                n: _value(v) for i, (n, v) in enumerate(zip(names, record, strict=True)) if i != id_index and v.strip()
            }
            buffer.write(f"{copy_text_value(customer)}\t{copy_text_value(json.dumps(values))}\n")
    if not seen:
        raise FileProblem(path.name, "has a header but no data lines")
    buffer.seek(0)
    with db.transaction() as cur:
        run_named(cur, "queries/attributes/create_attribute_staging")
        copy_named(cur, "queries/attributes/copy_attribute_staging", buffer)
        run_named(cur, "queries/attributes/upsert_customer_attributes", {"source_name": path.name})
    columns = [n for i, n in enumerate(names) if i != id_index]
    log.info("loaded attributes %s for %d customers", columns, len(seen))
    return AttributeLoad(customers=len(seen), columns=columns)


@dataclasses.dataclass(eq=False)
class MissingIdColumn(ImportRejected):
    """A customer file has none of the usual id column names and none was named (`given` is None), or has no
    column of the name given."""

    file: str
    candidates: list[str]
    header: list[str]
    given: str | None = None

    def where(self) -> str:
        """The sentence without advice."""
        if self.given is not None:
            return f"{self.file}: no column {self.given!r} (columns: {joined(self.header)})"
        return f"{self.file}: no customer id column ({joined(self.candidates)})"

    def __str__(self) -> str:
        return self.where() if self.given is not None else f"{self.where()}; name the id column"


@dataclasses.dataclass(eq=False)
class ColumnsCollide(ImportRejected):
    """Header names that become the same attribute name in snake_case."""

    template = "{file}: columns collide after snake_case: {names_text}"
    file: str
    names: list[str]

    def facts(self) -> dict[str, Any]:
        return {**super().facts(), "names_text": joined(self.names)}


@dataclasses.dataclass(eq=False)
class CustomerLineInvalid(ImportRejected):
    """A customer file's line with a field count other than the header's (fields set), or without a customer id."""

    file: str
    line: int
    fields: int | None = None
    header_fields: int | None = None

    def __str__(self) -> str:
        if self.fields is not None:
            return f"{self.file}: line {self.line} has {self.fields} fields, the header {self.header_fields}"
        return f"{self.file}: line {self.line} has no customer id"


@dataclasses.dataclass(eq=False)
class CustomerRepeated(ImportRejected):
    """A customer id on two lines of one customer file."""

    template = "{file}: customer id {customer_id!r} appears on lines {first_line} and {line}"
    file: str
    customer_id: str
    first_line: int
    line: int


def _id_index(path: Path, header: list[str], names: list[str], id_column: str | None) -> int:
    if id_column is not None:
        for i, (raw, name) in enumerate(zip(header, names, strict=True)):
            if id_column in (raw, name) or snake_case(id_column) == name:
                return i
        raise MissingIdColumn(path.name, list(ID_CANDIDATES), list(header), id_column)
    for candidate in ID_CANDIDATES:
        if candidate in names:
            return names.index(candidate)
    raise MissingIdColumn(path.name, list(ID_CANDIDATES), list(header))


def _value(text: str) -> float | str:
    text = text.strip()
    return float(text) if _NUMBER.match(text) else text
