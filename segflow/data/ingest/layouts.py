"""Which column of a file feeds which transaction field: the known layouts (Online Retail I and II), --map
mappings, and sniffing a header (its layout, its delimiter)."""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from segflow.errors import FileProblem, ImportRejected, joined

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


def check_delimiter(path: Path, header: list[str], delimiter: str) -> None:
    """Refuse a header read as one column that holds another delimiter (a ';' export read with ',')."""
    if len(header) > 1:
        return
    for candidate in (";", "\t", "|", ","):
        if candidate != delimiter and candidate in header[0]:
            shown = "\\t" if candidate == "\t" else candidate
            raise OtherDelimiter(path.name, shown, delimiter)


def read_header(
    reader: Iterator[list[str]], path: Path, delimiter: str, mapping: dict[str, str] | None
) -> tuple[list[str], Layout, dict[str, int]]:
    """The file's header, its layout and each target field's column (as `segflow load` and score-file read a
    transactions file): a header that cannot be read, a wrong delimiter or a header no layout fits is refused,
    naming the file."""
    try:
        header = next(reader)
    except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
        raise FileProblem(path.name, f"cannot read the header: {exc}") from exc
    check_delimiter(path, header, delimiter)
    try:
        layout, indexes = resolve_layout(header, mapping)
    except HeaderRejected as exc:
        exc.file = path.name
        raise
    return header, layout, indexes
