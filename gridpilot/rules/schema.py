"""The policy document: pydantic models for every section of a policy file.

These models check types, ranges and unknown keys. Checks that need more than one section (a rule
that names a strategy, a reserve below the battery floor) live in :mod:`gridpilot.rules.checks`;
turning the document into fast runtime objects lives in :mod:`gridpilot.rules.policy`.

The sections are defined by concern in ``schema_site`` (site, battery, grid, device, forecast),
``schema_rules`` (actions, rules, overrides; their windows are
:class:`gridpilot.calendar.when.When`), ``schema_guards``, ``schema_tariff`` and
``schema_run`` (control and scheduler); this module assembles them into :class:`PolicyDoc` and is
the place to import any of them from.
"""

from __future__ import annotations

from typing import Any, Literal

from gridpilot.calendar.when import StrList, When
from gridpilot.engine.commands import CommandKind
from gridpilot.models import Pct, PowerW, Price, StrictModel
from gridpilot.rules.scenario import ScenarioCase
from gridpilot.rules.schema_guards import (
    ExportCapGuard,
    Guard,
    GuardBase,
    ImportCapGuard,
    PowerCapGuard,
    ReserveGuard,
    SocCeilingGuard,
)
from gridpilot.rules.schema_mqtt import MqttSpec, MqttTlsSpec
from gridpilot.rules.schema_rules import Action, DefaultSpec, Layer, ManualOverride, Rule
from gridpilot.rules.schema_run import ControlSpec, RunSpec
from gridpilot.rules.schema_site import BatterySpec, DeviceSpec, ForecastSpec, GridSpec, SiteSpec
from gridpilot.rules.schema_tariff import (
    Compose,
    DynamicPrices,
    PriceSchedule,
    ProviderRef,
    TariffPeriod,
    TariffSpec,
)

__all__ = [
    "Action",
    "BatterySpec",
    "Compose",
    "ControlSpec",
    "DefaultSpec",
    "DeviceSpec",
    "DynamicPrices",
    "ExportCapGuard",
    "ForecastSpec",
    "GridSpec",
    "Guard",
    "GuardBase",
    "ImportCapGuard",
    "Layer",
    "ManualOverride",
    "MqttSpec",
    "MqttTlsSpec",
    "Pct",
    "PolicyDoc",
    "PowerCapGuard",
    "PowerW",
    "Price",
    "PriceSchedule",
    "ProviderRef",
    "ReserveGuard",
    "Rule",
    "RunSpec",
    "SiteSpec",
    "SocCeilingGuard",
    "StrList",
    "StrictModel",
    "TariffPeriod",
    "TariffSpec",
    "When",
]


class PolicyDoc(StrictModel):
    """The whole policy file."""

    # pydantic copies mutable defaults per instance; ruff only knows that of models whose
    # BaseModel ancestry it can see in the same file, hence the noqa markers.

    version: Literal[1]
    site: SiteSpec
    device: DeviceSpec = DeviceSpec()
    forecast: ForecastSpec = ForecastSpec()
    tariff: TariffSpec
    guards: list[Guard] = []  # noqa: RUF012
    strategies: dict[str, dict[str, Any]] = {}  # noqa: RUF012
    """Named strategy configurations: ``type`` (defaults to the entry's name) plus its settings."""
    rules: list[Rule] = []  # noqa: RUF012
    default: DefaultSpec = DefaultSpec(action=Action(kind=CommandKind.SELF_CONSUMPTION))
    manual: list[ManualOverride] = []  # noqa: RUF012
    control: ControlSpec = ControlSpec()
    run: RunSpec = RunSpec()
    mqtt: MqttSpec | None = None
    """Publish decisions to an MQTT broker, with Home Assistant discovery (see
    docs/home-assistant.md)."""
    tests: list[ScenarioCase] = []  # noqa: RUF012
    """Scenario tests run by ``gridpilot test`` and the pytest plugin; see docs/testing.md."""
