"""The declaration of a time window (a rule's or guard's ``when:``, a risk window), as written.

Its evaluation is :class:`gridpilot.calendar.window.Window`; this module only checks the text early,
so a bad window is reported where the policy or settings are read, and keeps it as given.
"""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator, model_validator

from gridpilot.calendar.text import (
    parse_dates,
    parse_days,
    parse_months,
    parse_time_range,
    validate_cron,
    window_for_s,
)
from gridpilot.models import Pct, Price, StrictModel

__all__ = ["StrList", "When", "check_calendar_text"]

StrList = str | list[str | int]


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


# ``for`` is a Python keyword: the field is ``for_``, and code may pass it by that name.
class When(StrictModel, populate_by_name=True):
    """A time window and/or conditions. Every given part must hold for the window to match.

    Times are wall-clock times in the site's timezone.
    """

    time: str | None = None
    """``"HH:MM-HH:MM"``; the end is exclusive and may be before the start (crosses midnight)."""
    days: StrList | None = None
    """``mon-fri``, ``sat,sun`` or a list of day names."""
    months: StrList | None = None
    """``nov-feb``, ``1-3`` or a list."""
    dates: StrList | None = None
    """``2026-12-20..2027-01-03`` (inclusive) or a list of such ranges or single dates."""
    cron: str | None = None
    """A cron expression for the start of the window; needs ``for``."""
    for_: str | None = Field(default=None, alias="for")
    """How long a cron window lasts, e.g. ``3h``, ``90m``."""
    price_below: Price | None = None
    """Matches while the import price is below this [currency/kWh]."""
    price_above: Price | None = None
    soc_below_pct: Pct | None = None
    soc_above_pct: Pct | None = None

    @field_validator("time", "days", "months", "dates")
    @classmethod
    def _calendar_ok(cls, value: StrList | None, info: ValidationInfo) -> StrList | None:
        return check_calendar_text(info.field_name, value)

    @field_validator("cron")
    @classmethod
    def _cron_ok(cls, value: str | None) -> str | None:
        return None if value is None else validate_cron(value)

    @field_validator("for_")
    @classmethod
    def _for_ok(cls, value: str | None) -> str | None:
        if value is not None:
            window_for_s(value)
        return value

    @model_validator(mode="after")
    def _cron_needs_for(self) -> When:
        if self.cron is not None and self.for_ is None:
            raise ValueError("a cron window needs 'for' (e.g. for: 3h)")
        if self.for_ is not None and self.cron is None:
            raise ValueError("'for' only goes with 'cron'")
        return self
