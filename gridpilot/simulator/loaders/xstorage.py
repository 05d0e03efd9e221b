"""Eaton xStorage Home exports: the metrics CSV export and ``/api/metrics`` JSON records.

Both hold **average watts over each 5-minute interval** (not energy). The CSV header text is
produced on the unit and no public sample exists, so the column mapping defaults to the API's
field names and can be overridden.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gridpilot.errors import DataError
from gridpilot.simulator.loaders.base import LoadReport, TimeSeries, read_text, regularise
from gridpilot.simulator.loaders.csvfile import ColumnSpec, CsvMapping, load_csv

__all__ = [
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
"""Default mapping: simulator field -> export field name (the header the unit is asked for)."""

_METRIC_FIELDS = {
    "totalHouseConsumption": "load_w",
    "photovoltaicProduction": "pv_w",
    "totalGridInjection": "export_w",
    "batteryStateOfCharge": "soc_pct",
}


def load_xstorage_csv(
    path: str | Path,
    *,
    columns: Mapping[str, ColumnSpec] | None = None,
    timestamp_column: str = "DATE",
    timestamp_format: str = "iso",
    timezone: str = "UTC",
    delimiter: str = ",",
) -> TimeSeries:
    """Read a ``/api/metrics/export`` CSV. ``columns`` overrides the default mapping field by
    field (give only the ones whose header differs); naive timestamps are read in ``timezone``."""
    mapping_cols = dict(XSTORAGE_CSV_COLUMNS)
    if columns:
        mapping_cols.update(columns)
    mapping = CsvMapping(
        columns=mapping_cols,
        timestamp_columns=(timestamp_column,),
        timestamp_format=timestamp_format,
        timezone=timezone,
        delimiter=delimiter,
    )
    return load_csv(path, mapping)


def load_xstorage_metrics(path: str | Path) -> TimeSeries:
    """Read a saved ``/api/metrics`` JSON answer (the envelope or a bare list of records)."""
    source = str(path)
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{source}: line {exc.lineno}, column {exc.colno}: bad JSON: {exc.msg}"
        ) from None
    return parse_xstorage_metrics(data, source=source)


def parse_xstorage_metrics(data: Any, *, source: str) -> TimeSeries:
    records = _records(data, source)
    report = LoadReport(source=source, units={f: "W (average)" for f in _METRIC_FIELDS})
    report.units["batteryStateOfCharge"] = "%"
    times: list[int] = []
    cols: dict[str, list[float]] = {v: [] for v in _METRIC_FIELDS.values()}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise DataError(f"{source}: record {i}: expected an object, got {type(rec).__name__}")
        t = rec.get("time")
        if isinstance(t, bool) or not isinstance(t, int | float):
            raise DataError(f"{source}: record {i}, field 'time': expected epoch milliseconds")
        # The API documents milliseconds; digit count catches a seconds value.
        times.append(round(t / 1000.0) if abs(t) >= 1e11 else int(t))
        for key, name in _METRIC_FIELDS.items():
            v = rec.get(key)
            if v is None:
                cols[name].append(np.nan)
            elif isinstance(v, bool) or not isinstance(v, int | float):
                raise DataError(f"{source}: record {i}, field {key!r}: {v!r} is not a number")
            else:
                cols[name].append(float(v))
    report.rows = len(times)
    values = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
    series = regularise(np.asarray(times, dtype=np.int64), values, report)
    series.columns["grid_w"] = -series.columns.pop("export_w")
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
