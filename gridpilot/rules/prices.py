"""Read a published price series from a file: CSV (``timestamp,price``) or Octopus Agile JSON.

A series is a list of slots, each ``[start, end)`` in UNIX seconds with one price per kWh. Slots of
5, 15, 30 or 60 minutes are accepted; where consecutive slots leave a hole, the tariff's fixed
schedule applies there. Negative prices are valid.

Timestamps must carry their UTC offset (``2018-01-01T00:00:00Z`` or ``+01:00``): a local time
without one is ambiguous in the repeated hour of an autumn clock change.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from gridpilot.arrays import BoolArray, FloatArray, IntArray
from gridpilot.inputs import note_input
from gridpilot.jsontext import loads
from gridpilot.rules.schema import DynamicPrices

__all__ = ["RESOLUTIONS_S", "PriceFileError", "PriceSeries", "load_price_file"]

RESOLUTIONS_S = (300, 900, 1800, 3600)
MAX_PRICE_FILE_BYTES = 50 * 1024 * 1024  # a year of 5-minute prices is ~3 MB
Row = tuple[int, int | None, float, str]
"""start [UNIX s], end (None: one resolution later), price per kWh, where (for messages)."""


class PriceFileError(ValueError):
    """A price file cannot be used. The message names the file and, where it can, the row."""


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """Slots ``[start_s[i], end_s[i])`` [UNIX s], ascending and not overlapping."""

    start_s: IntArray
    end_s: IntArray
    price_per_kwh: FloatArray
    resolution_s: int
    source: str = ""

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    @property
    def first_s(self) -> int:
        return int(self.start_s[0])

    @property
    def last_end_s(self) -> int:
        return int(self.end_s[-1])

    def lookup(self, t_s: IntArray) -> tuple[FloatArray, BoolArray]:
        """Price at each instant and whether a slot covers it (False in gaps and outside)."""
        idx = np.searchsorted(self.start_s, t_s, side="right") - 1
        safe = np.clip(idx, 0, None)
        found = (idx >= 0) & (t_s < self.end_s[safe])
        return self.price_per_kwh[safe], found

    def price_at_s(self, t_s: int) -> float | None:
        idx = int(np.searchsorted(self.start_s, t_s, side="right")) - 1
        if idx < 0 or t_s >= int(self.end_s[idx]):
            return None
        return float(self.price_per_kwh[idx])


def _parse_instant(text: str, where: str) -> int:
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PriceFileError(
            f"{where}: {text.strip()[:40]!r} is not an ISO 8601 timestamp "
            "(e.g. 2018-01-01T00:00:00Z)"
        ) from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise PriceFileError(
            f"{where}: timestamp {text.strip()[:40]!r} has no UTC offset; write it as UTC "
            "(…Z) or with its offset (…+01:00)"
        )
    return int(t.timestamp())


def _parse_price(value: Any, where: str, scale: float) -> float:
    if isinstance(value, bool):
        raise PriceFileError(f"{where}: price must be a number, not {value!r}")
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise PriceFileError(f"{where}: price {str(value)[:40]!r} is not a number") from None
    if not math.isfinite(price) or abs(price) > 1e6:
        raise PriceFileError(f"{where}: price {str(value)[:40]!r} is not a finite number")
    return price * scale


def _read_text(path: Path, shown: str) -> str:
    note_input(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_PRICE_FILE_BYTES + 1)
    except FileNotFoundError:
        raise PriceFileError(f"{shown}: price file not found") from None
    except IsADirectoryError:
        raise PriceFileError(f"{shown}: is a directory, not a price file") from None
    except OSError as exc:
        raise PriceFileError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_PRICE_FILE_BYTES:
        raise PriceFileError(f"{shown}: larger than {MAX_PRICE_FILE_BYTES // 2**20} MiB")
    if b"\x00" in raw:
        raise PriceFileError(f"{shown}: a binary file, not a price file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PriceFileError(f"{shown}: not UTF-8 text (byte {exc.start})") from None


def _read_csv(text: str, spec: DynamicPrices, shown: str) -> list[Row]:
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise PriceFileError(f"{shown}: the file is empty")
    names = [h.strip() for h in header]
    missing = [c for c in (spec.timestamp_column, spec.column) if c not in names]
    if missing:
        raise PriceFileError(
            f"{shown}: row 1: no column {missing[0]!r}; the columns are {', '.join(names)}"
        )
    ti, pi = names.index(spec.timestamp_column), names.index(spec.column)
    scale = 0.01 if spec.unit == "per_100_kwh" else 1.0
    rows: list[Row] = []
    for n, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        where = f"{shown}: row {n}"
        if len(row) <= max(ti, pi):
            raise PriceFileError(f"{where}: has {len(row)} columns, expected {len(names)}")
        rows.append((_parse_instant(row[ti], where), None, _parse_price(row[pi], where, scale),
                     where))
    return rows


def _read_octopus(text: str, shown: str) -> list[Row]:
    try:
        doc = loads(text)
    except json.JSONDecodeError as exc:
        raise PriceFileError(
            f"{shown}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise PriceFileError(f"{shown}: not valid JSON: nesting is too deep") from None
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list):
        raise PriceFileError(
            f"{shown}: expected the Octopus shape {{\"results\": [...]}} at the top level"
        )
    rows: list[Row] = []
    for i, item in enumerate(results):
        where = f"{shown}: results[{i}]"
        if not isinstance(item, dict):
            raise PriceFileError(f"{where}: expected an object with valid_from, valid_to, "
                                 "value_inc_vat")
        for key in ("valid_from", "valid_to", "value_inc_vat"):
            if key not in item:
                raise PriceFileError(f"{where}: missing {key!r}")
        if not isinstance(item["valid_from"], str) or not isinstance(item["valid_to"], str):
            raise PriceFileError(f"{where}: valid_from and valid_to must be timestamps")
        start = _parse_instant(item["valid_from"], f"{where}.valid_from")
        end = _parse_instant(item["valid_to"], f"{where}.valid_to")
        # value_inc_vat is in pence per kWh.
        rows.append((start, end, _parse_price(item["value_inc_vat"], where, 0.01), where))
    return rows


_PARSED: dict[tuple[object, ...], PriceSeries] = {}
_PARSED_SIZE = 8
"""Price files parsed in this process, by path, modification time, size and how they are
read: a sweep or fleet compiles one policy thousands of times, and parsing a year of prices
costs far more than the rest of a compilation. A changed file is read again."""


def load_price_file(spec: DynamicPrices, base_dir: Path) -> PriceSeries:
    """Load the file ``spec`` names (relative to ``base_dir``). Raises :class:`PriceFileError`."""
    path = Path(spec.file)
    if not path.is_absolute():
        path = base_dir / path
    shown = spec.file
    try:
        st = path.stat()
        key: tuple[object, ...] | None = (str(path.resolve()), st.st_mtime_ns, st.st_size,
                                          spec.format, spec.column, spec.timestamp_column,
                                          spec.unit, shown)
    except OSError:
        key = None  # _read_text says why, below
    if key is not None and key in _PARSED:
        note_input(path)
        return _PARSED[key]
    series = _parse_price_file(spec, path, shown, None if key is None else key[:3])
    if key is not None:
        if len(_PARSED) >= _PARSED_SIZE:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = series
    return series


_TABLE: dict[tuple[object, ...], tuple[list[str] | None, list[list[str]]]] = {}
"""The last CSV price file read, by path, modification time and size, as its header and rows of
cells: a tariff's import and export sides often read two columns of one file."""


def _parse_price_file(
    spec: DynamicPrices, path: Path, shown: str, file_key: tuple[object, ...] | None = None
) -> PriceSeries:
    if spec.format == "csv":
        table = _TABLE.get(file_key) if file_key is not None else None
        if table is None:
            table = _csv_table(_read_text(path, shown))
            if file_key is not None and table is not None:
                _TABLE.clear()
                _TABLE[file_key] = table
        else:
            note_input(path)
        clean = _clean_csv(table, spec, shown) if table is not None else None
        if clean is not None:
            return clean
    text = _read_text(path, shown)
    rows = _read_csv(text, spec, shown) if spec.format == "csv" else _read_octopus(text, shown)
    if not rows:
        raise PriceFileError(f"{shown}: holds no prices")
    rows.sort(key=lambda r: r[0])
    starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    prices = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    if any(r[1] is not None for r in rows):
        ends = np.fromiter(
            (r[1] if r[1] is not None else 0 for r in rows), dtype=np.int64, count=len(rows)
        )
        lengths = ends - starts
        resolution = _resolution(lengths, rows, shown, explicit=True)
    else:
        if len(rows) < 2:
            raise PriceFileError(f"{shown}: needs at least two rows to tell the slot length")
        diffs = np.diff(starts)
        resolution = _resolution(diffs, rows, shown, explicit=False)
        ends = starts + resolution
    _check_order(starts, ends, rows)
    for array in (starts, ends, prices):
        array.flags.writeable = False  # shared by every policy that reads the file
    return PriceSeries(starts, ends, prices, resolution, shown)


def _csv_table(text: str) -> tuple[list[str] | None, list[list[str]]] | None:
    """The header and the rows of cells of a CSV price file; ``None`` when the csv module stops
    part way (the row loop reports any earlier row's problem first)."""
    reader = csv.reader(text.splitlines())
    try:
        return next(reader, None), list(reader)
    except csv.Error:
        return None


def _clean_csv(
    table: tuple[list[str] | None, list[list[str]]], spec: DynamicPrices, shown: str
) -> PriceSeries | None:
    """The series of a CSV price file with nothing to report, read a column at a time: every row
    wide enough, every price a finite number within bounds, every time with its offset, the
    times ascending in whole slots of one length. ``None`` for any other file, which the row
    loop reads and words the problem of; what both read is the same, value for value (numpy
    reads a ``str`` as ``float()`` does, and the times are parsed alike)."""
    header, body = table
    if header is None or len(body) < 2:
        return None
    names = [h.strip() for h in header]
    if spec.timestamp_column not in names or spec.column not in names:
        return None
    ti, pi = names.index(spec.timestamp_column), names.index(spec.column)
    if min(map(len, body)) <= max(ti, pi):
        return None
    try:
        raw = np.array([row[pi] for row in body], dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if not (np.isfinite(raw).all() and (np.abs(raw) <= 1e6).all()):
        return None
    fromisoformat = datetime.fromisoformat
    try:
        times = [fromisoformat(row[ti].strip()) for row in body]
    except ValueError:
        return None
    if any(t.utcoffset() is None for t in times):
        return None
    starts = np.array([int(t.timestamp()) for t in times], dtype=np.int64)
    diffs = np.diff(starts)
    if not (diffs > 0).all():
        return None  # unsorted or a repeated time: the row loop sorts, or says which row
    values, counts = np.unique(diffs, return_counts=True)
    resolution = int(values[int(np.argmax(counts))])
    if resolution not in RESOLUTIONS_S or (diffs % resolution != 0).any():
        return None
    prices = raw * (0.01 if spec.unit == "per_100_kwh" else 1.0)
    ends = starts + resolution
    for array in (starts, ends, prices):
        array.flags.writeable = False  # shared by every policy that reads the file
    return PriceSeries(starts, ends, prices, resolution, shown)


def _resolution(lengths: IntArray, rows: list[Row], shown: str,
                *, explicit: bool) -> int:
    positive = lengths[lengths > 0]
    if positive.shape[0] == 0:
        i = int(np.argmin(lengths))
        raise PriceFileError(f"{rows[i][3]}: two prices for the same time")
    values, counts = np.unique(positive, return_counts=True)
    # The commonest spacing is the slot length; larger spacings between rows are gaps.
    res = int(values[int(np.argmax(counts))])
    if res not in RESOLUTIONS_S:
        raise PriceFileError(
            f"{shown}: slots are {res} s long; use 5, 15, 30 or 60-minute prices"
        )
    bad = np.nonzero(lengths != res)[0] if explicit else np.nonzero(lengths % res != 0)[0]
    if bad.shape[0]:
        i = int(bad[0]) + (0 if explicit else 1)
        raise PriceFileError(
            f"{rows[i][3]}: does not fit the series' {res // 60}-minute slots "
            f"(a {int(lengths[bad[0]])} s step)"
        )
    return res


def _check_order(starts: IntArray, ends: IntArray,
                 rows: list[Row]) -> None:
    overlap = np.nonzero(starts[1:] < ends[:-1])[0]
    if overlap.shape[0]:
        i = int(overlap[0]) + 1
        raise PriceFileError(f"{rows[i][3]}: overlaps the slot before it (a duplicate time?)")
