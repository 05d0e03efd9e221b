"""A file with nothing but finite numbers in its value cells is read a column at a time; every
file reads exactly as the row loop reads it: the same series, report and first error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridpilot.recorded.csvfile as csvfile
from gridpilot.errors import DataError
from gridpilot.recorded.csvfile import ColumnSpec, CsvMapping, parse_rows

_FIELDS = ("load_w", "pv_w")
_COLUMNS = {f: ColumnSpec(f, "W") for f in _FIELDS}

_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["1_000", " 7 ", "+3.", ".5e1", "-0", "1E3", "\u0661\u0662"]),
)
_odd = st.sampled_from(["", " ", "NaN", "n/a", "-", "?", "inf", "1e400", "x", "-999", '"5"'])


def _read(text: str, mapping: CsvMapping, *, whole: bool) -> object:
    """What parse_rows gives (or the message it raises), with the column path on or off."""
    saved = csvfile._clean_rows
    if not whole:
        csvfile._clean_rows = lambda *a, **k: None
    try:
        series = parse_rows(text, mapping, source="f.csv")
    except DataError as exc:
        return str(exc)
    finally:
        csvfile._clean_rows = saved
    return (series.start_s.tolist(), series.interval_s, series.rows.tolist() if series.rows
            is not None else None, {f: series.columns[f].tobytes() for f in series.columns},
            series.report)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.one_of(_numbers, _numbers, _numbers, _odd), min_size=1, max_size=3),
             min_size=1, max_size=10),
    st.sampled_from([(), ("-999",), ("x", "n/a")]),
    st.booleans(),
)
def test_whole_columns_read_as_the_row_loop_reads(
    rows: list[list[str]], extra_missing: tuple[str, ...], blank_line: bool
) -> None:
    missing = (*CsvMapping(columns=_COLUMNS).missing, *extra_missing)
    mapping = CsvMapping(columns=_COLUMNS, interval_s=1800, missing=missing)
    lines = ["timestamp,load_w,pv_w"] + [
        f"2024-01-01T{i // 2:02d}:{30 * (i % 2):02d}:00Z," + ",".join(row)
        for i, row in enumerate(rows)
    ]
    if blank_line:
        lines.insert(2, "")
    text = "\n".join(lines) + "\n"
    assert _read(text, mapping, whole=True) == _read(text, mapping, whole=False)


def test_a_clean_file_takes_the_column_path() -> None:
    text = "timestamp,load_w,pv_w\n2024-01-01T00:00:00Z,1.5,2\n2024-01-01T00:30:00Z,3,0\n"
    mapping = CsvMapping(columns=_COLUMNS, interval_s=1800)
    assert csvfile._clean_rows(text, ",", [0], {"load_w": 1, "pv_w": 2}, 3, set()) is not None
    series = parse_rows(text, mapping, source="f.csv")
    np.testing.assert_array_equal(series.columns["load_w"], [1.5, 3.0])


@pytest.mark.parametrize("cell", ["", "nan", "inf", "1e400", "x"])
def test_a_gap_or_a_bad_cell_leaves_the_file_to_the_row_loop(cell: str) -> None:
    text = f"timestamp,load_w,pv_w\n2024-01-01T00:00:00Z,1,{cell}\n"
    where = {"load_w": 1, "pv_w": 2}
    assert csvfile._clean_rows(text, ",", [0], where, 3, {"", "nan"}) is None


def test_a_gap_mark_that_reads_as_a_number_leaves_the_file_to_the_row_loop() -> None:
    text = "timestamp,load_w,pv_w\n2024-01-01T00:00:00Z,1,2\n"
    where = {"load_w": 1, "pv_w": 2}
    assert csvfile._clean_rows(text, ",", [0], where, 3, {"", "-999"}) is None
    assert csvfile._clean_rows(text, ",", [0], where, 3, {""}) is not None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="a1,;\n \t\"\r\x00.", max_size=60), st.sampled_from([",", ";"]))
def test_split_rows_are_the_csv_modules_rows(text: str, delimiter: str) -> None:
    import csv
    import io

    rows = csvfile._split_rows(text, delimiter)
    if rows is not None:
        assert rows == list(csv.reader(io.StringIO(text), delimiter=delimiter))[1:]


_STAMP_EDITS = st.sampled_from([
    None, "2018-01-01T00:00:00+00:00", "2018-02-30T00:00:00Z", "NaTZ", "2018-01-01 00:00:00Z",
    "2018-01-01T00:00:00.5Z", "2018-01-01T01:00Z", "\u0662018-01-01T00:00:00Z",
    "2017-12-31T23:30:00Z", "9999-12-31T23:59:59Z",
])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 4_000_000_000), st.sampled_from([1, 300, 1800, 3600, 86_400]),
       st.integers(2, 12), st.integers(0, 11), _STAMP_EDITS)
def test_regular_utc_times_are_what_fromisoformat_reads(
    start_s: int, step_s: int, n: int, where: int, edit: str | None
) -> None:
    from datetime import UTC, datetime

    stamps = [datetime.fromtimestamp(start_s + i * step_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
              for i in range(n)]
    if edit is not None:
        stamps[where % n] = edit
    computed = csvfile._regular_utc(stamps)
    if edit is None:
        assert computed is not None
    if computed is not None:
        read = [int(datetime.fromisoformat(s).astimezone(UTC).timestamp()) for s in stamps]
        assert computed.tolist() == read
