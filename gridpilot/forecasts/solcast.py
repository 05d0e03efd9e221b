"""Solcast rooftop-site forecasts (api.solcast.com.au), with their quantiles.

``GET {base_url}/rooftop_sites/{resource_id}/forecasts?format=json&hours=48`` with
``Authorization: Bearer {api_key}``, one call per rooftop site. The answer: ``{"forecasts":
[{"pv_estimate", "pv_estimate10", "pv_estimate90" (kW, the mean of the period), "period_end"
(UTC, ISO), "period": "PT30M"}]}``. The hobbyist tier allows 10 calls a day, shared by its sites;
429 answers ``{"response_status": {"error_code": "TooManyRequests", "message"}}``.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import Field, SecretStr, model_validator

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.errors import ForecastFetchError
from gridpilot.forecasts.budget import CallBudget
from gridpilot.forecasts.live import ForecastContext
from gridpilot.forecasts.pv_forecast import PvForecast, PvForecastSettings
from gridpilot.forecasts.secret import read_secret

if TYPE_CHECKING:
    import httpx

__all__ = ["QUANTILE_KEY", "SolcastForecast", "SolcastSettings", "fetch_pv", "parse_forecasts"]

Quantile = Literal["p10", "p50", "p90"]
QUANTILE_KEY: dict[str, str] = {"p10": "pv_estimate10", "p50": "pv_estimate",
                                "p90": "pv_estimate90"}
_NAME = "solcast"
_PERIOD = re.compile(r"^PT(\d+)M$")


def _fail(message: str) -> ForecastFetchError:
    return ForecastFetchError(_NAME, f"unexpected answer: {message}; the forecast falls back "
                              "and is fetched again later")


def parse_forecasts(doc: Any, quantile: Quantile) -> tuple[IntArray, int, FloatArray]:
    """Period ends [UNIX s], the period [s] and the quantile's mean power [W]."""
    rows = doc.get("forecasts") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise _fail("no 'forecasts' list")
    key = QUANTILE_KEY[quantile]
    ends: list[int] = []
    values: list[float] = []
    step = 0
    for row in rows:
        try:
            end = datetime.fromisoformat(str(row["period_end"]).replace("Z", "+00:00"))
            match = _PERIOD.match(str(row["period"]))
            value = float(row[key])
        except (KeyError, TypeError, ValueError):
            raise _fail(f"a forecast without period_end, period or {key}") from None
        if end.tzinfo is None or match is None or value < 0:
            raise _fail(f"forecast {row!r} is not a UTC period end, a PTnM period and kW >= 0")
        step = step or int(match.group(1)) * 60
        ends.append(int(end.timestamp()))
        values.append(value * 1000.0)
    return np.asarray(ends, dtype=np.int64), step or 1800, np.asarray(values, dtype=np.float64)


def fetch_pv(client: httpx.Client, base_url: str, api_key: str, resource_ids: tuple[str, ...],
             quantile: Quantile, *, timeout_s: float,
             now_s: float) -> tuple[IntArray, int, FloatArray]:
    """Every rooftop site's forecast, summed (one call per site)."""
    total: dict[int, float] = {}
    step = 1800
    for site in resource_ids:
        # Imported here, as httpx is: check builds this provider but never fetches.
        from gridpilot.forecasts.http import get_json

        doc = get_json(_NAME, client, f"{base_url}/rooftop_sites/{site}/forecasts",
                       timeout_s=timeout_s, params={"format": "json", "hours": "48"},
                       headers={"Authorization": f"Bearer {api_key}"}, now_s=now_s)
        ends, step, watts = parse_forecasts(doc, quantile)
        for e, w in zip(ends.tolist(), watts.tolist(), strict=True):
            total[e] = total.get(e, 0.0) + w
    keys = np.asarray(sorted(total), dtype=np.int64)
    return keys, step, np.asarray([total[k] for k in keys.tolist()], dtype=np.float64)


class SolcastSettings(PvForecastSettings):
    base_url: str = "https://api.solcast.com.au"
    resource_ids: Annotated[tuple[str, ...], Field(min_length=1, max_length=2)]
    """The rooftop sites' resource ids (the hobbyist tier has up to two)."""
    api_key: SecretStr | None = None
    """The key (``${ENV}``), or ``api_key_file``."""
    api_key_file: Path | None = None
    quantile: Literal["p10", "p50", "p90"] = "p50"
    """Which forecast the planner sizes from: ``p10`` a cautious one (90 % of days give more)."""
    calls_per_day: Annotated[int, Field(ge=1, le=10_000)] = 10
    """The hobbyist tier allows 10 calls a day, shared by the sites."""
    refresh_interval_s: Annotated[float, Field(ge=60, le=86_400)] = 8640.0
    """Default: the day's calls spread evenly (10 calls, one site: every 2.4 hours)."""
    max_age_s: Annotated[float, Field(ge=600, le=7 * 86_400)] = 12 * 3600.0

    @model_validator(mode="before")
    @classmethod
    def _plan_calls(cls, data: Any) -> Any:
        # Spread the day's calls: a refresh costs one call per site.
        if isinstance(data, dict) and "refresh_interval_s" not in data:
            sites = len(data.get("resource_ids") or ()) or 1
            calls = int(data.get("calls_per_day", 10))
            data = {**data, "refresh_interval_s": max(60.0, 86_400.0 * sites / max(calls, 1))}
        return data

    @model_validator(mode="after")
    def _key_given(self) -> SolcastSettings:
        if self.api_key is None and self.api_key_file is None:
            raise ValueError("give api_key: ${SOLCAST_API_KEY} or api_key_file: PATH")
        return self


class SolcastForecast(PvForecast):
    provider_type = "solcast"
    settings: SolcastSettings

    def __init__(self, settings: SolcastSettings, tz: ZoneInfo) -> None:
        super().__init__(settings, tz, budget=CallBudget(settings.calls_per_day, 86_400.0))

    def calls_per_refresh(self) -> int:
        return len(self.settings.resource_ids)

    def fetch_weather(self, context: ForecastContext) -> tuple[IntArray, int, FloatArray]:
        s = self.settings
        key = read_secret(s.api_key, s.api_key_file, context.base_dir, "solcast")
        if key is None:
            raise ForecastFetchError("solcast", "the api_key is empty; set it from an env var")
        now_s = context.clock.now().timestamp()
        return fetch_pv(context.client, s.base_url.rstrip("/"), key, s.resource_ids,
                             s.quantile, timeout_s=s.timeout_s, now_s=now_s)
