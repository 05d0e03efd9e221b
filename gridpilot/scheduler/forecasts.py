"""The live forecast for ``gridpilot run``: refreshed at the provider's interval, cached by the
provider in the state directory, every refresh audited, and never the end of a tick.

The chain, said in every tick's audit record (``forecast.source``):

1. ``provider``: the policy's forecast (for a PV provider: its live forecast while fresh, its
   replay form for slots the live one does not cover; ``forecast.pv`` says how many of each);
2. ``time_of_week``: when the provider raises or answers something not finite, the time-of-week
   average of the net load, fed the same readings all along;
3. ``flat``: when even that fails, the flat net load of the time-of-week settings.

A refresh runs in a worker thread (the HTTP call is blocking) before the tick reads the device.
A failed refresh is audited (``forecast_refresh``, ``error``) and retried after ``retry_s``
(doubling up to the provider's interval); the forecast held keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.clock import Clock
from gridpilot.errors import ForecastFetchError
from gridpilot.forecasts.live import ForecastContext, LiveForecast
from gridpilot.forecasts.providers import ForecastProvider, TimeOfWeekAverage

__all__ = ["ForecastKeeper"]

log = logging.getLogger("gridpilot.forecasts")


@dataclass
class ForecastKeeper:
    """Owns the running policy's forecast provider and its fallbacks.

    Args:
        provider: the policy's provider (``policy.new_forecast()``).
        state_dir: where a live provider caches its forecast (``<state_dir>/forecasts``).
        clock: the only source of time.
        client: the HTTP client live providers use (tests: one reaching an emulator); by default
            one with verified TLS, closed by :meth:`close`.
        audit: where refreshes and fallbacks are recorded.
    """

    provider: ForecastProvider
    state_dir: Path
    clock: Clock
    tz: Any
    client: httpx.Client | None = None
    audit: Any = None
    base_dir: Path = Path()
    retry_s: float = 300.0
    source: str = "provider"
    last_error: str = ""
    refreshes: int = 0
    _due_s: float = 0.0
    _backoff_s: float = 0.0
    _own_client: bool = False
    _backup: TimeOfWeekAverage = field(init=False)

    def __post_init__(self) -> None:
        self._backup = TimeOfWeekAverage(self.tz)
        if self.client is None and isinstance(self.provider, LiveForecast):
            self.client = httpx.Client(follow_redirects=True)
            self._own_client = True

    def replace(self, provider: ForecastProvider) -> None:
        """A reloaded policy's provider: refreshed at the next tick."""
        self.provider = provider
        self._due_s = 0.0
        if self.client is None and isinstance(provider, LiveForecast):
            self.client = httpx.Client(follow_redirects=True)
            self._own_client = True

    # -- refreshing -----------------------------------------------------------------------------
    async def refresh(self, now: datetime) -> None:
        """Fetch if the provider is live and due. Never raises (except cancellation)."""
        provider = self.provider
        now_s = now.timestamp()
        if not isinstance(provider, LiveForecast) or now_s < self._due_s:
            return
        assert self.client is not None
        context = ForecastContext(self.client, self.clock, self.state_dir, self.base_dir)
        try:
            result = await asyncio.to_thread(provider.refresh, context, now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a provider's failure, or a bug in one: never the tick's end
            self.last_error = str(exc) if isinstance(exc, ForecastFetchError) else (
                f"{type(exc).__name__}: {exc}")
            if not isinstance(exc, ForecastFetchError):
                log.exception("refreshing the forecast failed")
            else:
                log.warning("%s", exc)
            self._backoff_s = min(max(self.retry_s, 2 * self._backoff_s),
                                  provider.refresh_interval_s)
            self._due_s = now_s + self._backoff_s
            self._audit("forecast_refresh", now, outcome="error", error=self.last_error,
                        retry_in_s=round(self._backoff_s), fallback=provider.sources())
            return
        self.refreshes += 1
        self.last_error = ""
        self._backoff_s = 0.0
        # "skipped" (budget): look again soon; otherwise at the provider's interval.
        self._due_s = now_s + (min(self.retry_s, provider.refresh_interval_s)
                               if result.outcome == "skipped" else provider.refresh_interval_s)
        if result.outcome != "cached" or self.refreshes == 1:
            self._audit("forecast_refresh", now, outcome=result.outcome, **result.detail)

    # -- forecasting ----------------------------------------------------------------------------
    def predict(self, now: datetime, load_w: float, pv_w: float,
                slot_start_s: IntArray) -> FloatArray | None:
        """Observe this tick's readings and forecast the net load per slot, down the chain."""
        self._backup.observe(now, load_w, pv_w)
        try:
            self.provider.observe(now, load_w, pv_w)
            if not len(slot_start_s):
                return None
            out = np.asarray(self.provider.forecast(slot_start_s), dtype=np.float64)
            if out.shape != slot_start_s.shape or not np.isfinite(out).all():
                raise ValueError("the forecast is not one finite value per slot")
            self._set_source(now, "provider", "")
            return out
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
        if not len(slot_start_s):
            return None
        try:
            out = self._backup.forecast(slot_start_s)
            if np.isfinite(out).all():
                self._set_source(now, "time_of_week", why)
                return out
        except Exception as exc:  # pragma: no cover - the average is plain arithmetic
            why = f"{why}; time_of_week: {type(exc).__name__}: {exc}"
        self._set_source(now, "flat", why)
        return np.full(slot_start_s.shape[0], self._backup.flat_w)

    def _set_source(self, now: datetime, source: str, why: str) -> None:
        if source != self.source:
            if why:
                log.warning("forecast falls back to %s: %s", source, why)
            self._audit("forecast_fallback", now, source=source, error=why)
        self.source = source

    def trace(self) -> dict[str, Any]:
        """For the tick's audit record: ``{"forecast": {source, pv, last_error}}``, or nothing
        while a plain provider (``time_of_week``, ``flat``) serves as it should."""
        sources = self.provider.sources() if isinstance(self.provider, LiveForecast) else {}
        if not sources and self.source == "provider":
            return {}
        return {"forecast": {"source": self.source,
                             **({"pv": sources} if sources else {}),
                             **({"last_error": self.last_error} if self.last_error else {})}}

    def _audit(self, kind: str, now: datetime, **fields: Any) -> None:
        if self.audit is not None:
            self.audit.write(kind, now, **{k: v for k, v in fields.items()
                                           if not (isinstance(v, float) and not math.isfinite(v))})

    def close(self) -> None:
        if self._own_client and self.client is not None:
            self.client.close()
