"""The ``PRICE_PROVIDERS`` registry: provider types by name (entry-point group
``gridpilot.prices``).

A provider type is a class with a ``settings_model`` (a pydantic model, normally a
:class:`~gridpilot.prices.settings.ProviderSettings`), built as ``cls(settings, context)``, whose
instances implement :class:`~gridpilot.prices.base.PriceProvider`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridpilot.errors import PriceProviderTypeError
from gridpilot.prices.base import PriceProvider, PriceProviderKind, ProviderContext
from gridpilot.registry import Contract, Registry

__all__ = ["PRICE_PROVIDERS", "build_provider"]


PRICE_PROVIDERS: Registry[PriceProviderKind] = Registry(
    "price provider",
    "gridpilot.prices",
    {
        "octopus": "gridpilot.prices.providers.octopus:Octopus",
        "entsoe": "gridpilot.prices.providers.entsoe:Entsoe",
        "nordpool": "gridpilot.prices.providers.nordpool:Nordpool",
        "tibber": "gridpilot.prices.providers.tibber:Tibber",
        "awattar": "gridpilot.prices.providers.awattar:Awattar",
        "energy_charts": "gridpilot.prices.providers.energy_charts:EnergyCharts",
    },
    contract=Contract(
        "settings_model", methods=("fetch", "publication"), called_with="settings, context"
    ),
    error=PriceProviderTypeError,
)


def build_provider(
    name: str, settings: Mapping[str, Any], context: ProviderContext
) -> PriceProvider:
    """Provider ``name`` built from raw settings (``type`` excluded).

    Raises ``PriceProviderTypeError`` for an unknown type and pydantic's ``ValidationError`` for
    bad settings (the policy loader locates both).
    """
    kind = PRICE_PROVIDERS.get(name)
    return kind(kind.settings_model.model_validate(dict(settings)), context)
