"""The live scheduler never commands over a mode it cannot prove it may replace.

Only a mode gridpilot set itself, or the device's own schedule or default, may be replaced. A
person's mode makes it yield; any other shape of ``currentMode`` (missing, ``null``, ``{}``, no
``type``, a ``type`` the documents do not name, ``"manual"``) sends nothing at all.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from gridpilot.clock import ManualClock
from gridpilot.devices.xstorage import XStorageAdapter, XStorageSettings
from gridpilot.engine.commands import CommandKind
from gridpilot.engine.state import DeviceMode, ModeSource
from gridpilot.rules.loader import load_policy
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.loop import Scheduler
from tests.emulators import XStorageEmulator
from tests.emulators.xstorage import OMIT
from tests.emulators.xstorage_mock import MockUnit
from tests.scheduler.fakes import FakeDevice, fake_decide, load_fake_policy, write_policy

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OWN_ID = "rec-gridpilot"
DOCUMENTED = ("SET_BASIC_MODE", "SET_CHARGE", "SET_DISCHARGE", "SET_MAXIMIZE_AUTO_CONSUMPTION",
              "SET_PEAK_SHAVING", "SET_VARIABLE_GRID_INJECTION", "SET_FREQUENCY_REGULATION")

POLICY = """\
version: 1
site:
  name: fail closed
  timezone: Europe/London
  battery: {capacity_kwh: 4.2, max_charge_w: 3600, max_discharge_w: 3600, min_soc_pct: 10,
            max_soc_pct: 95}
tariff:
  import: {default: 0.25}
default:
  action: {kind: discharge, power_w: 1800}
run:
  interval_s: 60
  max_state_age_s: 300
  read_timeout_s: 5
"""


@pytest.fixture(scope="module")
def policy_path() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(POLICY)
        yield path


def may_command(current_mode: Any) -> bool:
    """Written out from the rule, independently of the adapter: gridpilot's own MANUAL record,
    or the unit's SCHEDULE or DEFAULT layer running a documented command."""
    if not isinstance(current_mode, dict):
        return False
    mode_type = current_mode.get("type")
    if mode_type == "MANUAL":
        return current_mode.get("id") == OWN_ID
    return mode_type in ("SCHEDULE", "DEFAULT") and current_mode.get("command") in DOCUMENTED


def _adapter(unit: MockUnit, clock: ManualClock) -> XStorageAdapter:
    settings = XStorageSettings(host="unit.example", password=SecretStr("pw"),
                                tls_fingerprint_sha256="ab" * 32)
    adapter = XStorageAdapter(settings, name="unit", clock=clock, transport=unit.transport())
    adapter._own_ids.add(OWN_ID)  # as if gridpilot had sent it before
    return adapter


async def _one_tick(policy_path: Path, unit: MockUnit, state_dir: Path) -> Scheduler:
    clock = ManualClock(T0)
    policy = load_policy(policy_path)
    sched = Scheduler(policy, _adapter(unit, clock), clock=clock, state_dir=state_dir,
                      watch_policy=False)
    await sched.tick()
    await sched.device.aclose()
    sched.audit.close()
    return sched


TYPES = st.one_of(
    st.sampled_from(["MANUAL", "SCHEDULE", "DEFAULT", "manual", "Manual", "schedule", "default",
                     "OVERRIDE", "REMOTE", " MANUAL", "MANUAL ", ""]),
    st.none(), st.integers(), st.booleans(), st.text(max_size=6),
)
COMMANDS = st.one_of(
    st.sampled_from([*DOCUMENTED, "set_charge", "SET_CHARGE ", "SET_TURBO", ""]),
    st.none(), st.integers(),
)
PARAMETERS = st.one_of(
    st.none(), st.just({}),
    st.fixed_dictionaries({"power": st.integers(0, 100), "soc": st.integers(0, 100),
                           "action": st.sampled_from(["ACTION_CHARGE", "ACTION_DISCHARGE"])}),
)
RECORDS = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.sampled_from([OWN_ID, "someone-else", ""]), st.none(), st.integers()),
    "type": TYPES,
    "command": COMMANDS,
    "parameters": PARAMETERS,
    "duration": st.one_of(st.none(), st.integers(-1, 12)),
    "recurrence": st.sampled_from(["MANUAL_EVENT", "DEFAULT_EVENT", "EVERYDAY"]),
})
CURRENT_MODES = st.one_of(
    RECORDS, st.none(), st.just(OMIT), st.just({}), st.integers(), st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=60, deadline=None)
@given(current_mode=CURRENT_MODES)
def test_no_command_unless_the_mode_is_provably_replaceable(
    policy_path: Path, current_mode: Any
) -> None:
    unit = MockUnit(current_mode=current_mode)
    with tempfile.TemporaryDirectory() as tmp:
        sched = asyncio.run(_one_tick(policy_path, unit, Path(tmp)))
        records = list(read_audit(Path(tmp)))
    sent = unit.commands
    if may_command(current_mode):
        assert len(sent) == 1 and sent[0]["command"] == "SET_DISCHARGE"
    else:
        assert sent == [], f"commanded over {current_mode!r}"
        tick = next(r for r in records if r["kind"] == "tick")
        assert tick["dispatch"]["status"] in ("yielded", "mode_unknown")
        assert sched.memory.active_command is None  # nothing of ours runs: nothing to dwell on


@pytest.fixture
def emu() -> Iterator[XStorageEmulator]:
    with XStorageEmulator() as e:
        yield e


@pytest.mark.parametrize(
    "fault",
    [
        OMIT,
        None,
        {},
        lambda m: {k: v for k, v in m.items() if k != "type"},
        lambda m: {**m, "type": "OVERRIDE"},
        lambda m: {**m, "type": "manual"},
    ],
    ids=["missing", "null", "empty", "no-type", "OVERRIDE", "lower-case-manual"],
)
async def test_a_persons_charge_behind_an_odd_status_is_never_replaced(
    tmp_path: Path, emu: XStorageEmulator, monkeypatch: pytest.MonkeyPatch, fault: Any
) -> None:
    from gridpilot.scheduler.site_device import device_for_policy

    clock = ManualClock(T0)
    emu.clock = lambda: clock.now().timestamp()
    monkeypatch.setenv("XSTORAGE_PASSWORD", emu.password)
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY + (
        f'device:\n  type: xstorage\n  host: "127.0.0.1:{emu.port}"\n'
        "  password: ${XSTORAGE_PASSWORD}\n"
        f'  tls_fingerprint_sha256: "{emu.fingerprint_sha256}"\n  read_retries: 0\n'))
    policy = load_policy(path)
    sched = Scheduler(policy, device_for_policy(policy, clock=clock), clock=clock,
                      state_dir=tmp_path / "state", watch_policy=False)
    await sched.tick()  # the default: gridpilot's discharge
    assert len(emu.requests_to("POST", "/api/device/command")) == 1
    emu.person_sets_manual("SET_CHARGE", {"action": "ACTION_CHARGE", "power": 15, "soc": 90})
    emu.fault_current_mode(fault)
    for _ in range(3):
        clock.advance(60)
        report = await sched.tick()
        assert report.outcome is not None and report.outcome.status == "mode_unknown"
    assert len(emu.requests_to("POST", "/api/device/command")) == 1  # the charge stays
    assert emu.state.current_mode is not None
    assert emu.state.current_mode["command"] == "SET_CHARGE"
    assert "nothing sent" in report.line()
    assert sched.metrics.mode_unknown_active
    assert "gridpilot_mode_unknown_active 1.0" in sched.metrics.render()
    kinds = [r["kind"] for r in read_audit(tmp_path / "state")]
    assert kinds.count("mode_unknown") == 1  # said once, not on every tick
    # The status reads normally again: a person's charge, so gridpilot yields.
    emu.fault_current_mode()
    clock.advance(60)
    report = await sched.tick()
    assert report.outcome is not None and report.outcome.status == "yielded"
    assert "mode_unknown_ended" in [r["kind"] for r in read_audit(tmp_path / "state")]
    await sched.shutdown()
    assert len(emu.requests_to("POST", "/api/device/command")) == 1


def _fake(tmp_path: Path, mode: DeviceMode | None) -> tuple[Scheduler, FakeDevice, ManualClock]:
    clock = ManualClock(T0)
    policy = load_fake_policy(write_policy(tmp_path))
    device = FakeDevice(clock, policy.limits)
    device.mode = mode  # type: ignore[assignment]
    sched = Scheduler(policy, device, clock=clock, state_dir=tmp_path / "state",
                      decide_fn=fake_decide, policy_loader=load_fake_policy)
    return sched, device, clock


async def test_a_device_that_reports_no_mode_is_not_commanded(tmp_path: Path) -> None:
    sched, device, _ = _fake(tmp_path, None)
    report = await sched.tick()
    assert report.outcome is not None and report.outcome.status == "mode_unknown"
    assert "reports no mode" in report.outcome.detail
    assert device.apply_calls == 0


async def test_the_failsafe_sends_nothing_over_an_unknown_mode(tmp_path: Path) -> None:
    sched, device, clock = _fake(tmp_path, DeviceMode(None, ModeSource.UNKNOWN, "SET_CHARGE"))
    device.reading_lag_s = 1000  # stale from the start: the fail-safe applies
    for _ in range(2):
        report = await sched.tick()
        clock.advance(60)
    assert report.status == "failsafe"
    assert device.apply_calls == 0


async def test_a_read_back_that_cannot_be_placed_does_not_confirm(tmp_path: Path) -> None:
    sched, device, _ = _fake(tmp_path, DeviceMode(CommandKind.IDLE, ModeSource.DEFAULT, "BASIC"))

    async def apply_but_unknown(command: Any, *, valid_for_s: float) -> Any:
        result = await FakeDevice.apply(device, command, valid_for_s=valid_for_s)
        device.mode = DeviceMode(command.kind, ModeSource.UNKNOWN, "?")
        return result

    device.apply = apply_but_unknown  # type: ignore[method-assign]
    report = await sched.tick()
    assert report.outcome is not None and report.outcome.status == "unconfirmed"
    assert sched.memory.sent_command is None and sched.memory.active_command is None
