"""Building blocks shared by the policy sections: the numeric types with their ranges, and
the early check of calendar text."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

from gridpilot.calendar.text import parse_dates, parse_days, parse_months, parse_time_range

__all__ = ["Pct", "PowerW", "Price", "StrList", "check_calendar_text"]


Pct = Annotated[float, Strict(), Field(ge=0, le=100)]
PowerW = Annotated[float, Strict(), Field(ge=0, le=10_000_000)]
Price = Annotated[float, Strict(), Field(ge=-1000, le=1000)]
StrList = str | list[str | int]
# Numbers are Strict: pydantic would otherwise read true/false as 1/0 and "10" as 10.


def check_calendar_text(field_name: str | None, value: StrList | None) -> StrList | None:
    """Parse a calendar field only to refuse bad text early; the text itself is kept."""
    if value is None:
        return None
    if field_name == "time":
        if not isinstance(value, str):
            raise ValueError("time must be text like \"16:00-19:00\"")
        parse_time_range(value)
    elif field_name == "days":
        parse_days(value)
    elif field_name == "months":
        parse_months(value)
    elif field_name == "dates":
        parse_dates(value)
    return value
