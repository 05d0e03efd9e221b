"""Eaton xStorage Home exports: the metrics CSV export and ``/api/metrics`` JSON records.

Both hold **average watts over each 5-minute interval** (not energy). The CSV header text is
produced on the unit and no public sample exists, so the column mapping defaults to the API's
field names and can be overridden.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from gridpilot.errors import DataError
from gridpilot.recorded.base import (
    LoadReport,
    TimeSeries,
    epoch_s,
    normalise_name,
    read_json,
    read_text,
    record_fields,
    record_number,
    regularise,
)
from gridpilot.recorded.csvfile import (
    EXTRA_POWER_PREFIX,
    ColumnSpec,
    CsvMapping,
    parse_rows,
)

__all__ = [
    "METRICS_KEY_NAMES",
    "XSTORAGE_CSV_COLUMNS",
    "load_xstorage_csv",
    "load_xstorage_metrics",
    "parse_xstorage_metrics",
]

XSTORAGE_CSV_COLUMNS: dict[str, ColumnSpec] = {
    "load_w": ColumnSpec("TOTAL_HOUSE_CONSUMPTION", "W"),
    "pv_w": ColumnSpec("PHOTOVOLTAIC_PRODUCTION_AGG", "W"),
    "export_w": ColumnSpec("GRID_INJECTION", "W"),
    "soc_pct": ColumnSpec("BATTERY_STATE_OF_CHARGE", "pct"),
}
"""Default mapping: simulator field -> export field name. A header matches a field name when
the two agree ignoring case, spaces, underscores, hyphens and a unit in brackets, so
``Total House Consumption`` reads as ``TOTAL_HOUSE_CONSUMPTION``."""

_REQUIRED = ("load_w", "pv_w")
# Other names the unit may give the PV total; without one, the per-meter columns are summed.
_PV_ALIASES = ("PHOTOVOLTAIC_PRODUCTION", "PV_PRODUCTION")
_PV_METERS = ("PHOTOVOLTAIC_PRODUCTION_METER_1", "PHOTOVOLTAIC_PRODUCTION_METER_2")

_METRIC_FIELDS = {
    "totalHouseConsumption": "load_w",
    "photovoltaicProduction": "pv_w",
    "totalGridInjection": "export_w",
    "batteryStateOfCharge": "soc_pct",
}
_GAP_FIX = "fix the value or set it to null to treat it as a gap (see --fill)"
_METRIC_KEYS = {normalise_name(k): k for k in (*_METRIC_FIELDS, "time")}
METRICS_KEY_NAMES = tuple(_METRIC_FIELDS)
"""The ``/api/metrics`` record keys the simulator reads (besides ``time``)."""

# Day-first is tried before month-first: the unit is sold in Europe. A file whose dates
# cannot be read day-first (a day above 12 in the second place) is read month-first.
_TIME_PATTERNS = (
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
    "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S",
)


def load_xstorage_csv(
    path: str | Path,
    *,
    columns: Mapping[str, ColumnSpec] | None = None,
    timestamp_column: str = "DATE",
    timestamp_format: str = "auto",
    timezone: str = "UTC",
    delimiter: str = "auto",
) -> TimeSeries:
    """Read a ``/api/metrics/export`` CSV (average watts per 5-minute interval).

    Header names are matched against the documented field names ignoring case, spaces,
    underscores and hyphens (see :data:`XSTORAGE_CSV_COLUMNS`). ``columns`` overrides the mapping
    field by field (give only the ones whose header differs). Without a PV total column the
    ``PHOTOVOLTAIC_PRODUCTION_METER_1``/``_2`` columns are summed. ``timestamp_format`` ``auto``
    recognises ISO times, epoch seconds or milliseconds and the usual ``dd/mm/yyyy hh:mm``
    forms; naive timestamps are read in ``timezone``. ``delimiter`` ``auto`` takes the first of
    comma, semicolon and tab that splits the header.
    """
    source = str(path)
    text = read_text(path)
    if delimiter == "auto":
        line = text.lstrip().split("\n", 1)[0]
        delimiter = next((d for d in (",", ";", "\t") if d in line), ",")
    header = _header(text, delimiter, source)
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(normalise_name(h), h)

    def find(name: str) -> str | None:
        return name if name in header else by_norm.get(normalise_name(name))

    wanted = dict(columns or {})
    mapped: dict[str, ColumnSpec] = {}
    for f, spec in {**XSTORAGE_CSV_COLUMNS, **wanted}.items():
        actual = find(spec.column)
        if actual is None and f == "pv_w" and f not in wanted:
            actual = next((a for a in map(find, _PV_ALIASES) if a is not None), None)
        if actual is not None:
            mapped[f] = ColumnSpec(actual, spec.unit)
        elif f in wanted or (f in _REQUIRED and not (f == "pv_w" and _meters(find))):
            raise DataError(
                f"{source}: row 1: no column matches {spec.column!r} (for {f}) in the header "
                f"({', '.join(repr(h) for h in header)}); map it with --map {f}=COLUMN"
            )
    meters = [] if "pv_w" in mapped else _meters(find)
    for k, actual in enumerate(meters):
        mapped[f"{EXTRA_POWER_PREFIX}pv{k}"] = ColumnSpec(actual, XSTORAGE_CSV_COLUMNS["pv_w"].unit)
    ts_col = find(timestamp_column)
    if ts_col is None:
        raise DataError(
            f"{source}: row 1: no column matches {timestamp_column!r} (the time) in the header "
            f"({', '.join(repr(h) for h in header)}); name it with --time-column"
        )
    fmt = timestamp_format
    if fmt in ("auto", "iso"):
        guess = _guess_time_format(text, header.index(ts_col), delimiter, source)
        if fmt == "iso" and guess not in ("iso", "epoch"):
            raise DataError(
                f"{source}: row 2, column {ts_col!r}: the times are not ISO 8601 but read as "
                f"{guess!r}; give --time-format '{guess}' (or auto)"
            )
        fmt = guess if fmt == "auto" else fmt
    mapping = CsvMapping(
        columns=mapped,
        timestamp_columns=(ts_col,),
        timestamp_format=fmt,
        timezone=timezone,
        delimiter=delimiter,
    )
    series = parse_rows(text, mapping, source=source)
    if meters:
        parts = [series.columns.pop(f"{EXTRA_POWER_PREFIX}pv{k}") for k in range(len(meters))]
        series.columns["pv_w"] = np.sum(parts, axis=0)
        series.report.units["pv_w"] = " + ".join(repr(m) for m in meters) + " [W]"
        series.report.columns["pv_w"] = " + ".join(meters)
        for k in range(len(meters)):
            series.report.units.pop(f"{EXTRA_POWER_PREFIX}pv{k}", None)
            series.report.columns.pop(f"{EXTRA_POWER_PREFIX}pv{k}", None)
        series.report.repairs.append(
            f"PV read as the sum of the meter columns {', '.join(repr(m) for m in meters)}"
        )
    series.report.repairs.append(
        "columns matched: "
        + ", ".join(f"{f}={spec.column!r}" for f, spec in mapped.items() if f in _FIELD_ORDER)
    )
    return series


_FIELD_ORDER = ("load_w", "pv_w", "export_w", "grid_w", "battery_w", "soc_pct",
                "import_price", "export_price")


def _meters(find: Callable[[str], str | None]) -> list[str]:
    return [a for a in map(find, _PV_METERS) if a is not None]


def _header(text: str, delimiter: str, source: str) -> list[str]:
    try:
        return [h.strip() for h in next(csv.reader(io.StringIO(text), delimiter=delimiter))]
    except StopIteration:
        raise DataError(f"{source}: the file is empty") from None


def _guess_time_format(text: str, index: int, delimiter: str, source: str) -> str:
    """The timestamp format of the first data rows (see :func:`load_xstorage_csv`)."""
    samples: list[str] = []
    for row in itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), 1, None):
        if len(row) > index and row[index].strip():
            samples.append(row[index].strip())
        if len(samples) >= 500:
            break
    if not samples:
        return "iso"
    first = samples[0]
    if first.replace(".", "", 1).isdigit():
        return "epoch"
    try:
        datetime.fromisoformat(first)
        return "iso"
    except ValueError:
        pass
    for pattern in _TIME_PATTERNS:
        try:
            for s in samples:
                datetime.strptime(s, pattern)
        except ValueError:
            continue
        return pattern
    raise DataError(
        f"{source}: row 2: cannot tell the time format of {first!r}; give it with "
        "--time-format (a strptime pattern such as '%d/%m/%Y %H:%M')"
    )


def load_xstorage_metrics(path: str | Path) -> TimeSeries:
    """Read a saved ``/api/metrics`` JSON answer (the envelope or a bare list of records)."""
    return parse_xstorage_metrics(read_json(path), source=str(path))


def parse_xstorage_metrics(data: Any, *, source: str) -> TimeSeries:
    """Metric records to a series. Keys match ignoring case, spaces, underscores and hyphens
    (``total_house_consumption`` reads as ``totalHouseConsumption``); values are average watts."""
    records = _records(data, source)
    report = LoadReport(source=source, units={f: "W (average)" for f in _METRIC_FIELDS},
                        columns={v: k for k, v in _METRIC_FIELDS.items()}, row_label="record")
    report.units["batteryStateOfCharge"] = "%"
    times: list[int] = []
    cols: dict[str, list[float]] = {v: [] for v in _METRIC_FIELDS.values()}
    seen: set[str] = set()
    for i, raw in enumerate(records):
        where = f"{source}: record {i}"
        rec = record_fields(raw, _METRIC_KEYS, where)
        t_key, t = rec.get("time", ("time", None))
        # The API documents milliseconds; epoch_s also takes a seconds value.
        times.append(epoch_s(t, f"{where}, field {t_key!r}", "epoch milliseconds"))
        for key, name in _METRIC_FIELDS.items():
            if key in rec:
                seen.add(key)
            v = record_number(where, *rec.get(key, (key, None)), fix=_GAP_FIX)
            cols[name].append(np.nan if v is None else v)
    for key in ("totalHouseConsumption", "photovoltaicProduction"):
        if records and key not in seen:
            raise DataError(
                f"{source}: no record has a {key!r} field (record 0 has: "
                f"{', '.join(map(repr, records[0])) or 'nothing'})"
            )
    report.rows = len(times)
    values = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
    series = regularise(np.asarray(times, dtype=np.int64), values, report)
    series.columns["grid_w"] = -series.columns.pop("export_w")
    report.columns["grid_w"] = report.columns.pop("export_w")
    report.repairs.append("totalGridInjection read as negative grid power (export)")
    return series


def _records(data: Any, source: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        result = data.get("result", data)
        if isinstance(result, list):
            return result
        if isinstance(result, dict):
            for key in ("metrics", "data", "items", "records"):
                if isinstance(result.get(key), list):
                    return list(result[key])
    raise DataError(
        f"{source}: expected a list of metrics records or an envelope with 'result' holding one"
    )
