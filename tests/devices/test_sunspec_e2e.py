"""End to end: a simulated day of the real scheduler, engine and sunspec adapter against the
SunSpec emulator, with a timeout, a reboot and another Modbus master's override on the way.

A ManualClock is shared with the emulated inverter, so 96 quarter-hour ticks run in about a
second while the battery, and every revert timer, follow simulated time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gridpilot.clock import ManualClock
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.loop import Scheduler
from tests.emulators.sunspec import Site, SunSpecEmulator
from tests.scheduler.day_plan import DAY_PLAN

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 01:00 in London (BST)
INTERVAL_S = 900
TICKS = 24 * 3600 // INTERVAL_S

POLICY = """\
version: 1
site:
  name: sunspec garage
  timezone: Europe/London
  battery:
    capacity_kwh: 10
    max_charge_w: 5000
    max_discharge_w: 5000
    min_soc_pct: 10
    max_soc_pct: 95
device:
  type: sunspec
  host: 127.0.0.1
  port: {port}
  timeout_s: 0.3
  read_retries: 1
  retry_backoff_s: 0
""" + DAY_PLAN + """\
run:
  interval_s: {interval}
  max_state_age_s: 1800
  read_timeout_s: 3
  backoff_initial_s: 900
  backoff_max_s: 1800
  command_valid_s: 1800
"""


def tick_of(local_hhmm: str) -> int:
    hh, mm = (int(x) for x in local_hhmm.split(":"))
    return ((hh - 1) * 60 + mm) * 60 // INTERVAL_S + 1


@pytest.fixture
def emu() -> Iterator[SunSpecEmulator]:
    with SunSpecEmulator(site=Site(soc_pct=30.0, load_w=800.0)) as e:
        yield e


async def test_a_day_against_the_sunspec_emulator(tmp_path: Path, emu: SunSpecEmulator) -> None:
    from gridpilot.rules.loader import load_policy
    from gridpilot.scheduler.site_device import device_for_policy

    clock = ManualClock(START)
    emu.clock = lambda: clock.now().timestamp()
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.format(port=emu.port, interval=INTERVAL_S))
    policy = load_policy(path)
    sched = Scheduler(policy, device_for_policy(policy, clock=clock), clock=clock,
                      state_dir=tmp_path / "state")
    soc: dict[int, float] = {}
    person_at = tick_of("12:00")
    for n in range(1, TICKS + 1):
        if n == tick_of("03:00"):
            emu.faults.timeout(delay_s=0.5, count=2)
        if n == tick_of("08:00"):
            emu.reboot()
        if n == person_at:
            # A person's app, another Modbus master, forces a charge for 30 minutes.
            emu.other_master_writes(InOutWRte_RvrtTms=1800, OutWRte=-30.0, InWRte=30.0,
                                    StorCtl_Mod=3)
        emu.site.pv_w = 3000.0 if tick_of("10:00") <= n < tick_of("16:00") else 0.0
        await sched.tick()
        soc[n] = emu.site.soc_pct
        clock.advance(INTERVAL_S)
    await sched.shutdown()

    records = list(read_audit(tmp_path / "state"))
    ticks = [r for r in records if r["kind"] == "tick"]
    assert [r["tick"] for r in ticks] == list(range(1, TICKS + 1))
    assert [r["status"] for r in ticks[-8:]] == ["ok"] * 8
    assert emu.out_of_range_writes == []

    # The night charge ran at 2000 W: the SOC rose by about 20 % an hour of 10 kWh.
    assert soc[tick_of("06:00")] > soc[tick_of("02:00")] + 60
    # The timeout cost a tick, not the day; the reboot's lost window was written again.
    assert any(r["kind"] == "error" for r in records if r.get("tick") == tick_of("03:00"))
    # The person's window was left alone while it ran, and the log says so.
    assert any(r["kind"] == "person_mode" for r in records)
    assert ticks[person_at - 1]["dispatch"]["status"] == "yielded"
    # The evening discharge ran: the SOC fell between 17:00 and 20:00.
    assert soc[tick_of("19:45")] < soc[tick_of("17:00")] - 10
    assert clock.now() == START + timedelta(seconds=TICKS * INTERVAL_S)


def test_device_probe_lists_the_models_found(tmp_path: Path, emu: SunSpecEmulator,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from gridpilot.cli import main

    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.format(port=emu.port, interval=INTERVAL_S))
    assert main(["device", "probe", str(path)]) == 0
    out = capsys.readouterr().out
    assert "soc_pct    30" in out
    assert "model 124 @40172 (unit 1): " in out and "WChaMax=5000" in out
    assert "model 1 @40002 (unit 1): Mn=Emulated" in out
    assert main(["device", "probe", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["models"]["802 @40198 (unit 1)"]["SoC"] == pytest.approx(30.0)
