"""``export_boost``: discharge into the grid while the export price is at or above a threshold.

Many export tariffs pay far more for a few evening slots than an import costs overnight. This
strategy sells stored energy in those slots, down to a floor it never crosses, and says nothing
(no proposal) the rest of the time, so the next rule or the policy's default decides.

Settings:
    min_export_price: export when the current slot pays at least this [currency/kWh].
    floor_soc_pct: never discharge below this SOC [%] (the reserve guard may raise it further).
    power_w: discharge power [W]; default the battery's maximum.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from gridpilot import (
    Command,
    CommandKind,
    Proposal,
    SiteState,
    StrategyContext,
    StrategySettings,
)

__all__ = ["ExportBoost", "ExportBoostSettings"]


class ExportBoostSettings(StrategySettings):
    min_export_price: Annotated[float, Field(ge=-1000, le=1000)]
    floor_soc_pct: Annotated[float, Field(ge=0, le=100)] = 40.0
    power_w: Annotated[float, Field(gt=0, le=10_000_000)] | None = None


class ExportBoost:
    type_name: ClassVar[str] = "export_boost"
    settings_model: ClassVar[type[StrategySettings]] = ExportBoostSettings

    def __init__(self, name: str, settings: ExportBoostSettings) -> None:
        self.name = name
        self.settings = settings

    def propose(self, state: SiteState, ctx: StrategyContext) -> Proposal:
        s = self.settings
        prices = state.prices
        if len(prices) == 0:
            return Proposal(None, "no export price known for this slot")
        price = float(prices.export_per_kwh[0])
        if price < s.min_export_price:
            return Proposal(None, f"export price {price:g} is below {s.min_export_price:g}")
        floor = max(s.floor_soc_pct, ctx.reserve_soc_pct, ctx.limits.min_soc_pct)
        active = state.active_command
        selling = (
            active is not None
            and active.kind is CommandKind.DISCHARGE
            and abs(active.floor_soc_pct - floor) < 1e-9
        )
        # Once selling it runs down to the floor; a fresh start needs the hysteresis margin above
        # it, so it does not start and stop on every tick around the floor.
        start_above = floor if selling else floor + ctx.hysteresis_pct
        if state.soc_pct <= start_above:
            return Proposal(None, f"SOC {state.soc_pct:g} % is at the floor {floor:g} %")
        power_w = min(s.power_w or ctx.limits.max_discharge_w, ctx.limits.max_discharge_w)
        command = Command(CommandKind.DISCHARGE, power_w=power_w, floor_soc_pct=floor)
        return Proposal(command, f"export price {price:g} >= {s.min_export_price:g}: sell")

    def __repr__(self) -> str:
        return f"ExportBoost({self.name!r})"
