"""The building blocks of the scenario-test language: durations, times and the strict, frozen
base model every key of a case derives from."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from gridpilot.testing.times import check_time_text

__all__ = ["Duration", "SpecModel", "TimeText", "parse_duration_s"]

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_DURATION_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration_s(value: float | int | str) -> float:
    """``"90s"``, ``"15m"``, ``"1.5h"``, ``"1d"`` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text such as '15m' or '2h'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION_RE.match(value)
        if match is None:
            raise ValueError(
                f"cannot read duration {value!r}; write it like '90s', '15m', '2h' or '1d'"
            )
        seconds = float(match.group(1)) * _DURATION_UNITS_S[match.group(2) or "s"]
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("a duration must be a finite, non-negative number of seconds")
    return seconds


class SpecModel(BaseModel):
    """Strict and frozen: an unknown key is an error, a case never changes once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _time_ok(value: Any) -> Any:
    if isinstance(value, datetime | date | str):
        check_time_text(value)
    return value


TimeText = Annotated[datetime | str, BeforeValidator(_time_ok)]
"""A time: ``"2026-01-15 17:30"`` (site-local), ISO 8601 with an offset, or, inside a sequence,
``"16:00"`` for the next such wall-clock time at or after the case's start."""

Duration = Annotated[float | str, Field(union_mode="left_to_right")]
