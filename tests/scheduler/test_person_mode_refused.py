"""A command the device refuses is never remembered as the one running: anti-flap and the
minimum dwell hold on only to what the device confirmed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gridpilot.clock import ManualClock
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.errors import CommandError, DeviceRejected
from gridpilot.rules.loader import load_policy
from gridpilot.scheduler.loop import Scheduler
from gridpilot.scheduler.overrides import parse_override_request
from tests.scheduler.fakes import FakeDevice

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

POLICY = """\
version: 1
site:
  name: refusals
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000, min_soc_pct: 10,
            max_soc_pct: 95}
tariff:
  import: {default: 0.25}
default:
  action: {kind: self_consumption}
control:
  min_dwell_s: 1800
run:
  interval_s: 60
  max_state_age_s: 300
  read_timeout_s: 5
  backoff_initial_s: 60
  backoff_max_s: 600
"""


class RefusingDevice(FakeDevice):
    """Refuses every discharge, as a unit answers 400 (or an adapter raises CommandError)."""

    refusal: type[Exception] = DeviceRejected

    async def apply(self, command: Command, *, valid_for_s: float) -> Any:
        if command.kind is CommandKind.DISCHARGE:
            self.apply_calls += 1
            if self.refusal is CommandError:
                raise CommandError("discharge does not fit this device")
            raise DeviceRejected(self.name, "POST /api/device/command: refused (400)")
        return await super().apply(command, valid_for_s=valid_for_s)


def _make(tmp_path: Path, refusal: type[Exception]) -> tuple[Scheduler, RefusingDevice,
                                                            ManualClock]:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    policy = load_policy(path)
    clock = ManualClock(T0)
    device = RefusingDevice(clock, policy.limits)
    device.refusal = refusal
    sched = Scheduler(policy, device, clock=clock, state_dir=tmp_path / "state",
                      watch_policy=False)
    return sched, device, clock


async def _refuse_then_clear(tmp_path: Path, refusal: type[Exception], expect: str) -> None:
    sched, device, clock = _make(tmp_path, refusal)
    await sched.tick()
    assert [c.kind for c in device.applied] == [CommandKind.SELF_CONSUMPTION]
    sched.overrides.add(parse_override_request(
        {"action": {"kind": "discharge", "power_w": 2000}, "for_s": 3600, "name": "dump"},
        clock.now()))
    clock.advance(60)
    report = await sched.tick()
    assert report.outcome is not None and report.outcome.status in ("failed", "invalid")
    # The refused discharge is not what runs: the dwell timer stays on the confirmed command.
    assert sched.memory.active_command is not None
    assert sched.memory.active_command.kind is CommandKind.SELF_CONSUMPTION
    assert sched.memory.active_since == T0
    sched.overrides.clear("dump")
    clock.advance(60)
    report = await sched.tick()
    # Not held by anti-flap as if the refused discharge ran: the policy's command goes out.
    assert report.decision is not None
    assert report.decision.command.kind is CommandKind.SELF_CONSUMPTION
    assert report.outcome is not None and report.outcome.status == expect, report.line()
    assert device.applied[-1].kind is CommandKind.SELF_CONSUMPTION
    await sched.shutdown()


async def test_a_refused_command_is_not_kept_by_anti_flap(tmp_path: Path) -> None:
    # After a refusal the device's copy is unknown: the command is sent again.
    await _refuse_then_clear(tmp_path, DeviceRejected, "sent")


async def test_a_command_the_adapter_refuses_is_not_kept_either(tmp_path: Path) -> None:
    # Refused before sending: the device still runs the confirmed command.
    await _refuse_then_clear(tmp_path, CommandError, "unchanged")
