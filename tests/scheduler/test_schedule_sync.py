"""Device schedule sync against the HTTPS xStorage emulator, with the real adapter and policy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gridpilot.clock import ManualClock
from gridpilot.scheduler.schedule_sync import (
    ScheduleSyncError,
    plan_device_schedule,
    remove_device_schedule,
    sync_device_schedule,
)
from tests.emulators import XStorageEmulator

HEAD = """\
version: 1
site:
  name: sync
  timezone: Europe/London
  battery:
    capacity_kwh: 4.2
    max_charge_w: 3600
    max_discharge_w: 3600
    min_soc_pct: 10
    max_soc_pct: 95
device:
  type: xstorage
  host: "127.0.0.1:{port}"
  password: ${{XSTORAGE_PASSWORD}}
  tls_fingerprint_sha256: "{fingerprint}"
tariff:
  import:
    default: 0.30
guards:
  - kind: backup_reserve
    min_soc_pct: 20
rules:
"""

STATIC = """\
  - name: night charge
    layer: schedule
    when: {time: "23:30-04:30"}
    action: {kind: charge, power_w: 1800, target_soc_pct: 90}
  - name: weekday evening
    layer: schedule
    when: {time: "17:00-20:00", days: mon-fri}
    action: {kind: discharge, power_w: 3600}
  - name: a manual rule is not the schedule's business
    layer: manual
    when: {time: "12:00-13:00", months: jan}
    action: {kind: hold}
"""

NOT_EXPRESSIBLE = """\
  - name: winter only
    layer: schedule
    when: {time: "07:00-09:00", months: nov-feb}
    action: {kind: hold}
  - name: odd days
    layer: schedule
    when: {time: "10:00-11:00", days: "mon,wed"}
    action: {kind: hold}
  - name: arbitrage
    layer: schedule
    strategy: self_consumption
"""


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[XStorageEmulator]:
    with XStorageEmulator() as e:
        monkeypatch.setenv("XSTORAGE_PASSWORD", e.password)
        yield e


def load(tmp_path: Path, emu: XStorageEmulator, rules: str) -> Any:
    from gridpilot.rules.loader import load_policy

    path = tmp_path / "policy.yaml"
    path.write_text(HEAD.format(port=emu.port, fingerprint=emu.fingerprint_sha256) + rules)
    return load_policy(path)


@pytest.fixture
async def device(tmp_path: Path, emu: XStorageEmulator) -> AsyncIterator[Any]:
    from gridpilot.scheduler.site_device import device_for_policy

    clock = ManualClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    emu.clock = lambda: clock.now().timestamp()
    adapter = device_for_policy(load(tmp_path, emu, STATIC), clock=clock)
    await adapter.read_state()  # learns the inverter rating
    yield adapter
    await adapter.aclose()


async def test_sync_writes_the_static_rules_and_removes_exactly_them(
    tmp_path: Path, emu: XStorageEmulator, device: Any
) -> None:
    from gridpilot.devices.xstorage.schedule import ScheduleEvent

    theirs = await device.create_schedule_event(
        ScheduleEvent("SET_BASIC_MODE", 1200, 1300, "WEEKENDS"))
    policy = load(tmp_path, emu, STATIC)
    state = tmp_path / "state"
    assert await sync_device_schedule(device, policy, state) == 2
    events = {(e.command, e.start_hhmm, e.end_hhmm, e.recurrence): e
              for e in await device.list_schedule()}
    charge = events[("SET_CHARGE", 2330, 430, "EVERYDAY")]
    assert charge.parameters["soc"] == 90 and charge.parameters["power"] == 50
    evening = events[("SET_DISCHARGE", 1700, 2000, "WEEK_DAYS")]
    # The always-on reserve is the discharge floor the unit keeps.
    assert evening.parameters["soc"] == 20 and evening.parameters["power"] == 100
    assert len(events) == 3

    # A second sync replaces its own events, leaving the person's alone.
    assert await sync_device_schedule(device, policy, state) == 2
    assert len(await device.list_schedule()) == 3

    assert await remove_device_schedule(device, state) == 2
    left = await device.list_schedule()
    assert [e.event_id for e in left] == [theirs.event_id]
    assert await remove_device_schedule(device, state) == 0


async def test_rules_the_device_cannot_express_are_refused_and_nothing_is_written(
    tmp_path: Path, emu: XStorageEmulator, device: Any
) -> None:
    policy = load(tmp_path, emu, STATIC + NOT_EXPRESSIBLE)
    with pytest.raises(ScheduleSyncError) as err:
        await sync_device_schedule(device, policy, tmp_path / "state")
    text = str(err.value)
    assert "rule 'winter only'" in text and "months" in text
    assert "rule 'arbitrage'" in text and "strategy" in text
    assert "rule 'odd days'" in text and "mon-fri" in text
    assert "manual rule" not in text
    assert emu.requests_to("POST", "/api/schedule/event") == []
    with pytest.raises(ScheduleSyncError):
        plan_device_schedule(policy)


async def test_an_overlap_with_an_event_on_the_device_is_a_clear_error(
    tmp_path: Path, emu: XStorageEmulator, device: Any
) -> None:
    from gridpilot.devices.xstorage.schedule import ScheduleEvent, ScheduleOverlapError

    await device.create_schedule_event(ScheduleEvent("SET_BASIC_MODE", 1800, 1900, "EVERYDAY"))
    policy = load(tmp_path, emu, STATIC)
    state = tmp_path / "state"
    with pytest.raises(ScheduleOverlapError, match="overlaps"):
        await sync_device_schedule(device, policy, state)
    # What was written before the refusal is remembered, so it can be removed.
    assert await remove_device_schedule(device, state) == 1
    assert len(await device.list_schedule()) == 1
