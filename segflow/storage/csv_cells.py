"""CSV files written for people: text that a spreadsheet would run as a formula goes out as plain text.

The OWASP rule for CSV injection: a text cell (or column name) starting with `=`, `+`, `-`, `@`, a tab or a carriage
return gets a single quote in front, so `=HYPERLINK(...)` opens as the text `'=HYPERLINK(...)`. A cell that is a plain
decimal number (`-12.5`, `+3`, `1e-4`) is left alone: a spreadsheet reads it as that number, and a negative amount
must stay a number. Lines end in CRLF (RFC 4180): the csv writer then quotes every cell holding a carriage return,
at which a reader would otherwise end the row, letting `=cmd` after a CR start a row (and a formula) of its own.

Every CSV segflow writes for people (score-file and its errors file, the API's /score/file, the app's downloads)
goes through `write_csv` or `csv_text`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A number as a spreadsheet reads one: sign, digits with an optional decimal point, optional exponent. Anything
# else that starts with a sign (`-1+1`, `-inf`, `+cmd`) is text and gets the quote.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_STARTS = frozenset(FORMULA_STARTS)


def neutralised_text(value: str) -> str:
    """`value` as a spreadsheet should show it: with a leading quote when it would start a formula."""
    return "'" + value if _is_formula(value) else value


def _is_formula(value: str) -> bool:
    return value[:1] in _STARTS and _PLAIN_NUMBER.fullmatch(value) is None


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every formula-starting text cell and column name quoted (the same frame when none is)."""
    changed: dict[str, pd.Series] = {}
    for name in frame.columns:
        column = frame[name]
        # Numeric columns hold numbers (a negative one is written as a number); only text can carry a formula.
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        # One pass of plain Python over the values (the regex only for the few that start with a trigger): half the
        # time of pandas' .str methods, about a fifth of to_csv's own time on 50,000 rows; a value that is not text
        # (None, a date or decimal from the database) simply does not match.
        values = column.to_numpy()
        formula = np.fromiter(
            (isinstance(v, str) and v[:1] in _STARTS and _PLAIN_NUMBER.fullmatch(v) is None for v in values),
            dtype=bool,
            count=len(values),
        )
        if formula.any():
            fixed = values.copy()
            fixed[formula] = ["'" + v for v in values[formula]]
            changed[name] = pd.Series(fixed, index=column.index, dtype=column.dtype)
    names = {name: neutralised_text(name) for name in frame.columns if isinstance(name, str)}
    if not changed and all(new == old for old, new in names.items()):
        return frame
    out = frame.assign(**changed) if changed else frame.copy()
    return out.rename(columns=names)


def write_csv(frame: pd.DataFrame, target: Path | IO[str], *, header: bool = True, append: bool = False) -> None:
    """Write `frame` as CSV (no index) to a path or an open text stream, formulas neutralised."""
    neutralised(frame).to_csv(target, index=False, header=header, mode="a" if append else "w", lineterminator="\r\n")


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as CSV text (no index), formulas neutralised."""
    buffer = io.StringIO()
    write_csv(frame, buffer)
    return buffer.getvalue()
