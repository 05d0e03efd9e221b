"""The common shape of recorded data and the helpers every loader shares.

A :class:`TimeSeries` holds interval data on a regular UTC grid: ``start_s`` are the interval
starts [UNIX s], every interval lasts ``interval_s``. Power columns are **average watts over the
interval** (names end in ``_w``), prices are per kWh (``*_price``), SOC is in percent. Missing
intervals are ``NaN``. Every loader also returns a :class:`LoadReport` that says what it found and
what it changed, so nothing is repaired silently.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.errors import DataError
from gridpilot.inputs import note_input
from gridpilot.jsontext import loads
from gridpilot.timeutil import MS_THRESHOLD, epoch_seconds

__all__ = [
    "LoadReport",
    "TimeSeries",
    "epoch_s",
    "iso_utc",
    "local_wallclock_to_utc",
    "normalise_name",
    "power_from_unit",
    "read_json",
    "read_text",
    "record_fields",
    "record_number",
    "regularise",
]


def read_json(path: str | Path) -> Any:
    """The JSON document in ``path``; a malformed one (a repeated key in an object included) is
    a :class:`DataError` naming the line and column."""
    try:
        return loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: line {exc.lineno}, column {exc.colno}: bad JSON: {exc.msg}"
        ) from None


def epoch_s(value: object, where: str, expected: str) -> int:
    """UNIX seconds of an epoch timestamp from a JSON record.

    Seconds or milliseconds, told apart by :func:`gridpilot.timeutil.epoch_seconds`. ``where``
    and ``expected`` name the record, field and unit in the error for anything that is not a
    finite number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"{where}: expected {expected}")
    seconds = epoch_seconds(value)
    return round(seconds) if abs(value) >= MS_THRESHOLD else int(seconds)


# Factors from a column's unit to average watts, for units that are powers.
_POWER_UNITS = {"w": 1.0, "kw": 1000.0, "mw": 1e6}
# Units that are energies per interval: converted to average watts with the interval length.
_ENERGY_UNITS = {"wh": 1.0, "kwh": 1000.0, "mwh": 1e6}


@dataclass
class LoadReport:
    """What a loader found and did."""

    source: str
    rows: int = 0
    units: dict[str, str] = field(default_factory=dict)
    """Column -> unit as read from the file (before conversion to W / per kWh)."""
    duplicates: int = 0
    """Rows dropped because their timestamp was already seen (the first one is kept)."""
    gaps: list[tuple[str, str]] = field(default_factory=list)
    """Missing spans as (first missing interval start, last missing interval start), ISO UTC."""
    missing_values: int = 0
    """Interval values that are ``NaN`` after loading (missing rows or unreadable cells)."""
    repairs: list[str] = field(default_factory=list)
    """Human notes on anything changed: clock-change handling, unit conversions, fills."""
    missing_cells: dict[str, dict[int, str]] = field(default_factory=dict)
    """Field -> {interval start [UNIX s] -> where the file left it empty, e.g. ``row 7, column
    'House' ('nan')``}, so a gap error can name the row instead of only the time."""
    warnings: list[str] = field(default_factory=list)
    """Values that look wrong (a likely unit mistake, a negative load) and other things a
    user must hear about; see :mod:`gridpilot.recorded.plausibility`."""
    columns: dict[str, str] = field(default_factory=dict)
    """Field -> the column (or record key) of the file it was read from, for messages."""
    row_label: str = "row"
    """What :attr:`TimeSeries.rows` counts: ``row`` (CSV, the header is row 1) or ``record``
    (JSON, from 0)."""

    def with_repair(self, note: str) -> LoadReport:
        """This report with one more repair note, for data derived from the series it describes
        (filled, resampled): the series it came from keeps its own report, which other
        derivations (a fleet's sites, a sweep's variants) read too. Its lists are its own, so
        a warning noted on the derived data later stays there too."""
        return replace(self, repairs=[*self.repairs, note], warnings=list(self.warnings))

    def cell_note(self, name: str, start_s: int) -> str | None:
        """Where the value of ``name`` at ``start_s`` was left missing in the file, if known."""
        return self.missing_cells.get(name, {}).get(start_s)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "rows": self.rows,
            "units": dict(self.units),
            "duplicates": self.duplicates,
            "gaps": [list(g) for g in self.gaps],
            "missing_values": self.missing_values,
            "repairs": list(self.repairs),
            "missing_cells": sum(len(v) for v in self.missing_cells.values()),
            "warnings": list(self.warnings),
        }


@dataclass
class TimeSeries:
    """Regular interval data; see the module docstring for units."""

    start_s: IntArray
    interval_s: int
    columns: dict[str, FloatArray]
    report: LoadReport
    rows: IntArray | None = None
    """Where each interval came from in the file (a row or record number, see
    :attr:`LoadReport.row_label`; ``-1`` where no row gave it), so a message can name the row.
    ``None`` once resampling has mixed rows."""

    def __post_init__(self) -> None:
        n = self.start_s.shape[0]
        for name, values in self.columns.items():
            if values.shape != (n,):
                raise ValueError(f"column {name!r} has {values.shape[0]} values, expected {n}")
        if self.rows is not None and self.rows.shape != (n,):
            raise ValueError(f"rows has {self.rows.shape[0]} values, expected {n}")

    def row_of(self, i: int) -> str:
        """``row 7`` (or ``record 3``): where interval ``i`` was read, as far as known."""
        if self.rows is None or self.rows[i] < 0:
            return f"interval {iso_utc(int(self.start_s[i]))}"
        return f"{self.report.row_label} {int(self.rows[i])}"

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    @property
    def end_s(self) -> int:
        """End of the last interval [UNIX s]."""
        return int(self.start_s[-1]) + self.interval_s if len(self) else 0

    def column(self, name: str) -> FloatArray:
        try:
            return self.columns[name]
        except KeyError:
            raise DataError(
                f"{self.report.source}: the data has no {name!r} column "
                f"(it has: {', '.join(sorted(self.columns)) or 'none'})"
            ) from None

    def complete_columns(self, *names: str, fix: str) -> tuple[FloatArray, ...]:
        """The columns ``names``; a DataError saying how to ``fix`` it when one has gaps (every
        column is looked up first, so a missing one is reported before a gap)."""
        cols = tuple(self.column(name) for name in names)
        for name, col in zip(names, cols, strict=True):
            if np.isnan(col).any():
                raise DataError(f"{self.report.source}: column {name!r} has gaps; {fix}")
        return cols

    def slice_time(self, start_s: int | None, end_s: int | None) -> TimeSeries:
        """The intervals that start in ``[start_s, end_s)``."""
        lo = 0 if start_s is None else int(np.searchsorted(self.start_s, start_s, side="left"))
        hi = len(self) if end_s is None else int(np.searchsorted(self.start_s, end_s, side="left"))
        return TimeSeries(
            self.start_s[lo:hi].copy(),
            self.interval_s,
            {k: v[lo:hi].copy() for k, v in self.columns.items()},
            self.report,
            None if self.rows is None else self.rows[lo:hi].copy(),
        )


_NAME_NOISE = re.compile(r"[\s_\-]+")
_UNIT_SUFFIX = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]\s*$")


def normalise_name(name: str) -> str:
    """A header or key reduced for matching: case, spaces, underscores and hyphens ignored, and
    a trailing unit in brackets (``"PV (W)"``) dropped. ``TOTAL_HOUSE_CONSUMPTION``,
    ``Total House Consumption`` and ``totalHouseConsumption`` all give the same text."""
    return _NAME_NOISE.sub("", _UNIT_SUFFIX.sub("", name.strip())).lower()


def record_fields(raw: object, keys: Mapping[str, str], where: str) -> dict[str, tuple[str, Any]]:
    """A JSON record's fields by canonical key (``keys``: normalised name -> key), each with the
    key as the file spells it, for messages; ``where`` names the record."""
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected an object, got {type(raw).__name__}")
    return {keys.get(normalise_name(str(k)), k): (k, v) for k, v in raw.items()}


def record_number(where: str, given: str, value: object, fix: str = "") -> float | None:
    """A record's numeric field (``None`` when absent or null: a gap); ``fix`` says what to do
    about a value that is not finite."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{where}, field {given!r}: {value!r} is not a number")
    if not math.isfinite(value):
        advice = f"; {fix}" if fix else ""
        raise DataError(f"{where}, field {given!r}: {value!r} is not a finite number{advice}")
    return float(value)


def read_text(path: str | Path) -> str:
    """The file's text, with a clear error when it cannot be read."""
    p = Path(path)
    note_input(p)
    try:
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read the file: {exc}") from None


def power_from_unit(values: FloatArray, unit: str, interval_s: float, where: str) -> FloatArray:
    """Convert a column to average watts.

    ``W``/``kW``/``MW`` are average powers; ``Wh``/``kWh``/``MWh`` are energies per interval,
    divided by the interval length. Confusing the two is the classic error with meter exports:
    5-minute watt-hours read as watts are 12 times too small.
    """
    key = unit.strip().lower()
    # A value too large for its unit overflows to infinity here; the plausibility checks
    # refuse it and name its row, so numpy's warning would only repeat that without the row.
    with np.errstate(over="ignore"):
        if key in _POWER_UNITS:
            return values * _POWER_UNITS[key]
        if key in _ENERGY_UNITS:
            return values * _ENERGY_UNITS[key] * 3600.0 / float(interval_s)
    raise DataError(
        f"{where}: unknown power/energy unit {unit!r}; use one of "
        f"{', '.join(['W', 'kW', 'MW', 'Wh', 'kWh', 'MWh'])}"
    )


def local_wallclock_to_utc(
    naive: list[datetime], tz: ZoneInfo, where: str, report: LoadReport
) -> IntArray:
    """UNIX seconds of naive wall-clock times read in ``tz``, in file order.

    On the autumn clock change the hour after 01:00 repeats: the first occurrence is read as
    summer time, a later repeat of the same wall-clock time as winter time. A time that does not
    exist (inside the spring gap) is an error naming the row.
    """
    out = np.empty(len(naive), dtype=np.int64)
    seen: set[datetime] = set()
    folded = 0
    for i, t in enumerate(naive):
        fold = 1 if t in seen else 0
        seen.add(t)
        aware = t.replace(tzinfo=tz, fold=fold)
        utc = aware.astimezone(UTC)
        back = utc.astimezone(tz).replace(tzinfo=None)
        if back != t:
            raise DataError(
                f"{where}: row {i + 2}: {t.isoformat(sep=' ')} does not exist in {tz.key} "
                "(it falls in the spring clock-change gap)"
            )
        if fold and aware.utcoffset() != t.replace(tzinfo=tz, fold=0).utcoffset():
            folded += 1
        out[i] = int(utc.timestamp())
    if folded:
        report.repairs.append(
            f"{folded} repeated wall-clock times on autumn clock-change days read as winter time"
        )
    return out


def regularise(
    times_s: IntArray,
    columns: Mapping[str, FloatArray],
    report: LoadReport,
    *,
    interval_s: int | None = None,
    rows: IntArray | None = None,
) -> TimeSeries:
    """Put timestamped rows on a regular grid.

    Rows are sorted; duplicates (same timestamp) keep the first row and are counted; intervals
    with no row become ``NaN`` and are listed in ``report.gaps``. ``interval_s`` defaults to the
    most common spacing between rows. ``rows`` numbers the input rows as the file does (default:
    from 0, as records), so later checks can name the row of a value.
    """
    if times_s.shape[0] == 0:
        raise DataError(f"{report.source}: no data rows")
    order = np.argsort(times_s, kind="stable")
    t_sorted = times_s[order]
    keep = np.ones(t_sorted.shape[0], dtype=bool)
    keep[1:] = t_sorted[1:] != t_sorted[:-1]
    report.duplicates += int((~keep).sum())
    t_sorted = t_sorted[keep]
    idx = order[keep]
    if interval_s is None:
        if t_sorted.shape[0] < 2:
            raise DataError(f"{report.source}: one row is not enough to tell the interval")
        diffs = np.diff(t_sorted)
        values, counts = np.unique(diffs, return_counts=True)
        interval_s = int(values[np.argmax(counts)])
    if interval_s <= 0:
        raise DataError(f"{report.source}: cannot tell the interval between rows")
    offsets = t_sorted - t_sorted[0]
    off_grid = offsets % interval_s != 0
    if off_grid.any():
        bad = int(np.argmax(off_grid))
        raise DataError(
            f"{report.source}: timestamp {iso_utc(int(t_sorted[bad]))} is not on the "
            f"{interval_s} s grid that starts at {iso_utc(int(t_sorted[0]))}; "
            "resample the file first"
        )
    n = int(offsets[-1] // interval_s) + 1
    pos = (offsets // interval_s).astype(np.int64)
    grid = t_sorted[0] + np.arange(n, dtype=np.int64) * interval_s
    out: dict[str, FloatArray] = {}
    for name, vals in columns.items():
        col = np.full(n, np.nan, dtype=np.float64)
        col[pos] = vals[idx]
        out[name] = col
    present = np.zeros(n, dtype=bool)
    present[pos] = True
    report.gaps.extend(_spans(grid, ~present))
    report.missing_values = int(sum(int(np.isnan(c).sum()) for c in out.values()))
    numbers = np.arange(times_s.shape[0], dtype=np.int64) if rows is None else rows
    row_at = np.full(n, -1, dtype=np.int64)
    row_at[pos] = numbers[idx]
    return TimeSeries(grid, interval_s, out, report, row_at)


def _spans(grid: IntArray, missing: npt.NDArray[np.bool_]) -> list[tuple[str, str]]:
    if not missing.any():
        return []
    m = missing.astype(np.int8)
    edges = np.diff(np.concatenate(([0], m, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return [
        (iso_utc(int(grid[a])), iso_utc(int(grid[b]))) for a, b in zip(starts, ends, strict=True)
    ]


def iso_utc(t_s: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=t_s)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
