"""The payloads of one tick: entity key (or ``<key>/attributes``) -> text to publish.

Pure: built from what the scheduler knows after a tick. A value that is not known is ``None``
in the payload, which Home Assistant shows as unknown rather than as a wrong number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gridpilot.engine.decision import Decision
from gridpilot.engine.state import PriceOutlook
from gridpilot.scheduler.device import Snapshot

__all__ = ["TickFacts", "tick_values"]

UNKNOWN = "None"


@dataclass(frozen=True, slots=True)
class TickFacts:
    """What one tick published from: the scheduler's view after the tick."""

    time: datetime
    status: str
    """The tick's status: ``ok``, ``no_state``, ``failsafe`` or ``error``."""
    snapshot: Snapshot | None
    decision: Decision | None
    prices: PriceOutlook | None
    failsafe: bool
    last_error: str | None
    plan: Sequence[Mapping[str, Any]] | None = None
    """Slots ahead (``start``, ``battery_w``, ``soc_pct``...); ``None``: no plan known."""
    cost: Mapping[str, Any] | None = None
    """Today's ``cost``, ``cost_without_battery`` and ``saving``; ``None``: not known."""
    extra: Mapping[str, str] = field(default_factory=dict)


def _num(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return UNKNOWN
    return f"{round(value, digits):g}" if digits else str(round(value))


def _doc(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, default=str)


def _decision_values(d: Decision) -> dict[str, str]:
    c = d.command
    limits = [h.as_dict() for h in d.limits]
    return {
        "command": c.kind.value,
        "command/attributes": _doc(c.as_dict()),
        "command_power": _num(c.power_w, 0) if c.kind.value in ("charge", "discharge")
        else "0",
        "winner": d.winner,
        "winner/attributes": _doc({"layer": d.layer, "reason": d.reason, "yielded": d.yielded,
                                   "notes": list(d.notes)}),
        # Home Assistant keeps at most 255 characters of a state; the whole text is the
        # winner's attribute.
        "reason": d.reason[:255],
        "limits": ", ".join(h.limit for h in d.limits)[:255] or "none",
        "limits/attributes": _doc({"limits": limits}),
    }


def _price_values(prices: PriceOutlook | None, now: datetime) -> dict[str, str]:
    if prices is None or len(prices) == 0:
        return {"price_now": UNKNOWN, "price_next": UNKNOWN,
                "price_next/attributes": _doc({"start": None})}
    starts = prices.start_s
    ts = now.timestamp()
    # The slot in force now is the last one that has started; the next is the one after it.
    now_i = max(0, int((starts <= ts).sum()) - 1)
    nxt = now_i + 1 if now_i + 1 < len(prices) else None
    return {
        "price_now": _num(float(prices.import_per_kwh[now_i]), 4),
        "price_next": UNKNOWN if nxt is None else _num(float(prices.import_per_kwh[nxt]), 4),
        "price_next/attributes": _doc({
            "start": None if nxt is None
            else datetime.fromtimestamp(int(starts[nxt]), UTC).isoformat(),
            "export_per_kwh": None if nxt is None else float(prices.export_per_kwh[nxt]),
        }),
    }


def tick_values(f: TickFacts) -> dict[str, str]:
    """Every payload for the tick ``f``; keys are topic levels under the base topic."""
    values: dict[str, str] = {
        "failsafe": "ON" if f.failsafe else "OFF",
        "stale": "ON" if f.status in ("no_state", "failsafe") else "OFF",
        "last_error": (f.last_error or "none")[:255],
    }
    if f.decision is not None:
        values.update(_decision_values(f.decision))
    s = f.snapshot
    if s is not None:
        values["soc"] = _num(s.soc_pct)
        values["battery_power"] = UNKNOWN if "battery_w" in s.rejected else _num(s.battery_w, 0)
        values["grid_power"] = UNKNOWN if "grid_w" in s.rejected else _num(s.grid_w, 0)
    if f.status == "ok":
        values.update(_price_values(f.prices, f.time))
    if f.plan is not None:
        slots = [dict(slot) for slot in f.plan]
        values["plan"] = str(len(slots))
        values["plan/attributes"] = _doc({"slots": slots})
    if f.cost is not None:
        values["cost_today"] = _num(_float(f.cost.get("cost")), 2)
        values["saving_today"] = _num(_float(f.cost.get("saving")), 2)
        values["cost_today/attributes"] = _doc(dict(f.cost))
    values.update(f.extra)
    return values


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
