"""The runtime policy: a validated document compiled into fast objects.

:func:`gridpilot.rules.loader.load_policy` is the one way in: it reads the YAML, validates the
document, and :func:`gridpilot.rules.compile.compile_policy` builds the frozen :class:`Policy`
that ``decide()`` reads without further validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from gridpilot.engine.battery import BatteryParams
from gridpilot.engine.commands import DeviceLimits
from gridpilot.engine.guards import GuardLimit
from gridpilot.engine.program import CompiledOverride, CompiledRule, Tuning
from gridpilot.forecasts.providers import ForecastProvider, TimeOfWeekAverage
from gridpilot.forecasts.registry import ForecastFactory
from gridpilot.rules.schema import PolicyDoc
from gridpilot.rules.yamlsource import SourceMap

if TYPE_CHECKING:
    from gridpilot.engine.proposal import Strategy
    from gridpilot.rules.tariff import Tariff

__all__ = ["Policy"]


@dataclass(frozen=True)
class Policy:
    doc: PolicyDoc
    source: SourceMap
    path: Path | None
    tz: ZoneInfo
    battery: BatteryParams
    limits: DeviceLimits
    tuning: Tuning
    tariff: Tariff
    rules: tuple[CompiledRule, ...]
    guards: tuple[GuardLimit, ...]
    default: CompiledRule
    overrides: tuple[CompiledOverride, ...]
    strategies: Mapping[str, Strategy]
    forecast_factory: ForecastFactory | None = None
    """Makes the policy's load/PV forecast provider (``forecast:``); ``None`` = the default."""
    inputs: tuple[Path, ...] = ()
    """Every file loading the policy read (the policy itself, price files...), in the order
    read: what ``gridpilot run`` watches to reload it. Recorded by :mod:`gridpilot.inputs`."""

    def new_forecast(self) -> ForecastProvider:
        """A fresh forecast provider of the kind the policy names (each caller keeps its own
        history): the time-of-week average unless ``forecast:`` says otherwise."""
        if self.forecast_factory is not None:
            return self.forecast_factory()
        return TimeOfWeekAverage(self.tz)

    @property
    def name(self) -> str:
        return self.doc.site.name

