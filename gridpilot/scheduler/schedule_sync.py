"""Opt-in device schedule sync: write the policy's static time-window rules into the device's own
schedule, so they keep running while gridpilot is down; remove exactly what was written.

Only ``layer: schedule`` rules with a direct ``action`` and a plain daily window can be expressed:
``time`` alone, or with ``days`` of exactly mon-fri, sat-sun or every day. Anything else (months,
dates, cron, price or SOC conditions, strategies) is refused, naming the rule and the reason, and
nothing is written. Only an always-on backup reserve is carried into the events (as their floor);
other guards live in gridpilot alone. Event times are the site's wall-clock times, so the unit's
own time zone must be the site's.

What was written is kept in ``device_schedule.json`` in the state directory.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from gridpilot.calendar.text import parse_days, parse_time_range
from gridpilot.engine.commands import Command
from gridpilot.errors import DeviceRejected, GridpilotError
from gridpilot.rules.policy import Policy
from gridpilot.scheduler.persist import atomic_write_json
from gridpilot.scheduler.tick import command_with_reserve

__all__ = ["ScheduleSyncError", "plan_device_schedule", "remove_device_schedule",
           "sync_device_schedule"]

log = logging.getLogger("gridpilot.scheduler")

SYNC_FILE = "device_schedule.json"
_WEEKDAYS = frozenset(range(5))
_WEEKEND = frozenset({5, 6})
_EVERY_DAY = frozenset(range(7))


class ScheduleSyncError(GridpilotError):
    """The policy's rules cannot be written into the device's schedule; nothing was written."""


@runtime_checkable
class ScheduleDevice(Protocol):
    """The part of an adapter the sync needs (the xStorage adapter has it)."""

    @property
    def name(self) -> str: ...

    def plan(self, command: Command, *, valid_for_s: float) -> Any: ...

    async def list_schedule(self) -> list[Any]: ...

    async def create_schedule_event(self, event: Any) -> Any: ...

    async def delete_schedule_event(self, event_id: str) -> None: ...


Recurrence = Literal["EVERYDAY", "WEEK_DAYS", "WEEKENDS"]


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    rule: str
    command: Command
    start_hhmm: int
    end_hhmm: int
    recurrence: Recurrence


def _hhmm(minutes: int) -> int:
    minutes %= 1440  # 24:00 is midnight
    return (minutes // 60) * 100 + minutes % 60


def plan_device_schedule(policy: Policy) -> list[PlannedEvent]:
    """The device events for the policy's static schedule rules.

    Raises :class:`ScheduleSyncError` listing every schedule rule that cannot be expressed.
    """
    problems: list[str] = []
    planned: list[PlannedEvent] = []
    for rule in policy.doc.rules:
        if not rule.enabled or rule.layer.value != "schedule":
            continue
        name = f"rule {rule.name!r}"
        if rule.action is None:
            problems.append(f"{name}: a strategy decides at run time; only direct actions can "
                            "be written into the device schedule")
            continue
        when = rule.when
        if when is None or when.time is None:
            problems.append(f"{name}: has no 'time' window; the device schedule needs one")
            continue
        extra = [key for key in ("months", "dates", "cron", "price_below", "price_above",
                                 "soc_below_pct", "soc_above_pct")
                 if getattr(when, "for_" if key == "for" else key) is not None]
        if extra:
            problems.append(f"{name}: the device schedule cannot express "
                            f"{', '.join(extra)}; it knows only daily times and weekdays")
            continue
        days = _EVERY_DAY if when.days is None else parse_days(when.days)
        recurrences: dict[frozenset[int], Recurrence] = {
            _EVERY_DAY: "EVERYDAY", _WEEKDAYS: "WEEK_DAYS", _WEEKEND: "WEEKENDS"}
        recurrence = recurrences.get(days)
        if recurrence is None:
            problems.append(f"{name}: days {when.days!r} cannot be expressed; the device "
                            "schedule knows every day, mon-fri or sat-sun")
            continue
        span = parse_time_range(when.time)
        start, end = _hhmm(span.start_min), _hhmm(span.end_min)
        if start == end:
            problems.append(f"{name}: a whole-day window cannot be a device schedule event")
            continue
        command = command_with_reserve(rule.action, policy)
        planned.append(PlannedEvent(rule.name, command, start, end, recurrence))
    if problems:
        raise ScheduleSyncError(
            "cannot write the policy into the device schedule (nothing was written):\n  "
            + "\n  ".join(problems)
        )
    return planned


def _load_written(state_dir: Path) -> list[dict[str, Any]]:
    path = state_dir / SYNC_FILE
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data.get("events", []))
    except (OSError, ValueError, AttributeError) as exc:
        raise ScheduleSyncError(f"{path}: unreadable ({exc}); remove the events by hand on "
                                "the device and delete this file") from None


async def remove_device_schedule(device: ScheduleDevice, state_dir: Path) -> int:
    """Delete exactly the events a previous sync wrote; returns how many were removed."""
    written = _load_written(state_dir)
    removed = 0
    remaining: list[dict[str, Any]] = []
    present = {getattr(e, "event_id", None) for e in await device.list_schedule()}
    for event in written:
        event_id = str(event.get("event_id", ""))
        if event_id not in present:
            continue  # already gone (deleted on the device by hand)
        try:
            await device.delete_schedule_event(event_id)
            removed += 1
        except DeviceRejected:
            remaining.append(event)
    atomic_write_json(state_dir / SYNC_FILE, {"events": remaining})
    return removed


async def sync_device_schedule(device: ScheduleDevice, policy: Policy, state_dir: Path) -> int:
    """Replace the events of the previous sync with the policy's; returns how many were written.

    Everything is planned and checked first, so a refused rule writes nothing.
    """
    from gridpilot.devices.xstorage.schedule import ScheduleEvent

    planned = plan_device_schedule(policy)
    natives = []
    for p in planned:
        native = device.plan(p.command, valid_for_s=3600)
        natives.append(ScheduleEvent(native.command, p.start_hhmm, p.end_hhmm, p.recurrence,
                                     native.parameters))
    await remove_device_schedule(device, state_dir)
    written: list[dict[str, Any]] = []
    try:
        for p, event in zip(planned, natives, strict=True):
            created = await device.create_schedule_event(event)
            written.append({"event_id": created.event_id, "rule": p.rule,
                            "start": p.start_hhmm, "end": p.end_hhmm,
                            "recurrence": p.recurrence, "command": event.command})
            log.info("device schedule: %s %04d-%04d %s for rule %r", event.command,
                     p.start_hhmm, p.end_hhmm, p.recurrence, p.rule)
    finally:
        # Record what was written even when a later event failed, so it can be removed.
        atomic_write_json(state_dir / SYNC_FILE, {"events": written})
    return len(written)
