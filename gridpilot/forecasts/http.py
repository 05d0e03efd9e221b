"""One GET of a forecast service, every failure a ForecastFetchError naming the provider.

Messages never quote the query string, where a key may travel; a 429 carries the wait the service
asked for (``Retry-After``), which the caller's budget honours.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

import httpx

from gridpilot.errors import ForecastFetchError
from gridpilot.httpcall import endpoint, parse_json, send

__all__ = ["get_json"]

_DEFAULT_RETRY_S = 60.0


_THEN = "the forecast falls back and is fetched again later"


def _retry_after_s(response: httpx.Response, now_s: float | None) -> float:
    # Retry-After in seconds (RFC 9110), or forecast.solar's X-Ratelimit-Retry-At (ISO time).
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        pass
    retry_at = response.headers.get("X-Ratelimit-Retry-At")
    if retry_at and now_s is not None:
        try:
            return max(0.0, datetime.fromisoformat(retry_at).timestamp() - now_s)
        except ValueError:
            pass
    return _DEFAULT_RETRY_S


def _reason(response: httpx.Response) -> str:
    # Open-Meteo answers {"error": true, "reason": ...}; forecast.solar {"message": {"text"}};
    # Solcast {"response_status": {"message"}}.
    try:
        doc = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return " ".join(response.text.split())[:200]
    if isinstance(doc, dict):
        for path in (("reason",), ("message", "text"), ("response_status", "message")):
            value: Any = doc
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, str):
                return value[:200]
    return ""


def get_json(provider: str, client: httpx.Client, url: str, *, timeout_s: float,
             params: Mapping[str, str] | None = None,
             headers: Mapping[str, str] | None = None, now_s: float | None = None,
             where: str | None = None) -> Any:
    """The JSON body of ``GET url``; raises ForecastFetchError for anything else. ``where``
    names the endpoint in messages instead of the URL (a service with a key in its path)."""
    where = where or endpoint(url)
    fail = partial(ForecastFetchError, provider)
    response = send(client, "GET", url, timeout_s=timeout_s, fail=fail, then=_THEN, where=where,
                    params=params, headers=headers)
    status = response.status_code
    if status == 429:
        wait = _retry_after_s(response, now_s)
        raise ForecastFetchError(
            provider, f"{where} answered HTTP 429 (rate limited: {_reason(response)}); no call "
            f"for {wait:g} s", retry_after_s=wait)
    if status in (401, 403):
        raise ForecastFetchError(provider, f"{where} answered HTTP {status}: the service "
                                 "refused the key; check the api_key setting")
    if status != 200:
        raise ForecastFetchError(provider, f"{where} answered HTTP {status}: "
                                 f"{_reason(response) or 'no reason given'}")
    return parse_json(response, fail=fail, then=_THEN, where=where)
