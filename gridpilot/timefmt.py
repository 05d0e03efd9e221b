"""How gridpilot shows a time to a person: in the site's zone, with its UTC offset.

``gridpilot run``'s log lines, its audit log (read back by ``gridpilot log``) and its tick lines
all take their time from the one injected clock; under ``--speed`` that clock is simulated, so
the wall clock must not creep in through the logging module's own timestamps.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo

from gridpilot.clock import Clock

__all__ = ["ClockFormatter", "format_time"]


def format_time(t: datetime, tz: tzinfo | None = None) -> str:
    """``2026-01-15 00:30:00+00:00``: ``t`` in ``tz`` (UTC when ``None``), to the second."""
    return t.astimezone(tz or UTC).isoformat(sep=" ", timespec="seconds")


class ClockFormatter(logging.Formatter):
    """A log formatter whose ``%(asctime)s`` is ``clock.now()`` in ``tz``, with its offset."""

    def __init__(self, clock: Clock, tz: tzinfo | None = None, fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.clock = clock
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # The record's own created time is the wall clock's; the run's clock is what counts.
        return format_time(self.clock.now(), self.tz)
