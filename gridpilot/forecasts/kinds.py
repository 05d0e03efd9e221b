"""The registry entries of the PV-aware forecast types (their settings model and constructor).

Kept apart from :mod:`~gridpilot.forecasts.registry` so a policy using ``time_of_week`` never
imports the HTTP and PV-model code.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from gridpilot.forecasts.forecast_solar import ForecastSolarForecast, ForecastSolarSettings
from gridpilot.forecasts.open_meteo import OpenMeteoForecast, OpenMeteoSettings
from gridpilot.forecasts.solcast import SolcastForecast, SolcastSettings

__all__ = ["FORECAST_SOLAR", "OPEN_METEO", "SOLCAST", "ForecastSolar", "OpenMeteo", "Solcast"]


class OpenMeteo:
    """The ``open_meteo`` type."""

    Settings = OpenMeteoSettings

    def __call__(self, settings: OpenMeteoSettings, tz: ZoneInfo) -> OpenMeteoForecast:
        return OpenMeteoForecast(settings, tz)


OPEN_METEO = OpenMeteo()


class ForecastSolar:
    """The ``forecast_solar`` type."""

    Settings = ForecastSolarSettings

    def __call__(self, settings: ForecastSolarSettings, tz: ZoneInfo) -> ForecastSolarForecast:
        return ForecastSolarForecast(settings, tz)


FORECAST_SOLAR = ForecastSolar()


class Solcast:
    """The ``solcast`` type."""

    Settings = SolcastSettings

    def __call__(self, settings: SolcastSettings, tz: ZoneInfo) -> SolcastForecast:
        return SolcastForecast(settings, tz)


SOLCAST = Solcast()
