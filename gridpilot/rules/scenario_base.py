"""The value types of the scenario-test language: a time as written in a case, and a duration."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from gridpilot.rules.scenario_times import check_time_text
from gridpilot.timeutil import parse_duration_s

__all__ = ["Duration", "TimeText"]


def _time_ok(value: Any) -> Any:
    if isinstance(value, datetime | date | str):
        check_time_text(value)
    return value


TimeText = Annotated[datetime | str, BeforeValidator(_time_ok)]
"""A time: ``"2026-01-15 17:30"`` (site-local), ISO 8601 with an offset, or, inside a sequence,
``"16:00"`` for the next such wall-clock time at or after the case's start."""

def _duration_ok(value: Any) -> Any:
    # Before pydantic's own coercion, which would turn text such as "1e3" or "0." into a
    # number that the policy's grammar refuses.
    parse_duration_s(value)
    return value


Duration = Annotated[float | str, Field(union_mode="left_to_right"), BeforeValidator(_duration_ok)]
"""A duration in the grammar of :func:`gridpilot.timeutil.parse_duration_s`, as written."""
