"""What the audit log, the console line and /metrics say about the device: the person's actual
mode while gridpilot yields, readings the adapter rejected as unknown (never 0), and the values a
command was actually sent with."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from gridpilot.cli.log import format_record
from gridpilot.clock import ManualClock
from gridpilot.devices.xstorage import XStorageAdapter, XStorageSettings
from gridpilot.rules.loader import load_policy
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.loop import Scheduler
from tests.emulators.xstorage_mock import MockUnit

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PERSON_CHARGE = {"id": "someone", "type": "MANUAL", "command": "SET_CHARGE", "duration": 2,
                 "parameters": {"action": "ACTION_CHARGE", "power": 15, "soc": 90}}

POLICY = """\
version: 1
site:
  name: audit
  timezone: Europe/London
  battery: {capacity_kwh: 4.2, max_charge_w: 3600, max_discharge_w: 3600, min_soc_pct: 10,
            max_soc_pct: 95}
tariff:
  import: {default: 0.25}
default:
  action: {ACTION}
run:
  interval_s: 60
  max_state_age_s: 300
  read_timeout_s: 5
"""


@pytest.fixture
def state_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def _scheduler(state_dir: Path, unit: MockUnit,
               action: str = "{kind: discharge, power_w: 1800}") -> Scheduler:
    path = state_dir / "policy.yaml"
    path.write_text(POLICY.replace("{ACTION}", action))
    clock = ManualClock(T0)
    adapter = XStorageAdapter(
        XStorageSettings(host="unit.example", password=SecretStr("pw"),
                         tls_fingerprint_sha256="ab" * 32),
        name="unit", clock=clock, transport=unit.transport())
    return Scheduler(load_policy(path), adapter, clock=clock, state_dir=state_dir / "state",
                     watch_policy=False)


def _records(state_dir: Path, kind: str) -> list[dict[str, Any]]:
    return [r for r in read_audit(state_dir / "state") if r["kind"] == kind]


async def test_while_yielding_the_log_records_the_persons_actual_mode(state_dir: Path) -> None:
    unit = MockUnit(current_mode=PERSON_CHARGE)
    sched = _scheduler(state_dir, unit)
    report = await sched.tick()
    assert report.decision is not None and report.decision.yielded
    assert unit.commands == []
    tick = _records(state_dir, "tick")[-1]
    decision = tick["decision"]
    # Not the stand-in command (a charge at the battery's 3600 W to 95 %), but what runs.
    assert decision["command"] is None
    assert decision["describe"] == (
        "yield to a person's SET_CHARGE (action=ACTION_CHARGE power=15 soc=90)")
    assert decision["device_mode"]["parameters"] == PERSON_CHARGE["parameters"]
    assert tick["state"]["device_mode"]["native"] == "SET_CHARGE"
    assert "-> yield to a person's SET_CHARGE" in format_record(tick)
    line = report.line()
    assert "yield to a person's SET_CHARGE (action=ACTION_CHARGE power=15 soc=90)" in line
    assert "3600 W" not in line and "3600" not in decision["describe"]
    await sched.shutdown()


async def test_a_rejected_soc_is_unknown_in_the_console_the_audit_and_metrics(
    state_dir: Path,
) -> None:
    unit = MockUnit(current_mode={"type": "DEFAULT", "command": "SET_BASIC_MODE"},
                    follow_commands=True)
    sched = _scheduler(state_dir, unit)
    await sched.tick()
    assert "gridpilot_soc_percent 55.0" in sched.metrics.render()
    unit.energy_flow["stateOfCharge"] = 150
    sched.clock.advance(60)  # type: ignore[attr-defined]
    report = await sched.tick()
    assert report.status == "no_state"
    line = report.line()
    assert "SOC     ? %" in line and "SOC   0.0" not in line
    assert "soc_pct (energyFlow.stateOfCharge=150 is outside 0..100 %)" in line
    tick = _records(state_dir, "tick")[-1]
    assert tick["state"]["soc_pct"] is None
    assert tick["state"]["rejected"] == {"soc_pct": "energyFlow.stateOfCharge=150 is outside "
                                                    "0..100 %"}
    assert "energyFlow.stateOfCharge=150" in tick["error"]
    assert "SOC ? %" in format_record(tick)  # gridpilot log, as the console shows it
    metrics = sched.metrics.render()
    assert "# TYPE gridpilot_soc_percent gauge" in metrics
    assert not any(line.startswith("gridpilot_soc_percent ") for line in metrics.splitlines())
    # Until the fail-safe, nothing is decided on the rejected state; once stale, the safe
    # action's record shows the SOC as unknown too.
    for _ in range(5):
        sched.clock.advance(60)  # type: ignore[attr-defined]
        report = await sched.tick()
    assert report.status == "failsafe"
    assert _records(state_dir, "tick")[-1]["state"]["soc_pct"] is None
    await sched.shutdown()


async def test_the_log_records_the_values_a_command_was_actually_sent_with(
    state_dir: Path,
) -> None:
    unit = MockUnit(current_mode={"type": "DEFAULT", "command": "SET_BASIC_MODE"},
                    follow_commands=True)
    sched = _scheduler(state_dir, unit, "{kind: charge, power_w: 1000, target_soc_pct: 90.7}")
    report = await sched.tick()
    assert unit.commands[0]["parameters"] == {"power": 27, "soc": 90, "action": "ACTION_CHARGE"}
    response = _records(state_dir, "device_response")[-1]
    assert response["sent"] == unit.commands[0]
    assert response["adjusted"] == ["power_w 1000 W sent as 27 % of 3600 W = 972 W",
                                    "target_soc_pct 90.7 % sent as 90 %"]
    assert report.outcome is not None and report.outcome.status == "sent"
    assert "as sent: power_w 1000 W sent as 27 % of 3600 W = 972 W" in report.line()
    assert "as sent: power_w 1000 W" in _records(state_dir, "tick")[-1]["dispatch"]["detail"]
    await sched.shutdown()


async def test_a_command_below_the_units_smallest_step_is_refused_not_raised(
    state_dir: Path,
) -> None:
    unit = MockUnit(current_mode={"type": "DEFAULT", "command": "SET_BASIC_MODE"})
    sched = _scheduler(state_dir, unit, "{kind: charge, power_w: 100}")
    report = await sched.tick()
    assert unit.commands == []  # 100 W was sent as 5 % = 180 W before
    assert report.outcome is not None and report.outcome.status == "invalid"
    refused = _records(state_dir, "command_invalid")[-1]
    assert "power_w 100 W is below the unit's smallest setting" in refused["error"]
    assert "at least 180 W" in refused["error"]
    await sched.shutdown()
