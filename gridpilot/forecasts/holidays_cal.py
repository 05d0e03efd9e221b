"""Public holidays for the load forecast, from the ``holidays`` package (the ``holidays`` extra).

``GB`` is a country (ISO 3166-1); ``GB-ENG`` a country and one of its subdivisions (England's
bank holidays differ from Scotland's). Imported only when a policy names a calendar.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date

from gridpilot.errors import ForecastError

__all__ = ["holiday_checker", "known_calendar"]


def known_calendar(value: str | None) -> str | None:
    """A settings validator's check of a ``holidays`` setting: the calendar, or a ValueError
    saying what is wrong and what to do (pydantic locates it at the key)."""
    if value is not None:
        try:
            holiday_checker(value)
        except ForecastError as exc:
            raise ValueError(f"{exc} ({exc.hint})" if exc.hint else str(exc)) from None
    return value


def holiday_checker(calendar: str) -> Callable[[date], bool]:
    """A function telling whether a date is a public holiday of ``calendar``."""
    try:
        holidays = importlib.import_module("holidays")
    except ImportError:
        raise ForecastError(
            f"holidays: {calendar!r} needs the holidays package, which is not installed",
            hint="pip install 'gridpilot[holidays]'") from None
    country, _, subdiv = calendar.partition("-")
    try:
        holidays.country_holidays(country)
    except NotImplementedError:
        raise ForecastError(f"holidays: no calendar for country {country!r}",
                            hint="an ISO 3166-1 code such as GB, DE, FR, US") from None
    try:
        known = holidays.country_holidays(country, subdiv=subdiv or None)
    except (NotImplementedError, ValueError, KeyError):
        raise ForecastError(f"holidays: {country} has no subdivision {subdiv!r}",
                            hint="e.g. GB-ENG, GB-SCT, DE-BY") from None

    def is_holiday(day: date) -> bool:
        return day in known

    return is_holiday
