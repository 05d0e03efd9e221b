"""Run-time manual overrides: set through the control API, kept in the manual layer, expiring on
time and surviving restarts (``overrides.json`` in the state directory)."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gridpilot.engine.program import CompiledOverride
from gridpilot.errors import GridpilotError
from gridpilot.rules.schema import Action
from gridpilot.scheduler.persist import atomic_write_json

__all__ = ["OverrideError", "OverrideStore", "RuntimeOverride", "parse_override_request"]

OVERRIDES_FILE = "overrides.json"
MAX_OVERRIDE_S = 14 * 86_400


class OverrideError(GridpilotError):
    """An override request is invalid; the message says which field and what to send."""


@dataclass(frozen=True, slots=True)
class RuntimeOverride:
    name: str
    action: Action
    start: datetime
    until: datetime
    force: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action.model_dump(mode="json", exclude_none=True),
            "start": self.start.isoformat(),
            "until": self.until.isoformat(),
            "force": self.force,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuntimeOverride:
        return cls(
            name=str(data["name"]),
            action=Action.model_validate(data["action"]),
            start=_aware(datetime.fromisoformat(str(data["start"]))),
            until=_aware(datetime.fromisoformat(str(data["until"]))),
            force=bool(data.get("force", False)),
        )

    def compiled(self) -> CompiledOverride:
        return CompiledOverride(
            name=self.name,
            action=self.action,
            start_s=self.start.timestamp(),
            until_s=self.until.timestamp(),
            force=self.force,
        )


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"time {value.isoformat()} has no UTC offset")
    return value


def parse_override_request(body: Any, now: datetime) -> RuntimeOverride:
    """Build an override from a control API request body.

    ``{"action": {"kind": ..., ...}, "for_s": 7200}`` or ``{"action": ..., "until": ISO}``, with
    optional ``"name"`` and ``"force"``. Any body at all gets either an override or an
    :class:`OverrideError` naming the field: every field's type and range is checked here,
    before any arithmetic can overflow.
    """
    if not isinstance(body, dict):
        raise OverrideError("the request body must be a JSON object")
    unknown = set(body) - {"action", "for_s", "until", "name", "force"}
    if unknown:
        raise OverrideError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    try:
        action = Action.model_validate(body.get("action"))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise OverrideError(
            f"action{'.' + where if where else ''}: {first.get('msg', 'invalid')}"
        ) from None
    has_for, has_until = body.get("for_s") is not None, body.get("until") is not None
    if has_for == has_until:
        raise OverrideError("give exactly one of 'for_s' (seconds) or 'until' (ISO time)")
    if has_for:
        until = now + timedelta(seconds=_duration_s(body["for_s"]))
    else:
        until = _until(body["until"], now)
    name = body.get("name")
    if name is None or name == "":
        name = f"manual-{now.strftime('%Y%m%dT%H%M%S')}"
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        raise OverrideError("name: must be text of 1-200 characters")
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise OverrideError("force: must be true or false")
    return RuntimeOverride(name=name, action=action, start=now, until=until, force=force)


def _duration_s(value: Any) -> float:
    """``for_s`` in seconds: a JSON number in (0, 14 days]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OverrideError("for_s: must be a number of seconds, e.g. 7200")
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        seconds = math.inf if value > 0 else -math.inf
    if math.isnan(seconds):
        raise OverrideError("for_s: must be a number of seconds, not NaN")
    if seconds <= 0:
        raise OverrideError(f"for_s: {seconds:g} s: the override has passed before it starts; "
                            "give a positive number of seconds")
    if seconds > MAX_OVERRIDE_S:
        raise OverrideError(f"for_s: {seconds:g} s is too long: an override may last at most "
                            f"14 days ({MAX_OVERRIDE_S} s)")
    return seconds


def _until(value: Any, now: datetime) -> datetime:
    """``until``: an ISO time with an offset, after ``now`` and at most 14 days away."""
    if not isinstance(value, str):
        raise OverrideError("until: must be an ISO 8601 time with an offset, as text")
    try:
        until = _aware(datetime.fromisoformat(value))
        left_s = (until - now).total_seconds()
    except (ValueError, OverflowError) as exc:
        raise OverrideError(f"until: {exc}; use ISO 8601 with an offset") from None
    if left_s <= 0:
        raise OverrideError(f"until: the override would end at {until.isoformat()}, which has "
                            "passed")
    if left_s > MAX_OVERRIDE_S:
        raise OverrideError("until: an override may last at most 14 days")
    return until


class OverrideStore:
    """The active run-time overrides, persisted after every change.

    Thread-safe: the control API and the tick loop may touch it concurrently.
    """

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / OVERRIDES_FILE
        self._lock = threading.Lock()
        self._items: list[RuntimeOverride] = []
        self.load_error: str | None = None
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._items = [RuntimeOverride.from_dict(d) for d in data.get("overrides", [])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.load_error = f"{self.path}: unreadable, no run-time overrides loaded ({exc})"
            self._items = []

    def _save(self) -> None:
        atomic_write_json(self.path, {"overrides": [o.as_dict() for o in self._items]})

    def add(self, override: RuntimeOverride) -> None:
        """Add ``override``; one with the same name is replaced. The newest comes first, so it
        wins over older ones in the manual layer."""
        with self._lock:
            self._items = [o for o in self._items if o.name != override.name]
            self._items.insert(0, override)
            self._save()

    def clear(self, name: str | None = None) -> int:
        """Remove the override named ``name`` (or all); returns how many were removed."""
        with self._lock:
            before = len(self._items)
            self._items = [] if name is None else [o for o in self._items if o.name != name]
            removed = before - len(self._items)
            if removed:
                self._save()
            return removed

    def active(self, now: datetime) -> list[RuntimeOverride]:
        """The overrides in force at ``now``; expired ones are dropped (and the file updated)."""
        with self._lock:
            kept = [o for o in self._items if o.until > now]
            if len(kept) != len(self._items):
                self._items = kept
                self._save()
            return [o for o in kept if o.start <= now]

    def all(self) -> list[RuntimeOverride]:
        with self._lock:
            return list(self._items)
