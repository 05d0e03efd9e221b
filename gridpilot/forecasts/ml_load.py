"""The ``gradient_boosting`` forecast type (the ``ml`` extra): the net load from a
gradient-boosted regression (scikit-learn's ``HistGradientBoostingRegressor``) on the site's own
history.

Features of a slot: its local time of day, day of week, whether the day is a public holiday
(``holidays`` setting), and the measured net load of the same slot one and two weeks earlier.
A lag is used only when it was measured before the forecast is made (else it is missing, which
the model handles natively), so a forecast up to a week ahead never needs the future.

It learns only from readings already observed: the model is refitted every ``retrain_every_s``
on the bins completed so far (the last ``history_days`` days), and a bin is a training sample
only when it is complete. Until ``min_train_days`` of readings were seen, the time-of-week
average forecasts (and ``sources()`` says so).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import Field, field_validator, model_validator

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.calendar.localtime import utc_offsets_s
from gridpilot.forecasts.holidays_cal import holiday_checker, known_calendar
from gridpilot.forecasts.providers import TimeOfWeekAverage
from gridpilot.models import StrictModel

__all__ = ["GRADIENT_BOOSTING", "GradientBoostedLoad", "GradientBoostingSettings"]

_DAY_S = 86_400
_WEEK_S = 7 * _DAY_S
_EXTRA_HINT = "pip install 'gridpilot[ml]'"

log = logging.getLogger(__name__)


class GradientBoostingSettings(StrictModel):
    bin_s: Annotated[int, Field(ge=900, le=3600)] = 1800
    """The length of a slot the model learns and forecasts [s]; must divide a day."""
    history_days: Annotated[int, Field(ge=14, le=365)] = 56
    """How many past days the model is fitted on."""
    min_train_days: Annotated[int, Field(ge=7, le=60)] = 14
    """Days of readings needed before the model is used (the time-of-week average before)."""
    retrain_every_s: Annotated[float, Field(ge=3600, le=30 * _DAY_S)] = _DAY_S
    """How often the model is refitted on what was measured since [s]."""
    max_iter: Annotated[int, Field(ge=10, le=1000)] = 100
    """Boosting rounds."""
    holidays: str | None = None
    """A public-holiday calendar (``GB-ENG``...), a feature of each day; needs the holidays
    extra too."""
    flat_w: Annotated[float, Field(ge=-1_000_000, le=1_000_000)] = 500.0
    """The net load [W] assumed before anything has been measured."""

    @field_validator("holidays")
    @classmethod
    def _known_calendar(cls, value: str | None) -> str | None:
        return known_calendar(value)

    @model_validator(mode="after")
    def _usable(self) -> GradientBoostingSettings:
        if _DAY_S % self.bin_s:
            raise ValueError("bin_s must divide a day, e.g. 900, 1800 or 3600")
        if importlib.util.find_spec("sklearn") is None:
            raise ValueError("the gradient_boosting forecast needs scikit-learn, which is not "
                             f"installed: {_EXTRA_HINT}")
        return self


def _one_thread() -> Any:
    """One OpenMP thread for a fit or a prediction: the model is small (a few thousand rows),
    and on a busy machine OpenMP's waiting threads made a 50 ms fit take seconds."""
    return importlib.import_module("threadpoolctl").threadpool_limits(1)


class GradientBoostedLoad:
    """The provider: observes readings per bin, refits on the past, forecasts the net load."""

    provider_type = "gradient_boosting"

    def __init__(self, settings: GradientBoostingSettings, tz: ZoneInfo) -> None:
        self.settings = settings
        self.tz = tz
        self.bin_s = settings.bin_s
        self.is_holiday = (holiday_checker(settings.holidays)
                           if settings.holidays is not None else None)
        self.fallback = TimeOfWeekAverage(tz, bin_s=settings.bin_s, flat_w=settings.flat_w)
        self._sum: dict[int, float] = {}
        self._count: dict[int, int] = {}
        self._first_s: int | None = None
        self.last_s: int | None = None
        self._model: Any = None
        self._cols: IntArray = np.arange(5, dtype=np.int64)
        self.fit_error = ""
        self._trained_s: float = -math.inf
        self.fits = 0
        self._holidays: dict[int, float] = {}
        self._sources: dict[str, Any] = {}

    # -- learning -------------------------------------------------------------------------------
    def observe(self, t: datetime, load_w: float, pv_w: float) -> None:
        if t.tzinfo is None:
            raise ValueError("observe needs a timezone-aware time")
        net = float(load_w) - float(pv_w)
        if not math.isfinite(net):
            return  # a gap is not a zero: nothing is learnt from it
        self.fallback.observe(t, load_w, pv_w)
        t_s = int(t.timestamp())
        b = t_s // self.bin_s
        self._sum[b] = self._sum.get(b, 0.0) + net
        self._count[b] = self._count.get(b, 0) + 1
        self._first_s = t_s if self._first_s is None else min(self._first_s, t_s)
        self.last_s = t_s if self.last_s is None else max(self.last_s, t_s)
        keep = (self.last_s - (self.settings.history_days + 15) * _DAY_S) // self.bin_s
        if len(self._sum) > (self.settings.history_days + 16) * _DAY_S // self.bin_s:
            for old in [k for k in self._sum if k < keep]:
                del self._sum[old], self._count[old]

    def _mean(self, b: int) -> float:
        c = self._count.get(b)
        return self._sum[b] / c if c else math.nan

    # -- features -------------------------------------------------------------------------------
    def _holiday(self, local_day: int) -> float:
        assert self.is_holiday is not None
        found = self._holidays.get(local_day)
        if found is None:
            found = self._holidays[local_day] = float(
                self.is_holiday(date.fromordinal(719_163 + local_day)))
        return found

    def _features(self, bins: IntArray, known_until_bin: int) -> FloatArray:
        """One row per bin: time of day [h], day of week (Monday 0), holiday, the net load of
        the same bin 7 and 14 days earlier (NaN unless complete by ``known_until_bin``)."""
        out = np.empty((bins.shape[0], 5), dtype=np.float64)
        starts = bins * self.bin_s
        local = starts + utc_offsets_s(starts, self.tz)
        day = local // _DAY_S
        out[:, 0] = (local % _DAY_S) / 3600.0
        out[:, 1] = (day + 3) % 7  # 1970-01-01 was a Thursday
        if self.is_holiday is None:
            out[:, 2] = 0.0
        else:
            holiday = {d: self._holiday(d) for d in np.unique(day).tolist()}
            out[:, 2] = [holiday[d] for d in day.tolist()]
        week_bins = _WEEK_S // self.bin_s
        for j, lag in ((3, week_bins), (4, 2 * week_bins)):
            out[:, j] = [self._mean(src) if src < known_until_bin else math.nan
                         for src in (bins - lag).tolist()]
        return out

    # -- fitting --------------------------------------------------------------------------------
    def _complete_bin(self) -> int:
        """The first bin not yet complete: everything before it was measured in full."""
        assert self.last_s is not None
        return self.last_s // self.bin_s

    def _maybe_fit(self) -> None:
        if self.last_s is None or self._first_s is None:
            return
        if self.last_s - self._first_s < self.settings.min_train_days * _DAY_S:
            return
        if self.last_s - self._trained_s < self.settings.retrain_every_s:
            return
        ensemble = importlib.import_module("sklearn.ensemble")
        until = self._complete_bin()
        first = until - self.settings.history_days * _DAY_S // self.bin_s
        bins = np.asarray(sorted(b for b in self._sum if first <= b < until), dtype=np.int64)
        if bins.shape[0] < 48:
            return
        x = self._features(bins, until)
        y = np.asarray([self._mean(b) for b in bins.tolist()], dtype=np.float64)
        # A lag never measured yet (the 14-day one in the second week) is left out: a column of
        # nothing but gaps cannot be binned. The first three (time, weekday, holiday) always are.
        cols = np.flatnonzero(~np.isnan(x).all(axis=0))
        model = ensemble.HistGradientBoostingRegressor(
            max_iter=self.settings.max_iter, learning_rate=0.1, max_leaf_nodes=15,
            categorical_features=[1], early_stopping=False, random_state=0)
        self._trained_s = float(self.last_s)  # a failed fit is not retried every tick
        try:
            with _one_thread():
                model.fit(x[:, cols], y)
        except Exception as exc:  # a fit that fails keeps the previous model, never the tick
            log.warning("the gradient_boosting load model could not be fitted: %s", exc)
            self.fit_error = f"{type(exc).__name__}: {exc}"
            return
        self._model, self._cols = model, cols
        self.fit_error = ""
        self.fits += 1

    # -- forecasting ----------------------------------------------------------------------------
    def forecast(self, slot_start_s: IntArray) -> FloatArray:
        starts = np.asarray(slot_start_s, dtype=np.int64)
        self._maybe_fit()
        if self._model is None or self.last_s is None or starts.shape[0] == 0:
            self._sources = {"model": "time_of_week", "fits": self.fits}
            return self.fallback.forecast(starts)
        step = int(np.median(np.diff(starts))) if starts.shape[0] > 1 else self.bin_s
        bins = (starts + step // 2) // self.bin_s
        x = self._features(bins, self._complete_bin())[:, self._cols]
        with _one_thread():
            out = np.asarray(self._model.predict(x), dtype=np.float64)
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = self.fallback.forecast(starts[bad])
        self._sources = {"model": "gradient_boosting", "fits": self.fits,
                         "trained_at_s": int(self._trained_s),
                         **({"fit_error": self.fit_error} if self.fit_error else {})}
        return out

    def sources(self) -> dict[str, Any]:
        return {"provider": self.provider_type, **self._sources}


class GradientBoosting:
    """The ``gradient_boosting`` type."""

    Settings = GradientBoostingSettings

    def __call__(self, settings: GradientBoostingSettings, tz: ZoneInfo) -> GradientBoostedLoad:
        return GradientBoostedLoad(settings, tz)


GRADIENT_BOOSTING = GradientBoosting()
