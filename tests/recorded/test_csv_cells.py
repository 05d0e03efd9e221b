"""Every cell of a CSV column is read the one way: a finite number as float() reads it, a
missing mark as a gap (NaN), anything else as an error naming its row and column, the first bad
cell in file order."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.errors import DataError
from gridpilot.recorded.csvfile import ColumnSpec, CsvMapping, parse_number, parse_rows

_FIELDS = ("load_w", "pv_w")
_MAPPING = CsvMapping(columns={f: ColumnSpec(f, "W") for f in _FIELDS}, interval_s=1800)
_MISSING = {m.lower() for m in _MAPPING.missing}

_cells = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["", " ", "NaN", "n/a", "-", "?", "None", "inf", "-Infinity", "1e400",
                     "x", "1;5", "1_000", " 7 ", "0x10", "+3.", ".5e1"]),
)


def _expected(rows: list[list[str]]) -> dict[str, list[float]] | str:
    """The columns as the rule above reads them, or the message of the first bad cell."""
    out: dict[str, list[float]] = {f: [] for f in _FIELDS}
    for rowno, row in enumerate(rows, start=2):
        for f, cell in zip(_FIELDS, row, strict=True):
            text = cell.strip()
            if text.lower() in _MISSING:
                out[f].append(math.nan)
                continue
            try:
                out[f].append(parse_number(text, rowno, f, "f.csv"))
            except DataError as exc:
                return str(exc)
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_cells, min_size=2, max_size=2), min_size=2, max_size=12))
def test_cells_read_as_numbers_gaps_or_the_first_bad_one(rows: list[list[str]]) -> None:
    lines = ["timestamp,load_w,pv_w"] + [
        f"2024-01-01T{i // 2:02d}:{30 * (i % 2):02d}:00Z,{a},{b}" for i, (a, b) in enumerate(rows)
    ]
    expected = _expected(rows)
    if isinstance(expected, str):
        with pytest.raises(DataError) as caught:
            parse_rows("\n".join(lines) + "\n", _MAPPING, source="f.csv")
        assert str(caught.value) == expected
        return
    series = parse_rows("\n".join(lines) + "\n", _MAPPING, source="f.csv")
    for f in _FIELDS:
        np.testing.assert_array_equal(series.columns[f], np.asarray(expected[f]))


def test_blank_rows_are_skipped_and_row_numbers_still_count_them() -> None:
    text = ("timestamp,load_w,pv_w\n2024-01-01T00:00:00Z,1,2\n , ,\n\n"
            "2024-01-01T00:30:00Z,3,oops\n")
    with pytest.raises(DataError, match=r"f\.csv: row 5, column 'pv_w': 'oops' is not a number"):
        parse_rows(text, _MAPPING, source="f.csv")
