"""gridpilot: run home and small-site batteries by policy.

Sign convention, used everywhere: battery power positive = discharging, negative = charging;
grid power positive = importing, negative = exporting. Times are timezone-aware.

The names in ``__all__`` are the public face for library users and plugin authors (strategies,
device adapters, forecast and price providers); everything else is internal and may move. They
are loaded on first use, so ``import gridpilot`` (and ``gridpilot --version``) imports none of
the engine, pydantic or numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gridpilot.clock import Clock as Clock
    from gridpilot.clock import ManualClock as ManualClock
    from gridpilot.clock import SystemClock as SystemClock
    from gridpilot.devices.base import AppliedCommand as AppliedCommand
    from gridpilot.devices.base import Capabilities as Capabilities
    from gridpilot.devices.base import DeviceAdapter as DeviceAdapter
    from gridpilot.devices.base import DeviceReading as DeviceReading
    from gridpilot.devices.context import DeviceContext as DeviceContext
    from gridpilot.devices.registry import DEVICES as DEVICES
    from gridpilot.engine.commands import Command as Command
    from gridpilot.engine.commands import CommandKind as CommandKind
    from gridpilot.engine.commands import DeviceLimits as DeviceLimits
    from gridpilot.engine.decide import decide as decide
    from gridpilot.engine.decision import Decision as Decision
    from gridpilot.engine.hold import Hold as Hold
    from gridpilot.engine.proposal import Proposal as Proposal
    from gridpilot.engine.proposal import Strategy as Strategy
    from gridpilot.engine.proposal import StrategyContext as StrategyContext
    from gridpilot.engine.state import DeviceMode as DeviceMode
    from gridpilot.engine.state import ModeSource as ModeSource
    from gridpilot.engine.state import PriceOutlook as PriceOutlook
    from gridpilot.engine.state import SiteState as SiteState
    from gridpilot.errors import CommandError as CommandError
    from gridpilot.errors import DataError as DataError
    from gridpilot.errors import DeviceAuthError as DeviceAuthError
    from gridpilot.errors import DeviceError as DeviceError
    from gridpilot.errors import DevicePermissionError as DevicePermissionError
    from gridpilot.errors import DeviceProtocolError as DeviceProtocolError
    from gridpilot.errors import DeviceRejected as DeviceRejected
    from gridpilot.errors import DeviceTypeError as DeviceTypeError
    from gridpilot.errors import DeviceUnreachable as DeviceUnreachable
    from gridpilot.errors import ForecastError as ForecastError
    from gridpilot.errors import GridpilotError as GridpilotError
    from gridpilot.errors import Issue as Issue
    from gridpilot.errors import PluginError as PluginError
    from gridpilot.errors import PolicyError as PolicyError
    from gridpilot.errors import PriceProviderError as PriceProviderError
    from gridpilot.errors import StrategyError as StrategyError
    from gridpilot.exitcodes import ExitCode as ExitCode
    from gridpilot.forecasts.providers import ForecastProvider as ForecastProvider
    from gridpilot.forecasts.registry import FORECASTS as FORECASTS
    from gridpilot.prices.base import PriceProvider as PriceProvider
    from gridpilot.prices.base import PriceSlots as PriceSlots
    from gridpilot.prices.base import ProviderContext as ProviderContext
    from gridpilot.prices.base import Publication as Publication
    from gridpilot.prices.registry import PRICE_PROVIDERS as PRICE_PROVIDERS
    from gridpilot.registry import Registry as Registry
    from gridpilot.rules.loader import load_policy as load_policy
    from gridpilot.rules.policy import Policy as Policy
    from gridpilot.strategies.base import StrategySettings as StrategySettings
    from gridpilot.strategies.registry import STRATEGIES as STRATEGIES

_EXPORTS: dict[str, str] = {
    # values a tick works on
    "Command": "gridpilot.engine.commands",
    "CommandKind": "gridpilot.engine.commands",
    "DeviceLimits": "gridpilot.engine.commands",
    "SiteState": "gridpilot.engine.state",
    "PriceOutlook": "gridpilot.engine.state",
    "DeviceMode": "gridpilot.engine.state",
    "ModeSource": "gridpilot.engine.state",
    "Decision": "gridpilot.engine.decision",
    # the tick and the policy it runs
    "decide": "gridpilot.engine.decide",
    "load_policy": "gridpilot.rules.loader",
    "Policy": "gridpilot.rules.policy",
    # writing a strategy
    "Strategy": "gridpilot.engine.proposal",
    "StrategyContext": "gridpilot.engine.proposal",
    "Proposal": "gridpilot.engine.proposal",
    "Hold": "gridpilot.engine.hold",
    "StrategySettings": "gridpilot.strategies.base",
    # writing a device adapter
    "DeviceAdapter": "gridpilot.devices.base",
    "DeviceReading": "gridpilot.devices.base",
    "Capabilities": "gridpilot.devices.base",
    "AppliedCommand": "gridpilot.devices.base",
    "DeviceContext": "gridpilot.devices.context",
    # writing a forecast provider
    "ForecastProvider": "gridpilot.forecasts.providers",
    # writing a price provider
    "PriceProvider": "gridpilot.prices.base",
    "PriceSlots": "gridpilot.prices.base",
    "Publication": "gridpilot.prices.base",
    "ProviderContext": "gridpilot.prices.base",
    # the plugin registries
    "Registry": "gridpilot.registry",
    "STRATEGIES": "gridpilot.strategies.registry",
    "DEVICES": "gridpilot.devices.registry",
    "FORECASTS": "gridpilot.forecasts.registry",
    "PRICE_PROVIDERS": "gridpilot.prices.registry",
    # clocks (injected, never datetime.now() inside the engine or a plugin)
    "Clock": "gridpilot.clock",
    "SystemClock": "gridpilot.clock",
    "ManualClock": "gridpilot.clock",
    # errors and exit codes
    "GridpilotError": "gridpilot.errors",
    "Issue": "gridpilot.errors",
    "PolicyError": "gridpilot.errors",
    "DataError": "gridpilot.errors",
    "CommandError": "gridpilot.errors",
    "PluginError": "gridpilot.errors",
    "StrategyError": "gridpilot.errors",
    "ForecastError": "gridpilot.errors",
    "DeviceTypeError": "gridpilot.errors",
    "PriceProviderError": "gridpilot.errors",
    "DeviceError": "gridpilot.errors",
    "DeviceUnreachable": "gridpilot.errors",
    "DeviceAuthError": "gridpilot.errors",
    "DevicePermissionError": "gridpilot.errors",
    "DeviceRejected": "gridpilot.errors",
    "DeviceProtocolError": "gridpilot.errors",
    "ExitCode": "gridpilot.exitcodes",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gridpilot' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
