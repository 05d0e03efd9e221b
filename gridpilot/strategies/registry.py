"""The strategy registry: the built-ins plus plugins from the ``gridpilot.strategies`` entry points.

A plugin package declares, in its ``pyproject.toml``::

    [project.entry-points."gridpilot.strategies"]
    my_strategy = "my_package.module:MyStrategy"

The entry point's name is the strategy type used in policies. The object it points to must be a
class with ``type_name``, ``settings_model`` (a pydantic model) and a ``propose`` method, built as
``cls(name, settings)``. Plugins are loaded once, on first use; one that fails to import or does
not fit the protocol is named in the :class:`~gridpilot.errors.StrategyError` raised when a
policy asks for it, and does not hide the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from gridpilot.errors import StrategyError
from gridpilot.strategies.base import Strategy

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_strategies",
    "create_strategy",
    "plugin_problems",
    "strategy_class",
]

ENTRY_POINT_GROUP = "gridpilot.strategies"

_BUILTINS = {
    "backup_reserve": "gridpilot.strategies.backup_reserve:BackupReserve",
    "peak_shaving": "gridpilot.strategies.peak_shaving:PeakShaving",
    "self_consumption": "gridpilot.strategies.self_consumption:SelfConsumption",
    "tariff_arbitrage": "gridpilot.strategies.tariff_arbitrage:TariffArbitrage",
}

_classes: dict[str, type[Any]] | None = None
_problems: dict[str, str] = {}


def _check_class(name: str, obj: object) -> type[Any]:
    if not isinstance(obj, type):
        raise TypeError(f"{obj!r} is not a class")
    settings_model = getattr(obj, "settings_model", None)
    if not (isinstance(settings_model, type) and issubclass(settings_model, BaseModel)):
        raise TypeError("it has no 'settings_model' pydantic model class")
    if not callable(getattr(obj, "propose", None)):
        raise TypeError("it has no 'propose(state, ctx)' method")
    return obj


def _load() -> dict[str, type[Any]]:
    global _classes
    if _classes is not None:
        return _classes
    classes: dict[str, type[Any]] = {}
    for name, target in _BUILTINS.items():
        module_name, attr = target.split(":")
        classes[name] = _check_class(name, getattr(importlib.import_module(module_name), attr))
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _BUILTINS:
            _problems[ep.name] = (
                f"plugin {ep.value!r} uses the built-in name {ep.name!r}; pick another name"
            )
            continue
        try:
            classes[ep.name] = _check_class(ep.name, ep.load())
        except Exception as exc:  # a broken plugin must not take the others down
            _problems[ep.name] = f"plugin {ep.value!r} failed to load: {type(exc).__name__}: {exc}"
    _classes = classes
    return classes


def _reset_for_tests() -> None:
    global _classes
    _classes = None
    _problems.clear()


def available_strategies() -> list[str]:
    """The strategy types that can be used in a policy, sorted."""
    return sorted(_load())


def plugin_problems() -> dict[str, str]:
    """Plugins of the entry-point group that could not be loaded, by name, with the reason."""
    _load()
    return dict(_problems)


def strategy_class(type_name: str) -> type[Any]:
    """The class registered as ``type_name``; :class:`StrategyError` if there is none."""
    classes = _load()
    if type_name in classes:
        return classes[type_name]
    if type_name in _problems:
        raise StrategyError(f"strategy type {type_name!r}: {_problems[type_name]}")
    raise StrategyError(
        f"unknown strategy type {type_name!r}; valid types: {', '.join(sorted(classes))}"
    )


def create_strategy(instance_name: str, config: Mapping[str, Any]) -> Strategy:
    """Build the strategy ``instance_name`` from its policy entry.

    ``config`` may hold ``type`` (default: the instance name) and the strategy's settings. Raises
    :class:`StrategyError` for an unknown or broken type and pydantic's ``ValidationError`` for bad
    settings (the policy compiler turns it into located issues).
    """
    settings = dict(config)
    type_name = str(settings.pop("type", instance_name))
    cls = strategy_class(type_name)
    model = cls.settings_model.model_validate(settings)
    try:
        instance = cls(instance_name, model)
    except Exception as exc:
        raise StrategyError(
            f"strategy {instance_name!r} (type {type_name!r}) could not be created: {exc}"
        ) from exc
    return instance  # type: ignore[no-any-return]
