"""Policy sections about the site itself: battery, grid connection, device adapter and
forecast provider."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import Field, Strict, field_validator, model_validator

from gridpilot.models import Pct, PowerW, StrictModel

__all__ = ["BatterySpec", "DeviceSpec", "ForecastSpec", "GridSpec", "SiteSpec"]


class BatterySpec(StrictModel):
    capacity_kwh: Annotated[float, Strict(), Field(gt=0, le=100_000)]
    """Usable energy between 0 and 100 % SOC [kWh]."""
    max_charge_w: Annotated[float, Strict(), Field(gt=0, le=10_000_000)]
    max_discharge_w: Annotated[float, Strict(), Field(gt=0, le=10_000_000)]
    charge_efficiency: Annotated[float, Strict(), Field(gt=0, le=1)] = 0.95
    """Fraction of AC energy taken from the site that ends up stored."""
    discharge_efficiency: Annotated[float, Strict(), Field(gt=0, le=1)] = 0.95
    """Fraction of stored energy delivered to the site as AC."""
    min_soc_pct: Pct = 0.0
    max_soc_pct: Pct = 100.0
    cycle_cost_per_kwh: Annotated[float, Strict(), Field(ge=0, le=100)] = 0.0
    """Wear cost per kWh discharged, in the tariff's currency."""


class GridSpec(StrictModel):
    max_import_w: PowerW | None = None
    """The connection's import limit [W] (fuse), ``None`` = unlimited."""
    max_export_w: PowerW | None = None
    """The export limit the network operator allows [W], ``None`` = unlimited."""


class SiteSpec(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    timezone: str
    """IANA timezone name, e.g. ``Europe/London``. Every time in the policy is read in it."""
    battery: BatterySpec
    grid: GridSpec = GridSpec()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as 'Europe/London'"
            ) from exc
        return value


# Open: the keys besides ``type`` are the plugin's own settings, checked by its floor.
class DeviceSpec(StrictModel, extra="allow"):
    """``type`` picks the adapter; the other keys are that adapter's own settings, validated by
    the adapter's settings model when the policy is compiled."""

    type: str = "simulated"
    name: str = ""

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Adapter settings may hold credentials: a repr (and so a log line) names them only.
        yield "type", self.type
        yield "name", self.name
        for key in (self.model_extra or {}):
            yield key, "***"


# Open: the keys besides ``type`` are the plugin's own settings, checked by its floor.
class ForecastSpec(StrictModel, extra="allow"):
    """``type`` picks the load/PV forecast provider the planning strategies size their energy
    from; the other keys are its settings (see :mod:`gridpilot.forecasts.registry`)."""

    type: str = "time_of_week"

    @model_validator(mode="before")
    @classmethod
    def _arrays_mean_open_meteo(cls, data: Any) -> Any:
        # A policy that describes its PV arrays wants a PV-aware forecast: Open-Meteo is the
        # default then (free, no key), as time_of_week is without arrays.
        if isinstance(data, dict) and "type" not in data and "arrays" in data:
            return {**data, "type": "open_meteo"}
        return data
