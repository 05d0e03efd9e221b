"""Small in-test doubles for the scheduler tests: a scripted device and a minimal decide().

The policy documents are real (validated by the real schema and YAML loader); only the compiled
parts that other modules provide (tariff, windows) are stood in for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from gridpilot.clock import ManualClock
from gridpilot.devices.base import AppliedCommand, DeviceReading
from gridpilot.engine.actions import command_from_action
from gridpilot.engine.commands import Command, CommandKind, DeviceLimits, validate_command
from gridpilot.engine.decision import Decision
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import DeviceMode, ModeSource, PriceOutlook, SiteState
from gridpilot.errors import DeviceProtocolError, DeviceUnreachable
from gridpilot.forecasts.providers import FlatForecast
from gridpilot.rules.loader import load_policy_doc
from gridpilot.rules.schema import Action, PolicyDoc

POLICY_YAML = """\
version: 1
site:
  name: test site
  timezone: Europe/London
  battery:
    capacity_kwh: 10
    max_charge_w: 3000
    max_discharge_w: 3000
    min_soc_pct: 10
    max_soc_pct: 95
tariff:
  import:
    default: 0.25
run:
  interval_s: 60
  max_state_age_s: 300
  read_timeout_s: 0.2
  backoff_initial_s: 60
  backoff_max_s: 600
  control_port: 0
"""


class FakeTariff:
    def outlook(self, t: datetime, horizon_s: float = 86_400) -> PriceOutlook:
        return PriceOutlook.empty()


def fake_policy(doc: PolicyDoc, path: Path | None = None) -> Any:
    b = doc.site.battery
    return SimpleNamespace(
        doc=doc,
        path=path,
        tz=ZoneInfo(doc.site.timezone),
        limits=DeviceLimits(b.capacity_kwh, b.max_charge_w, b.max_discharge_w, b.min_soc_pct,
                            b.max_soc_pct, doc.site.grid.max_import_w, doc.site.grid.max_export_w),
        tariff=FakeTariff(),
        guards=(),
        rules=(),
        overrides=(),
        inputs=(),
        new_forecast=lambda: FlatForecast(),
    )


def load_fake_policy(path: Path) -> Any:
    """The real YAML loader and schema (so errors carry file:line), compiled by hand."""
    doc, _smap, _data = load_policy_doc(path)
    return fake_policy(doc, path)


def write_policy(directory: Path, text: str = POLICY_YAML) -> Path:
    path = directory / "policy.yaml"
    path.write_text(text)
    return path


def fake_decide(policy: Any, state: SiteState, overrides: Sequence[CompiledOverride]) -> Decision:
    """Overrides in force win; otherwise the policy's default action (self-consumption)."""
    t = state.time.timestamp()
    for o in overrides:
        if o.start_s <= t < o.until_s:
            cmd = command_from_action(o.action, policy.limits)
            return Decision(cmd, f"override:{o.name}", "manual", "override in force")
    action = policy.doc.default.action or Action(kind=CommandKind.SELF_CONSUMPTION)
    cmd = command_from_action(action, policy.limits)
    if state.person_override:
        return Decision(cmd, "device", "manual", "a person's mode runs",
                        notes=("yielding to a person's manual mode",))
    return Decision(cmd, "default", "default", "default action")


@dataclass
class FakeDevice:
    """A scripted device. ``faults`` is consumed one per call: ``"timeout"``, ``"unreachable"``,
    ``"5xx"`` or ``None`` (a normal answer)."""

    clock: ManualClock
    limits: DeviceLimits
    soc_pct: float = 50.0
    mode: DeviceMode = field(
        default_factory=lambda: DeviceMode(CommandKind.SELF_CONSUMPTION, ModeSource.DEFAULT,
                                           "BASIC")
    )
    read_faults: list[str | None] = field(default_factory=list)
    apply_faults: list[str | None] = field(default_factory=list)
    reading_lag_s: float = 0.0
    ignore_commands: bool = False
    applied: list[Command] = field(default_factory=list)
    apply_calls: int = 0
    read_calls: int = 0
    released: int = 0
    closed: bool = False
    name: str = "fake"

    async def _fault(self, queue: list[str | None]) -> None:
        fault = queue.pop(0) if queue else None
        if fault == "timeout":
            await asyncio.sleep(5)
        elif fault == "unreachable":
            raise DeviceUnreachable(self.name, "connection refused")
        elif fault == "5xx":
            raise DeviceProtocolError(self.name, "HTTP 503 from /api/device/status")

    async def read_state(self) -> DeviceReading:
        self.read_calls += 1
        await self._fault(self.read_faults)
        taken = self.clock.now() - timedelta(seconds=self.reading_lag_s)
        return DeviceReading(time=taken, soc_pct=self.soc_pct, load_w=500.0, pv_w=0.0,
                             grid_w=500.0, battery_w=0.0, device_mode=self.mode)

    async def apply(self, command: Command, *, valid_for_s: float) -> AppliedCommand:
        self.apply_calls += 1
        await self._fault(self.apply_faults)
        # A device must never receive an out-of-range command: fail the test loudly if it does.
        validate_command(command, self.limits)
        self.applied.append(command)
        if not self.ignore_commands:
            self.mode = DeviceMode(command.kind, ModeSource.GRIDPILOT, command.kind.value.upper())
        now = self.clock.now()
        return AppliedCommand(command, now, now + timedelta(seconds=valid_for_s),
                              {"command": command.kind.value}, True)

    async def release(self) -> None:
        self.released += 1
        self.mode = DeviceMode(CommandKind.SELF_CONSUMPTION, ModeSource.DEFAULT, "BASIC")

    async def aclose(self) -> None:
        self.closed = True

    def person_sets(self, native: str = "SET_CHARGE") -> None:
        self.mode = DeviceMode(CommandKind.CHARGE, ModeSource.PERSON, native)
