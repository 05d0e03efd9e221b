"""Whether a cron window's open spans ever meet its own calendar parts.

A ``when`` with ``cron`` and ``for`` is open only where a span ``[fire, fire + for)`` overlaps the
times its ``time``/``days``/``months``/``dates`` allow: ``cron: "0 16 * * *"`` with ``for: 1h``
and ``time: "08:00-10:00"`` never is. The answer comes from the window itself (the same
:meth:`Window.calendar_mask` the engine uses) over real instants in the site's timezone, so
clock changes count exactly as they do at run time.

The sample is representative: the calendar and cron both depend only on the wall-clock minute, the
weekday and the (month, day) of a date, which 28 consecutive years cover in every alignment, plus,
for year-specific ``dates``, the stretch of each range. When neither names a day of month, a month
or a date, the pattern repeats weekly and four years (each clock change on each weekday it falls on)
suffice. The scan stops at the first overlap, so a sensible window costs a few fire times; only a
window that never opens walks the whole sample, and past a fixed work budget the answer is "may
fire" so nothing that can fire is ever reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.calendar.spec import CalendarSpec
from gridpilot.calendar.text import window_for_s
from gridpilot.calendar.window import Window, WindowParts

__all__ = ["cron_misses_calendar"]

_CYCLE_START = datetime(2001, 1, 1, tzinfo=UTC)
_CYCLE_END = datetime(2029, 1, 1, tzinfo=UTC)  # 28 years: every weekday alignment
_WEEKLY_START = datetime(2025, 1, 1, tzinfo=UTC)
_WEEKLY_END = datetime(2029, 1, 1, tzinfo=UTC)
_MAX_FIRES = 60_000
_MAX_SAMPLES = 3_000_000
_CHUNK_FIRES = 512
_MINUTE_S = 60


def cron_misses_calendar(when: WindowParts, tz: ZoneInfo | None = None) -> bool:
    """True when ``when`` has ``cron`` and calendar parts, and no span the cron opens ever
    meets them. False whenever in doubt (no cron, no calendar, text that does not parse, or
    a sample too large to walk)."""
    if when.cron is None or when.for_ is None:
        return False
    try:
        cal = CalendarSpec.parse(when.time, when.days, when.months, when.dates)
        duration_s = window_for_s(when.for_)
        window = Window(when, tz or ZoneInfo("UTC"))
    except (ValueError, KeyError):
        return False
    if cal.always or duration_s <= 0:
        return False
    spans = _spans(cal, duration_s, weekly=_weekly(when.cron, cal))
    if not spans:
        return False  # only reversed date ranges: reported on their own
    # The cron's spans are walked below: only the calendar parts are tested on them.
    calendar = Window(when, window.tz, calendar_only=True)
    base_step_min = _base_step_min(cal, window.tz)
    fires_seen = 0
    samples = 0
    for lo, hi in spans:
        for fires in _fire_chunks(when.cron, window.tz, lo, hi):
            # The calendar only changes where the local clock crosses one of its edges or
            # jumps; on a grid of the common divisor of those minutes and of the fire minutes,
            # one sample per step sees every value it takes within an open span.
            fire_min = (fires // _MINUTE_S) % 1440
            step_s = int(np.gcd.reduce(np.append(fire_min, base_step_min))) * _MINUTE_S
            offsets = np.arange(0, duration_s, step_s, dtype=np.int64)
            fires_seen += fires.shape[0]
            samples += fires.shape[0] * offsets.shape[0]
            if fires_seen > _MAX_FIRES or samples > _MAX_SAMPLES:
                return False
            instants = (fires[:, None] + offsets[None, :]).ravel()
            if bool(calendar.calendar_mask(instants).any()):
                return False
    return True


def _base_step_min(cal: CalendarSpec, tz: ZoneInfo) -> int:
    """The common divisor [min] of the calendar's edges, the zone's UTC offsets and 30 (clock
    changes happen on whole local half hours at the finest)."""
    minutes = [30, *cal.edges_min()]
    for year in (2001, 2027):
        for month in (1, 7):
            offset = datetime(year, month, 1, tzinfo=UTC).astimezone(tz).utcoffset()
            if offset is not None:
                minutes.append(abs(int(offset.total_seconds())) // _MINUTE_S)
    return max(1, math.gcd(*minutes))


def _weekly(expr: str, cal: CalendarSpec) -> bool:
    """True when both the cron and the calendar repeat every week (no day of month, month or
    date in either), so a few years (every clock change on every weekday) are a full sample."""
    fields = expr.split()
    return (
        len(fields) == 5
        and fields[2] == "*"
        and fields[3] == "*"
        and cal.months is None
        and not cal.dates
    )


def _spans(cal: CalendarSpec, duration_s: float,
           weekly: bool = False) -> list[tuple[datetime, datetime]]:
    """UTC intervals of fire times to walk: the 28-year cycle (4 years for a weekly pattern;
    none when only year-specific dates can match), then each year-specific range."""
    if weekly:
        return [(_WEEKLY_START, _WEEKLY_END)]
    dated_only = bool(cal.dates) and all(not r.annual for r in cal.dates or ())
    spans = [] if dated_only else [(_CYCLE_START, _CYCLE_END)]
    back = timedelta(seconds=duration_s) + timedelta(days=2)
    for r in cal.dates or ():
        if r.annual or r.start > r.end:
            continue
        start = date.fromordinal(r.start)
        end = date.fromordinal(min(r.end, r.start + 28 * 366)) + timedelta(days=2)
        lo = datetime(start.year, start.month, start.day, tzinfo=UTC) - back
        hi = datetime(end.year, end.month, end.day, tzinfo=UTC)
        spans.append((lo, hi))
    return spans


def _fire_chunks(expr: str, tz: ZoneInfo, lo: datetime, hi: datetime) -> Iterator[np.ndarray]:
    """Fire times [UNIX s] in ``(lo, hi]``, ascending, in growing chunks."""
    from croniter import croniter  # only a policy with a cron window pays its import

    it = croniter(expr, lo.astimezone(tz))
    hi_s = hi.timestamp()
    size = 8
    while True:
        chunk: list[int] = []
        for _ in range(size):
            nxt = it.get_next(datetime).timestamp()
            if nxt > hi_s:
                break
            chunk.append(int(nxt))
        if chunk:
            yield np.asarray(chunk, dtype=np.int64)
        if len(chunk) < size:
            return
        size = min(size * 4, _CHUNK_FIRES)
