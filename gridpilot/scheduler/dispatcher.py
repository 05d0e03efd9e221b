"""The dispatcher: the only place the live scheduler sends anything to a device.

It sends a command only when it differs from what the device runs or the device's copy is about
to expire; validates it against the hard limits first; confirms by reading the device back; backs
off exponentially after failures; never overwrites a person's manual mode; and audits every
attempt and every answer.

It fails closed on the device's mode: it commands only over a mode gridpilot set itself or the
device's own schedule or default (:data:`COMMANDABLE`). A person's mode makes it yield; a mode
the adapter cannot place (``unknown``), or no mode at all, makes it send nothing, since either
may be a person's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gridpilot.devices.base import DeviceAdapter
from gridpilot.engine.commands import Command, DeviceLimits, validate_command
from gridpilot.engine.state import DeviceMode, ModeSource
from gridpilot.errors import CommandError, DeviceAuthError, DeviceError
from gridpilot.scheduler.audit import AuditLog
from gridpilot.scheduler.device import (
    describe_mode,
    describe_response,
    mode_dict,
    response_expiry,
)
from gridpilot.scheduler.metrics import Metrics
from gridpilot.scheduler.persist import RunMemory

__all__ = ["COMMANDABLE", "DispatchOutcome", "Dispatcher", "backoff_delay_s"]

log = logging.getLogger("gridpilot.scheduler")

COMMANDABLE = frozenset({ModeSource.GRIDPILOT, ModeSource.SCHEDULE, ModeSource.DEFAULT})
"""The modes gridpilot may command over: its own, and the device's standing schedule and
default (its commands run above those by design). Anything else may be a person's."""


def backoff_delay_s(failures: int, initial_s: float, max_s: float) -> float:
    """Exponential backoff: ``initial_s * 2**(failures-1)``, capped at ``max_s``."""
    if failures <= 0:
        return 0.0
    return float(min(max_s, initial_s * 2 ** min(failures - 1, 30)))


@dataclass(frozen=True, slots=True)
class DispatchOutcome:
    """What the dispatcher did with one command.

    ``status`` is ``sent`` (accepted and confirmed), ``unchanged`` (the device already runs it),
    ``dry_run``, ``yielded`` (a person's manual mode runs), ``mode_unknown`` (the device's mode
    cannot be placed: nothing sent), ``backoff`` (waiting after a failure), ``invalid`` (refused
    by validation, never sent), ``failed`` (the device call failed) or ``unconfirmed``
    (accepted, but the read-back does not show it).
    """

    status: str
    detail: str = ""

    @property
    def sent(self) -> bool:
        return self.status == "sent"


class Dispatcher:
    def __init__(
        self,
        device: DeviceAdapter,
        *,
        audit: AuditLog,
        metrics: Metrics,
        memory: RunMemory,
        valid_for_s: float,
        refresh_before_s: float,
        backoff_initial_s: float,
        backoff_max_s: float,
        call_timeout_s: float,
        dry_run: bool = False,
    ) -> None:
        self.device = device
        self.audit = audit
        self.metrics = metrics
        self.memory = memory
        self.valid_for_s = valid_for_s
        self.refresh_before_s = refresh_before_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.call_timeout_s = call_timeout_s
        self.dry_run = dry_run
        self.failures = 0
        self.next_attempt: datetime | None = None
        self.confirmed_mode: DeviceMode | None = None
        """The mode the device reported right after it confirmed our last command."""
        self.mode_unknown = False
        """True while the device reports a mode gridpilot cannot place (nothing is sent)."""

    def needs_send(self, command: Command, mode: DeviceMode | None, now: datetime) -> str:
        """Why ``command`` must be sent now, or ``""`` when the device already runs it."""
        mem = self.memory
        if mem.sent_command is None:
            return "nothing sent yet"
        if mem.sent_command != command:
            return "command changed"
        if mem.sent_expires is None or now >= mem.sent_expires - timedelta(
            seconds=self.refresh_before_s
        ):
            return "about to expire"
        if mode is not None:
            if mode.source is not ModeSource.GRIDPILOT:
                return f"device runs its {mode.source.value} mode"
            seen = self.confirmed_mode
            if seen is not None and mode.kind is not None and mode.kind != seen.kind:
                return "device runs a different mode"
        return ""

    async def dispatch(
        self,
        command: Command,
        limits: DeviceLimits,
        mode: DeviceMode | None,
        now: datetime,
        *,
        tick: int,
        force_send: bool = False,
        read_back: bool = True,
    ) -> DispatchOutcome:
        """Send ``command`` if needed. ``force_send`` skips the "already runs it" check;
        ``read_back=False`` trusts the device's acknowledgement (used by the fail-safe, when the
        state cannot be read anyway)."""
        try:
            validate_command(command, limits)
        except CommandError as exc:
            self.audit.write("command_invalid", now, tick=tick, command=command.as_dict(),
                             error=str(exc))
            self.metrics.error("invalid_command")
            log.error("not sending an invalid command: %s", exc)
            return DispatchOutcome("invalid", str(exc))
        if mode is not None and mode.source is ModeSource.PERSON:
            self._mode_known(now, tick)
            return DispatchOutcome("yielded", f"a person's {mode.native or 'manual'} mode runs")
        # The fail-safe with no reading ever (mode None) still sends the safe action: the policy
        # asks for it when nothing can be read. A mode that was read but cannot be placed is
        # evidence someone else may run the device: nothing is sent over it, ever.
        if (mode is None and not force_send) or (
                mode is not None and mode.source not in COMMANDABLE):
            return self._hold_unknown(mode, now, tick)
        self._mode_known(now, tick)
        why = "safe action" if force_send else self.needs_send(command, mode, now)
        if not why:
            return DispatchOutcome("unchanged")
        if self.dry_run:
            self.audit.write("command_dry_run", now, tick=tick, command=command.as_dict(),
                             why=why)
            return DispatchOutcome("dry_run", why)
        if self.next_attempt is not None and now < self.next_attempt:
            return DispatchOutcome("backoff", f"next attempt at {self.next_attempt.isoformat()}")
        return await self._send(command, now, tick=tick, why=why, read_back=read_back)

    async def _send(
        self, command: Command, now: datetime, *, tick: int, why: str, read_back: bool
    ) -> DispatchOutcome:
        self.audit.write("command_attempt", now, tick=tick, command=command.as_dict(), why=why,
                         valid_for_s=self.valid_for_s, attempt=self.failures + 1)
        try:
            response = await asyncio.wait_for(
                self.device.apply(command, valid_for_s=self.valid_for_s), self.call_timeout_s
            )
        except CommandError as exc:
            # The adapter refused it before sending: it does not fit this device.
            self.audit.write("command_invalid", now, tick=tick, command=command.as_dict(),
                             error=str(exc), stage="adapter")
            self.metrics.error("invalid_command")
            log.error("the device adapter refused %s: %s", command.describe(), exc)
            return DispatchOutcome("invalid", str(exc))
        except Exception as exc:
            # Anything else an adapter raises is a failed send too: it must back off, not retry
            # on every tick.
            return self._failed(command, now, tick, exc)
        sent = getattr(response, "native", None)
        adjusted = tuple(str(n) for n in getattr(response, "notes", ()) or ())
        self.audit.write("device_response", now, tick=tick, response=describe_response(response),
                         sent=sent if isinstance(sent, dict) else None,
                         adjusted=list(adjusted))
        if adjusted:
            # What the device got differs from the decision's numbers: say so where it is read.
            log.info("sent %s to the device as %s: %s", command.describe(),
                     sent if isinstance(sent, dict) else "its own payload", "; ".join(adjusted))
            why = f"{why}; as sent: {'; '.join(adjusted)}"
        if getattr(response, "confirmed", True) is False:
            return self._failed(command, now, tick, None, stage="apply",
                                detail="the device did not acknowledge the command")
        if not read_back:
            return self._confirmed(command, now, response, None, why)
        try:
            reading = await asyncio.wait_for(self.device.read_state(), self.call_timeout_s)
        except Exception as exc:
            return self._failed(command, now, tick, exc, stage="read-back")
        back = reading.device_mode
        self.audit.write("read_back", now, tick=tick, mode=mode_dict(back))
        if not self._runs(command, back):
            shown = "no mode" if back is None else (
                f"{back.native or back.kind} ({back.source.value})")
            return self._failed(command, now, tick, None, stage="read-back",
                                detail=f"device runs {shown} after the command")
        return self._confirmed(command, now, response, back, why)

    def _runs(self, command: Command, back: DeviceMode | None) -> bool:
        """The read-back shows ``command`` running as gridpilot's own: only then is it
        confirmed (and only a confirmed command is remembered as running)."""
        if back is None or back.source is not ModeSource.GRIDPILOT:
            return False
        if back.kind is None or back.kind == command.kind:
            return True
        # Kinds the adapter carries out with one native mode (xStorage: hold and idle are both
        # basic mode) read back as that mode's kind.
        native = getattr(getattr(self.device, "capabilities", None), "native", None) or {}
        return bool(back.native) and native.get(command.kind) == back.native

    def _hold_unknown(self, mode: DeviceMode | None, now: datetime,
                      tick: int) -> DispatchOutcome:
        """Send nothing over a mode that cannot be placed; audited and logged when it starts."""
        if mode is None:
            detail = ("the device reports no mode, so a person's cannot be ruled out: "
                      "nothing sent")
        else:
            detail = (f"the device runs {describe_mode(mode)}, which gridpilot did not set and "
                      "which is not the device's schedule or default: nothing sent")
        if not self.mode_unknown:
            self.mode_unknown = True
            log.warning("%s (it may be a person's; gridpilot resumes once the device reports "
                        "a mode it can place)", detail)
            self.audit.write("mode_unknown", now, tick=tick, mode=mode_dict(mode), detail=detail)
        self.metrics.mode_unknown_active = True
        # Whatever we sent is not known to run any more: send again once the mode is placed.
        self.memory.sent_command = None
        return DispatchOutcome("mode_unknown", detail)

    def _mode_known(self, now: datetime, tick: int) -> None:
        if self.mode_unknown:
            self.mode_unknown = False
            log.info("the device reports a mode gridpilot can place again")
            self.audit.write("mode_unknown_ended", now, tick=tick)
        self.metrics.mode_unknown_active = False

    def _confirmed(self, command: Command, now: datetime, response: Any,
                   back: DeviceMode | None, why: str) -> DispatchOutcome:
        self.failures = 0
        self.next_attempt = None
        self.confirmed_mode = back
        self.memory.sent_command = command
        self.memory.sent_expires = response_expiry(response) or now + timedelta(
            seconds=self.valid_for_s
        )
        self.metrics.commands_sent += 1
        self.metrics.current_kind = command.kind.value
        return DispatchOutcome("sent", why)

    def _failed(
        self,
        command: Command,
        now: datetime,
        tick: int,
        exc: BaseException | None,
        *,
        stage: str = "apply",
        detail: str = "",
    ) -> DispatchOutcome:
        self.failures += 1
        if isinstance(exc, DeviceAuthError):
            # Repeated sign-ins can lock the account: wait the longest backoff.
            delay_s = self.backoff_max_s
        else:
            delay_s = backoff_delay_s(self.failures, self.backoff_initial_s, self.backoff_max_s)
        self.next_attempt = now + timedelta(seconds=delay_s)
        kind = _error_kind(exc) if exc is not None else "unconfirmed"
        text = detail or (str(exc) or type(exc).__name__ if exc is not None else "")
        self.metrics.commands_failed += 1
        self.metrics.error(kind)
        # The device's copy is unknown now: resend once the backoff allows.
        self.memory.sent_command = None
        self.audit.write("command_failed", now, tick=tick, command=command.as_dict(),
                         stage=stage, error_kind=kind, error=text, failures=self.failures,
                         retry_in_s=delay_s)
        log.warning("sending %s failed (%s: %s); retrying in %.0f s",
                    command.describe(), stage, text, delay_s)
        return DispatchOutcome("unconfirmed" if exc is None else "failed", text)

    async def release(self, now: datetime) -> None:
        """Hand the device back to its own default mode."""
        self.audit.write("release_attempt", now)
        try:
            await asyncio.wait_for(self.device.release(), self.call_timeout_s)
        except (DeviceError, TimeoutError, OSError) as exc:
            self.metrics.error(_error_kind(exc))
            self.audit.write("release_failed", now, error_kind=_error_kind(exc), error=str(exc))
            log.warning("handing the device back to its default mode failed: %s", exc)
            return
        # A release answers nothing (the protocol's ``release`` returns None).
        self.audit.write("device_response", now, response=None)
        self.memory.sent_command = None
        self.memory.sent_expires = None


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, DeviceError):
        return type(exc).__name__
    return type(exc).__name__
