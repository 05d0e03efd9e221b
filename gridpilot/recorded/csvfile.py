"""A CSV file with a column mapping: the loader every format built on CSV goes through.

The mapping names the timestamp column(s) and format, the timezone of naive timestamps, and for
each simulator field the source column and its unit. Fields and their units:

- power fields ``load_w``, ``pv_w``, ``grid_w`` (+ import), ``battery_w`` (+ discharge),
  ``export_w`` (grid export as a positive number): ``W``, ``kW``, ``MW`` (average power over the
  interval) or ``Wh``, ``kWh``, ``MWh`` (energy in the interval);
- price fields ``import_price``, ``export_price``: ``per_kwh``, ``per_mwh`` or ``per_100_kwh``
  (pence or cents per kWh), always converted to currency per kWh;
- ``soc_pct``: ``pct`` or ``fraction``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.errors import DataError
from gridpilot.recorded.base import (
    LoadReport,
    TimeSeries,
    local_wallclock_to_utc,
    power_from_unit,
    read_text,
    regularise,
)
from gridpilot.timeutil import MS_THRESHOLD

__all__ = [
    "EXTRA_POWER_PREFIX",
    "ColumnSpec",
    "CsvMapping",
    "load_csv",
    "parse_number",
    "parse_rows",
]

POWER_FIELDS = ("load_w", "pv_w", "grid_w", "battery_w", "export_w")
PRICE_FIELDS = ("import_price", "export_price")
_PRICE_UNITS = {"per_kwh": 1.0, "per_mwh": 0.001, "per_100_kwh": 0.01}
_SOC_UNITS = {"pct": 1.0, "fraction": 100.0}
EXTRA_POWER_PREFIX = "_w:"
"""Fields named ``_w:<anything>`` are extra power columns a format combines itself (e.g. the
xStorage PV meters summed into ``pv_w``); they are read and converted like ``pv_w``."""
_MISSING = ("", "?", "na", "n/a", "nan", "null", "none", "-")
_UTC_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


@dataclass(frozen=True)
class ColumnSpec:
    """Where a field comes from: the source column's header text and its unit."""

    column: str
    unit: str


@dataclass(frozen=True)
class CsvMapping:
    """How to read a CSV file. See the module docstring for fields and units."""

    columns: Mapping[str, ColumnSpec]
    timestamp_columns: Sequence[str] = ("timestamp",)
    """One column, or several joined with a space (e.g. ``("Date", "Time")``)."""
    timestamp_format: str = "iso"
    """``iso``, ``epoch_s``, ``epoch_ms``, ``epoch`` (seconds or milliseconds by digit count) or a
    ``strptime`` pattern."""
    timezone: str = "UTC"
    """How naive timestamps are read (wall-clock time in this IANA zone)."""
    timestamp_marks: str = "start"
    """``start`` or ``end``: whether a timestamp marks the start or the end of its interval."""
    delimiter: str = ","
    interval_s: int | None = None
    """The interval length; default: the most common spacing between rows."""
    missing: tuple[str, ...] = field(default=_MISSING)


def load_csv(path: str | Path, mapping: CsvMapping, *, source: str | None = None) -> TimeSeries:
    """Read ``path`` with ``mapping`` into a regular :class:`TimeSeries`.

    Raises :class:`DataError` naming the file, row (1-based, the header is row 1) and column for
    anything it cannot read.
    """
    text = read_text(path)
    return parse_rows(text, mapping, source=source or str(path))


def parse_rows(text: str, mapping: CsvMapping, *, source: str) -> TimeSeries:
    report = LoadReport(source=source)
    reader = csv.reader(io.StringIO(text), delimiter=mapping.delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DataError(f"{source}: the file is empty") from None
    where_cols = {name: i for i, name in enumerate(header)}

    def col_index(name: str) -> int:
        if name not in where_cols:
            raise DataError(
                f"{source}: row 1: no column {name!r} in the header "
                f"({', '.join(repr(h) for h in header)}); fix the column mapping"
            )
        return where_cols[name]

    ts_idx = [col_index(c) for c in mapping.timestamp_columns]
    field_idx = {f: col_index(spec.column) for f, spec in mapping.columns.items()}
    for f, spec in mapping.columns.items():
        _check_unit(f, spec.unit, source)
    try:
        tz = ZoneInfo(mapping.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DataError(f"{source}: unknown timezone {mapping.timezone!r}") from None

    empty_cells: dict[str, list[tuple[int, int, str]]] = {f: [] for f in mapping.columns}
    missing = {m.lower() for m in mapping.missing}
    width = max([*ts_idx, *field_idx.values()]) + 1
    clean = _clean_rows(text, mapping.delimiter, ts_idx, field_idx, width, missing)
    if clean is not None:
        stamps, values, rows = clean
    else:
        stamps, raw, rownos = _read_rows(reader, ts_idx, field_idx, width, missing,
                                         mapping, source, empty_cells)
        values = {f: np.asarray(v, dtype=np.float64) for f, v in raw.items()}
        rows = np.asarray(rownos, dtype=np.int64)
    report.rows = len(stamps)
    times_s = _parse_times(stamps, mapping, tz, source, report)
    report.columns.update({f: spec.column for f, spec in mapping.columns.items()})
    series = regularise(times_s, values, report, interval_s=mapping.interval_s, rows=rows)
    if mapping.timestamp_marks == "end":
        times_s = times_s - series.interval_s
        series.start_s = series.start_s - series.interval_s
        report.repairs.append("timestamps mark interval ends: shifted to interval starts")
    _note_empty_cells(empty_cells, times_s, mapping, report)
    for f, spec in mapping.columns.items():
        report.units[f] = spec.unit
        series.columns[f] = _convert(f, series.columns[f], spec.unit, series.interval_s, source)
    if "export_w" in series.columns and "grid_w" not in series.columns:
        series.columns["grid_w"] = -series.columns.pop("export_w")
        report.columns["grid_w"] = report.columns.pop("export_w")
        report.repairs.append("grid export column read as negative grid power")
    return series


def _clean_rows(
    text: str,
    delimiter: str,
    ts_idx: Sequence[int],
    field_idx: Mapping[str, int],
    width: int,
    missing: set[str],
) -> tuple[list[str], dict[str, FloatArray], IntArray] | None:
    """The stamps, columns and row numbers of a file whose every row is wide enough and every
    value cell a finite number, each column converted at once; ``None`` for any other file,
    which :func:`_read_rows` reads (and words the error of) row by row.

    The columns are exactly what the row loop reads: numpy converts a ``str`` as ``float()``
    does, and a file with no blank row, no gap and no bad cell leaves nothing else to decide.
    """
    if not field_idx or any(_is_finite_number(m) for m in missing):
        return None  # a gap mark that reads as a number: only the row loop tells them apart
    rows = _split_rows(text, delimiter)
    if rows is None:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        try:
            next(reader)
            rows = list(reader)
        except csv.Error:
            return None  # the row loop reports whatever comes before the broken row first
    if not rows or min(map(len, rows)) < width:
        return None
    raw: dict[str, FloatArray] = {}
    for f, i in field_idx.items():
        try:
            values = np.array([row[i] for row in rows], dtype=np.float64)
        except (ValueError, TypeError):
            return None
        if not np.isfinite(values).all():
            return None
        raw[f] = values
    if len(ts_idx) == 1:
        t = ts_idx[0]
        stamps = [row[t].strip() for row in rows]
    else:
        stamps = [" ".join(row[i].strip() for i in ts_idx) for row in rows]
    return stamps, raw, np.arange(2, len(rows) + 2, dtype=np.int64)


def _split_rows(text: str, delimiter: str) -> list[list[str]] | None:
    """The rows after the header as the csv module reads them, split at ``delimiter``, for a
    file with no quote, carriage return or NUL and no overlong line, where splitting is all the
    csv module does; ``None`` for any other file."""
    if '"' in text or "\r" in text or "\0" in text or len(delimiter) != 1:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last row
    if max(map(len, lines), default=0) > csv.field_size_limit():
        return None
    return [line.split(delimiter) if line else [] for line in lines[1:]]


def _is_finite_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def _read_rows(
    reader: Iterator[list[str]],
    ts_idx: Sequence[int],
    field_idx: Mapping[str, int],
    width: int,
    missing: set[str],
    mapping: CsvMapping,
    source: str,
    empty_cells: dict[str, list[tuple[int, int, str]]],
) -> tuple[list[str], dict[str, list[float]], list[int]]:
    """The stamps, columns and row numbers of the rows after the header, one at a time: blank
    rows skipped, gaps noted in ``empty_cells``, the first short row or bad cell an error."""
    stamps: list[str] = []
    rownos: list[int] = []
    raw: dict[str, list[float]] = {f: [] for f in mapping.columns}
    # One tuple per field, so the loop below (a year of 5-minute rows runs it 105,120 times)
    # looks nothing up by name; parse_number is only called to word the error of a bad cell.
    cells_of = [(raw[f], empty_cells[f], i, mapping.columns[f].column)
                for f, i in field_idx.items()]
    ts_only = ts_idx[0] if len(ts_idx) == 1 else None
    isfinite = math.isfinite
    for rowno, row in enumerate(reader, start=2):
        if not any(map(str.strip, row)):  # an empty row, or one of blank cells
            continue
        if len(row) < width:
            raise DataError(
                f"{source}: row {rowno}: {len(row)} columns, expected at least {width}"
            )
        stamps.append(row[ts_only].strip() if ts_only is not None
                      else " ".join(row[i].strip() for i in ts_idx))
        rownos.append(rowno)
        for read, empties, i, column in cells_of:
            cell = row[i].strip()
            if cell.lower() in missing:
                empties.append((len(stamps) - 1, rowno, cell))
                read.append(np.nan)
                continue
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            read.append(value if isfinite(value) else parse_number(cell, rowno, column, source))
    return stamps, raw, rownos


def parse_number(cell: str, rowno: int, column: str, source: str) -> float:
    """A finite number from a cell, or :class:`DataError` naming its row and column."""
    try:
        value = float(cell)
    except ValueError:
        raise DataError(
            f"{source}: row {rowno}, column {column!r}: {cell!r} is not a number"
        ) from None
    if not math.isfinite(value):
        # float() reads "inf", "1e400" and "nan" without complaint; none is a reading.
        raise DataError(
            f"{source}: row {rowno}, column {column!r}: {cell!r} is not a finite number; "
            "fix the value, or leave the cell empty to treat it as a gap (see --fill)"
        )
    return value


def _note_empty_cells(
    empty_cells: Mapping[str, list[tuple[int, int, str]]],
    times_s: IntArray,
    mapping: CsvMapping,
    report: LoadReport,
) -> None:
    """Remember where the file left values empty, so a gap error can name the row."""
    total = 0
    first: str | None = None
    for f, cells in empty_cells.items():
        if not cells:
            continue
        column = mapping.columns[f].column
        notes = report.missing_cells.setdefault(f, {})
        for pos, rowno, cell in cells:
            note = f"row {rowno}, column {column!r} ({cell!r})"
            notes.setdefault(int(times_s[pos]), note)
            first = first or note
        total += len(cells)
    if first is not None:
        report.repairs.append(
            f"{total} empty or 'nan' cell(s) read as missing values, the first at {first}; "
            "the gap policy (--fill) decides what happens to them"
        )


def _check_unit(name: str, unit: str, source: str) -> None:
    u = unit.strip().lower()
    if name in POWER_FIELDS or name.startswith(EXTRA_POWER_PREFIX):
        ok = u in {"w", "kw", "mw", "wh", "kwh", "mwh"}
    elif name in PRICE_FIELDS:
        ok = u in _PRICE_UNITS
    elif name == "soc_pct":
        ok = u in _SOC_UNITS
    else:
        raise DataError(
            f"{source}: unknown field {name!r} in the column mapping; use one of "
            f"{', '.join([*POWER_FIELDS, *PRICE_FIELDS, 'soc_pct'])}"
        )
    if not ok:
        raise DataError(f"{source}: field {name!r}: unit {unit!r} does not fit this field")


def _convert(name: str, values: FloatArray, unit: str, interval_s: int, source: str) -> FloatArray:
    u = unit.strip().lower()
    if name in POWER_FIELDS or name.startswith(EXTRA_POWER_PREFIX):
        return power_from_unit(values, unit, interval_s, f"{source}: field {name!r}")
    if name in PRICE_FIELDS:
        return values * _PRICE_UNITS[u]
    return values * _SOC_UNITS[u]


def _parse_times(
    stamps: list[str], mapping: CsvMapping, tz: ZoneInfo, source: str, report: LoadReport
) -> IntArray:
    fmt = mapping.timestamp_format
    col = "+".join(mapping.timestamp_columns)
    if fmt in ("epoch_s", "epoch_ms", "epoch"):
        out = np.empty(len(stamps), dtype=np.int64)
        for i, s in enumerate(stamps):
            try:
                v = float(s)
            except ValueError:
                raise DataError(
                    f"{source}: row {i + 2}, column {col!r}: {s!r} is not an epoch timestamp"
                ) from None
            millis = fmt == "epoch_ms" or (fmt == "epoch" and abs(v) >= MS_THRESHOLD)
            out[i] = round(v / 1000.0) if millis else round(v)
        return out
    if fmt == "iso":
        regular = _regular_utc(stamps)
        if regular is not None:
            return regular
    aware: list[int | None] = []
    naive: list[datetime] = []
    naive_pos: list[int] = []
    for i, s in enumerate(stamps):
        try:
            t = (
                datetime.fromisoformat(s.replace(" ", "T", 1) if "T" not in s else s)
                if fmt == "iso"
                else datetime.strptime(s, fmt)
            )
        except ValueError:
            expected = "an ISO 8601 time" if fmt == "iso" else f"the format {fmt!r}"
            raise DataError(
                f"{source}: row {i + 2}, column {col!r}: {s!r} does not match {expected}"
            ) from None
        if t.tzinfo is None:
            aware.append(None)
            naive.append(t)
            naive_pos.append(i)
        else:
            aware.append(int(t.astimezone(UTC).timestamp()))
    out = np.empty(len(stamps), dtype=np.int64)
    for i, stamp in enumerate(aware):
        if stamp is not None:
            out[i] = stamp
    if naive:
        local = local_wallclock_to_utc(naive, tz, source, report)
        out[np.asarray(naive_pos, dtype=np.int64)] = local
        if tz.key != "UTC":
            report.repairs.append(f"naive timestamps read as {tz.key} wall-clock time")
    return out


def _regular_utc(stamps: list[str]) -> IntArray | None:
    """The times of stamps written ``YYYY-MM-DDTHH:MM:SSZ`` at one spacing, computed from the
    first two and checked against every stamp's text (a stamp in this form names one instant, the
    one ``datetime.fromisoformat`` reads); ``None`` for any other list."""
    if len(stamps) < 2 or not all(_UTC_STAMP.fullmatch(s) for s in stamps[:2]):
        return None
    try:
        first = np.datetime64(stamps[0][:-1], "s")
        step = np.datetime64(stamps[1][:-1], "s") - first
    except ValueError:
        return None  # an impossible date: the row loop words it
    if not step > np.timedelta64(0, "s"):
        return None
    times = first + step * np.arange(len(stamps))
    written = [f"{text}Z" for text in np.datetime_as_string(times, unit="s").tolist()]
    if written != stamps:
        return None
    return times.astype(np.int64)
