"""The plan ahead: what the policy will do over the known price slots, if the forecast holds.

The projection runs the very ``decide()`` the loop runs, slot by slot from the last fresh state,
and moves the battery with the engine's step model, so the plan shown is the policy's, not a
second opinion. Load and PV ahead come from the forecast's net load (``load - pv``): a positive
net load is shown as load, a negative one as PV surplus.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gridpilot.engine.battery import step
from gridpilot.engine.decision import Decision
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import PriceOutlook, SiteState
from gridpilot.rules.policy import Policy

__all__ = ["PlanSlot", "project_plan"]

MAX_PLAN_SLOTS = 192
"""48 h of quarter-hours: the page shows no more, and each slot costs one decision."""

DecideFn = Callable[[Policy, SiteState, Sequence[CompiledOverride]], Decision]
OverridesAt = Callable[[datetime], Sequence[CompiledOverride]]


@dataclass(frozen=True, slots=True)
class PlanSlot:
    """One slot of the plan: prices, the forecast, the command and where it takes the battery."""

    start: datetime
    end: datetime
    import_per_kwh: float
    export_per_kwh: float
    load_w: float
    pv_w: float
    battery_w: float
    """+ discharging."""
    grid_w: float
    """+ importing."""
    soc_pct: float
    """At the end of the slot."""
    kind: str
    winner: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "import_per_kwh": self.import_per_kwh, "export_per_kwh": self.export_per_kwh,
            "load_w": self.load_w, "pv_w": self.pv_w, "battery_w": self.battery_w,
            "grid_w": self.grid_w, "soc_pct": self.soc_pct, "kind": self.kind,
            "winner": self.winner,
        }


def _from(prices: PriceOutlook, i: int) -> PriceOutlook:
    return PriceOutlook(prices.start_s[i:], prices.end_s, prices.import_per_kwh[i:],
                        prices.export_per_kwh[i:])


def project_plan(policy: Policy, state: SiteState, overrides_at: OverridesAt, *,
                 decide_fn: DecideFn, hours: float = 48.0) -> list[PlanSlot]:
    """The plan from ``state`` over its price slots up to ``hours`` ahead (at most
    :data:`MAX_PLAN_SLOTS`). Overrides count in the slots where they are active."""
    prices = state.prices
    n = len(prices)
    if n == 0:
        return []
    ends = prices.slot_end_s
    horizon_s = state.time.timestamp() + hours * 3600.0
    forecast = state.forecast_net_load_w
    soc = state.soc_pct
    active, since, layer = state.active_command, state.active_since, state.active_layer
    peak = state.month_peak_import_w
    out: list[PlanSlot] = []
    for i in range(min(n, MAX_PLAN_SLOTS)):
        start_s = float(prices.start_s[i])
        if start_s >= horizon_s:
            break
        at = datetime.fromtimestamp(max(start_s, state.time.timestamp()), UTC)
        dt_s = float(ends[i]) - at.timestamp()
        if dt_s <= 0:
            continue
        net_w = (float(forecast[i]) if forecast is not None and i < len(forecast)
                 else state.load_w - state.pv_w)
        load_w, pv_w = max(net_w, 0.0), max(-net_w, 0.0)
        ahead = SiteState(
            time=at, soc_pct=soc, load_w=load_w, pv_w=pv_w, grid_w=net_w, battery_w=0.0,
            prices=_from(prices, i), active_command=active, active_since=since,
            month_peak_import_w=peak, active_layer=layer,
            forecast_net_load_w=None if forecast is None else forecast[i:],
        )
        decision = decide_fn(policy, ahead, overrides_at(at))
        command = decision.command
        moved = step(command, soc, load_w, pv_w, dt_s, policy.battery)
        if active is None or active.kind is not command.kind:
            since = at
        active, layer = command, decision.layer
        peak = max(peak, moved.grid_w)
        out.append(PlanSlot(
            start=at, end=datetime.fromtimestamp(float(ends[i]), UTC),
            import_per_kwh=float(prices.import_per_kwh[i]),
            export_per_kwh=float(prices.export_per_kwh[i]),
            load_w=load_w, pv_w=pv_w, battery_w=moved.battery_w, grid_w=moved.grid_w,
            soc_pct=moved.soc_pct, kind=command.kind.value, winner=decision.winner,
        ))
        soc = moved.soc_pct
    return out
