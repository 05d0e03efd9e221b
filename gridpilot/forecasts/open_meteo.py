"""The Open-Meteo weather forecast API (api.open-meteo.com, free, no key): irradiance and
temperature for the site's coordinates, as a :class:`~gridpilot.forecasts.pv_model.Weather`.

``GET /v1/forecast?latitude=..&longitude=..&hourly=shortwave_radiation,direct_normal_irradiance,
diffuse_radiation,temperature_2m,wind_speed_10m&wind_speed_unit=ms&timeformat=unixtime
&timezone=GMT&forecast_days=2`` (or ``minutely_15=...`` for 15-minute steps). The radiation values
are means over the step before each time stamp; temperature and wind are instantaneous. Times are
asked for as UNIX seconds: local ISO times carry one ``utc_offset_seconds`` for the whole answer,
which is wrong on one side of a clock change. ``null`` marks steps beyond the model's horizon; they
are dropped. Errors are ``{"error": true, "reason": "..."}`` with HTTP 400, and 429 when the free
tier's minutely, hourly or daily limit is spent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import Field

from gridpilot.errors import ForecastFetchError
from gridpilot.forecasts.budget import CallBudget
from gridpilot.forecasts.live import ForecastContext
from gridpilot.forecasts.pv_forecast import PvForecast, PvForecastSettings
from gridpilot.forecasts.pv_model import Site, Weather

if TYPE_CHECKING:
    import httpx

__all__ = ["VARIABLES", "OpenMeteoForecast", "OpenMeteoSettings", "fetch_weather", "parse_weather"]

Resolution = Literal["hourly", "minutely_15"]
VARIABLES = ("shortwave_radiation", "direct_normal_irradiance", "diffuse_radiation",
             "temperature_2m", "wind_speed_10m")
_STEP_S: dict[str, int] = {"hourly": 3600, "minutely_15": 900}
_NAME = "open_meteo"


def fetch_weather(client: httpx.Client, base_url: str, site: Site, *, resolution: Resolution,
                  forecast_days: int, timeout_s: float) -> Weather:
    """The forecast from now for ``forecast_days`` days; raises ForecastFetchError."""
    params = {
        "latitude": f"{site.latitude_deg:.4f}",
        "longitude": f"{site.longitude_deg:.4f}",
        resolution: ",".join(VARIABLES),
        "wind_speed_unit": "ms",
        "timeformat": "unixtime",
        "timezone": "GMT",
        "forecast_days": str(forecast_days),
    }
    # Imported here, as httpx is: check builds this provider but never fetches.
    from gridpilot.forecasts.http import get_json

    doc = get_json(_NAME, client, f"{base_url}/v1/forecast", params=params, timeout_s=timeout_s)
    return parse_weather(doc, resolution)


def _fail(message: str) -> ForecastFetchError:
    return ForecastFetchError(_NAME, f"unexpected answer: {message}; the forecast falls back "
                              "and is fetched again later")


def parse_weather(doc: Any, resolution: Resolution) -> Weather:
    if not isinstance(doc, dict):
        raise _fail("not a JSON object")
    if doc.get("error"):
        raise _fail(str(doc.get("reason", "an error without a reason")))
    block = doc.get(resolution)
    if not isinstance(block, dict):
        raise _fail(f"no '{resolution}' block")
    times = block.get("time")
    if not isinstance(times, list) or not all(isinstance(t, int) for t in times):
        raise _fail("'time' is not a list of UNIX seconds (timeformat=unixtime)")
    step = _STEP_S[resolution]
    columns: list[list[float]] = []
    keep = np.ones(len(times), dtype=bool)
    for name in VARIABLES:
        values = block.get(name)
        if not isinstance(values, list) or len(values) != len(times):
            raise _fail(f"'{name}' is missing or not as long as 'time'")
        column = [float(v) if isinstance(v, int | float) else float("nan") for v in values]
        keep &= np.isfinite(column)
        columns.append(column)
    end = np.asarray(times, dtype=np.int64)
    if len(end) > 1 and np.any(np.diff(end) != step):
        raise _fail(f"'time' is not in steps of {step} s")
    data = [np.asarray(c, dtype=np.float64)[keep] for c in columns]
    # Open-Meteo stamps the END of a radiation interval; end_s is that stamp.
    return Weather(end[keep], step, np.maximum(data[0], 0.0), np.maximum(data[1], 0.0),
                   np.maximum(data[2], 0.0), data[3], np.maximum(data[4], 0.0))


class OpenMeteoSettings(PvForecastSettings):
    base_url: str = "https://api.open-meteo.com"
    """The API's root URL; change it for a proxy, a self-hosted Open-Meteo or a test server."""
    resolution: Literal["hourly", "minutely_15"] = "hourly"
    """``minutely_15``: 15-minute steps (native in central Europe and North America,
    interpolated elsewhere)."""
    forecast_days: Annotated[int, Field(ge=1, le=16)] = 3
    """Days from today's midnight (UTC): 3 covers the next 48 hours at any time of day."""
    calls_per_hour: Annotated[int, Field(ge=1, le=600)] = 12
    """The call budget: the free tier allows 600 a minute and 10 000 a day; a site needs few."""


class OpenMeteoForecast(PvForecast):
    provider_type = "open_meteo"
    settings: OpenMeteoSettings

    def __init__(self, settings: OpenMeteoSettings, tz: ZoneInfo) -> None:
        super().__init__(settings, tz, budget=CallBudget(settings.calls_per_hour, 3600.0))

    def fetch_weather(self, context: ForecastContext) -> Weather:
        s = self.settings
        return fetch_weather(context.client, s.base_url.rstrip("/"), self.site,
                             resolution=s.resolution, forecast_days=s.forecast_days,
                             timeout_s=s.timeout_s)
