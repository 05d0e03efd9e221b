"""``peak_shaving``: keep grid import at or below ``max_import_w``.

Above the threshold the battery discharges by the excess (a ``peak_shave`` command, which the device
or battery model follows second by second). It recharges from the grid only while the house's own
import is below the lower ``recharge_below_w``, at a power that keeps the import under that
threshold, so recharging never makes a new peak. Thresholds have hysteresis: recharging starts once
the import is ``control.hysteresis_w`` below ``recharge_below_w`` and continues until it reaches it.

With a demand charge (``tariff.demand_charge_per_kw``) and ``track_month_peak`` the threshold
rises to the month's peak so far: once the month has set a peak, shaving below it saves nothing,
and the energy is better kept for the peaks still to come.

Settings:
    max_import_w: the import threshold [W].
    recharge_below_w: recharge from the grid only below this import [W]; default 80 % of
        ``max_import_w``.
    target_soc_pct: recharge up to this SOC [%]; default the battery's maximum.
    track_month_peak: follow the month's peak when there is a demand charge (default true).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar

from pydantic import Field, model_validator

from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.hold import Hold
from gridpilot.engine.proposal import Proposal, StrategyContext
from gridpilot.strategies.base import StrategySettings

if TYPE_CHECKING:
    from gridpilot.engine.state import SiteState

__all__ = ["PeakShaving", "PeakShavingSettings"]


class PeakShavingSettings(StrategySettings):
    max_import_w: Annotated[float, Field(ge=0, le=10_000_000)]
    recharge_below_w: Annotated[float, Field(ge=0, le=10_000_000)] | None = None
    target_soc_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    track_month_peak: bool = True

    @model_validator(mode="after")
    def _below_threshold(self) -> PeakShavingSettings:
        if self.recharge_below_w is not None and self.recharge_below_w > self.max_import_w:
            raise ValueError(
                f"recharge_below_w ({self.recharge_below_w:g}) must not exceed max_import_w "
                f"({self.max_import_w:g}): recharging above the threshold would make new peaks"
            )
        return self


class PeakShaving:
    type_name: ClassVar[str] = "peak_shaving"
    settings_model: ClassVar[type[StrategySettings]] = PeakShavingSettings

    __slots__ = ("_recharge_below_w", "name", "settings")

    def __init__(self, name: str, settings: PeakShavingSettings) -> None:
        self.name = name
        self.settings = settings
        self._recharge_below_w = (
            settings.recharge_below_w
            if settings.recharge_below_w is not None
            else 0.8 * settings.max_import_w
        )

    def threshold_w(self, state: SiteState, ctx: StrategyContext,
                    hold: Hold | None = None) -> float:
        """The import threshold in force: ``max_import_w``, or the month's peak if higher and a
        demand charge makes it the one that counts."""
        threshold = self.settings.max_import_w
        if self.settings.track_month_peak and ctx.demand_charge_per_kw > 0:
            peak_w = state.month_peak_import_w
            if hold is None:
                if peak_w > threshold:
                    return peak_w
            elif hold.peak_gt(peak_w, threshold):
                hold.pin_peak(peak_w)
                return peak_w
        return threshold

    def propose(self, state: SiteState, ctx: StrategyContext) -> Proposal:
        hold = Hold()
        threshold = self.threshold_w(state, ctx, hold)
        raised = threshold != self.settings.max_import_w
        net_w = state.load_w - state.pv_w
        limits = ctx.limits
        target = self.settings.target_soc_pct
        if target is None:
            target = limits.max_soc_pct
        target = min(max(target, limits.min_soc_pct), limits.max_soc_pct)
        active = state.active_command
        recharging = active is not None and active.kind is CommandKind.CHARGE
        below_w = min(self._recharge_below_w, threshold)
        hyst_w = 0.0 if recharging else ctx.hysteresis_w
        hyst_pct = 0.0 if recharging else ctx.hysteresis_pct
        if hold.net_lt(net_w, below_w - hyst_w) and hold.soc_lt(state.soc_pct, target - hyst_pct):
            power_w = min(limits.max_charge_w, below_w - net_w)
            # The recharge power follows the net load.
            hold.pin_net(net_w)
            if power_w > 1.0:
                return Proposal(
                    Command(
                        CommandKind.CHARGE,
                        power_w=power_w,
                        target_soc_pct=target,
                        max_import_w=threshold,
                    ),
                    f"import {net_w:.0f} W is below recharge_below_w {below_w:g} W: "
                    f"recharge at {power_w:.0f} W to {target:g} %",
                    hold,
                )
        why = " (the month's peak so far, as there is a demand charge)" if raised else ""
        return Proposal(
            Command(CommandKind.PEAK_SHAVE, max_import_w=threshold),
            f"import {net_w:.0f} W; shave above {threshold:.0f} W{why}",
            hold,
        )

    def __repr__(self) -> str:
        return f"PeakShaving({self.name!r}, max_import_w={self.settings.max_import_w:g})"
