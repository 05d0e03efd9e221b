"""The proposal protocol: what the engine asks of a strategy, and what it gives it.

A strategy is a small object built once from its validated settings. On every tick where a rule
(or the ``default``) names it, the engine calls :meth:`Strategy.propose` with the site's state
and the :class:`StrategyContext` (the battery and tariff facts from the policy). It returns a
:class:`Proposal`: a command, or ``None`` when it has nothing to say (the engine then moves on to
the next rule), plus a short reason for the trace, and optionally a
:class:`~gridpilot.engine.hold.Hold`: how far the same answer is certain to hold, which lets a
replay skip the ticks that cannot change it.

``propose`` must be deterministic in its arguments: the engine's ``decide()`` is pure, so a strategy
may cache work (for example a plan per price outlook) only where the cached answer is exactly what
a fresh computation would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from gridpilot.engine.battery import BatteryParams
from gridpilot.engine.commands import Command, DeviceLimits
from gridpilot.engine.hold import Hold
from gridpilot.engine.state import SiteState

__all__ = ["Proposal", "Strategy", "StrategyContext"]

_UTC = ZoneInfo("UTC")


class Proposal(NamedTuple):
    command: Command | None
    reason: str
    hold: Hold | None = None
    """Over which states the same call would answer the same (:mod:`gridpilot.engine.hold`);
    ``None``, the default, claims nothing, and the next tick asks again."""


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What a strategy may know about the site besides its own settings (from the policy).

    Attributes:
        limits: the device's hard limits.
        reserve_soc_pct: the effective reserve at this tick: the device minimum raised by every
            active reserve guard [%].
        battery: the battery's facts (efficiencies, cycle cost): the policy's own value.
        demand_charge_per_kw: charge per kW of the month's highest import [currency/kW].
        hysteresis_w: how far a power threshold must be passed before switching back [W].
        hysteresis_pct: how far an SOC threshold must be passed before switching back [%].
        tz: the site's timezone.
    """

    limits: DeviceLimits
    reserve_soc_pct: float
    battery: BatteryParams
    demand_charge_per_kw: float = 0.0
    hysteresis_w: float = 100.0
    hysteresis_pct: float = 2.0
    tz: ZoneInfo = _UTC

    @property
    def charge_efficiency(self) -> float:
        """Stored / AC energy taken in [-]."""
        return self.battery.charge_efficiency

    @property
    def discharge_efficiency(self) -> float:
        """AC delivered / stored energy drawn [-]."""
        return self.battery.discharge_efficiency

    @property
    def cycle_cost_per_kwh(self) -> float:
        """Wear cost per kWh discharged [currency/kWh]."""
        return self.battery.cycle_cost_per_kwh

    def with_reserve(self, reserve_soc_pct: float) -> StrategyContext:
        if reserve_soc_pct == self.reserve_soc_pct:
            return self
        return StrategyContext(
            self.limits,
            reserve_soc_pct,
            self.battery,
            self.demand_charge_per_kw,
            self.hysteresis_w,
            self.hysteresis_pct,
            self.tz,
        )


@runtime_checkable
class Strategy(Protocol):
    """What the engine needs from a strategy instance.

    A plugin class also carries ``type_name`` and ``settings_model`` class attributes and is built
    as ``cls(name, settings)`` by the strategy registry.
    """

    type_name: ClassVar[str]
    settings_model: ClassVar[type[BaseModel]]
    name: str
    """The instance name (the key under the policy's ``strategies``)."""

    def propose(self, state: SiteState, ctx: StrategyContext) -> Proposal:
        """A command for this tick, or ``Proposal(None, reason)``."""
        ...
