"""A net-load forecast that knows the weather: the load's time-of-week average minus a PV
forecast, from a live service when one is fresh, from measured PV otherwise.

Per slot the PV comes from the first of this chain that has it (:meth:`PvForecast.sources` says
which, per slot): the live forecast (fetched at most ``max_age_s`` ago and covering the slot,
times the calibration ratio), then the replay form (``replay``: ``clear_sky``, ``persistence``
or ``time_of_week``, see :mod:`~gridpilot.forecasts.pv_replay`), then no PV at all (the net load
is the load forecast, itself flat before any reading). In a backtest nothing is fetched and the
replay form is the whole PV forecast: it is built from PV already measured, never the future.

Self-calibration: while a live forecast covers the readings, the ratio of the PV measured to the
PV forecast over the last ``calibration_days`` days (daylight only) corrects shading, dirt or a
wrong kWp. It is bounded to ``[calibration_min, calibration_max]`` and shown in ``sources()``.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.forecasts.budget import CallBudget
from gridpilot.forecasts.forecast_file import RecordedForecasts, load_forecast_file
from gridpilot.forecasts.live import ForecastContext, RefreshResult
from gridpilot.forecasts.load_settings import LoadCorrections
from gridpilot.forecasts.providers import TimeOfWeekAverage
from gridpilot.forecasts.pv_cache import CachedPv, PvCache, cache_key
from gridpilot.forecasts.pv_model import PvArray, Site, Weather, pv_ac_w
from gridpilot.forecasts.pv_replay import (
    ClearSkyPv,
    PvHistory,
    ReplayForm,
    clearness,
    persistence_pv,
)

__all__ = ["PvForecast", "PvForecastSettings"]


_DAYLIGHT_W = 50.0  # readings below this say little about a ratio (dawn, dusk, night)


class PvForecastSettings(LoadCorrections):
    """What every PV forecast provider shares."""

    latitude_deg: Annotated[float, Field(ge=-90, le=90)]
    longitude_deg: Annotated[float, Field(ge=-180, le=180)]
    altitude_m: Annotated[float, Field(ge=-500, le=9000)] = 0.0
    arrays: Annotated[tuple[PvArray, ...], Field(max_length=20)]
    """The PV arrays; their AC powers add up."""
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 20.0
    refresh_interval_s: Annotated[float, Field(ge=60, le=86_400)] = 3600.0
    """How often the live scheduler fetches a new forecast [s]."""
    max_age_s: Annotated[float, Field(ge=600, le=7 * 86_400)] = 6 * 3600.0
    """A live forecast older than this is not used; the chain falls back [s]."""
    replay: ReplayForm = "clear_sky"
    """The PV forecast without a live one: in a backtest, and when the service fails."""
    forecast_file: Path | None = None
    """With ``replay: forecast_file``: a CSV of past forecasts (``issued_at,period_start,pv_w``),
    each used only from its issue time; a relative path is read from the policy's folder."""
    calibration: bool = True
    calibration_days: Annotated[int, Field(ge=1, le=60)] = 7
    calibration_min: Annotated[float, Field(gt=0, le=1)] = 0.5
    calibration_max: Annotated[float, Field(ge=1, le=3)] = 1.5
    bin_s: Annotated[int, Field(ge=300, le=3600)] = 1800
    """The bins measured PV and load are averaged in [s]; must divide a day."""
    weeks: Annotated[int, Field(ge=1, le=52)] = 4
    """How many past weeks the load's (and the time-of-week PV's) average reads."""
    flat_w: Annotated[float, Field(ge=-1_000_000, le=1_000_000)] = 500.0
    """The load [W] assumed before anything has been measured."""

    @field_validator("arrays")
    @classmethod
    def _at_least_one(cls, value: tuple[PvArray, ...]) -> tuple[PvArray, ...]:
        # Not min_length: pydantic reports that too when an item is invalid, as if none were.
        if not value:
            raise ValueError("give at least one array ({kwp, tilt_deg, azimuth_deg})")
        return value

    @field_validator("forecast_file")
    @classmethod
    def _readable_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        # The policy's folder comes in the validation context (as every *_file setting's does);
        # without one (a library caller), a relative path is the working directory's.
        base = info.context.get("base_dir") if isinstance(info.context, dict) else None
        path = value if value.is_absolute() or base is None else Path(base) / value
        load_forecast_file(path, info.data.get("bin_s", 1800))  # a bad file is located here
        return path

    @model_validator(mode="after")
    def _bins_divide_a_day(self) -> PvForecastSettings:
        if 86_400 % self.bin_s:
            raise ValueError("bin_s must divide a day, e.g. 900, 1800 or 3600")
        if (self.replay == "forecast_file") != (self.forecast_file is not None):
            raise ValueError("replay: forecast_file and a forecast_file: path go together; "
                             "give both, or neither")
        return self


class PvForecast:
    """The provider object; a service's subclass implements :meth:`fetch_pv`."""

    provider_type = "pv"

    def __init__(self, settings: PvForecastSettings, tz: ZoneInfo, *, budget: CallBudget) -> None:
        self.settings = settings
        self.tz = tz
        self.site = Site(settings.latitude_deg, settings.longitude_deg, settings.altitude_m)
        self.refresh_interval_s = settings.refresh_interval_s
        self.budget = budget
        self.load = TimeOfWeekAverage(tz, bin_s=settings.bin_s, weeks=settings.weeks,
                                      flat_w=settings.flat_w, **settings.corrections())
        self.pv_tow = TimeOfWeekAverage(tz, bin_s=settings.bin_s, weeks=settings.weeks,
                                        flat_w=0.0)
        self.history = PvHistory(settings.bin_s, days=7)
        self.recorded: RecordedForecasts | None = (
            None if settings.forecast_file is None
            else load_forecast_file(settings.forecast_file, settings.bin_s))
        self._clear: ClearSkyPv | None = None
        self._clearness_key = -2
        self._clearness: float | None = None
        self.live: CachedPv | None = None
        self._calib: deque[tuple[int, float, float]] = deque()
        self._last_sources: dict[str, Any] = {}
        self._cache_loaded = False
        self.last_pv_w: FloatArray | None = None

    # -- learning -------------------------------------------------------------------------------
    def observe(self, t: datetime, load_w: float, pv_w: float) -> None:
        if t.tzinfo is None:
            raise ValueError("observe needs a timezone-aware time")
        if not (math.isfinite(load_w) and math.isfinite(pv_w)):
            return  # a gap is not a zero: nothing is learnt from it
        t_s = int(t.timestamp())
        self.load.observe(t, load_w, 0.0)
        self.pv_tow.observe(t, pv_w, 0.0)
        self.history.observe(t_s, pv_w)
        if self.settings.calibration and self.live is not None:
            forecast = self._live_at(np.asarray([t_s], dtype=np.int64), raw=True)[0]
            if math.isfinite(forecast) and max(forecast, pv_w) >= _DAYLIGHT_W:
                self._calib.append((t_s, max(pv_w, 0.0), forecast))
                horizon = t_s - self.settings.calibration_days * 86_400
                while self._calib and self._calib[0][0] < horizon:
                    self._calib.popleft()

    def calibration_ratio(self) -> float:
        """Measured over forecast PV, bounded; 1 until a day's worth of daylight was seen."""
        if not self.settings.calibration or len(self._calib) < 86_400 // self.settings.bin_s // 2:
            return 1.0
        measured = sum(m for _, m, _ in self._calib)
        forecast = sum(f for _, _, f in self._calib)
        if forecast <= 0:
            return 1.0
        return min(max(measured / forecast, self.settings.calibration_min),
                   self.settings.calibration_max)

    # -- forecasting ----------------------------------------------------------------------------
    def forecast(self, slot_start_s: IntArray) -> FloatArray:
        starts = np.asarray(slot_start_s, dtype=np.int64)
        return self.load.forecast(starts) - self.pv_w(starts)

    def pv_w(self, slot_start_s: IntArray) -> FloatArray:
        """The PV forecast per slot [W], down the chain; records the sources."""
        starts = np.asarray(slot_start_s, dtype=np.int64)
        n = starts.shape[0]
        pv = np.full(n, np.nan)
        live = self._live_at(starts)
        have = np.isfinite(live)
        pv[have] = live[have]
        replay = self._replay(starts) if not have.all() else None
        from_replay = ~have & (np.isfinite(replay) if replay is not None else False)
        if replay is not None:
            pv[from_replay] = replay[from_replay]
        none = ~np.isfinite(pv)
        pv[none] = 0.0
        self.last_pv_w = pv  # the PV part of the last forecast, for scoring it in a backtest
        self._last_sources = {
            "live_slots": int(have.sum()),
            f"{self.settings.replay}_slots": int(np.sum(from_replay)),
            "no_pv_slots": int(none.sum()),
            "calibration_ratio": round(self.calibration_ratio(), 4),
            **({"live_fetched_s": int(self.live.fetched_s)} if self.live is not None else {}),
        }
        return pv

    def sources(self) -> dict[str, Any]:
        return {"provider": self.provider_type, **self._last_sources}

    def _live_at(self, starts: IntArray, *, raw: bool = False) -> FloatArray:
        out = np.full(starts.shape[0], np.nan)
        live = self.live
        if live is None or len(live.end_s) == 0:
            return out
        if not raw and starts.shape[0] and (
                int(starts[0]) - live.fetched_s > self.settings.max_age_s):
            return out
        # The interval containing each slot's middle (slots as long as the gap to the next).
        step = int(np.median(np.diff(starts))) if starts.shape[0] > 1 else self.settings.bin_s
        mid = starts + step // 2
        idx = np.searchsorted(live.end_s, mid, side="right")
        inside = (idx < len(live.end_s))
        safe = np.clip(idx, 0, len(live.end_s) - 1)
        inside &= live.end_s[safe] - live.step_s <= mid
        ratio = 1.0 if raw else self.calibration_ratio()
        out[inside] = live.pv_w[safe[inside]] * ratio
        return out

    def _replay(self, starts: IntArray) -> FloatArray | None:
        form = self.settings.replay
        if form == "forecast_file":
            return self._from_file(starts)
        if form == "time_of_week":
            return None if self.history.last_s is None else self.pv_tow.forecast(starts)
        if form == "persistence":
            return persistence_pv(self.history, starts)
        return self._clear_sky(starts)

    def _from_file(self, starts: IntArray) -> FloatArray | None:
        """The recorded issues as known at the last reading; clear sky where they say nothing.
        The last reading's time is what the forecast knows as now: no issue after it is read."""
        if self.recorded is None or self.history.last_s is None:
            return self._clear_sky(starts)
        slot_s = int(np.median(np.diff(starts))) if starts.shape[0] > 1 else self.settings.bin_s
        out = self.recorded.pv_w(self.history.last_s, starts, slot_s)
        missing = ~np.isfinite(out)
        if missing.any():
            fallback = self._clear_sky(starts[missing])
            if fallback is not None:
                out[missing] = fallback
        return out

    def _clear_sky(self, starts: IntArray) -> FloatArray | None:
        if self._clear is None:
            self._clear = ClearSkyPv(self.settings.arrays, self.site, self.settings.bin_s)
        # The clearness only changes when a bin completes: once per bin, not per forecast.
        key = -1 if self.history.last_s is None else self.history.last_s // self.settings.bin_s
        if key != self._clearness_key:
            self._clearness_key = key
            self._clearness = clearness(self.history, self._clear)
        k = self._clearness
        if k is None:
            return None
        return k * self._clear.bins_w(starts // self.settings.bin_s)

    # -- fetching (live only) -------------------------------------------------------------------
    def calls_per_refresh(self) -> int:
        """How many calls one refresh sends (one per array or rooftop site for some services)."""
        return 1

    def fetch_weather(self, context: ForecastContext) -> Weather | tuple[IntArray, int, FloatArray]:
        """The service's answer: weather to model, or PV itself (end_s, step_s, pv_w)."""
        raise NotImplementedError

    def refresh(self, context: ForecastContext, now: datetime) -> RefreshResult:
        cache = PvCache(context.state_dir)
        key = cache_key(self.provider_type, self.settings)
        now_s = now.timestamp()
        if not self._cache_loaded:
            self._cache_loaded = True
            cached = cache.load(key)
            if cached is not None:
                self.live = cached
                for spent in cached.spent_s:
                    self.budget.spend(spent)
        if self.live is not None and now_s - self.live.fetched_s < self.refresh_interval_s:
            return RefreshResult("cached", {"age_s": round(now_s - self.live.fetched_s)})
        calls = self.calls_per_refresh()
        if self.budget.remaining(now_s) < calls:
            # Every call of a refresh must fit, or none is sent.
            wait_s = round(self.budget.wait_s(now_s))
            return RefreshResult("skipped", {"calls_needed": calls, "call_budget_wait_s": wait_s})
        for _ in range(calls):
            self.budget.spend(now_s)
        try:
            answer = self.fetch_weather(context)
        except Exception as exc:
            retry = float(getattr(exc, "retry_after_s", 0.0))
            if retry > 0:
                self.budget.back_off(now_s, retry)
            self._store(cache, key, self.live)
            raise
        if isinstance(answer, Weather):
            end_s, step_s, pv = answer.end_s, answer.step_s, pv_ac_w(
                self.settings.arrays, self.site, answer)
        else:
            end_s, step_s, pv = answer
        self.live = CachedPv(now_s, end_s, step_s, pv)
        self._store(cache, key, self.live)
        return RefreshResult("fetched", {
            "intervals": len(end_s), "step_s": step_s,
            "energy_kwh": round(float(pv.sum()) * step_s / 3.6e6, 3)})

    def _store(self, cache: PvCache, key: str, live: CachedPv | None) -> None:
        if live is None:
            live = CachedPv(0.0, np.zeros(0, dtype=np.int64), 3600, np.zeros(0))
        cache.store(key, CachedPv(live.fetched_s, live.end_s, live.step_s, live.pv_w,
                                  tuple(self.budget.spent_s())))
