"""Parsing a file's lines into transaction rows: numbers, dates (ISO 8601, a given format, or slash dates whose
order the file must prove), customer and invoice ids, and the reason a line is rejected."""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from segflow.data.ingest.layouts import Layout
from segflow.errors import ImportRejected
from segflow.storage.db import copy_text_value

# Reasons a single line is rejected (the rest of the file still loads).
MISSING_FIELD = "missing_required_field"
BAD_NUMBER = "unparseable_number"
BAD_DATE = "unparseable_date"
FIELD_COUNT = "wrong_field_count"
UNDEFINED_PRICE = "amount_with_zero_quantity"


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


def auto_invoice_id(customer: str, invoiced_at: str) -> str:
    """The invoice of a line from a file without invoice ids: one per customer and moment.

    A customer's lines at the same timestamp are one order, so frequency counts orders, and identical lines
    (same customer, time, product, quantity and price) are exact duplicates that count once, also across
    overlapping exports.
    """
    return "auto-" + hashlib.sha256(f"{customer}|{invoiced_at}".encode()).hexdigest()[:16]


class LineParser:
    """Turns one CSV record into a COPY line or a reject reason; assumes a layout resolve_layout picked."""

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
