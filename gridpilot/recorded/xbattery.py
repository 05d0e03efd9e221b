"""xBattery cloud telemetry JSON (``GET /devices/{id}/telemetry``).

Each record carries ``pack_voltage`` [V], ``pack_current`` [A], ``soc`` [%], ``bms_state`` and
``_ts`` (epoch seconds). The battery power is ``pack_voltage * pack_current``; the API does not
document the current's sign, so the BMS state decides it where it says ``CHARGING`` or
``DISCHARGING``, and a positive current counts as discharging otherwise. There is no load or PV
in this feed: it yields ``battery_w`` and ``soc_pct`` only.
"""

from __future__ import annotations

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
    record_fields,
    record_number,
    regularise,
)

__all__ = ["load_xbattery_telemetry", "parse_xbattery_telemetry"]

# Keys match ignoring case, spaces, underscores and hyphens (``packVoltage``, ``pack-voltage``).
_KEYS = {normalise_name(k): k for k in ("pack_voltage", "pack_current", "soc", "bms_state", "_ts")}


def load_xbattery_telemetry(path: str | Path, *, interval_s: int | None = None) -> TimeSeries:
    return parse_xbattery_telemetry(read_json(path), source=str(path), interval_s=interval_s)


def parse_xbattery_telemetry(
    data: Any, *, source: str, interval_s: int | None = None
) -> TimeSeries:
    records = data.get("data") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise DataError(f"{source}: expected {{'data': [...]}} with telemetry records")
    report = LoadReport(
        source=source, units={"pack_voltage": "V", "pack_current": "A", "soc": "%"},
        columns={"battery_w": "pack_voltage * pack_current", "soc_pct": "soc"},
        row_label="record",
    )
    times: list[int] = []
    power: list[float] = []
    soc: list[float] = []
    for i, raw in enumerate(records):
        where = f"{source}: record {i}"
        rec = record_fields(raw, _KEYS, where)
        ts_key, ts = rec.get("_ts", ("_ts", None))
        times.append(epoch_s(ts, f"{where}, field {ts_key!r}", "epoch seconds"))
        vals = {
            key: record_number(where, *rec.get(key, (key, None)))
            for key in ("pack_voltage", "pack_current", "soc")
        }
        v, a, s = vals["pack_voltage"], vals["pack_current"], vals["soc"]
        if v is not None and a is not None:
            p = abs(v * a)
            state = str(rec.get("bms_state", ("", ""))[1]).upper()
            if state == "CHARGING" or (state != "DISCHARGING" and a < 0):
                p = -p
            power.append(p)
        else:
            power.append(np.nan)
        soc.append(np.nan if s is None else s)
    report.rows = len(times)
    if len(times) == 1 and interval_s is None:
        interval_s = 60
        report.repairs.append("a single record: interval taken as 60 s")
    return regularise(
        np.asarray(times, dtype=np.int64),
        {"battery_w": np.asarray(power), "soc_pct": np.asarray(soc)},
        report,
        interval_s=interval_s,
    )
