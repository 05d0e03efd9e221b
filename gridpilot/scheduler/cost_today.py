"""Today's energy cost so far, with the battery and as it would have been without it.

Each tick's readings stand for the time until the next tick (at most two intervals: a gap
longer than that is time nobody measured, and is left out rather than guessed). Without the
battery the grid would have carried the net load (``load - pv``). Prices are the tariff's for
each tick's slot; a tick whose price is unknown is counted in ``ticks_without_price``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["cost_today"]

PriceAt = Callable[[datetime], tuple[float, float] | None]
"""(import, export) price per kWh at a time, or None when unknown."""


def _cost(grid_w: float, dt_s: float, prices: tuple[float, float]) -> float:
    kwh = grid_w * dt_s / 3.6e6
    return kwh * (prices[0] if grid_w >= 0 else prices[1])


def cost_today(records: list[dict[str, Any]], now: datetime, *, tz: Any, interval_s: float,
               price_at: PriceAt) -> dict[str, Any]:
    """``{since, cost, cost_without_battery, saving, ...}`` over the ticks since local midnight."""
    midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    ticks: list[tuple[datetime, dict[str, Any]]] = []
    for record in records:
        if record.get("kind") != "tick" or not isinstance(record.get("state"), dict):
            continue
        try:
            ts = datetime.fromisoformat(str(record["ts"]))
        except ValueError:
            continue
        if ts.utcoffset() is not None and midnight <= ts <= now:
            ticks.append((ts, record["state"]))
    cost = without = 0.0
    covered_s = 0.0
    missing = 0
    for i, (ts, state) in enumerate(ticks):
        until = ticks[i + 1][0] if i + 1 < len(ticks) else now
        dt_s = min((until - ts).total_seconds(), 2 * interval_s)
        values = [state.get(k) for k in ("grid_w", "load_w", "pv_w")]
        if dt_s <= 0 or not all(isinstance(v, int | float) for v in values):
            continue
        prices = price_at(ts)
        if prices is None:
            missing += 1
            continue
        grid_w, load_w, pv_w = (float(v) for v in values)  # type: ignore[arg-type]
        cost += _cost(grid_w, dt_s, prices)
        without += _cost(load_w - pv_w, dt_s, prices)
        covered_s += dt_s
    return {
        "since": midnight.isoformat(),
        "cost": round(cost, 4),
        "cost_without_battery": round(without, 4),
        "saving": round(without - cost, 4),
        "hours_covered": round(covered_s / 3600.0, 3),
        "ticks_without_price": missing,
    }
