"""Noticing a person's own mode on the device, and its end.

While a person's mode runs, gridpilot sends nothing over it; when it starts, whatever gridpilot
sent before no longer runs, so it is forgotten and sent again once the person's mode ends.
"""

from __future__ import annotations

import logging
from datetime import datetime

from gridpilot.engine.state import DeviceMode, ModeSource
from gridpilot.scheduler.audit import AuditLog
from gridpilot.scheduler.persist import RunMemory

__all__ = ["PersonModeWatch"]

log = logging.getLogger("gridpilot.scheduler")


class PersonModeWatch:
    """Whether a person's mode runs on the device; says so when that changes."""

    def __init__(self, audit: AuditLog, memory: RunMemory) -> None:
        self.audit = audit
        self.memory = memory
        self.active = False

    def track(self, mode: DeviceMode | None, now: datetime, tick: int) -> None:
        person = mode is not None and mode.source is ModeSource.PERSON
        if person and not self.active:
            assert mode is not None
            log.warning("a person set %s on the device; gridpilot will not overwrite it while "
                        "it lasts", mode.native or "a manual mode")
            self.audit.write("person_mode", now, tick=tick, native=mode.native,
                             expires=None if mode.expires is None else mode.expires.isoformat())
            self.memory.sent_command = None
        elif not person and self.active:
            log.info("the person's manual mode on the device has ended; gridpilot resumes")
            self.audit.write("person_mode_ended", now, tick=tick)
        self.active = person
