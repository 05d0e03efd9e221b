"""Whose mode runs: the mode select's option set by gridpilot, by a person, or by Home Assistant
itself.

Home Assistant stamps every state with the ``context`` of the change: a person's click in the
UI carries their ``user_id``; an integration polling the inverter carries none. gridpilot's own
service calls carry its token's user too, so "a person" is: the option differs from the one
gridpilot last set AND the change has a ``user_id`` AND its context is not one of gridpilot's
calls. What gridpilot last set is kept in the state folder, so a restart does not mistake its
own mode for a person's.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gridpilot.engine.commands import CommandKind
from gridpilot.engine.state import DeviceMode, ModeSource

__all__ = ["ModeMemory", "classify_mode"]

log = logging.getLogger("gridpilot.devices.homeassistant")

_KEEP = 32


class ModeMemory:
    """The option gridpilot last set on the mode select and the context ids of its calls."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.option: str | None = None
        self.contexts: list[str] = []
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                option = data.get("option")
                self.option = option if isinstance(option, str) else None
                self.contexts = [c for c in data.get("contexts", []) if isinstance(c, str)]
            except (OSError, ValueError, AttributeError) as exc:
                log.warning("cannot read %s (%s); starting without a remembered mode", path, exc)

    def remember(self, option: str | None, context_ids: list[str]) -> None:
        if option is not None:
            self.option = option
        for cid in context_ids:
            if cid and cid not in self.contexts:
                self.contexts.append(cid)
        self.contexts = self.contexts[-_KEEP:]
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"option": self.option, "contexts": self.contexts}),
                           encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            # Losing the memory costs a "person" reading after a restart, never a command.
            log.warning("cannot write %s (%s)", self.path, exc)


def classify_mode(
    state: Mapping[str, Any] | None,
    kinds: Mapping[str, list[CommandKind]],
    memory: ModeMemory,
    last_kind: CommandKind | None,
) -> DeviceMode:
    """The mode the select's ``state`` shows; ``kinds`` maps each option the controls use to the
    kinds that set it. Anything that cannot be placed is ``unknown`` (nothing is sent over it)."""
    if state is None:
        return DeviceMode(kind=None, source=ModeSource.UNKNOWN, native="")
    option = state.get("state")
    if not isinstance(option, str) or option in ("unavailable", "unknown", ""):
        return DeviceMode(kind=None, source=ModeSource.UNKNOWN, native=str(option or ""))
    context = state.get("context")
    context = context if isinstance(context, Mapping) else {}
    user_id = context.get("user_id")
    options = kinds.get(option, [])
    kind = last_kind if last_kind in options else (options[0] if options else None)
    params = {"context_user_id": user_id} if user_id else {}
    if option == memory.option:
        return DeviceMode(kind=kind, source=ModeSource.GRIDPILOT, native=option,
                          parameters=params)
    if context.get("id") in memory.contexts:
        # gridpilot's own call, but not the option it meant to set: a foreign value.
        return DeviceMode(kind=kind, source=ModeSource.UNKNOWN, native=option)
    if user_id:
        return DeviceMode(kind=kind, source=ModeSource.PERSON, native=option, parameters=params)
    # No person behind the change: the integration or HA itself (a restart, the inverter's own
    # reports): the device's own mode, which gridpilot may replace.
    return DeviceMode(kind=kind, source=ModeSource.DEFAULT, native=option)
