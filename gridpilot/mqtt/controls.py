"""The override controls Home Assistant shows: a mode select, a power number, a clear button.

A command on their topics sets or clears a run-time override through the same request parser,
store and audit record as the control API (:mod:`gridpilot.scheduler.overrides`), so an
override set from Home Assistant is the same override as one set with ``gridpilot override``.
Who may send them is the broker's business: its credentials and ACLs decide who can publish.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from gridpilot.clock import Clock
from gridpilot.mqtt.entities import OVERRIDE_MODES
from gridpilot.scheduler.audit import AuditLog
from gridpilot.scheduler.overrides import OverrideError, OverrideStore, parse_override_request

__all__ = ["MQTT_OVERRIDE", "OverrideControls"]

log = logging.getLogger("gridpilot.mqtt")

MQTT_OVERRIDE = "mqtt"
"""The name of the override the mode select sets (one at a time: a new mode replaces it)."""


class OverrideControls:
    """Turns ``override_mode/set``, ``override_power/set`` and ``override_clear/set`` payloads
    into override changes, and reports the controls' states to publish back."""

    def __init__(self, store: OverrideStore, audit: AuditLog, clock: Clock, *,
                 for_s: float, power_w: float, max_power_w: float, broker_user: str | None,
                 on_change: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.audit = audit
        self.clock = clock
        self.for_s = for_s
        self.power_w = power_w
        self.max_power_w = max_power_w
        self.broker_user = broker_user
        self.on_change = on_change

    def mode(self) -> str:
        """``auto``, or the kind of the MQTT override in force."""
        now = self.clock.now()
        for o in self.store.active(now):
            if o.name == MQTT_OVERRIDE:
                return o.action.kind.value
        return "auto"

    def states(self) -> dict[str, str]:
        return {"override_mode": self.mode(), "override_power": f"{self.power_w:g}"}

    def handle(self, key: str, payload: bytes) -> None:
        """Apply one command; a bad payload is logged and audited, never raised."""
        text = payload.decode("utf-8", "replace").strip()
        try:
            if key == "override_mode":
                self._mode(text)
            elif key == "override_power":
                self._power(text)
            elif key == "override_clear":
                self._clear()
        except OverrideError as exc:
            log.warning("MQTT %s/set %r refused: %s", key, text[:100], exc)
            self.audit.write("override_refused", self.clock.now(), source="mqtt",
                             control=key, payload=text[:100], error=str(exc),
                             broker_user=self.broker_user)

    def _mode(self, text: str) -> None:
        mode = text.lower()
        if mode not in OVERRIDE_MODES:
            raise OverrideError(f"override mode {text[:40]!r} is not one of "
                                f"{', '.join(OVERRIDE_MODES)}")
        if mode == "auto":
            self._clear(MQTT_OVERRIDE)
            return
        self._set(mode)

    def _set(self, kind: str) -> None:
        now = self.clock.now()
        action: dict[str, Any] = {"kind": kind}
        if kind in ("charge", "discharge"):
            action["power_w"] = float(self.power_w)
        override = parse_override_request(
            {"action": action, "for_s": self.for_s, "name": MQTT_OVERRIDE}, now)
        self.store.add(override)
        self.audit.write("override_set", now, override=override.as_dict(), source="mqtt",
                         broker_user=self.broker_user)
        log.info("override %s set over MQTT: %s until %s", override.name, kind,
                 override.until.isoformat())
        self.on_change()

    def _power(self, text: str) -> None:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not 0 < value <= self.max_power_w:
            raise OverrideError(f"override power {text[:40]!r}: give watts in (0, "
                                f"{self.max_power_w:g}]")
        self.power_w = value
        mode = self.mode()
        if mode in ("charge", "discharge"):
            # A new power applies to the override in force, as a new request would.
            self._set(mode)

    def _clear(self, name: str | None = None) -> None:
        removed = self.store.clear(name)
        self.audit.write("override_cleared", self.clock.now(), name=name, removed=removed,
                         source="mqtt", broker_user=self.broker_user)
        log.info("%d override(s) cleared over MQTT", removed)
        self.on_change()
