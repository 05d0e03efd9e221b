"""Run-time manual overrides: set through the control API, kept in the manual layer, expiring on
time and surviving restarts (``overrides.json`` in the state directory)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gridpilot.errors import GridpilotError
from gridpilot.rules.policy import CompiledOverride
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
    optional ``"name"`` and ``"force"``.
    """
    if not isinstance(body, dict):
        raise OverrideError("the request body must be a JSON object")
    unknown = set(body) - {"action", "for_s", "until", "name", "force"}
    if unknown:
        raise OverrideError(f"unknown field(s) {', '.join(sorted(unknown))}")
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
        try:
            duration_s = float(body["for_s"])
        except (TypeError, ValueError):
            raise OverrideError("for_s must be a number of seconds") from None
        until = now + timedelta(seconds=duration_s)
    else:
        try:
            until = _aware(datetime.fromisoformat(str(body["until"])))
        except ValueError as exc:
            raise OverrideError(f"until: {exc}; use ISO 8601 with an offset") from None
    if until <= now:
        raise OverrideError(f"the override would end at {until.isoformat()}, which has passed")
    if (until - now).total_seconds() > MAX_OVERRIDE_S:
        raise OverrideError("an override may last at most 14 days")
    name = str(body.get("name") or f"manual-{now.strftime('%Y%m%dT%H%M%S')}")
    if not 0 < len(name) <= 200:
        raise OverrideError("name must be 1-200 characters")
    return RuntimeOverride(name=name, action=action, start=now, until=until,
                           force=bool(body.get("force", False)))


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
