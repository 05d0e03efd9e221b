"""``tariff_arbitrage``: the cheapest battery schedule over the known prices, one slot at a time.

Model-predictive: on the prices known at the tick (``state.prices``, from the current slot on: a
fixed time-of-use schedule or a day-ahead publication, at 5, 15, 30 or 60-minute slots or a mix)
and the net-load forecast (``state.forecast_net_load_w``, aligned with the price slots; without
one a flat ``default_net_load_w``), it solves a small linear programme with the same battery
model as the perfect-foresight optimum (:mod:`gridpilot.strategies.arbitrage_plan`): efficiencies,
power limits, the effective reserve as the floor, import and export prices, the export limit and
``cycle_cost_per_kwh``. Energy left at the end of the outlook is valued at the cheapest known
price, so the plan neither hoards nor dumps it. The plan's current slot becomes the command:

* **charge** when the plan buys from the grid now: at ``charge_power_w`` up to the SOC the plan
  reaches at the end of the slot (a slot among the cheapest of the outlook, never merely the
  first one under some price);
* **discharge** when the plan sells stored energy now (only with ``allow_export``, never into an
  export price <= 0), down to the SOC the plan keeps for later;
* **self_consumption** when the plan covers the house from the battery now (with no floor at
  the plan's SOC: a house that needs more than forecast is still covered, and the SOC drifting
  below the plan makes it replan how to share what is left);
* **hold** when the plan keeps the stored energy for later (the house runs on the grid).

A negative import price always charges at full power (being paid to take energy always pays). A
cycle is only planned when its spread beats the round-trip losses plus ``cycle_cost_per_kwh``
plus a margin, so equal or negative spreads never cycle. The margin is ``min_spread_per_kwh`` if
given, else ``min_spread_pct`` (default 10) percent of the outlook's time-weighted mean import
price: the forecast is never exact, and a spread just above break-even loses money once PV or
load turn out otherwise (grid-charged energy leaves no room for PV that is then exported cheaply).
When no spread in the outlook is worth acting on, the strategy proposes nothing and the next
rule decides.

Cost: a plan is solved when a new outlook is published (prices not covered by the plan, or
prices that differ from it; a rolling fixed schedule replans once a quarter of what it shows is
new), when the context changes (for example a reserve guard opens), and when the SOC has left
the plan's trajectory by more than ``replan_tolerance_pct``. Every solve starts HiGHS from the
basis it last reached: a re-solve changes bounds only, and a plan of the same size changes the
model in place (:class:`~gridpilot.strategies.arbitrage_plan.PlanSolver`), so where several plans
cost the same, which one comes back may depend on the plans solved before. The SOC is checked
when a new outlook object arrives (a replay hands one to each slot, a live loop builds one per
tick); a tick with the same outlook object as the last one reuses the slot's answer, a few
attribute reads. So within the tolerance the answer depends on the plan made at the last solve,
not only on the tick's state, and forecast updates between publications are picked up at the
next replan. ``python benchmarks/bench_arbitrage.py`` reports the plans solved and their cost
(``--cpu``: the replay's CPU time, and the HiGHS runs in it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from gridpilot.arrays import FloatArray
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.hold import ALWAYS, Hold
from gridpilot.engine.proposal import Proposal, StrategyContext
from gridpilot.lp.battery import Storage
from gridpilot.strategies.arbitrage_plan import (
    PlanInputs,
    PlanResult,
    PlanSolver,
    new_solver,
    resolve_plan,
    solve_plan,
)
from gridpilot.strategies.base import StrategySettings

if TYPE_CHECKING:
    from gridpilot.engine.state import PriceOutlook, SiteState

__all__ = [
    "DEFAULT_MIN_SPREAD_PCT",
    "SlotAction",
    "TariffArbitrage",
    "TariffArbitrageSettings",
    "mean_price",
    "price_opportunity",
    "slot_kind",
    "slot_kinds",
]


_TOL_W = 20.0
"""Planned flows below this are rounding noise of the solver [W]."""
_TIE = 1e-6
_EMPTY_PCT = 0.05
"""Within this of the reserve there is nothing to hold [%]."""
_NOTHING_STORED = Proposal(None, "nothing stored above the reserve and no charge worth buying")
_SELF_CONSUMPTION = Command(CommandKind.SELF_CONSUMPTION)
_HOLD = Command(CommandKind.HOLD)
"""A command is immutable: these two, which carry nothing of the slot, are built once."""
DEFAULT_MIN_SPREAD_PCT = 10.0
"""The default ``min_spread_pct``: measured on the bundled UK 2018 year (``docs/strategies.md``)."""


class TariffArbitrageSettings(StrategySettings):
    min_spread_pct: Annotated[float, Field(ge=0, le=100)] = DEFAULT_MIN_SPREAD_PCT
    """Extra margin a price difference must beat, on top of losses and wear, as a percentage of
    the mean import price of the known prices: it covers forecast error, which otherwise turns
    spreads just above break-even into losses."""
    min_spread_per_kwh: Annotated[float, Field(ge=0, le=100)] | None = None
    """The extra margin as a fixed price [currency/kWh]; when given, it replaces
    ``min_spread_pct`` (``0`` plans every cycle that beats losses and wear)."""
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
    replan_tolerance_pct: Annotated[float, Field(gt=0, le=50)] = 5.0
    """How far the SOC may leave the plan's trajectory before the plan is solved again [%]."""


@dataclass(frozen=True, slots=True)
class SlotAction:
    """What the plan does in one slot, as a command-ready summary."""

    kind: CommandKind | None
    """``None`` when no spread from this slot on is worth acting on."""
    soc_start_pct: float
    soc_end_pct: float
    price: float
    export_price: float


_KINDS: tuple[CommandKind | None, ...] = (
    None, CommandKind.CHARGE, CommandKind.DISCHARGE, CommandKind.SELF_CONSUMPTION,
    CommandKind.HOLD,
)


def price_opportunity(import_per_kwh: FloatArray, export_per_kwh: FloatArray, *,
                      round_trip: float, wear_per_kwh: float, min_spread_per_kwh: float,
                      export_open: bool) -> npt.NDArray[np.int8]:
    """Per slot ``k``: is any spread from ``k`` on worth acting on? ``2``: a dearer slot comes
    later than ``k``, so holding pays; ``1``: holding does not pay, but a slot ``i >= k`` is cheap
    enough to buy for a dearer one after it (cycling pays) or the price is negative; ``0``:
    nothing pays."""
    p = import_per_kwh
    e = export_per_kwh
    n = int(p.shape[0])
    sink = np.maximum(p, np.where(e > 0, e, -np.inf)) if export_open else p
    src = p / round_trip + wear_per_kwh + min_spread_per_kwh
    later_max = np.full(n, -np.inf)
    if n > 1:
        later_max[:-1] = np.maximum.accumulate(sink[::-1])[::-1][1:]
    hold_pays = later_max > p + min_spread_per_kwh + _TIE
    cycle_gain = np.maximum.accumulate((later_max - src)[::-1])[::-1]
    acting_pays = hold_pays | (cycle_gain > _TIE) | (p < 0)
    out: npt.NDArray[np.int8] = np.where(hold_pays, 2, np.where(acting_pays, 1, 0)).astype(
        np.int8)
    return out


def slot_kind(charge_w: float, discharge_w: float, net_w: float, opportunity: int) -> int:
    """:func:`slot_kinds` of one slot, from its planned flows, net load and opportunity code:
    a plan is asked for a few of its slots only, so each is worked out when it is asked for."""
    if opportunity <= 0:
        return 0
    pos = net_w if net_w > 0.0 else 0.0
    if charge_w - discharge_w > (-net_w if -net_w > 0.0 else 0.0) + _TOL_W:
        return 1
    if discharge_w - charge_w > pos + _TOL_W:
        return 2
    if discharge_w > _TOL_W or pos <= _TOL_W or opportunity < 2:
        return 3
    return 4


def slot_kinds(plan: PlanResult, opportunity: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """Index into the kinds (none, charge, discharge, self_consumption, hold) that run each
    slot of ``plan`` (see the module text). ``opportunity`` is :func:`price_opportunity`'s code:
    a slot holds only where something dearer comes later; where the plan merely leaves the
    battery alone at a tie, it runs self-consumption instead, so it never waits for nothing."""
    bat = plan.discharge_w - plan.charge_w
    net = plan.net_w
    pos = np.maximum(net, 0.0)
    code = np.where(
        -bat > np.maximum(-net, 0.0) + _TOL_W, 1,
        np.where(bat > pos + _TOL_W, 2,
                 np.where((plan.discharge_w > _TOL_W) | (pos <= _TOL_W), 3, 4)))
    code = np.where((code == 4) & (opportunity < 2), 3, code)
    return np.where(opportunity > 0, code, 0).astype(np.int8)


@dataclass(slots=True)
class _Plan:
    result: PlanResult
    start_b: bytes
    import_b: bytes
    export_b: bytes
    import_per_kwh: FloatArray
    export_per_kwh: FloatArray
    opportunity: npt.NDArray[np.int8]
    soc_pct: list[float]
    ctx: StrategyContext
    slot_index: dict[int, int]
    """The index of each slot start [UNIX s] (a re-solve shares its plan's)."""
    actions: list[SlotAction | None]
    """Each slot's action once asked for: a tick asks for its slot's twice."""

    def action(self, k: int) -> SlotAction:
        act = self.actions[k]
        if act is None:
            r = self.result
            kind = slot_kind(float(r.charge_w[k]), float(r.discharge_w[k]), float(r.net_w[k]),
                             int(self.opportunity[k]))
            act = self.actions[k] = SlotAction(
                _KINDS[kind], self.soc_pct[k], self.soc_pct[k + 1],
                float(self.import_per_kwh[k]), float(self.export_per_kwh[k]))
        return act


@dataclass(slots=True)
class _Answer:
    """The proposal for one slot of one plan, and the outlook object it was last given for."""

    prices: object
    ctx: StrategyContext
    plan: _Plan
    k: int
    action: SlotAction
    proposal: Proposal

    def answer(self, soc_pct: float, ctx: StrategyContext) -> Proposal:
        """The proposal at ``soc_pct``: the same object for every tick of the outlook (so it
        holds whatever the state), but for a ``hold`` that turns to nothing once the battery is
        empty."""
        if self.action.kind is CommandKind.HOLD:
            hold = Hold()
            if hold.soc_le(soc_pct, ctx.reserve_soc_pct + _EMPTY_PCT):
                return Proposal(_NOTHING_STORED.command, _NOTHING_STORED.reason, hold)
            return Proposal(self.proposal.command, self.proposal.reason, hold)
        return self.proposal


class TariffArbitrage:
    type_name: ClassVar[str] = "tariff_arbitrage"
    settings_model: ClassVar[type[StrategySettings]] = TariffArbitrageSettings

    __slots__ = ("_last", "_plan", "_solver", "name", "settings", "solves")

    def __init__(self, name: str, settings: TariffArbitrageSettings) -> None:
        self.name = name
        self.settings = settings
        self._plan: _Plan | None = None
        self._solver: PlanSolver | None = None
        self._last: _Answer | None = None
        self.solves = 0
        """How many plans were solved (for benchmarks and tests)."""

    # -- planning -----------------------------------------------------------------------------

    def _margin(self, prices: PriceOutlook, import_per_kwh: FloatArray) -> float:
        """The extra margin [currency/kWh]: ``min_spread_per_kwh`` if given, else
        ``min_spread_pct`` of the time-weighted mean import price (never below zero)."""
        fixed = self.settings.min_spread_per_kwh
        if fixed is not None:
            return fixed
        pct = self.settings.min_spread_pct
        if pct <= 0.0:
            return 0.0
        return pct / 100.0 * max(mean_price(prices.start_s, prices.end_s, import_per_kwh), 0.0)

    def _inputs(self, ctx: StrategyContext, min_spread_per_kwh: float) -> PlanInputs:
        lim = ctx.limits
        charge_w = min(self.settings.charge_power_w or lim.max_charge_w, lim.max_charge_w)
        wear = self.settings.cycle_cost_per_kwh
        if wear is None:
            wear = ctx.cycle_cost_per_kwh
        floor_pct = max(ctx.reserve_soc_pct, lim.min_soc_pct)
        return PlanInputs(
            Storage(
                charge_w=charge_w,
                discharge_w=lim.max_discharge_w,
                charge_efficiency=ctx.charge_efficiency,
                discharge_efficiency=ctx.discharge_efficiency,
                floor_kwh=lim.capacity_kwh * floor_pct / 100.0,
                top_kwh=lim.capacity_kwh * lim.max_soc_pct / 100.0,
            ),
            wear_per_kwh=wear,
            min_spread_per_kwh=min_spread_per_kwh,
            export_w=self._export_w(ctx),
            max_import_w=lim.max_import_w,
            max_export_w=lim.max_export_w,
        )

    def _export_w(self, ctx: StrategyContext) -> float:
        if not self.settings.allow_export:
            return 0.0
        cap = ctx.limits.max_discharge_w
        if ctx.limits.max_export_w is not None:
            cap = min(cap, ctx.limits.max_export_w)
        if self.settings.export_power_w is not None:
            cap = min(cap, self.settings.export_power_w)
        return cap

    def _solve(self, state: SiteState, ctx: StrategyContext) -> _Plan | None:
        prices = state.prices
        n = len(prices)
        forecast = state.forecast_net_load_w
        if forecast is None or forecast.shape[0] != n or not np.isfinite(forecast).all():
            net = np.full(n, self.settings.default_net_load_w, dtype=np.float64)
        else:
            net = np.asarray(forecast, dtype=np.float64)
        imp = np.asarray(prices.import_per_kwh, dtype=np.float64)
        exp = np.asarray(prices.export_per_kwh, dtype=np.float64)
        if not (np.isfinite(imp).all() and np.isfinite(exp).all()):
            return None
        inputs = self._inputs(ctx, self._margin(prices, imp))
        if self._solver is None:
            self._solver = new_solver()
        result = solve_plan(state.time.timestamp(), prices.start_s, prices.end_s, imp, exp, net,
                            self._stored_kwh(state, ctx), inputs, self._solver)
        self.solves += 1
        if result is None:
            return None
        opportunity = price_opportunity(
            imp, exp, round_trip=ctx.charge_efficiency * ctx.discharge_efficiency,
            wear_per_kwh=inputs.wear_per_kwh, min_spread_per_kwh=inputs.min_spread_per_kwh,
            export_open=inputs.export_w > 0)
        start = np.ascontiguousarray(prices.start_s, dtype=np.int64)
        starts = start.tolist()
        # The first of equal starts wins, as a search of the sorted starts would find it.
        slot_index = dict(zip(reversed(starts), range(len(starts) - 1, -1, -1), strict=True))
        return self._wrap(result, (start.tobytes(), imp.tobytes(), exp.tobytes()), imp, exp,
                          opportunity, ctx, slot_index)

    def _resolve(self, plan: _Plan, k: int, state: SiteState) -> _Plan | None:
        assert self._solver is not None
        result = resolve_plan(self._solver, plan.result, k, self._stored_kwh(state, plan.ctx))
        self.solves += 1
        if result is None:
            return None
        return self._wrap(result, (plan.start_b, plan.import_b, plan.export_b),
                          plan.import_per_kwh, plan.export_per_kwh, plan.opportunity, plan.ctx,
                          plan.slot_index)

    @staticmethod
    def _wrap(result: PlanResult, outlook_b: tuple[bytes, bytes, bytes], imp: FloatArray,
              exp: FloatArray, opportunity: npt.NDArray[np.int8], ctx: StrategyContext,
              slot_index: dict[int, int]) -> _Plan:
        soc = np.concatenate(([result.start_kwh], result.stored_kwh))
        soc *= 100.0 / ctx.limits.capacity_kwh
        return _Plan(result, *outlook_b, imp, exp, opportunity, soc.tolist(), ctx, slot_index,
                     [None] * int(imp.shape[0]))

    @staticmethod
    def _stored_kwh(state: SiteState, ctx: StrategyContext) -> float:
        lim = ctx.limits
        soc = state.soc_pct
        soc = lim.min_soc_pct if not math.isfinite(soc) else soc
        return lim.capacity_kwh * min(max(soc, lim.min_soc_pct), lim.max_soc_pct) / 100.0

    def _slot_of(self, plan: _Plan, prices: PriceOutlook, state: SiteState) -> int | None:
        """The index in ``plan`` of the current slot, if the plan still stands for ``prices``."""
        k = plan.slot_index.get(int(prices.start_s[0]))
        if k is None or k < plan.result.from_slot:
            # Not in the plan, or a slot the plan has already fixed as past.
            return None
        m = len(plan.start_b) // 8
        # Byte comparisons of the slots both cover: far cheaper than element-wise ones, and
        # exact; only those slots are copied out of the outlook.
        w = min(m - k, len(prices.start_s))
        a, b = 8 * k, 8 * (k + w)
        if (
            np.ascontiguousarray(prices.start_s[:w], dtype=np.int64).tobytes()
            != plan.start_b[a:b]
            or np.ascontiguousarray(prices.import_per_kwh[:w], dtype=np.float64).tobytes()
            != plan.import_b[a:b]
            or np.ascontiguousarray(prices.export_per_kwh[:w], dtype=np.float64).tobytes()
            != plan.export_b[a:b]
        ):
            return None
        end_s = plan.result.end_s
        if prices.end_s > end_s:
            # More is known than the plan saw: a new publication, or a rolling fixed schedule.
            # Replan once the news is a quarter of what is known, or the plan runs short.
            new_s = prices.end_s - end_s
            t_s = state.time.timestamp()
            if new_s * 4 >= prices.end_s - t_s or end_s - t_s < 6 * 3600:
                return None
        return k

    # -- proposing ----------------------------------------------------------------------------

    def propose(self, state: SiteState, ctx: StrategyContext) -> Proposal:
        prices = state.prices
        last = self._last
        soc = state.soc_pct
        if last is not None and last.prices is prices and last.ctx is ctx:
            # The same outlook object as the last tick: the same slot of the same plan. The SOC
            # was checked against the plan when the slot's outlook first came (a replay hands
            # the same object to every tick of a slot; a live loop builds one per tick).
            return last.answer(soc, ctx)
        if len(prices) == 0:
            return Proposal(None, "no prices known", ALWAYS)
        plan = self._plan
        k = None
        act: SlotAction | None = None
        if plan is not None and (plan.ctx is ctx or plan.ctx == ctx):
            k = self._slot_of(plan, prices, state)
        if plan is None or k is None:
            plan = self._plan = self._solve(state, ctx)
            k = 0
        else:
            act = plan.action(k)
            tol = self.settings.replan_tolerance_pct
            if act.kind is not None and not (
                min(act.soc_start_pct, act.soc_end_pct) - tol <= soc
                <= max(act.soc_start_pct, act.soc_end_pct) + tol
            ):
                plan = self._plan = self._resolve(plan, k, state)
                act = None
            elif last is not None and last.plan is plan and last.k == k:
                # A new outlook object for the slot already decided (a live loop builds one
                # per tick).
                self._last = _Answer(prices, ctx, plan, k, last.action, last.proposal)
                return last.answer(soc, ctx)
        if plan is None:
            self._last = None
            return Proposal(None, "the plan could not be solved")
        if act is None:
            act = plan.action(k)
        answer = _Answer(prices, ctx, plan, k, act, self._proposal(act, state, ctx))
        self._last = answer
        return answer.answer(soc, ctx)

    def _proposal(self, act: SlotAction, state: SiteState, ctx: StrategyContext) -> Proposal:
        """The slot's proposal, holding whatever the state: later ticks given the same outlook
        get this very proposal (see :meth:`_Answer.answer`)."""
        lim = ctx.limits
        price = act.price
        if price < 0:
            charge_w = min(self.settings.charge_power_w or lim.max_charge_w, lim.max_charge_w)
            return Proposal(
                Command(CommandKind.CHARGE, power_w=charge_w, target_soc_pct=lim.max_soc_pct),
                f"import price {price:g} is negative: charge", ALWAYS)
        kind = act.kind
        end = act.soc_end_pct
        if kind is CommandKind.SELF_CONSUMPTION:
            # No floor at the plan's SOC: when the house needs more than forecast, the battery
            # covers it and the SOC drifts below the plan, which replans how to share the rest.
            return Proposal(_SELF_CONSUMPTION,
                            f"use stored energy now ({price:g}); the plan reaches {end:.1f} %"
                            " by the slot's end", ALWAYS)
        if kind is None:
            return Proposal(None, "no price spread ahead beats round-trip losses and wear", ALWAYS)
        if kind is CommandKind.CHARGE:
            charge_w = min(self.settings.charge_power_w or lim.max_charge_w, lim.max_charge_w)
            target = min(lim.max_soc_pct, math.ceil(end * 10.0 - 1e-6) / 10.0)
            return Proposal(
                Command(CommandKind.CHARGE, power_w=charge_w, target_soc_pct=target),
                f"now ({price:g}) is among the cheapest slots that pay for later use:"
                f" charge to {target:g} %", ALWAYS)
        if kind is CommandKind.DISCHARGE:
            floor = _floor_pct(end, ctx)
            power_w = min(lim.max_discharge_w,
                          self._export_w(ctx) + max(state.load_w - state.pv_w, 0.0))
            return Proposal(
                Command(CommandKind.DISCHARGE, power_w=power_w, floor_soc_pct=floor),
                f"export at {act.export_price:g}: it can be bought back for less later;"
                f" keep {floor:g} % for dearer slots", ALWAYS)
        return Proposal(_HOLD,
                        f"keep the stored energy for dearer slots ahead (now {price:g})", ALWAYS)

    def __repr__(self) -> str:
        return f"TariffArbitrage({self.name!r})"


def mean_price(start_s: npt.ArrayLike, end_s: float, per_kwh: FloatArray) -> float:
    """The mean of ``per_kwh`` over the slots starting at ``start_s`` (the last ending at
    ``end_s``), each weighted by its length, so a mix of slot lengths counts time, not slots."""
    starts = np.asarray(start_s, dtype=np.float64)
    lengths = np.diff(np.append(starts, float(end_s)))
    total = float(lengths.sum())
    if lengths.shape[0] == 0 or not total > 0.0 or (lengths < 0.0).any():
        return float(np.mean(per_kwh)) if per_kwh.shape[0] else 0.0
    return float(np.dot(lengths, per_kwh) / total)


def _floor_pct(end_pct: float, ctx: StrategyContext) -> float:
    """The plan's end-of-slot SOC as a floor, rounded down to 0.1 % and kept within limits."""
    lim = ctx.limits
    floor = math.floor(end_pct * 10.0 + 1e-6) / 10.0
    return min(max(floor, lim.min_soc_pct), lim.max_soc_pct)
