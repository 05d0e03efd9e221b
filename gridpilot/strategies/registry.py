"""The strategy registry instance and how a strategy is built from its policy entry.

A plugin package declares, in its ``pyproject.toml``::

    [project.entry-points."gridpilot.strategies"]
    my_strategy = "my_package.module:MyStrategy"

The entry point's name is the strategy type used in policies. The object it points to must be a
class with ``type_name``, ``settings_model`` (a pydantic model) and a ``propose`` method, built as
``cls(name, settings)``. One that fails to import or does not fit is named in the
:class:`~gridpilot.errors.StrategyError` raised when a policy asks for it, and does not hide the
others (see :class:`gridpilot.registry.Registry`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridpilot.engine.proposal import Strategy
from gridpilot.errors import StrategyError
from gridpilot.registry import Contract, Registry

__all__ = ["STRATEGIES", "create_strategy"]


STRATEGIES: Registry[type[Any]] = Registry(
    "strategy",
    "gridpilot.strategies",
    {
        "backup_reserve": "gridpilot.strategies.backup_reserve:BackupReserve",
        "peak_shaving": "gridpilot.strategies.peak_shaving:PeakShaving",
        "self_consumption": "gridpilot.strategies.self_consumption:SelfConsumption",
        "tariff_arbitrage": "gridpilot.strategies.tariff_arbitrage:TariffArbitrage",
    },
    contract=Contract("settings_model", methods=("propose",), classes_only=True),
    error=StrategyError,
)


def create_strategy(
    instance_name: str, config: Mapping[str, Any], registry: Registry[type[Any]] = STRATEGIES
) -> Strategy:
    """Build the strategy ``instance_name`` from its policy entry.

    ``config`` may hold ``type`` (default: the instance name) and the strategy's settings. Raises
    :class:`StrategyError` for an unknown or broken type and pydantic's ``ValidationError`` for bad
    settings (the policy compiler turns it into located issues).
    """
    settings = dict(config)
    type_name = str(settings.pop("type", instance_name))
    cls = registry.get(type_name)
    model = registry.settings_model(type_name).model_validate(settings)
    try:
        instance = cls(instance_name, model)
    except Exception as exc:
        raise StrategyError(
            f"strategy {instance_name!r} (type {type_name!r}) could not be created: {exc}"
        ) from exc
    return instance  # type: ignore[no-any-return]
