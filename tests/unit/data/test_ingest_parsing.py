"""Header detection, --map parsing and line parsing, without a database."""

import pytest

from segflow.data.ingest.layouts import UnrecognisedHeader, parse_mapping, resolve_layout
from segflow.data.ingest.parse import (
    BAD_DATE,
    BAD_NUMBER,
    FIELD_COUNT,
    MISSING_FIELD,
    UNDEFINED_PRICE,
    LineParser,
)
from segflow.errors import ImportRejected

II_HEADER = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
I_HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]


def test_online_retail_ii_header_is_detected():
    layout, indexes = resolve_layout(II_HEADER, None)
    assert layout.name == "online_retail_ii"
    assert indexes["unit_price"] == 5 and indexes["customer_id"] == 6


def test_online_retail_header_is_detected():
    layout, indexes = resolve_layout(I_HEADER, None)
    assert layout.name == "online_retail"
    assert indexes["invoice_id"] == 0 and indexes["unit_price"] == 5


def test_header_detection_ignores_case_spaces_and_column_order():
    header = ["country", "customer_id", "price", "invoicedate", "quantity", "description", "stockcode", "invoice"]
    layout, indexes = resolve_layout(header, None)
    assert layout.name == "online_retail_ii"
    assert indexes["customer_id"] == 1 and indexes["invoice_id"] == 7


def test_missing_required_columns_are_all_named():
    header = [h for h in II_HEADER if h not in ("Customer ID", "InvoiceDate")]
    with pytest.raises(ImportRejected, match=r"missing required column\(s\): InvoiceDate, Customer ID"):
        resolve_layout(header, None)


def test_unknown_header_asks_for_map():
    with pytest.raises(UnrecognisedHeader, match=r"or a mapping target=source"):
        resolve_layout(["a", "b", "c"], None)


def test_map_with_amount_needs_no_unit_price_or_invoice():
    mapping = parse_mapping("invoiced_at=Date, customer_id=Client, amount=Total")
    assert mapping == {"invoiced_at": "Date", "customer_id": "Client", "amount": "Total"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("when=Date", "'when' is not a transaction field"),
        ("invoiced_at", "not of the form target=source"),
        ("invoiced_at=Date,customer_id=C", "lacks required field\\(s\\) quantity, unit_price"),
        ("customer_id=C,amount=A", "lacks required field\\(s\\) invoiced_at"),
    ],
)
def test_bad_map_is_refused_naming_the_problem(spec, message):
    with pytest.raises(ImportRejected, match=message):
        parse_mapping(spec)


def test_map_naming_absent_columns_is_refused():
    mapping = parse_mapping("invoiced_at=Date,customer_id=Client,amount=Total")
    with pytest.raises(ImportRejected, match="does not have: Client"):
        resolve_layout(["Date", "Total"], mapping)


def _parser(header=II_HEADER, mapping=None):
    layout, indexes = resolve_layout(header, mapping)
    return LineParser(layout, indexes, len(header), None)


def _fields(copy_line: str) -> list[str]:
    return copy_line.rstrip("\n").split("\t")


def test_naive_timestamp_is_read_as_utc():
    line, _, _ = _parser().parse(["1", "S", "D", "2", "2010-12-01 08:26:00", "2.55", "17850", "UK"], 2, 7)
    assert _fields(line) == ["1", "S", "D", "2", "2.55", "2010-12-01T08:26:00+00:00", "17850", "UK", "7", "2"]


def test_timestamp_with_offset_is_converted_to_utc():
    line, _, _ = _parser().parse(["1", "S", "D", "2", "2010-06-01T10:00:00+02:00", "1", "5", "UK"], 2, 1)
    assert _fields(line)[5] == "2010-06-01T08:00:00+00:00"


def test_us_month_first_dates_of_the_original_uci_export_parse():
    line, _, _ = _parser(I_HEADER).parse(["536365", "S", "D", "6", "12/1/2010 8:26", "2.55", "17850", "UK"], 2, 1)
    assert _fields(line)[5] == "2010-12-01T08:26:00+00:00"


def test_float_formatted_customer_id_and_blank_customer():
    parser = _parser()
    line, _, _ = parser.parse(["1", "S", "D", "1", "2010-12-01 08:26:00", "1", "13085.0", "UK"], 2, 1)
    assert _fields(line)[6] == "13085"
    line, _, _ = parser.parse(["1", "S", "D", "1", "2010-12-01 08:26:00", "1", "", "UK"], 3, 1)
    assert _fields(line)[6] == "\\N"


def test_tabs_and_backslashes_in_text_are_escaped_for_copy():
    line, _, _ = _parser().parse(["1", "S", "A\tB\\C", "1", "2010-12-01 08:26:00", "1", "5", "UK"], 2, 1)
    assert _fields(line)[2] == "A\\tB\\\\C"


@pytest.mark.parametrize(
    ("record", "reason", "detail"),
    [
        (["1", "S", "D", "x2", "2010-12-01 08:26:00", "1", "5", "UK"], BAD_NUMBER, "quantity 'x2'"),
        (["1", "S", "D", "2", "2010-12-01 08:26:00", "1,5", "5", "UK"], BAD_NUMBER, "unit_price '1,5'"),
        (["1", "S", "D", "2", "yesterday", "1", "5", "UK"], BAD_DATE, "invoiced_at 'yesterday'"),
        (["1", "S", "D", "2", "", "1", "5", "UK"], MISSING_FIELD, "invoiced_at is empty"),
        (["", "S", "D", "2", "2010-12-01 08:26:00", "1", "5", "UK"], MISSING_FIELD, "invoice_id is empty"),
        (["1", "S", "D", "2", "2010-12-01 08:26:00", "1", "5"], FIELD_COUNT, "expected 8 fields, found 7"),
    ],
)
def test_each_reject_reason_names_the_bad_value(record, reason, detail):
    assert _parser().parse(record, 5, 1) == (None, reason, detail)


def test_amount_becomes_unit_price_and_a_customers_lines_at_one_moment_are_one_invoice():
    header = ["Date", "Client", "Qty", "Total"]
    parser = _parser(header, parse_mapping("invoiced_at=Date,customer_id=Client,quantity=Qty,amount=Total"))
    line, _, _ = parser.parse(["2024-03-01", "c1", "4", "10.00"], 9, 3)
    fields = _fields(line)
    # sha256("c1|2024-03-01T00:00:00+00:00")[:16], computed by hand with hashlib
    assert fields[0] == "auto-31f4365b219a25c7"
    assert (fields[3], fields[4]) == ("4", "2.50")
    same_order = _fields(parser.parse(["2024-03-01", "c1", "1", "3.00"], 10, 3)[0])
    later = _fields(parser.parse(["2024-03-02", "c1", "1", "3.00"], 11, 3)[0])
    other_customer = _fields(parser.parse(["2024-03-01", "c2", "1", "3.00"], 12, 3)[0])
    assert same_order[0] == fields[0] and later[0] != fields[0] and other_customer[0] != fields[0]
    assert parser.parse(["2024-03-01", "c1", "0", "10.00"], 10, 3) == (
        None,
        UNDEFINED_PRICE,
        "amount '10.00' with quantity '0'",
    )
