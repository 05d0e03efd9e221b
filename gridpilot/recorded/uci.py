"""The UCI "Individual household electric power consumption" minute data.

Semicolon-separated; ``Date`` (d/m/yyyy) and ``Time`` are local wall-clock time of the home (Sceaux,
France, so ``Europe/Paris``); ``Global_active_power`` is the minute's average power in kW; missing
minutes are marked ``?``.
"""

from __future__ import annotations

from pathlib import Path

from gridpilot.recorded.base import TimeSeries
from gridpilot.recorded.csvfile import ColumnSpec, CsvMapping, load_csv

__all__ = ["UCI_MAPPING", "load_uci_household"]

UCI_MAPPING = CsvMapping(
    columns={"load_w": ColumnSpec("Global_active_power", "kW")},
    timestamp_columns=("Date", "Time"),
    timestamp_format="%d/%m/%Y %H:%M:%S",
    timezone="Europe/Paris",
    delimiter=";",
    interval_s=60,
)


def load_uci_household(path: str | Path, *, timezone: str = "Europe/Paris") -> TimeSeries:
    """Household load ``load_w`` [W] per minute; the home has no PV (``pv_w`` is zero)."""
    mapping = CsvMapping(
        columns=UCI_MAPPING.columns,
        timestamp_columns=UCI_MAPPING.timestamp_columns,
        timestamp_format=UCI_MAPPING.timestamp_format,
        timezone=timezone,
        delimiter=";",
        interval_s=60,
    )
    series = load_csv(path, mapping)
    series.columns["pv_w"] = series.columns["load_w"] * 0.0
    series.report.repairs.append("no PV in this home: pv_w set to 0 (NaN where load is missing)")
    return series
