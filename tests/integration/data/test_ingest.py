"""Importing CSV files into a real PostgreSQL: counts, rejects, idempotence, refusals."""

import gzip

import pytest
from support.data import LINE, ONLINE_RETAIL_HEADER

from segflow.data.ingest.load import import_transactions
from segflow.data.ingest.parse import DatesReadBothWays
from segflow.errors import ImportRejected

GOOD = [
    ["489434", "85048", "GLASS BALL", "12", "2009-12-01 07:45:00", "6.95", "13085", "United Kingdom"],
    ["489434", "79323P", "PINK LIGHTS", "12", "2009-12-01 07:45:00", "6.75", "13085", "United Kingdom"],
    ["C489449", "22087", "PAPER BUNTING", "-12", "2009-12-01 10:33:00", "2.95", "16321", "Australia"],
    ["489436", "POST", "POSTAGE", "1", "2009-12-01 09:06:00", "0", "", "France"],
]


def count(fetch, db, table="transactions"):
    return fetch(db, f"select count(*) from segflow.{table}")[0][0]


def test_online_retail_ii_file_loads_every_line(db, fetch, write_csv):
    result = import_transactions(db, write_csv(GOOD))
    assert (result.layout, result.lines_read, result.lines_loaded, result.lines_rejected) == (
        "online_retail_ii",
        4,
        4,
        0,
    )
    rows = fetch(
        db,
        "select invoice_id, quantity::text, unit_price::text, invoiced_at, customer_id, line_number "
        "from segflow.transactions order by line_number",
    )
    assert rows[0][:3] == ("489434", "12", "6.95")
    assert rows[0][3].isoformat() == "2009-12-01T07:45:00+00:00"
    assert [r[4] for r in rows] == ["13085", "13085", "16321", None]
    assert [r[5] for r in rows] == [2, 3, 4, 5]


def test_online_retail_layout_with_us_dates_loads(db, fetch, write_csv):
    path = write_csv(
        [
            ["536365", "85123A", "HOLDER", "6", "12/1/2010 8:26", "2.55", "17850.0", "United Kingdom"],
            ["536366", "85123A", "HOLDER", "6", "12/13/2010 9:00", "2.55", "17850.0", "United Kingdom"],
        ],
        header=ONLINE_RETAIL_HEADER,
    )
    result = import_transactions(db, path)
    assert result.layout == "online_retail"
    assert fetch(
        db,
        "select customer_id, to_char(invoiced_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') from segflow.transactions "
        "order by line_number",
    ) == [("17850", "2010-12-01 08:26"), ("17850", "2010-12-13 09:00")]


def test_gzip_file_loads_like_plain(db, fetch, write_csv):
    result = import_transactions(db, write_csv(GOOD, gz=True))
    assert result.lines_loaded == 4
    assert count(fetch, db) == 4


def test_each_reject_reason_is_counted_and_kept_with_line_number(db, fetch, write_csv):
    rows = [
        GOOD[0],
        ["489434", "1", "D", "twelve", "2009-12-01 07:45:00", "1", "1", "UK"],  # line 3: bad number
        ["489434", "1", "D", "1", "2009-13-45 07:45:00", "1", "1", "UK"],  # line 4: bad date
        ["489434", "1", "D", "1", "", "1", "1", "UK"],  # line 5: missing date
        ["489434", "1", "D", "1", "2009-12-01 07:45:00", "1", "1"],  # line 6: 7 fields
        ["489434", "1", "D", "1", "2009-12-01 07:45:00", "abc", "1", "UK"],  # line 7: bad price
        GOOD[1],
    ]
    result = import_transactions(db, write_csv(rows), max_reject_share=1.0)  # 5 of 7 rejected, on purpose
    assert (result.lines_read, result.lines_loaded) == (7, 2)
    assert dict(result.rejected) == {
        "unparseable_number": 2,
        "unparseable_date": 1,
        "missing_required_field": 1,
        "wrong_field_count": 1,
    }
    kept = fetch(db, "select line_number, reason, detail, raw_line from segflow.import_rejects order by line_number")
    assert [(r[0], r[1]) for r in kept] == [
        (3, "unparseable_number"),
        (4, "unparseable_date"),
        (5, "missing_required_field"),
        (6, "wrong_field_count"),
        (7, "unparseable_number"),
    ]
    assert kept[0][2] == "quantity 'twelve'"
    assert kept[0][3] == "489434,1,D,twelve,2009-12-01 07:45:00,1,1,UK"
    batch = fetch(db, "select lines_read, lines_loaded, lines_rejected, rejected_by_reason from segflow.import_batches")
    assert batch == [
        (7, 2, 5, {"missing_required_field": 1, "unparseable_date": 1, "unparseable_number": 2, "wrong_field_count": 1})
    ]


def test_importing_the_same_file_twice_adds_nothing(db, fetch, write_csv):
    path = write_csv(GOOD)
    first = import_transactions(db, path)
    second = import_transactions(db, path)
    assert second.already_imported and second.batch_id == first.batch_id and second.lines_loaded == 0
    assert count(fetch, db) == 4
    assert count(fetch, db, "import_batches") == 1


def test_same_content_gzipped_counts_as_the_same_file(db, fetch, write_csv):
    import_transactions(db, write_csv(GOOD, name="a.csv"))
    assert import_transactions(db, write_csv(GOOD, name="b.csv", gz=True)).already_imported
    assert count(fetch, db) == 4


def test_missing_columns_are_named_and_nothing_is_loaded(db, fetch, write_csv):
    header = ["Invoice", "StockCode", "Description", "Quantity", "Price", "Country"]
    path = write_csv([["1", "S", "D", "1", "1", "UK"]], header=header)
    with pytest.raises(ImportRejected, match=r"missing required column\(s\): InvoiceDate, Customer ID"):
        import_transactions(db, path)
    assert count(fetch, db) == 0 and count(fetch, db, "import_batches") == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d, w: d / "absent.csv", "file not found"),
        (lambda d, w: _write(d / "sheet.xlsx", b"PK\x03\x04rest"), "expected a .csv or .csv.gz file"),
        (lambda d, w: _write(d / "sheet.csv", b"PK\x03\x04\x14\x00\x06\x00"), "zip/Excel file, not CSV"),
        (lambda d, w: _write(d / "blob.csv", b"\x00\x01\x02binary"), "not a CSV text file"),
        (lambda d, w: _write(d / "fake.csv.gz", b"Invoice,Price\n"), "not gzip-compressed"),
        (lambda d, w: _write(d / "empty.csv", b""), "the file is empty"),
        (lambda d, w: w([], name="header_only.csv"), "has a header but no data lines"),
        (lambda d, w: w(GOOD, name="semi.csv", delimiter=";"), "seems to use ';' as delimiter"),
    ],
    ids=[
        "missing",
        "not-csv-extension",
        "excel-renamed",
        "binary",
        "fake-gz",
        "empty",
        "header-only",
        "wrong-delimiter",
    ],
)
def test_bad_files_are_refused_with_a_reason_and_load_nothing(db, fetch, tmp_path, write_csv, make, message):
    with pytest.raises(ImportRejected, match=message):
        import_transactions(db, make(tmp_path, write_csv))
    assert count(fetch, db) == 0 and count(fetch, db, "import_batches") == 0


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_explicit_delimiter_reads_semicolon_files(db, write_csv):
    result = import_transactions(db, write_csv(GOOD, name="semi.csv", delimiter=";"), delimiter=";")
    assert result.lines_loaded == 4


def test_failure_after_several_chunks_loads_nothing(db, fetch, tmp_path):
    # 2,500 good lines (two full COPY chunks of 1,000) and then bytes that are not UTF-8.
    lines = [LINE.format(i=i) for i in range(2_500)]
    body = (
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n" + "".join(lines)
    ).encode() + b"X1,S,caf\xe9,1,2010-01-01 00:00:00,1,1,UK\n"
    path = tmp_path / "latin.csv.gz"
    path.write_bytes(gzip.compress(body))
    with pytest.raises(ImportRejected, match="not valid utf-8-sig text at line 2502; read it with its own encoding"):
        import_transactions(db, path, chunk_rows=1_000)
    assert count(fetch, db) == 0 and count(fetch, db, "import_batches") == 0
    result = import_transactions(db, path, encoding="latin-1", chunk_rows=1_000)
    assert result.lines_loaded == 2_501
    assert fetch(db, "select description from segflow.transactions where invoice_id = 'X1'") == [("café",)]


def test_custom_export_with_map_amount_and_no_invoice(db, fetch, write_csv):
    path = write_csv(
        [["2024-03-01 10:00", "c1", "4", "10.00"], ["2024-03-02 11:00", "c2", "1", "3.5"]],
        header=["Date", "Client", "Qty", "Total"],
        name="export.csv",
    )
    mapping = {"invoiced_at": "Date", "customer_id": "Client", "quantity": "Qty", "amount": "Total"}
    result = import_transactions(db, path, mapping=mapping)
    assert result.layout == "custom" and result.lines_loaded == 2
    rows = fetch(
        db,
        "select invoice_id, quantity::text, unit_price::float, customer_id "
        "from segflow.transactions order by line_number",
    )
    assert [r[1:] for r in rows] == [("4", 2.5, "c1"), ("1", 3.5, "c2")]
    assert rows[0][0] != rows[1][0] and rows[0][0].startswith("auto-") and rows[1][0].startswith("auto-")


def _uk_lines(dates):
    return [["536365", "85123A", "HOLDER", "6", when, "2.55", "17850", "United Kingdom"] for when in dates]


def test_dates_that_read_both_ways_are_refused_and_load_nothing(db, fetch, write_csv):
    # The first lines of a UK export: 1 December 2010 written day-first; every day and month is 12 or less.
    path = write_csv(
        _uk_lines(["01/12/2010 08:26", "01/12/2010 09:02", "02/12/2010 10:00"]), header=ONLINE_RETAIL_HEADER
    )
    with pytest.raises(DatesReadBothWays) as refused:
        import_transactions(db, path)
    assert str(refused.value) == (
        f"{path.name}: the dates read both ways: no date in it has a day above 12, so '01/12/2010 08:26' could be "
        "1 December or 12 January; nothing was loaded: name the date format"
    )
    assert refused.value.formats == {"day-first": "%d/%m/%Y %H:%M", "month-first": "%m/%d/%Y %H:%M"}
    assert count(fetch, db) == 0 and count(fetch, db, "import_batches") == 0
    # Named, the format reads them as the file meant them.
    import_transactions(db, path, date_format="%d/%m/%Y %H:%M")
    assert fetch(db, "select min(invoiced_at)::date::text, max(invoiced_at)::date::text from segflow.transactions") == [
        ("2010-12-01", "2010-12-02")
    ]


def test_a_day_first_file_is_refused_naming_the_date_that_proves_it(db, fetch, write_csv):
    path = write_csv(_uk_lines(["01/12/2010 08:26", "13/12/2010 09:02"]), header=ONLINE_RETAIL_HEADER)
    with pytest.raises(DatesReadBothWays) as refused:
        import_transactions(db, path)
    assert "its dates are day-first ('13/12/2010 09:02' has a day above 12)" in str(refused.value)
    assert count(fetch, db) == 0


def test_month_first_dates_with_evidence_load_month_first_ambiguous_ones_included(db, fetch, write_csv):
    # 12/13/2010 only reads month-first: the file is month-first, so 12/1/2010 is 1 December.
    path = write_csv(_uk_lines(["12/1/2010 8:26", "12/13/2010 9:02", "1/1/2011 10:00"]), header=ONLINE_RETAIL_HEADER)
    assert import_transactions(db, path).lines_loaded == 3
    assert fetch(db, "select invoiced_at::date::text from segflow.transactions order by line_number") == [
        ("2010-12-01",),
        ("2010-12-13",),
        ("2011-01-01",),
    ]
