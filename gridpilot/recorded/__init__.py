"""Loaders for recorded data: each states its units, converts to UTC and reports what it did.

:func:`load_data` picks the loader from ``format`` (or from the file's header when ``auto``) and
passes the result through :func:`check_plausibility`, as every caller of a loader must: it warns
about likely unit mistakes and refuses absurd values (see
:mod:`gridpilot.recorded.plausibility`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

from gridpilot.errors import DataError
from gridpilot.inputs import note_input
from gridpilot.recorded.base import LoadReport, TimeSeries, normalise_name, read_text
from gridpilot.recorded.csvfile import ColumnSpec, CsvMapping, load_csv
from gridpilot.recorded.plausibility import check_plausibility
from gridpilot.recorded.uci import load_uci_household
from gridpilot.recorded.uk import (
    load_agile_outgoing,
    load_elexon_settlement,
    load_simple_csv,
    load_uk_composite,
)
from gridpilot.recorded.xbattery import load_xbattery_telemetry
from gridpilot.recorded.xstorage import load_xstorage_csv, load_xstorage_metrics

__all__ = [
    "FORMATS",
    "ColumnSpec",
    "CsvMapping",
    "LoadReport",
    "TimeSeries",
    "check_plausibility",
    "detect_format",
    "load_agile_outgoing",
    "load_csv",
    "load_data",
    "load_elexon_settlement",
    "load_simple_csv",
    "load_uci_household",
    "load_uk_composite",
    "load_xbattery_telemetry",
    "load_xstorage_csv",
    "load_xstorage_metrics",
]

FORMATS: dict[str, Callable[[Path], TimeSeries]] = {
    "csv": load_simple_csv,
    "uk-composite": load_uk_composite,
    "elexon": load_elexon_settlement,
    "agile-outgoing": load_agile_outgoing,
    "uci": load_uci_household,
    "xstorage-csv": load_xstorage_csv,
    "xstorage-metrics": load_xstorage_metrics,
    "xbattery": load_xbattery_telemetry,
}


_XSTORAGE_FIELDS = {
    normalise_name(f)
    for f in (
        "TOTAL_HOUSE_CONSUMPTION", "CRITICAL_LOADS", "NON_CRITICAL_LOADS",
        "PHOTOVOLTAIC_PRODUCTION_AGG", "PHOTOVOLTAIC_PRODUCTION_METER_1",
        "PHOTOVOLTAIC_PRODUCTION_METER_2", "BATTERY_STATE_OF_CHARGE", "SELF_CONSUMPTION",
        "SELF_SUFFICIENCY", "GRID_INJECTION", "BATTERY_TEMPERATURE",
    )
}


def detect_format(path: str | Path, *, delimiter: str | None = None) -> str:
    """Guess the format from the start of the file. Header names and JSON keys are compared
    ignoring case, spaces, underscores and hyphens, as the loaders read them. A ``delimiter``
    (the user's ``--delimiter``) is the one a plain CSV's header is split at."""
    text = read_text(path)
    first = text.lstrip()[:2000].splitlines()[0] if text.strip() else ""
    if first.startswith(("{", "[")):
        keys = re.sub(r"[\s_\-]+", "", text[:20000]).lower()
        return "xbattery" if '"packvoltage"' in keys else "xstorage-metrics"
    plain = [c.strip() for c in first.split(delimiter or ",")]
    if plain[0] == "timestamp" and "load_w" in plain:
        return "csv"
    if first.startswith("Settlement Date,Settlement Period"):
        return "elexon"
    if first.startswith("Date_Time,Outgoing Agile Rate"):
        return "agile-outgoing"
    if first.startswith("Date;Time;Global_active_power"):
        return "uci"
    for delimiter in (",", ";", "\t"):
        cells = [normalise_name(c.strip().strip('"')) for c in first.split(delimiter)]
        if len(cells) > 1 and cells[0] == "date" and _XSTORAGE_FIELDS.intersection(cells[1:]):
            return "xstorage-csv"
    raise DataError(
        f"{path}: cannot tell the data format from its header {first[:80]!r}; "
        f"give --format (one of {', '.join(FORMATS)}) or write a CSV with columns "
        "timestamp,load_w,pv_w"
    )


def load_data(
    path: str | Path,
    format: str = "auto",
    *,
    accept_implausible: bool = False,
    accept_hint: str = "",
) -> TimeSeries:
    """Load ``path`` in the given format (``auto`` detects it) and check that its values are
    plausible: absurd ones are a :class:`DataError` unless ``accept_implausible``
    (``accept_hint`` names the caller's way to accept them, for the message)."""
    p = Path(path)
    key = _file_key(p, format)
    cached = _LOADED.get(key) if key is not None else None
    if cached is not None:
        note_input(p)  # read before: still an input of whatever is being loaded now
        series = _copy(cached)
    else:
        fmt = detect_format(p) if format == "auto" else format
        try:
            loader = FORMATS[fmt]
        except KeyError:
            raise DataError(
                f"unknown data format {fmt!r}; use one of {', '.join(FORMATS)}"
            ) from None
        series = loader(p)
        if key is not None:
            if len(_LOADED) >= _LOADED_SIZE:
                _LOADED.pop(next(iter(_LOADED)))
            _LOADED[key] = _copy(series)
    return check_plausibility(series, accept=accept_implausible, accept_hint=accept_hint)

_LOADED: dict[tuple[object, ...], TimeSeries] = {}
_LOADED_SIZE = 2
"""Files loaded in this process, by path, modification time, size and format: ``check`` of a
policy reads its simulated battery's data and its scenario tests' data, often the same file.
Each caller gets its own copy (callers fill gaps and resample in place); a changed file is read
again."""


def _file_key(path: Path, format: str) -> tuple[object, ...] | None:
    try:
        st = path.stat()
        return (str(path.resolve()), st.st_mtime_ns, st.st_size, format)
    except OSError:
        return None  # the loader says why


def _copy(series: TimeSeries) -> TimeSeries:
    return TimeSeries(
        series.start_s.copy(), series.interval_s,
        {name: values.copy() for name, values in series.columns.items()},
        copy.deepcopy(series.report),
        None if series.rows is None else series.rows.copy(),
    )
