"""The policy models live in modules by concern; ``gridpilot.rules.schema`` offers them all."""

from __future__ import annotations

import importlib

import pytest

import gridpilot.rules.schema as schema

# Every name other modules, tests, benchmarks and plugins import from gridpilot.rules.schema.
_USED_NAMES = [
    "Action",
    "BatterySpec",
    "ControlSpec",
    "DefaultSpec",
    "DeviceSpec",
    "DynamicPrices",
    "ExportCapGuard",
    "ForecastSpec",
    "GridSpec",
    "Guard",
    "ImportCapGuard",
    "Layer",
    "ManualOverride",
    "PolicyDoc",
    "PowerCapGuard",
    "PriceSchedule",
    "ReserveGuard",
    "Rule",
    "RunSpec",
    "SiteSpec",
    "SocCeilingGuard",
    "TariffPeriod",
    "TariffSpec",
    "When",
]

_PARTS = [
    "gridpilot.rules.schema_guards",
    "gridpilot.rules.schema_rules",
    "gridpilot.rules.schema_run",
    "gridpilot.rules.schema_site",
    "gridpilot.rules.schema_tariff",
]


@pytest.mark.parametrize("name", _USED_NAMES)
def test_name_is_exported_from_schema(name: str) -> None:
    assert name in schema.__all__
    assert getattr(schema, name) is not None


@pytest.mark.parametrize("module_name", _PARTS)
def test_every_part_is_reexported_as_the_same_object(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in module.__all__:
        if name == "check_calendar_text":
            continue  # a validator helper, not a model
        assert getattr(schema, name) is getattr(module, name), (module_name, name)


def test_everything_in_all_exists() -> None:
    missing = [name for name in schema.__all__ if not hasattr(schema, name)]
    assert missing == []
