"""AC power of a site's PV arrays from irradiance and temperature, through pvlib.

The chain is the NREL PVWatts v5 one, every step a pvlib function: solar position (NREL SPA),
plane-of-array irradiance (Hay-Davies transposition), the incidence-angle loss of the direct beam
(physical IAM), cell temperature (SAPM, open rack), DC power (``pvwatts_dc``), system losses
(``losses_pct``, PVWatts' 14 % by default) and the inverter (``inverter.pvwatts``, clipped at the
array's ``inverter_limit_w``). pvlib (and pandas) come with the ``pv`` extra; the core does not
need them, so this module imports pvlib only when a PV model is actually evaluated.

Irradiance from a forecast service is a mean over the interval before its time stamp (Open-Meteo's
"preceding hour mean"), so the sun is placed at the middle of that interval, not at its end: an
hourly series read at its end stamps shifts the whole day by half an hour.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.errors import ForecastError
from gridpilot.models import StrictModel

__all__ = [
    "PvArray",
    "Site",
    "Weather",
    "array_ac_w",
    "clear_sky_weather",
    "pv_ac_w",
    "require_pvlib",
]


# PVWatts v5 defaults (Dobos 2014, NREL/TP-6A20-62641): standard module, 96 % nominal inverter.
_GAMMA_PDC = -0.0047
_ETA_INV_NOM = 0.96


class PvArray(StrictModel):
    """One PV array: its peak power, orientation, losses and inverter."""

    kwp: Annotated[float, Field(gt=0, le=10_000)]
    """Peak DC power at standard test conditions [kW]."""
    tilt_deg: Annotated[float, Field(ge=0, le=90)] = 30.0
    """Tilt from horizontal [°]: 0 flat, 90 a wall."""
    azimuth_deg: Annotated[float, Field(ge=0, lt=360)] = 180.0
    """The direction the panels face, clockwise from north [°]: 90 east, 180 south, 270 west."""
    losses_pct: Annotated[float, Field(ge=0, lt=100)] = 14.0
    """System losses before the inverter (soiling, shading, wiring, mismatch) [%]."""
    inverter_limit_w: Annotated[float | None, Field(gt=0, le=10_000_000)] = None
    """The inverter's AC limit [W]; ``None``: sized at the array's kWp."""


@dataclass(frozen=True, slots=True)
class Site:
    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0


@dataclass(frozen=True, slots=True)
class Weather:
    """Interval means: ``end_s[i]`` is the end of interval i [UNIX s], ``step_s`` its length."""

    end_s: IntArray
    step_s: int
    ghi_w_m2: FloatArray
    dni_w_m2: FloatArray
    dhi_w_m2: FloatArray
    temp_air_c: FloatArray
    wind_m_s: FloatArray

    def __len__(self) -> int:
        return int(self.end_s.shape[0])


def require_pvlib() -> tuple[ModuleType, ModuleType]:
    """pvlib and pandas, or a ForecastError saying which extra installs them."""
    try:
        return importlib.import_module("pvlib"), importlib.import_module("pandas")
    except ImportError:
        raise ForecastError(
            "the PV model needs pvlib, which is not installed",
            hint="pip install 'gridpilot[pv]'",
        ) from None


def _index(pd: Any, mid_s: IntArray) -> Any:
    return pd.DatetimeIndex(pd.to_datetime(mid_s, unit="s", utc=True))


def array_ac_w(array: PvArray, site: Site, weather: Weather) -> FloatArray:
    """AC power [W] of one array, interval by interval (0 at night, never negative)."""
    pvlib, pd = require_pvlib()
    if len(weather) == 0:
        return np.zeros(0, dtype=np.float64)
    times = _index(pd, weather.end_s - weather.step_s // 2)
    sun = pvlib.solarposition.get_solarposition(
        times, site.latitude_deg, site.longitude_deg, altitude=site.altitude_m,
        temperature=weather.temp_air_c)
    zenith = sun["apparent_zenith"].to_numpy()
    azimuth = sun["azimuth"].to_numpy()
    poa = pvlib.irradiance.get_total_irradiance(
        array.tilt_deg, array.azimuth_deg, zenith, azimuth,
        weather.dni_w_m2, weather.ghi_w_m2, weather.dhi_w_m2,
        dni_extra=pvlib.irradiance.get_extra_radiation(times).to_numpy(),
        model="haydavies")
    aoi = pvlib.irradiance.aoi(array.tilt_deg, array.azimuth_deg, zenith, azimuth)
    iam = np.nan_to_num(np.asarray(pvlib.iam.physical(aoi), dtype=np.float64))
    direct = np.nan_to_num(np.asarray(poa["poa_direct"], dtype=np.float64))
    diffuse = np.nan_to_num(np.asarray(poa["poa_diffuse"], dtype=np.float64))
    effective = np.maximum(direct * iam + diffuse, 0.0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
    cell_c = pvlib.temperature.sapm_cell(
        effective, weather.temp_air_c, weather.wind_m_s, **params)
    pdc0_w = array.kwp * 1000.0
    dc_w = pvlib.pvsystem.pvwatts_dc(effective, cell_c, pdc0_w, _GAMMA_PDC)
    dc_w = np.asarray(dc_w, dtype=np.float64) * (1.0 - array.losses_pct / 100.0)
    ac_w = np.asarray(pvlib.inverter.pvwatts(dc_w, pdc0_w, eta_inv_nom=_ETA_INV_NOM),
                      dtype=np.float64)
    limit = array.inverter_limit_w if array.inverter_limit_w is not None else pdc0_w
    # At night pvwatts returns a small negative tare; PV never draws from the grid here.
    return np.clip(np.nan_to_num(ac_w), 0.0, limit)


def pv_ac_w(arrays: tuple[PvArray, ...], site: Site, weather: Weather) -> FloatArray:
    """AC power [W] of every array together."""
    total = np.zeros(len(weather), dtype=np.float64)
    for array in arrays:
        total += array_ac_w(array, site, weather)
    return total


def clear_sky_weather(site: Site, end_s: IntArray, step_s: int,
                      temp_air_c: float = 20.0, wind_m_s: float = 1.0) -> Weather:
    """Ineichen clear-sky irradiance (Linke turbidity from pvlib's monthly climatology) for the
    intervals ending at ``end_s``: what a cloudless sky would give."""
    pvlib, pd = require_pvlib()
    end = np.asarray(end_s, dtype=np.int64)
    n = end.shape[0]
    if n == 0:
        zeros = np.zeros(0, dtype=np.float64)
        return Weather(end, step_s, zeros, zeros, zeros, zeros, zeros)
    location = pvlib.location.Location(site.latitude_deg, site.longitude_deg,
                                       altitude=site.altitude_m)
    sky = location.get_clearsky(_index(pd, end - step_s // 2), model="ineichen")
    return Weather(
        end, step_s,
        np.nan_to_num(sky["ghi"].to_numpy(dtype=np.float64)),
        np.nan_to_num(sky["dni"].to_numpy(dtype=np.float64)),
        np.nan_to_num(sky["dhi"].to_numpy(dtype=np.float64)),
        np.full(n, temp_air_c), np.full(n, wind_m_s),
    )
