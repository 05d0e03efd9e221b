"""The load forecast's opt-in corrections, shared by every forecast type that averages the load
by time of week (``time_of_week`` and the PV-aware types)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import field_validator

from gridpilot.forecasts.holidays_cal import holiday_checker, known_calendar
from gridpilot.forecasts.providers import Aggregate
from gridpilot.models import StrictModel

__all__ = ["LoadCorrections"]


class LoadCorrections(StrictModel):
    aggregate: Aggregate = "mean"
    """How each time-of-week bin's past weeks are combined: ``mean``, or ``median`` (of the
    weeks' own means: one odd week, a spike or a day of zeros moves it little)."""
    holidays: str | None = None
    """A public-holiday calendar (``GB``, ``GB-ENG``, ``DE-BY``...): holidays are learnt and
    forecast like a Sunday. Needs ``pip install 'gridpilot[holidays]'``."""
    in_day_bounds: tuple[float, float] | None = None
    """``[lo, hi]``, e.g. ``[0.8, 1.25]``: once today's load has run above or below its forecast
    for two hours, the rest of today is scaled by measured / forecast within these bounds."""

    @field_validator("holidays")
    @classmethod
    def _known_calendar(cls, value: str | None) -> str | None:
        return known_calendar(value)

    @field_validator("in_day_bounds")
    @classmethod
    def _around_one(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (0 < value[0] <= 1 <= value[1] <= 10):
            raise ValueError("give [lo, hi] with 0 < lo <= 1 <= hi <= 10, e.g. [0.8, 1.25]")
        return value

    def corrections(self) -> dict[str, Any]:
        """The keyword arguments of :class:`~gridpilot.forecasts.providers.TimeOfWeekAverage`."""
        is_holiday: Callable[[date], bool] | None = (
            holiday_checker(self.holidays) if self.holidays is not None else None)
        return {"is_holiday": is_holiday, "in_day_bounds": self.in_day_bounds,
                "aggregate": self.aggregate}
