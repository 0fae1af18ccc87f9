"""Customer attribute files (one row per customer) for clustering on more than RFM."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from segflow.db import Database, copy_named, copy_text_value, run_named
from segflow.errors import ImportRejected
from segflow.ingest import _open_binary, check_file

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
    with _open_binary(path) as (stream, _raw):
        reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""), delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise ImportRejected(f"{path.name}: the file is empty")
        names = [snake_case(h) for h in header]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ImportRejected(f"{path.name}: columns collide after snake_case: {', '.join(duplicated)}")
        id_index = _id_index(path, header, names, id_column)
        buffer = io.StringIO()
        seen: dict[str, int] = {}
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if len(record) != len(header):
                raise ImportRejected(
                    f"{path.name}: line {reader.line_num} has {len(record)} fields, the header {len(header)}"
                )
            customer = record[id_index].strip()
            if not customer:
                raise ImportRejected(f"{path.name}: line {reader.line_num} has no customer id")
            if customer in seen:
                raise ImportRejected(
                    f"{path.name}: customer id {customer!r} appears on lines {seen[customer]} and {reader.line_num}"
                )
            seen[customer] = reader.line_num
            values = {
                n: _value(v) for i, (n, v) in enumerate(zip(names, record, strict=True)) if i != id_index and v.strip()
            }
            buffer.write(f"{copy_text_value(customer)}\t{copy_text_value(json.dumps(values))}\n")
    if not seen:
        raise ImportRejected(f"{path.name}: has a header but no data lines")
    buffer.seek(0)
    with db.transaction() as cur:
        run_named(cur, "queries/attributes/create_attribute_staging")
        copy_named(cur, "queries/attributes/copy_attribute_staging", buffer)
        run_named(cur, "queries/attributes/upsert_customer_attributes", {"source_name": path.name})
    columns = [n for i, n in enumerate(names) if i != id_index]
    log.info("loaded attributes %s for %d customers", columns, len(seen))
    return AttributeLoad(customers=len(seen), columns=columns)


class MissingIdColumn(ImportRejected):
    """A customer file has none of the usual id column names and none was named."""


def _id_index(path: Path, header: list[str], names: list[str], id_column: str | None) -> int:
    if id_column is not None:
        for i, (raw, name) in enumerate(zip(header, names, strict=True)):
            if id_column in (raw, name) or snake_case(id_column) == name:
                return i
        raise ImportRejected(f"{path.name}: no column {id_column!r} (columns: {', '.join(header)})")
    for candidate in ID_CANDIDATES:
        if candidate in names:
            return names.index(candidate)
    raise MissingIdColumn(f"{path.name}: no customer id column ({', '.join(ID_CANDIDATES)}); name the id column")


def _value(text: str) -> float | str:
    text = text.strip()
    return float(text) if _NUMBER.match(text) else text
