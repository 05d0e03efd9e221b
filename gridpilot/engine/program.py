"""What the engine runs: a policy's rules, overrides and tuning as the engine's own values.

The policy language (:mod:`gridpilot.rules`) compiles a policy file into these once; ``decide()``
reads them through :class:`EnginePolicy` and never sees the language itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from gridpilot.calendar.window import Window
from gridpilot.engine.actions import ActionSpec
from gridpilot.engine.battery import BatteryParams
from gridpilot.engine.commands import DeviceLimits
from gridpilot.engine.guards import GuardLimit
from gridpilot.engine.proposal import Strategy

__all__ = [
    "CompiledOverride",
    "CompiledRule",
    "EnginePolicy",
    "Layer",
    "PriceSource",
    "Tuning",
]


class Layer(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    DEFAULT = "default"

    @property
    def rank(self) -> int:
        """Higher wins: manual 2, schedule 1, default 0."""
        return LAYER_RANK[self.value]


LAYER_RANK = {"manual": 2, "schedule": 1, "default": 0}


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule (or the ``default``) ready for the engine.

    ``index`` is the rule's position in the file (``-1`` for ``default``); ``window`` is ``None``
    when the rule always applies. Exactly one of ``action`` and ``strategy`` is set.
    """

    name: str
    layer: Layer
    index: int
    window: Window | None
    action: ActionSpec | None
    strategy: Strategy | None
    force: bool = False


@dataclass(frozen=True, slots=True)
class CompiledOverride:
    """An entry of the policy's ``manual`` section (or a run-time override), with aware times."""

    name: str
    action: ActionSpec
    start_s: float
    """Start, UNIX seconds."""
    until_s: float
    """Expiry, UNIX seconds (exclusive)."""
    force: bool = False


@dataclass(frozen=True, slots=True)
class Tuning:
    """The policy's settings that shape decisions besides its rules."""

    min_dwell_s: float
    """Least time a command kind runs before another may replace it [s]."""
    hysteresis_w: float
    """How far a power threshold must be passed before switching back [W]."""
    hysteresis_pct: float
    """How far an SOC threshold must be passed before switching back [%]."""
    demand_charge_per_kw: float
    """Charge per kW of the month's highest import [currency/kW]; above 0 a grid charge never
    sets a new monthly peak."""


class PriceSource(Protocol):
    """The import price at an instant, where no price outlook covers it (the tariff)."""

    def import_price_at(self, t: datetime) -> float: ...


class EnginePolicy(Protocol):
    """What ``decide()`` reads from a compiled policy."""

    @property
    def limits(self) -> DeviceLimits: ...
    @property
    def battery(self) -> BatteryParams: ...
    @property
    def tuning(self) -> Tuning: ...
    @property
    def tz(self) -> ZoneInfo: ...
    @property
    def tariff(self) -> PriceSource: ...
    @property
    def rules(self) -> Sequence[CompiledRule]: ...
    @property
    def default(self) -> CompiledRule: ...
    @property
    def guards(self) -> Sequence[GuardLimit]: ...
    @property
    def overrides(self) -> Sequence[CompiledOverride]: ...
