"""The site's recorded history from Home Assistant (``GET /api/history/period/<start>``), as a
plain CSV (``timestamp,load_w,pv_w``) that ``gridpilot simulate --data`` reads.

Home Assistant records a sensor's state when it changes, so each value holds until the next;
a slot's power is the time-weighted mean of the values that held in it. A slot where a needed
entity is unavailable or unknown is left out (the simulator fills or reports the gap), never
written as 0.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gridpilot.devices.homeassistant.client import HaClient
from gridpilot.devices.homeassistant.readings import convert
from gridpilot.devices.homeassistant.settings import EntityReading
from gridpilot.errors import DeviceError

__all__ = ["Samples", "fetch_history", "slot_means", "write_csv"]

Samples = list[tuple[float, float | None]]
"""(UNIX seconds, value in gridpilot's unit and sign, or None while not known), ascending."""

_CHUNK = timedelta(days=1)


def _when(state: Mapping[str, Any]) -> float | None:
    text = state.get("last_changed") or state.get("last_updated")
    if not isinstance(text, str):
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t.timestamp() if t.tzinfo is not None else None


def _samples(field: str, spec: EntityReading, states: Sequence[Mapping[str, Any]]) -> Samples:
    """One entity's history in gridpilot's units. With ``minimal_response`` only the first
    state carries attributes, so its unit is kept for the rest."""
    out: Samples = []
    attributes: Mapping[str, Any] = {}
    for state in states:
        if isinstance(state.get("attributes"), Mapping):
            attributes = state["attributes"]
        when = _when(state)
        if when is None:
            continue
        value = convert(field, spec, {"state": state.get("state"), "attributes": attributes})
        out.append((when, None if isinstance(value, str) else value))
    return out


async def fetch_history(client: HaClient, entities: Mapping[str, EntityReading],
                        start: datetime, end: datetime) -> dict[str, Samples]:
    """Each field's samples from ``start`` to ``end``, one request per day."""
    ids = {spec.entity_id: field for field, spec in entities.items()}
    raw: dict[str, list[Mapping[str, Any]]] = {entity: [] for entity in ids}
    at = start
    while at < end:
        upto = min(end, at + _CHUNK)
        answer = await client.http.request(
            "GET", f"api/history/period/{at.astimezone(UTC).isoformat()}",
            params={"end_time": upto.astimezone(UTC).isoformat(),
                    "filter_entity_id": ",".join(ids), "minimal_response": ""},
            headers=client.auth_headers(),
        )
        if not isinstance(answer, list):
            raise DeviceError(client.http.device, "GET /api/history/period: not a list")
        for series in answer:
            if not isinstance(series, list) or not series:
                continue
            first = series[0]
            entity = first.get("entity_id") if isinstance(first, Mapping) else None
            if entity in raw:
                raw[entity].extend(s for s in series if isinstance(s, Mapping))
        at = upto
    return {ids[entity]: _samples(ids[entity], entities[ids[entity]], states)
            for entity, states in raw.items()}


def slot_means(samples: Samples, start: float, end: float, step_s: int) -> list[float | None]:
    """The time-weighted mean of the held values in each slot; ``None`` for a slot with any
    unknown time in it (a mean over part of a slot would be a guess)."""
    slots = int((end - start) // step_s)
    means: list[float | None] = []
    i = 0
    current: float | None = None
    for n in range(slots):
        lo, hi = start + n * step_s, start + (n + 1) * step_s
        while i < len(samples) and samples[i][0] <= lo:
            current = samples[i][1]
            i += 1
        total, t, value, known = 0.0, lo, current, True
        j = i
        while j < len(samples) and samples[j][0] < hi:
            if value is None:
                known = False
            else:
                total += value * (samples[j][0] - t)
            t, value = samples[j][0], samples[j][1]
            j += 1
        if value is None:
            known = False
        else:
            total += value * (hi - t)
        means.append(total / step_s if known else None)
    return means


def write_csv(series: Mapping[str, Samples], start: datetime, end: datetime, step_s: int,
              out: Path) -> int:
    """``timestamp,load_w,pv_w`` rows; the load is ``pv + grid + battery`` when no load entity
    is mapped. Returns the rows written."""
    lo, hi = start.timestamp(), end.timestamp()
    means = {field: slot_means(samples, lo, hi, step_s) for field, samples in series.items()}
    slots = int((hi - lo) // step_s)
    rows = 0
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["timestamp", "load_w", "pv_w"])
        for n in range(slots):
            pv = means["pv_w"][n] if "pv_w" in means else 0.0
            load = means["load_w"][n] if "load_w" in means else _balance(means, n, pv)
            if load is None or pv is None:
                continue
            when = datetime.fromtimestamp(lo + n * step_s, UTC)
            writer.writerow([when.isoformat().replace("+00:00", "Z"), f"{load:.1f}", f"{pv:.1f}"])
            rows += 1
    return rows


def _balance(means: Mapping[str, list[float | None]], n: int, pv: float | None) -> float | None:
    grid = means["grid_w"][n] if "grid_w" in means else None
    battery = means["battery_w"][n] if "battery_w" in means else 0.0
    if pv is None or grid is None or battery is None:
        return None
    return pv + grid + battery
