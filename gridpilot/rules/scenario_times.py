"""Reading the times written in scenario tests.

A time is site-local unless it carries an offset. A wall-clock time inside the skipped hour of a
spring clock change does not exist and is refused; one inside the repeated autumn hour means its
first occurrence (write an offset, e.g. ``+00:00``, to pick the second).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = ["check_time_text", "resolve_time"]

_CLOCK_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def _clock(text: str) -> time | None:
    m = _CLOCK_RE.match(text)
    if m is None:
        return None
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"{text!r} is not a valid time of day")
    return time(h, mi, s)


def check_time_text(value: datetime | date | str) -> None:
    """Raise ``ValueError`` if ``value`` cannot be read as a scenario time (syntax only)."""
    if isinstance(value, datetime):
        return
    if isinstance(value, date):
        raise ValueError("give a time as well as the date, e.g. '2026-01-15 17:30'")
    if _clock(value) is not None:
        return
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"cannot read time {value!r}; write '2026-01-15 17:30' (site time), "
            "'2026-01-15T17:30:00+00:00' or, inside a sequence, '16:00'"
        ) from None


def localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach ``tz`` to a naive wall-clock time, refusing one the clock skips."""
    aware = naive.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != naive.replace(fold=0):
        raise ValueError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz} (the clocks go forward then); "
            "pick another time or give an offset"
        )
    return aware


def resolve_time(value: datetime | str, tz: tzinfo, *, after: datetime | None = None) -> datetime:
    """The aware instant ``value`` names.

    ``after``: for a bare time of day (``"16:00"``), the first such wall-clock time at or after
    this instant; without it a bare time of day is an error.
    """
    if isinstance(value, datetime):
        dt = value
    else:
        clock = _clock(value)
        if clock is not None:
            if after is None:
                raise ValueError(
                    f"{value!r} has no date; write '2026-01-15 {value.strip()}' "
                    "(a bare time of day only works inside a sequence case)"
                )
            local = after.astimezone(tz)
            day = local.date()
            for _ in range(3):
                candidate = localize(datetime.combine(day, clock), tz)
                if candidate >= after:
                    return candidate
                day += timedelta(days=1)
            raise ValueError(f"cannot place {value!r} after {after.isoformat()}")
        check_time_text(value)
        dt = datetime.fromisoformat(value.strip())
    if dt.tzinfo is None or dt.utcoffset() is None:
        return localize(dt, tz)
    return dt
