"""``backup_reserve``: keep energy for outages.

- **Reserve.** When the SOC falls ``force_charge_margin_pct`` below ``reserve_soc_pct`` the battery
  charges from the grid back up to the reserve (and keeps charging until it is reached, so the
  margin acts as hysteresis). Above the reserve the strategy has nothing to say and the next rule
  decides; pair it with a ``backup_reserve`` guard so no other rule discharges below the reserve.
- **Risk windows** (a storm warning, a planned grid outage): each gives a calendar window (``time``,
  ``days``, ``months``, ``dates`` or ``cron`` + ``for``, read in the site's timezone) and a
  ``target_soc_pct``. Ahead of a window that starts within the known prices, the battery charges in
  the cheapest slots before the window start so the target is met when it opens, and holds once the
  target is reached; inside the window it holds.

Window edges are located on a 5-minute grid over the price outlook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import Field, model_validator

from gridpilot.calendar.when import When
from gridpilot.calendar.window import Window
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.hold import Hold
from gridpilot.engine.proposal import Proposal, StrategyContext
from gridpilot.strategies.base import StrategySettings

if TYPE_CHECKING:
    from gridpilot.engine.state import SiteState

__all__ = ["BackupReserve", "BackupReserveSettings", "RiskPlan", "RiskWindow"]

_GRID_S = 300
_BLOCK_S = 4 * 86_400


class RiskWindow(When):
    """A calendar window (the fields of a rule's ``when``, without price or SOC conditions)."""

    name: str = ""
    target_soc_pct: Annotated[float, Field(ge=0, le=100)] = 100.0

    @model_validator(mode="after")
    def _calendar_only(self) -> RiskWindow:
        conditions = (self.price_below, self.price_above, self.soc_below_pct, self.soc_above_pct)
        if any(c is not None for c in conditions):
            raise ValueError("a risk window is a calendar window: no price or SOC conditions")
        if all(v is None for v in (self.time, self.days, self.months, self.dates, self.cron)):
            raise ValueError("a risk window needs time, days, months, dates or cron")
        return self


class BackupReserveSettings(StrategySettings):
    reserve_soc_pct: Annotated[float, Field(ge=0, le=100)] = 20.0
    force_charge_margin_pct: Annotated[float, Field(ge=0, le=50)] = 2.0
    charge_power_w: Annotated[float, Field(gt=0, le=10_000_000)] | None = None
    """Grid charging power; default the battery's maximum."""
    risk_windows: tuple[RiskWindow, ...] = ()


@dataclass(frozen=True, slots=True)
class RiskPlan:
    """The next risk window over one price outlook, with the charging capacity before it.

    Capacities are stored kWh at full charging power. ``start_s`` is ``None`` when no window opens
    within the outlook; ``inside`` marks the 5-minute grid points (from ``grid_start_s``) that lie
    inside a window.
    """

    grid_start_s: int
    inside: np.ndarray
    start_s: int | None
    target_soc_pct: float
    name: str
    cheaper_capacity_kwh: float
    now_capacity_kwh: float


def _mask_edge_s(plan: RiskPlan, i: int) -> float:
    """When the risk-window mask next changes after grid point ``i`` [UNIX s]."""
    inside = plan.inside
    n = inside.shape[0]
    if i < 0:
        return float(plan.grid_start_s)
    if i >= n:
        return math.inf
    # The first grid point past i whose answer differs from i's: one vector operation on a full
    # decide, none on a held tick. Past the mask nothing is inside.
    later = np.flatnonzero(inside[i + 1:] != inside[i])
    if later.shape[0]:
        return float(plan.grid_start_s + (i + 1 + int(later[0])) * _GRID_S)
    return float(plan.grid_start_s + n * _GRID_S) if inside[i] else math.inf


class BackupReserve:
    type_name: ClassVar[str] = "backup_reserve"
    settings_model: ClassVar[type[StrategySettings]] = BackupReserveSettings

    __slots__ = ("_block", "_cache_key", "_cache_plan", "_last", "_tz", "_windows", "name",
                 "settings")

    def __init__(self, name: str, settings: BackupReserveSettings) -> None:
        self.name = name
        self.settings = settings
        self._tz: ZoneInfo | None = None
        self._windows: list[tuple[RiskWindow, Window]] = []
        self._cache_key: tuple[object, ...] | None = None
        self._cache_plan: RiskPlan | None = None
        # The outlook, context and charge power the cached plan was last returned for: ticks
        # that share the outlook object skip building the byte key.
        self._last: tuple[object, object, float] | None = None
        self._block: tuple[int, int, str, int, np.ndarray, list[tuple[int, float, str]]] | None = (
            None
        )

    def _compiled(self, tz: ZoneInfo) -> list[tuple[RiskWindow, Window]]:
        if self._tz != tz:
            self._windows = [
                (rw, Window(When.model_validate(rw.model_dump(
                    by_alias=True, exclude={"name", "target_soc_pct"})), tz))
                for rw in self.settings.risk_windows
            ]
            self._tz = tz
        return self._windows

    def risk_plan(self, state: SiteState, ctx: StrategyContext, charge_w: float) -> RiskPlan | None:
        """The next risk window within ``state.prices`` (cached per outlook)."""
        prices = state.prices
        if not self.settings.risk_windows or len(prices) == 0:
            return None
        last = self._last
        if last is not None and last[0] is prices and last[1] is ctx and last[2] == charge_w:
            return self._cache_plan
        key = (
            prices.start_s.tobytes(),
            prices.end_s,
            prices.import_per_kwh.tobytes(),
            charge_w,
            ctx.charge_efficiency,
            ctx.tz.key,
        )
        if key != self._cache_key:
            self._cache_plan = self._plan(
                prices.start_s, prices.end_s, prices.import_per_kwh, ctx, charge_w
            )
            self._cache_key = key
        self._last = (prices, ctx, charge_w)
        return self._cache_plan

    def _calendar(
        self, g0: int, end_s: int, ctx: StrategyContext
    ) -> tuple[int, np.ndarray, list[tuple[int, float, str]]]:
        """Risk-window masks on a 5-minute grid covering ``[g0, end_s)``, cached in blocks of
        several days: they depend only on the calendar, not on the prices."""
        block = self._block
        if block is not None and block[0] <= g0 and end_s <= block[1] and block[2] == ctx.tz.key:
            return block[3], block[4], block[5]
        b0 = g0 - g0 % _GRID_S
        b1 = max(end_s, b0 + _BLOCK_S) + _GRID_S
        grid = np.arange(b0, b1, _GRID_S, dtype=np.int64)
        inside = np.zeros(grid.shape[0], dtype=bool)
        opens: list[tuple[int, float, str]] = []
        for rw, window in self._compiled(ctx.tz):
            mask = window.calendar_mask(grid)
            inside |= mask
            for i in np.flatnonzero(mask[1:] & ~mask[:-1]) + 1:
                opens.append((int(grid[i]), rw.target_soc_pct, rw.name))
        opens.sort()
        self._block = (b0, b1 - _GRID_S, ctx.tz.key, b0, inside, opens)
        return b0, inside, opens

    def _plan(
        self,
        start_s: np.ndarray,
        end_s: int,
        price: np.ndarray,
        ctx: StrategyContext,
        charge_w: float,
    ) -> RiskPlan:
        g0 = int(start_s[0])
        base, inside, opens = self._calendar(g0, end_s, ctx)
        best = next(((ws, tgt, name) for ws, tgt, name in opens if g0 < ws < end_s), None)
        if best is None:
            return RiskPlan(base, inside, None, 0.0, "", 0.0, 0.0)
        ws = best[0]
        ends = np.append(start_s[1:], end_s)
        usable_s = np.clip(np.minimum(ends, ws) - start_s, 0, None).astype(np.float64)
        cap = charge_w * usable_s / 3.6e6 * ctx.charge_efficiency
        before = (np.arange(start_s.shape[0]) > 0) & (price < price[0]) & (cap > 0)
        return RiskPlan(
            base, inside, ws, best[1], best[2], float(cap[before].sum()), float(cap[0])
        )

    def propose(self, state: SiteState, ctx: StrategyContext) -> Proposal:
        limits = ctx.limits
        soc = state.soc_pct
        hold = Hold()
        reserve = min(max(self.settings.reserve_soc_pct, limits.min_soc_pct), limits.max_soc_pct)
        charge_w = min(self.settings.charge_power_w or limits.max_charge_w, limits.max_charge_w)
        active = state.active_command
        recharging = active is not None and active.kind is CommandKind.CHARGE
        if hold.soc_lt(soc, reserve - self.settings.force_charge_margin_pct) or (
            recharging and hold.soc_lt(soc, reserve)
        ):
            return Proposal(
                Command(CommandKind.CHARGE, power_w=charge_w, target_soc_pct=reserve),
                f"SOC {soc:.1f} % is below the reserve {reserve:g} %: force-charge",
                hold,
            )
        plan = self.risk_plan(state, ctx, charge_w)
        if plan is None:
            return Proposal(None, f"SOC {soc:.1f} % at or above the reserve {reserve:g} %", hold)
        t_s = state.time.timestamp()
        i = int((t_s - plan.grid_start_s) // _GRID_S)
        hold.until(_mask_edge_s(plan, i))
        if 0 <= i < plan.inside.shape[0] and plan.inside[i]:
            return Proposal(Command(CommandKind.HOLD), "inside a risk window: hold the charge",
                            hold)
        if plan.start_s is None or plan.start_s <= t_s:
            return Proposal(None, "no risk window opens within the known prices", hold)
        hold.until(plan.start_s)
        target = min(max(plan.target_soc_pct, reserve), limits.max_soc_pct)
        label = plan.name or "risk window"
        need_kwh = (target - soc) / 100.0 * limits.capacity_kwh
        # need_kwh falls as the SOC rises (every step of it is monotonic), so each test below
        # keeps its answer on the far side of this SOC.
        if need_kwh <= 1e-6:
            hold.soc_ge(soc, soc)
            return Proposal(
                Command(CommandKind.HOLD),
                f"{label} opens in {(plan.start_s - t_s) / 3600:.1f} h: target {target:g} % "
                "reached, hold",
                hold,
            )
        hold.soc_le(soc, soc)
        if need_kwh > plan.cheaper_capacity_kwh + 1e-6:
            target_now = min(target, math.ceil(target * 10.0) / 10.0)
            return Proposal(
                Command(CommandKind.CHARGE, power_w=charge_w, target_soc_pct=target_now),
                f"{label} opens in {(plan.start_s - t_s) / 3600:.1f} h: pre-charge to "
                f"{target:g} % (now is among the cheapest slots before it)",
                hold,
            )
        hold.pin_soc(soc)
        return Proposal(
            None,
            f"{label} opens in {(plan.start_s - t_s) / 3600:.1f} h: pre-charge to {target:g} % "
            "planned in cheaper slots",
            hold,
        )

    def __repr__(self) -> str:
        return f"BackupReserve({self.name!r}, reserve_soc_pct={self.settings.reserve_soc_pct:g})"
