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
from typing import Any, Literal

import httpx
import numpy as np
import numpy.typing as npt

from gridpilot.errors import ForecastFetchError
from gridpilot.forecasts.http import get_json

__all__ = ["QUANTILE_KEY", "fetch_pv", "parse_forecasts"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
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
        doc = get_json(_NAME, client, f"{base_url}/rooftop_sites/{site}/forecasts",
                       timeout_s=timeout_s, params={"format": "json", "hours": "48"},
                       headers={"Authorization": f"Bearer {api_key}"}, now_s=now_s)
        ends, step, watts = parse_forecasts(doc, quantile)
        for e, w in zip(ends.tolist(), watts.tolist(), strict=True):
            total[e] = total.get(e, 0.0) + w
    keys = np.asarray(sorted(total), dtype=np.int64)
    return keys, step, np.asarray([total[k] for k in keys.tolist()], dtype=np.float64)
