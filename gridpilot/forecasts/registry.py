"""Choosing a forecast provider from the policy: ``forecast: {type: ..., ...settings}``.

Built-ins: ``time_of_week`` (the default: the average net load per local time-of-week bin over the
last weeks), ``flat`` (one constant net load) and ``open_meteo`` (the load's time-of-week average
minus a PV forecast from Open-Meteo irradiance through pvlib; :mod:`~gridpilot.forecasts.kinds`).
Third parties add providers through the entry-point group ``gridpilot.forecasts``: the entry
point names a class with a ``Settings`` pydantic model (its keys are the policy's settings,
``type`` excluded) whose constructor takes ``(settings, tz)`` and which implements
:class:`~gridpilot.forecasts.providers.ForecastProvider`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator

from gridpilot.errors import ForecastError
from gridpilot.forecasts.load_settings import LoadCorrections
from gridpilot.forecasts.providers import FlatForecast, ForecastProvider, TimeOfWeekAverage
from gridpilot.models import StrictModel
from gridpilot.registry import Contract, Registry

__all__ = [
    "FORECASTS",
    "FlatSettings",
    "ForecastFactory",
    "ForecastKind",
    "TimeOfWeekSettings",
    "forecast_factory",
]

ForecastFactory = Callable[[], ForecastProvider]


class ForecastKind(Protocol):
    """What the registry holds for one forecast type: its settings model and how a provider is
    built from validated settings and the site's timezone (a plugin's class is one)."""

    Settings: type[BaseModel]

    def __call__(self, settings: Any, tz: ZoneInfo) -> ForecastProvider: ...


class TimeOfWeekSettings(LoadCorrections):
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


class FlatSettings(StrictModel):
    net_load_w: Annotated[float, Field(ge=-1_000_000, le=1_000_000)] = 500.0
    """The net load [W] (load minus PV) assumed for every slot."""


class TimeOfWeek:
    """The ``time_of_week`` type."""

    Settings = TimeOfWeekSettings

    def __call__(self, settings: TimeOfWeekSettings, tz: ZoneInfo) -> ForecastProvider:
        return TimeOfWeekAverage(tz, bin_s=settings.bin_s, weeks=settings.weeks,
                                 flat_w=settings.flat_w, **settings.corrections())


class Flat:
    """The ``flat`` type."""

    Settings = FlatSettings

    def __call__(self, settings: FlatSettings, tz: ZoneInfo) -> ForecastProvider:
        del tz
        return FlatForecast(settings.net_load_w)


TIME_OF_WEEK = TimeOfWeek()
FLAT = Flat()


FORECASTS: Registry[ForecastKind] = Registry(
    "forecast",
    "gridpilot.forecasts",
    {
        "time_of_week": "gridpilot.forecasts.registry:TIME_OF_WEEK",
        "flat": "gridpilot.forecasts.registry:FLAT",
        "open_meteo": "gridpilot.forecasts.kinds:OPEN_METEO",
        "forecast_solar": "gridpilot.forecasts.kinds:FORECAST_SOLAR",
        "solcast": "gridpilot.forecasts.kinds:SOLCAST",
        "gradient_boosting": "gridpilot.forecasts.ml_load:GRADIENT_BOOSTING",
    },
    contract=Contract("Settings", called_with="settings, tz"),
    error=ForecastError,
)


def forecast_factory(
    kind: ForecastKind, settings: Mapping[str, Any], tz: ZoneInfo, base_dir: Path | None = None
) -> ForecastFactory:
    """A function that makes a fresh provider per caller (each keeps its own history).

    ``base_dir`` (the policy's folder) reaches the settings model as the validation context
    ``{"base_dir": ...}``: a ``*_file`` setting resolves a relative path against it and reads
    the file while validating, so a missing or bad file is reported at its key in the policy.
    Raises pydantic's ``ValidationError`` for bad settings.
    """
    context = {"base_dir": base_dir} if base_dir is not None else None
    validated = kind.Settings.model_validate(dict(settings), context=context)
    return lambda: kind(validated, tz)
