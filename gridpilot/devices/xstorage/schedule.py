"""The unit's own schedule (its middle layer): list, create, update and delete events.

A schedule stored on the unit keeps running when gridpilot is down; an opt-in sync writes one.
Events are checked before sending; the unit refuses overlaps (``err_schedule_add_event_overlap``),
which surfaces as :class:`ScheduleOverlapError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gridpilot.devices.http import RejectedRequest
from gridpilot.devices.xstorage.commands import validate_payload
from gridpilot.errors import CommandError, DeviceProtocolError, DeviceRejected

if TYPE_CHECKING:
    from gridpilot.devices.xstorage.client import XStorageClient

__all__ = [
    "ScheduleEvent",
    "ScheduleOverlapError",
    "create_event",
    "delete_event",
    "list_events",
    "update_event",
]

OVERLAP_CODE = "err_schedule_add_event_overlap"
Recurrence = Literal["EVERYDAY", "WEEK_DAYS", "WEEKENDS"]


class ScheduleOverlapError(DeviceRejected):
    """The unit refused an event because it overlaps one it already has."""


def _hhmm_ok(value: int) -> bool:
    return 0 <= value <= 2359 and value % 100 < 60


@dataclass(frozen=True, slots=True)
class ScheduleEvent:
    """One event; times are local HHMM integers (``2330``, ``430``), the end may wrap midnight."""

    command: str
    start_hhmm: int
    end_hhmm: int
    recurrence: Recurrence = "EVERYDAY"
    parameters: Mapping[str, Any] | None = None
    event_id: str | None = None

    def __post_init__(self) -> None:
        problems = []
        for name in ("start_hhmm", "end_hhmm"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not _hhmm_ok(value):
                problems.append(f"{name} must be a time as HHMM (0..2359), got {value!r}")
        if self.start_hhmm == self.end_hhmm:
            problems.append("start and end are equal")
        if self.recurrence not in ("EVERYDAY", "WEEK_DAYS", "WEEKENDS"):
            problems.append(f"recurrence {self.recurrence!r} is not EVERYDAY, WEEK_DAYS, WEEKENDS")
        if problems:
            raise CommandError("schedule event: " + "; ".join(problems))
        validate_payload(
            {"command": self.command, "duration": 1, "parameters": self.parameters}
        )

    def body(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "startTime": self.start_hhmm,
            "endTime": self.end_hhmm,
            "recurrence": self.recurrence,
            "parameters": dict(self.parameters) if self.parameters is not None else None,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ScheduleEvent:
        return cls(
            command=str(record.get("command")),
            start_hhmm=int(record.get("startTime", -1)),
            end_hhmm=int(record.get("endTime", -1)),
            recurrence=record.get("recurrence", "EVERYDAY"),
            parameters=record.get("parameters"),
            event_id=str(record["id"]) if record.get("id") is not None else None,
        )


def _events(device: str, result: Any) -> list[Mapping[str, Any]]:
    items = result
    if isinstance(result, Mapping):
        for key in ("events", "results", "schedule"):
            if isinstance(result.get(key), list):
                items = result[key]
                break
    if not isinstance(items, list):
        raise DeviceProtocolError(device, "GET /api/schedule/: no event list in the answer")
    return [i for i in items if isinstance(i, Mapping)]


async def list_events(client: XStorageClient) -> list[ScheduleEvent]:
    result = await client.call("GET", "/api/schedule/")
    return [ScheduleEvent.from_record(r) for r in _events(client.device, result)]


def _overlap(client: XStorageClient, exc: RejectedRequest, event: ScheduleEvent) -> Exception:
    if exc.err_code == OVERLAP_CODE:
        return ScheduleOverlapError(
            client.device,
            f"schedule event {event.command} {event.start_hhmm:04d}-{event.end_hhmm:04d} "
            f"({event.recurrence}) overlaps an event already on the unit; move or delete that "
            "one first",
        )
    return exc


async def _save(client: XStorageClient, method: str, path: str,
                event: ScheduleEvent) -> ScheduleEvent:
    """Send ``event``; the unit's stored record when it answers with one, else ``event``."""
    try:
        result = await client.call(method, path, json_body=event.body())
    except RejectedRequest as exc:
        raise _overlap(client, exc, event) from exc
    if isinstance(result, Mapping) and result.get("id") is not None:
        return ScheduleEvent.from_record(result)
    return event


async def create_event(client: XStorageClient, event: ScheduleEvent) -> ScheduleEvent:
    return await _save(client, "POST", "/api/schedule/event", event)


async def update_event(client: XStorageClient, event: ScheduleEvent) -> ScheduleEvent:
    if not event.event_id:
        raise CommandError("updating a schedule event needs its event_id")
    return await _save(client, "PUT", f"/api/schedule/event/{event.event_id}", event)


async def delete_event(client: XStorageClient, event_id: str) -> None:
    await client.call("DELETE", f"/api/schedule/event/{event_id}")
