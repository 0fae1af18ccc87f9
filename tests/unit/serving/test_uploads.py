"""Uploaded CSVs read within bounds and scored into a spooled file: exact rows, errors, refusals and their words."""

import io
import json

import pytest
from support.scorers import hand_built_scorer

from segflow.serving import uploads
from segflow.serving.uploads import (
    LineTooLong,
    ScoringTooSlow,
    TooManyColumns,
    UnreadableCsv,
    UploadLimits,
    csv_chunks,
    header_columns,
    score_upload,
)

HEADER = b"customer_id,recency_days,frequency,monetary\r\n"
# a: on S1's centroid; b: 50 from S2's; c: not a number; the fourth id would start a formula in a spreadsheet.
ROWS = b"a,0,1,0\r\nb,10,1,50\r\nc,x,1,1\r\n=cmd,0,1,0\r\n"
WIDE_OPEN = UploadLimits(max_columns=1_000, max_line_bytes=1 << 20)


def _score(body: bytes, limits: UploadLimits = WIDE_OPEN, form="csv", **options):
    return score_upload(hand_built_scorer(), io.BytesIO(body), "up.csv", limits, form, **options)


def test_an_upload_is_scored_into_csv_with_formulas_neutralised_and_bad_rows_counted():
    result = _score(HEADER + ROWS)
    assert (result.rows_read, result.rows_scored, result.row_errors) == (4, 3, 1)
    text = b"".join(result.blocks()).decode()
    lines = text.split("\r\n")
    assert lines[0] == (
        "customer_id,recency_days,frequency,monetary,segment_key,segment_name,action,distance,confidence,model_version"
    )
    assert lines[1:4] == [
        "a,0.0,1.0,0.0,S1,Loyal,Thank them,0.0,1.0,7",
        "b,10.0,1.0,50.0,S2,Big spenders,Upsell,50.0,0.019419,7",
        "'=cmd,0.0,1.0,0.0,S1,Loyal,Thank them,0.0,1.0,7",
    ]
    assert result.first_errors[0].row == 3 and result.first_rows["customer_id"].tolist() == ["a", "b", "=cmd"]


def test_the_json_form_lists_rows_and_errors():
    result = _score(HEADER + ROWS, form="json")
    size = result.size()  # what the API sends as Content-Length, read before the body streams
    raw = b"".join(result.blocks())
    assert len(raw) == size
    body = json.loads(raw)
    assert [r["customer_id"] for r in body["rows"]] == ["a", "b", "=cmd"]  # JSON is data, not a spreadsheet
    assert body["rows"][1]["confidence"] == 0.019419 and body["rows"][1]["model_version"] == 7
    assert body["errors"] == [{"row": 3, "column": "recency_days", "message": "recency_days: 'x' is not a number"}]


def test_chunks_hold_a_bounded_number_of_cells_whatever_the_width(monkeypatch):
    monkeypatch.setattr(uploads, "CELLS_PER_CHUNK", 8)  # 4 columns: 2 rows a chunk
    chunks = list(csv_chunks(io.BytesIO(HEADER + ROWS + b"e,1,1,1\r\n"), "up.csv", WIDE_OPEN))
    assert [len(c) for c in chunks] == [2, 2, 1]
    result = _score(HEADER + ROWS + b"e,1,1,1\r\n")
    assert (result.rows_read, result.rows_scored, result.row_errors) == (5, 4, 1)


def test_a_header_wider_than_the_limit_is_refused_before_any_row_is_read():
    limits = UploadLimits(max_columns=3, max_line_bytes=1 << 20)
    with pytest.raises(TooManyColumns) as refused:
        _score(HEADER + ROWS, limits)
    assert str(refused.value) == (
        "up.csv: the header has 4 columns, more than the limit of 3 (SEGFLOW_UPLOAD_MAX_COLUMNS)"
    )
    # 5.2 million empty names in the issue; 200,000 here: refused from the line, not parsed into a frame.
    with pytest.raises(TooManyColumns, match="the header has 200,000 columns"):
        header_columns(io.BytesIO(b"," * 199_999 + b"\n1\n"), "up.csv", WIDE_OPEN)


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (b"x" * 101 + b"\n" + ROWS, 1),  # the header itself
        (HEADER + b"a,0,1," + b"9" * 95 + b"\r\n", 2),  # a row just over
        (HEADER + ROWS + b"," * 300_000 + b"\n", 6),  # 300,000 commas, across many read blocks
        (HEADER + ROWS + b"d,0,1,0", 6),  # the last line, without an end (it is short: no refusal)
    ],
)
def test_a_line_longer_than_the_limit_is_refused_naming_its_number(body, line):
    limits = UploadLimits(max_columns=1_000, max_line_bytes=100)
    if not body.endswith(b"\n"):
        assert _score(body, limits).rows_read == 5
        return
    with pytest.raises(LineTooLong) as refused:
        _score(body, limits)
    assert str(refused.value) == (
        f"up.csv: line {line} is longer than the limit of 100 bytes (SEGFLOW_UPLOAD_MAX_LINE_BYTES)"
    )
    assert refused.value.line == line


def test_scoring_stops_when_the_deadline_passes_and_says_after_how_many_rows(monkeypatch):
    monkeypatch.setattr(uploads, "CELLS_PER_CHUNK", 8)  # 2 rows a chunk
    clock = [0.0]
    limits = UploadLimits(1_000, 1 << 20, deadline=10.0, seconds=10.0, clock=lambda: clock[0])

    def slow(chunk):  # each chunk takes 6 "seconds": the second one ends past the deadline
        clock[0] += 6
        return chunk

    with pytest.raises(ScoringTooSlow) as stopped:
        _score(HEADER + ROWS + b"e,1,1,1\r\n", limits, prepare=slow)
    assert str(stopped.value) == (
        "up.csv: scoring took longer than the limit of 10 s after 4 rows (SEGFLOW_API_REQUEST_TIMEOUT_SECONDS); "
        "send smaller files, or use `segflow score-file`"
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "up.csv: not a readable CSV file (no header line)"),
        (
            "customer_id\n".encode("utf-16"),
            "up.csv: not a readable CSV file (not utf-8-sig text: invalid start byte at byte 0)",
        ),
        (
            HEADER + b'a,"0,1,0\r\n',
            "up.csv: not a readable CSV file (Error tokenizing data. C error: EOF inside string starting at row 1)",
        ),
    ],
)
def test_what_is_not_csv_text_is_refused_in_one_sentence(body, problem):
    with pytest.raises(UnreadableCsv) as refused:
        _score(body)
    assert str(refused.value) == problem
