"""Choosing a forecast provider from the policy: ``forecast: {type: ..., ...settings}``.

Built-ins: ``time_of_week`` (the default: the average net load per local time-of-week bin over the
last weeks) and ``flat`` (one constant net load). Third parties add providers through the
entry-point group ``gridpilot.forecasts``: the entry point names a class with a ``Settings``
pydantic model (its keys are the policy's settings, ``type`` excluded) whose constructor takes
``(settings, tz)`` and which implements :class:`~gridpilot.engine.forecast.ForecastProvider`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gridpilot.engine.forecast import FlatForecast, ForecastProvider, TimeOfWeekAverage
from gridpilot.errors import StrategyError

__all__ = [
    "ENTRY_POINT_GROUP",
    "FlatSettings",
    "ForecastFactory",
    "TimeOfWeekSettings",
    "available_forecasts",
    "forecast_factory",
    "forecast_settings_model",
]

ENTRY_POINT_GROUP = "gridpilot.forecasts"
ForecastFactory = Callable[[], ForecastProvider]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TimeOfWeekSettings(_Settings):
    bin_s: Annotated[int, Field(ge=300, le=86_400)] = 1800
    """Length of a time-of-week bin [s]; must divide a week (900, 1800, 3600, ...)."""
    weeks: Annotated[int, Field(ge=1, le=52)] = 4
    """How many past weeks are averaged."""
    flat_w: Annotated[float, Field(ge=-1_000_000, le=1_000_000)] = 500.0
    """Net load [W] assumed before anything has been seen."""


    @field_validator("bin_s")
    @classmethod
    def _divides_a_week(cls, value: int) -> int:
        if (7 * 86_400) % value:
            raise ValueError("bin_s must divide a week, e.g. 900, 1800 or 3600")
        return value


class FlatSettings(_Settings):
    net_load_w: Annotated[float, Field(ge=-1_000_000, le=1_000_000)] = 500.0
    """The net load [W] (load minus PV) assumed for every slot."""


@dataclass(frozen=True)
class _Entry:
    settings: type[BaseModel]
    build: Callable[[Any, ZoneInfo], ForecastProvider]


def _time_of_week(s: TimeOfWeekSettings, tz: ZoneInfo) -> ForecastProvider:
    return TimeOfWeekAverage(tz, bin_s=s.bin_s, weeks=s.weeks, flat_w=s.flat_w)


def _flat(s: FlatSettings, tz: ZoneInfo) -> ForecastProvider:
    del tz
    return FlatForecast(s.net_load_w)


_BUILTIN: dict[str, _Entry] = {
    "time_of_week": _Entry(TimeOfWeekSettings, _time_of_week),
    "flat": _Entry(FlatSettings, _flat),
}


def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_forecasts() -> list[str]:
    """The forecast types a policy may name."""
    return sorted({*_BUILTIN, *_plugins()})


def _entry(type_name: str) -> _Entry:
    if type_name in _BUILTIN:
        return _BUILTIN[type_name]
    ep = _plugins().get(type_name)
    if ep is None:
        raise KeyError(type_name)
    try:
        cls = ep.load()
    except Exception as exc:  # a broken plugin must be named, whatever it raised
        raise StrategyError(
            f"forecast plugin {type_name!r} ({ep.value}) failed to load: "
            f"{exc.__class__.__name__}: {exc}"
        ) from exc
    settings = getattr(cls, "Settings", None)
    if not (isinstance(settings, type) and issubclass(settings, BaseModel)):
        raise StrategyError(
            f"forecast plugin {type_name!r} ({ep.value}) has no pydantic 'Settings' class"
        )
    return _Entry(settings, lambda s, tz: cls(s, tz))


def forecast_settings_model(type_name: str) -> type[BaseModel]:
    """The settings model of ``type_name``; ``KeyError`` when no such provider exists."""
    return _entry(type_name).settings


def forecast_factory(
    type_name: str, settings: Mapping[str, Any], tz: ZoneInfo
) -> ForecastFactory:
    """A function that makes a fresh provider per caller (each keeps its own history).

    Raises ``KeyError`` for an unknown type and pydantic's ``ValidationError`` for bad settings.
    """
    entry = _entry(type_name)
    validated = entry.settings.model_validate(dict(settings))
    return lambda: entry.build(validated, tz)
