"""Downloading the unit's history for the simulator.

``/api/metrics/`` gives 5-minute records of *average watts* (not energy) with ``time`` in epoch
milliseconds; they are written as a JSON array of the records exactly as the unit returns them.
``/api/metrics/export`` gives CSV, written byte for byte as the unit returns it (its header text
is produced on the unit, so the importer maps columns by name).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridpilot.devices.base import ExportResult
from gridpilot.errors import CommandError, DeviceProtocolError

if TYPE_CHECKING:
    from gridpilot.devices.xstorage.client import XStorageClient

__all__ = ["CSV_FIELDS", "download_csv", "download_metrics", "metrics_records"]

CSV_FIELDS = (
    "DATE",
    "TOTAL_HOUSE_CONSUMPTION",
    "CRITICAL_LOADS",
    "NON_CRITICAL_LOADS",
    "PHOTOVOLTAIC_PRODUCTION_AGG",
    "BATTERY_STATE_OF_CHARGE",
    "SELF_CONSUMPTION",
    "SELF_SUFFICIENCY",
    "GRID_INJECTION",
    "BATTERY_TEMPERATURE",
)
_CHUNK = timedelta(days=1)


def _ms(t: datetime) -> int:
    if t.tzinfo is None:
        raise CommandError("export times must be timezone-aware")
    return int(t.timestamp() * 1000)


def metrics_records(device: str, result: Any) -> list[dict[str, Any]]:
    """The records of a metrics answer, with or without the envelope."""
    records = result.get("metrics") if isinstance(result, Mapping) else result
    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        raise DeviceProtocolError(device, "GET /api/metrics/: no list of metric records")
    return [dict(r) for r in records]


async def download_metrics(
    client: XStorageClient, start: datetime, end: datetime, out: Path
) -> ExportResult:
    """Fetch 5-minute metrics in day chunks and write them to ``out`` (JSON array)."""
    if end <= start:
        raise CommandError("--to must be after --from")
    by_time: dict[Any, dict[str, Any]] = {}
    t = start
    while t < end:
        chunk_end = min(end, t + _CHUNK)
        result = await client.call(
            "GET", "/api/metrics/", params={"from": _ms(t), "to": _ms(chunk_end)}
        )
        for record in metrics_records(client.device, result):
            by_time[record.get("time")] = record
        t = chunk_end
    records = [by_time[k] for k in sorted(by_time, key=lambda v: (v is None, v or 0))]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, indent=0) + "\n", encoding="utf-8")
    return ExportResult(out, len(records), "xstorage-metrics-json")


async def download_csv(
    client: XStorageClient,
    start: datetime,
    end: datetime,
    out: Path,
    fields: Sequence[str] = CSV_FIELDS,
) -> ExportResult:
    """Fetch the unit's 5-minute CSV export and write it to ``out`` unchanged."""
    if end <= start:
        raise CommandError("--to must be after --from")
    if not fields or fields[0] != "DATE":
        raise CommandError("the export's field list must start with DATE")
    unknown = [f for f in fields if f not in CSV_FIELDS]
    if unknown:
        raise CommandError(
            f"unknown export fields {unknown}; valid: {', '.join(CSV_FIELDS)}"
        )
    data = await client.call(
        "GET",
        "/api/metrics/export",
        params={"from": _ms(start), "to": _ms(end), "field": ",".join(fields)},
        body="bytes",
        envelope=False,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    rows = max(0, data.count(b"\n") - 1 + (0 if data.endswith(b"\n") else 1))
    return ExportResult(out, rows, "xstorage-csv")
