"""``tariff_arbitrage``: buy energy in the cheapest slots, use it in the most expensive ones.

Only the prices known at the tick are used (``state.prices``, from the current slot on), so it works
the same on a fixed time-of-use schedule and on dynamic prices at any slot length (5, 15, 30 or 60
minutes, or a mix). The energy needed is sized from the net-load forecast in
``state.forecast_net_load_w`` (aligned with the price slots); without one a flat profile at
``default_net_load_w`` is assumed.

How a tick is decided (all energies are AC kWh delivered to the house):

1. **Negative import price now**: charge at full power; being paid to take energy always pays,
   and nothing is ever exported into negative prices (``self_consumption`` never exports battery
   energy).
2. **Charge now?** Future slots are *worth serving from the battery* when their price beats the
   cheapest way to fill the battery before them by more than the round-trip losses plus
   ``cycle_cost_per_kwh`` plus ``min_spread_per_kwh``. The first block of such slots (up to the
   point where the grid gets as cheap again as the cheapest slot before the block) needs some
   energy; what the battery already holds covers part of it. The rest is bought in the cheapest
   slots before the block, PV surplus (valued at the export price) included. The battery charges
   now only if the current slot is one of those cheapest slots, never merely because the price is
   under some threshold.
3. **Sell?** Only with ``allow_export``: when the export price now is positive and the grid
   later gets cheaper than it (by the losses, wear and ``min_spread_per_kwh``), the stored energy
   beyond what the dearer slots before that point need is discharged to the grid, down to a floor
   that keeps it. Export opportunities ahead count like dear slots in steps 2 and 4.
4. **Hold?** If the stored energy is all needed for slots ahead that are strictly dearer than now
   (by ``min_spread_per_kwh``) and come before the grid is cheap enough to refill it, the battery
   holds: the house runs on the cheaper grid now. At equal prices it never holds, so it never cycles
   for nothing.
5. Otherwise, if any spread is worth acting on, it proposes ``self_consumption`` (the current slot
   is among the dearest ahead); if none is, it proposes nothing and the next rule decides.

The plan for a price outlook does not depend on the SOC, so it is computed once per outlook (a new
slot, a new day-ahead publication, a new forecast) and every tick in between costs a few float
operations. Known simplifications: the battery charges at full power until the computed target
(the device stops there); the capacity of the current slot is counted as a whole slot; only the
first expensive block ahead is planned for (the next one is planned once this one has passed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar

import numpy as np
from pydantic import Field

from gridpilot.engine.commands import Command, CommandKind
from gridpilot.strategies.base import Proposal, StrategyContext, StrategySettings

if TYPE_CHECKING:
    from gridpilot.engine.state import PriceOutlook, SiteState

__all__ = ["ArbitragePlan", "TariffArbitrage", "TariffArbitrageSettings", "plan_arbitrage"]

_EPS_KWH = 1e-6


class TariffArbitrageSettings(StrategySettings):
    min_spread_per_kwh: Annotated[float, Field(ge=0, le=100)] = 0.0
    """Extra margin a price difference must beat, on top of losses and wear [currency/kWh]."""
    cycle_cost_per_kwh: Annotated[float, Field(ge=0, le=100)] | None = None
    """Wear cost per kWh discharged; default ``site.battery.cycle_cost_per_kwh``."""
    default_net_load_w: Annotated[float, Field(ge=-10_000_000, le=10_000_000)] = 500.0
    """The flat net load [W] assumed when no forecast is given."""
    charge_power_w: Annotated[float, Field(gt=0, le=10_000_000)] | None = None
    """Grid charging power; default the battery's maximum."""
    allow_export: bool = False
    """Also sell stored energy to the grid when the export price beats buying it back later."""
    export_power_w: Annotated[float, Field(gt=0, le=10_000_000)] | None = None
    """The most to export from the battery [W]; default the battery's maximum."""


@dataclass(frozen=True, slots=True)
class ArbitragePlan:
    """What the price outlook implies, independent of the SOC (energies in AC kWh delivered).

    Attributes:
        price_now: the import price of the current slot.
        hold_need_kwh: energy the slots ahead that are dearer than now need before the grid is
            cheap enough to refill; hold while the stored energy does not exceed it.
        hold_price: the highest of those prices (for the trace).
        block_need_kwh: energy the first block of slots worth serving needs.
        block_price: the highest price in that block.
        cheaper_capacity_kwh: what the sources cheaper than the current slot can deliver to the
            block; the battery charges now only for the need beyond it.
        now_capacity_kwh: what charging from the grid in the current slot can deliver.
        now_is_source: whether the current slot is cheap enough to serve the block at all.
        opportunity: whether any spread in the outlook is worth acting on.
        export_ok: exporting now pays (a positive export price, later refilled for less).
        export_need_kwh: energy the slots ahead that are worth more than exporting now need.
        export_price: the export price of the current slot.
    """

    price_now: float
    hold_need_kwh: float
    hold_price: float
    block_need_kwh: float
    block_price: float
    cheaper_capacity_kwh: float
    now_capacity_kwh: float
    now_is_source: bool
    opportunity: bool
    export_ok: bool = False
    export_need_kwh: float = 0.0
    export_price: float = 0.0


def plan_arbitrage(
    start_s: np.ndarray,
    end_s: int,
    import_per_kwh: np.ndarray,
    export_per_kwh: np.ndarray,
    net_load_w: np.ndarray,
    *,
    charge_power_w: float,
    charge_efficiency: float,
    discharge_efficiency: float,
    cycle_cost_per_kwh: float,
    min_spread_per_kwh: float,
    export_power_w: float = 0.0,
) -> ArbitragePlan:
    """Plan over one price outlook (see the module text). Pure; arrays must have equal length."""
    # Few, whole-array numpy operations: this runs once per price slot in a year-long replay.
    n = int(start_s.shape[0])
    p = import_per_kwh
    dt_h = np.diff(start_s, append=end_s) * (1.0 / 3600.0)
    load = net_load_w
    demand_kwh = np.maximum(load, 0.0) * dt_h * 1e-3
    rt = charge_efficiency * discharge_efficiency
    grid_cost = p * (1.0 / rt) + cycle_cost_per_kwh
    kwh_per_w = dt_h * (rt * 1e-3)
    if bool((load < 0.0).any()):
        surplus_w = np.minimum(np.maximum(-load, 0.0), charge_power_w)
        pv_cap = surplus_w * kwh_per_w
        grid_cap = (charge_power_w - surplus_w) * kwh_per_w
        pv_cost = np.where(pv_cap > 0, export_per_kwh * (1.0 / rt) + cycle_cost_per_kwh, np.inf)
        src_cost = np.minimum(grid_cost, pv_cost)
    else:
        pv_cap = pv_cost = None
        grid_cap = charge_power_w * kwh_per_w
        src_cost = grid_cost
    price_now = float(p[0])
    spread = min_spread_per_kwh
    e = export_per_kwh
    out_kwh = None
    if export_power_w > 0:
        # What the battery could sell per slot after covering the house; never into a price <= 0.
        out_kwh = np.maximum(export_power_w - np.maximum(load, 0.0), 0.0) * dt_h * 1e-3
        out_kwh[e <= 0.0] = 0.0

    # Hold: slots dearer than now, up to the first slot where refilling beats using the energy
    # now (strictly: at break-even, keeping the energy avoids a pointless cycle).
    refill = np.flatnonzero(grid_cost[1:] < price_now - min_spread_per_kwh)
    k_star = int(refill[0]) + 1 if refill.shape[0] else n
    ahead = p[1:k_star]
    dearer = ahead > price_now + min_spread_per_kwh
    hold_need = float(demand_kwh[1:k_star] @ dearer)
    hold_price = float(ahead[dearer].max()) if dearer.any() else price_now
    if out_kwh is not None:
        e_ahead = e[1:k_star]
        e_dearer = e_ahead > price_now + spread
        if e_dearer.any():
            hold_need += float(out_kwh[1:k_star] @ e_dearer)
            hold_price = max(hold_price, float(e_ahead[e_dearer].max()))

    export_ok = False
    export_need = 0.0
    e0 = float(e[0])
    if out_kwh is not None and out_kwh[0] > 0:
        buy_back = np.flatnonzero(grid_cost[1:] < e0 - spread)
        if buy_back.shape[0]:
            k_e = int(buy_back[0]) + 1
            export_ok = True
            export_need = float(demand_kwh[1:k_e] @ (p[1:k_e] > e0 + spread)) + float(
                out_kwh[1:k_e] @ (e[1:k_e] > e0 + spread)
            )

    min_before = np.empty(n)
    min_before[0] = np.inf
    np.minimum.accumulate(src_cost[:-1], out=min_before[1:])
    worthy = (p - min_before > spread) & (demand_kwh > 0)
    worthy[0] = False
    sinks = worthy
    e_worthy = None
    if out_kwh is not None:
        e_worthy = (e - min_before > spread) & (out_kwh > 0)
        e_worthy[0] = False
        sinks = worthy | e_worthy
    idx = np.flatnonzero(sinks)
    opportunity = bool(idx.shape[0]) or hold_need > _EPS_KWH or export_ok
    if not idx.shape[0]:
        return ArbitragePlan(price_now, hold_need, hold_price, 0.0, price_now, 0.0, 0.0, False,
                             opportunity, export_ok, export_need, e0)
    j1 = int(idx[0])
    after = np.flatnonzero(grid_cost[j1 + 1 :] <= min_before[j1])
    if after.shape[0]:
        idx = idx[idx < j1 + 1 + int(after[0])]
    w = worthy[idx]
    block_need = float(demand_kwh[idx] @ w)
    block_price = float(p[idx][w].max()) if w.any() else -np.inf
    if out_kwh is not None and e_worthy is not None:
        ew = e_worthy[idx]
        if ew.any():
            block_need += float(out_kwh[idx] @ ew)
            block_price = max(block_price, float(e[idx][ew].max()))
    j_last = int(idx[-1])

    # Sources before the last sink of the block that are cheap enough to serve it and, for the
    # current slot's decision, cheaper than charging now (at equal cost the current slot is the
    # earliest, so it goes first).
    limit = block_price - min_spread_per_kwh
    now_cost = float(grid_cost[0])
    now_is_source = now_cost < limit and float(grid_cap[0]) > 0
    bound = min(limit, now_cost)
    g = grid_cost[1:j_last]
    cheaper = float(grid_cap[1:j_last] @ (g < bound))
    if pv_cap is not None and pv_cost is not None:
        cheaper += float(pv_cap[:j_last] @ (pv_cost[:j_last] < bound))
    return ArbitragePlan(
        price_now,
        hold_need,
        hold_price,
        block_need,
        block_price,
        cheaper,
        float(grid_cap[0]),
        now_is_source,
        opportunity,
        export_ok,
        export_need,
        e0,
    )


class TariffArbitrage:
    type_name: ClassVar[str] = "tariff_arbitrage"
    settings_model: ClassVar[type[StrategySettings]] = TariffArbitrageSettings

    __slots__ = ("_cache_key", "_cache_plan", "_last_in", "name", "settings")

    def __init__(self, name: str, settings: TariffArbitrageSettings) -> None:
        self.name = name
        self.settings = settings
        self._cache_key: tuple[object, ...] | None = None
        self._cache_plan: ArbitragePlan | None = None
        self._last_in: tuple[object, object, object] = (None, None, None)

    def plan(self, state: SiteState, ctx: StrategyContext) -> ArbitragePlan | None:
        """The plan for ``state.prices`` (cached: it depends only on prices, forecast and ctx)."""
        prices: PriceOutlook = state.prices
        forecast = state.forecast_net_load_w
        # The same outlook and forecast objects as last tick (the usual case between slot
        # boundaries): the cached plan holds references to them, so identity means equality.
        if prices is self._last_in[0] and forecast is self._last_in[1] and ctx is self._last_in[2]:
            return self._cache_plan
        n = len(prices)
        if n == 0:
            return None
        if forecast is not None and forecast.shape[0] != n:
            forecast = None
        charge_w = self.settings.charge_power_w or ctx.limits.max_charge_w
        charge_w = min(charge_w, ctx.limits.max_charge_w)
        cycle_cost = self.settings.cycle_cost_per_kwh
        if cycle_cost is None:
            cycle_cost = ctx.cycle_cost_per_kwh
        export_w = self._export_w(ctx)
        key = (
            int(prices.start_s[0]),
            prices.end_s,
            prices.start_s.tobytes(),
            prices.import_per_kwh.tobytes(),
            prices.export_per_kwh.tobytes(),
            None if forecast is None else forecast.tobytes(),
            charge_w,
            ctx.charge_efficiency,
            ctx.discharge_efficiency,
            cycle_cost,
            export_w,
        )
        if key == self._cache_key and self._cache_plan is not None:
            self._last_in = (prices, state.forecast_net_load_w, ctx)
            return self._cache_plan
        load = (
            forecast
            if forecast is not None
            else np.full(n, self.settings.default_net_load_w, dtype=np.float64)
        )
        plan = plan_arbitrage(
            prices.start_s,
            prices.end_s,
            prices.import_per_kwh,
            prices.export_per_kwh,
            load,
            charge_power_w=charge_w,
            charge_efficiency=ctx.charge_efficiency,
            discharge_efficiency=ctx.discharge_efficiency,
            cycle_cost_per_kwh=cycle_cost,
            min_spread_per_kwh=self.settings.min_spread_per_kwh,
            export_power_w=export_w,
        )
        self._cache_key = key
        self._cache_plan = plan
        self._last_in = (prices, state.forecast_net_load_w, ctx)
        return plan

    def _export_w(self, ctx: StrategyContext) -> float:
        if not self.settings.allow_export:
            return 0.0
        cap = ctx.limits.max_discharge_w
        if ctx.limits.max_export_w is not None:
            cap = min(cap, ctx.limits.max_export_w)
        if self.settings.export_power_w is not None:
            cap = min(cap, self.settings.export_power_w)
        return cap

    def propose(self, state: SiteState, ctx: StrategyContext) -> Proposal:
        plan = self.plan(state, ctx)
        if plan is None:
            return Proposal(None, "no prices known")
        limits = ctx.limits
        soc = state.soc_pct
        charge_w = min(self.settings.charge_power_w or limits.max_charge_w, limits.max_charge_w)
        if plan.price_now < 0:
            if soc < limits.max_soc_pct:
                return Proposal(
                    Command(
                        CommandKind.CHARGE, power_w=charge_w, target_soc_pct=limits.max_soc_pct
                    ),
                    f"import price {plan.price_now:g} is negative: charge",
                )
            return Proposal(
                Command(CommandKind.HOLD),
                f"import price {plan.price_now:g} is negative and the battery is full: hold",
            )
        kwh_per_pct = limits.capacity_kwh / 100.0 * ctx.discharge_efficiency
        stored_kwh = max(0.0, soc - ctx.reserve_soc_pct) * kwh_per_pct
        room_kwh = max(0.0, limits.max_soc_pct - soc) * kwh_per_pct
        deficit = plan.block_need_kwh - stored_kwh
        if plan.now_is_source and deficit > plan.cheaper_capacity_kwh + _EPS_KWH:
            now_kwh = min(deficit - plan.cheaper_capacity_kwh, plan.now_capacity_kwh, room_kwh)
            if now_kwh > _EPS_KWH:
                target = min(limits.max_soc_pct, soc + now_kwh / kwh_per_pct)
                target = math.ceil(target * 10.0) / 10.0
                target = min(target, limits.max_soc_pct)
                return Proposal(
                    Command(CommandKind.CHARGE, power_w=charge_w, target_soc_pct=target),
                    f"slots at up to {plan.block_price:g} ahead need {plan.block_need_kwh:.2f} kWh;"
                    f" now ({plan.price_now:g}) is among the cheapest slots to buy"
                    f" {now_kwh:.2f} kWh: charge to {target:g} %",
                )
        if stored_kwh <= _EPS_KWH:
            return Proposal(None, "nothing stored above the reserve and no charge worth buying")
        if plan.export_ok and stored_kwh > plan.export_need_kwh + _EPS_KWH:
            sell_kwh = stored_kwh - plan.export_need_kwh
            floor = max(ctx.reserve_soc_pct, soc - sell_kwh / kwh_per_pct)
            floor = math.ceil(floor * 10.0) / 10.0
            power_w = min(limits.max_discharge_w,
                          self._export_w(ctx) + max(state.load_w - state.pv_w, 0.0))
            if floor < soc and power_w > 0:
                return Proposal(
                    Command(CommandKind.DISCHARGE, power_w=power_w, floor_soc_pct=floor),
                    f"export {sell_kwh:.2f} kWh at {plan.export_price:g}: it can be bought back"
                    f" for less later; keep {plan.export_need_kwh:.2f} kWh for dearer slots",
                )
        if plan.hold_need_kwh > _EPS_KWH and stored_kwh <= plan.hold_need_kwh + _EPS_KWH:
            return Proposal(
                Command(CommandKind.HOLD),
                f"keep the stored {stored_kwh:.2f} kWh for slots at up to {plan.hold_price:g}"
                f" (now {plan.price_now:g})",
            )
        if plan.opportunity:
            if plan.hold_need_kwh > _EPS_KWH:
                why = (f"the stored {stored_kwh:.2f} kWh is more than the {plan.hold_need_kwh:.2f}"
                       f" kWh the dearer slots ahead need: use it now ({plan.price_now:g})")
            else:
                why = (f"nothing ahead is dearer than now ({plan.price_now:g}) before the grid is"
                       " cheap enough to refill: use stored energy")
            return Proposal(Command(CommandKind.SELF_CONSUMPTION), why)
        return Proposal(None, "no price spread ahead beats round-trip losses and wear")

    def __repr__(self) -> str:
        return f"TariffArbitrage({self.name!r})"
