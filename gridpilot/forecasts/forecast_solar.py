"""The forecast.solar estimate API: PV power per array, already modelled by the service.

``GET {base_url}[/{api_key}]/estimate/{lat}/{lon}/{declination}/{azimuth}/{kwp}?time=iso8601``,
one call per array on the free tier (12 calls an hour per IP). Its azimuth is -180..180 with 0
south, -90 east and 90 west (ours: 180 south, clockwise from north). The answer's
``result.watt_hours_period`` holds the energy of the period ENDING at each time stamp (hourly,
plus sunrise and sunset stamps), with the site's UTC offset in every stamp; that energy is summed
into whole hours and turned into mean power. Errors answer ``{"message": {"type": "error",
"code", "text"}}`` with 400 or 422; the rate limit answers 429 with ``X-Ratelimit-Retry-At``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import Field, SecretStr

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.errors import ForecastFetchError
from gridpilot.forecasts.budget import CallBudget
from gridpilot.forecasts.live import ForecastContext
from gridpilot.forecasts.pv_forecast import PvForecast, PvForecastSettings
from gridpilot.forecasts.pv_model import PvArray, Site
from gridpilot.forecasts.secret import read_secret

if TYPE_CHECKING:
    import httpx

__all__ = ["ForecastSolarForecast", "ForecastSolarSettings", "fetch_pv", "parse_estimate"]

_NAME = "forecast_solar"


def _fail(message: str) -> ForecastFetchError:
    return ForecastFetchError(_NAME, f"unexpected answer: {message}; the forecast falls back "
                              "and is fetched again later")


def parse_estimate(doc: Any) -> dict[int, float]:
    """Energy [Wh] per whole hour, keyed by the hour's END [UNIX s]."""
    try:
        periods = doc["result"]["watt_hours_period"]
    except (KeyError, TypeError):
        raise _fail("no result.watt_hours_period") from None
    if not isinstance(periods, dict):
        raise _fail("result.watt_hours_period is not an object")
    hours: dict[int, float] = {}
    for stamp, wh in periods.items():
        try:
            t = datetime.fromisoformat(stamp)
        except (TypeError, ValueError):
            raise _fail(f"time {stamp!r} is not ISO 8601 (time=iso8601)") from None
        if t.tzinfo is None:
            raise _fail(f"time {stamp!r} has no UTC offset (time=iso8601)")
        if not isinstance(wh, int | float) or wh < 0:
            raise _fail(f"energy {wh!r} at {stamp} is not a number of Wh")
        end = -(-int(t.timestamp()) // 3600) * 3600  # the hour the period ends in
        hours[end] = hours.get(end, 0.0) + float(wh)
    return hours


def fetch_pv(client: httpx.Client, base_url: str, api_key: str | None, site: Site,
             arrays: tuple[PvArray, ...], *, timeout_s: float,
             now_s: float) -> tuple[IntArray, int, FloatArray]:
    """Mean AC power [W] per hour of every array together (one call per array)."""
    # Imported here, as httpx is: check builds this provider but never fetches.
    from gridpilot.forecasts.http import get_json

    total: dict[int, float] = {}
    for array in arrays:
        azimuth = ((array.azimuth_deg - 180.0 + 180.0) % 360.0) - 180.0
        key = f"/{api_key}" if api_key else ""
        url = (f"{base_url}{key}/estimate/{site.latitude_deg:.4f}/{site.longitude_deg:.4f}/"
               f"{array.tilt_deg:g}/{azimuth:g}/{array.kwp:g}")
        params = {"time": "iso8601"}
        if array.inverter_limit_w is not None:
            params["inverter"] = f"{array.inverter_limit_w / 1000:g}"
        # The key travels in the path: messages name the service, never the URL.
        doc = get_json(_NAME, client, url, timeout_s=timeout_s, params=params, now_s=now_s,
                       where=f"{base_url}/estimate (array of {array.kwp:g} kWp)")
        # The service models its own system losses; losses_pct is not applied again.
        for end, wh in parse_estimate(doc).items():
            total[end] = total.get(end, 0.0) + wh
    ends = np.asarray(sorted(total), dtype=np.int64)
    return ends, 3600, np.asarray([total[e] for e in ends.tolist()], dtype=np.float64)


class ForecastSolarSettings(PvForecastSettings):
    base_url: str = "https://api.forecast.solar"
    api_key: SecretStr | None = None
    """A personal or professional key (``${ENV}``); the public tier needs none."""
    api_key_file: Path | None = None
    """A file whose first line is the key (relative to the policy's directory)."""
    calls_per_hour: Annotated[int, Field(ge=1, le=3600)] = 12
    """The public tier allows 12 calls an hour per IP; each array is one call."""


class ForecastSolarForecast(PvForecast):
    provider_type = "forecast_solar"
    settings: ForecastSolarSettings

    def __init__(self, settings: ForecastSolarSettings, tz: ZoneInfo) -> None:
        super().__init__(settings, tz, budget=CallBudget(settings.calls_per_hour, 3600.0))

    def calls_per_refresh(self) -> int:
        return len(self.settings.arrays)

    def fetch_weather(self, context: ForecastContext) -> tuple[IntArray, int, FloatArray]:
        s = self.settings
        key = read_secret(s.api_key, s.api_key_file, context.base_dir)
        now_s = context.clock.now().timestamp()
        return fetch_pv(context.client, s.base_url.rstrip("/"), key, self.site,
                                    s.arrays, timeout_s=s.timeout_s, now_s=now_s)
