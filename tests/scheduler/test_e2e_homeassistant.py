"""End to end: 24 simulated hours of the real scheduler, engine and homeassistant adapter against
the Home Assistant REST API emulator, with a person taking the battery over by hand for two
hours and Home Assistant restarting. 10-minute ticks on a ManualClock shared with the emulator:
a day in a few seconds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gridpilot.clock import ManualClock
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.loop import Scheduler
from tests.emulators.homeassistant import HomeAssistantEmulator
from tests.scheduler.day_plan import DAY_PLAN

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 01:00 in London (BST)
INTERVAL_S = 600
TICKS = 24 * 3600 // INTERVAL_S

POLICY = """\
version: 1
site:
  name: ha garage
  timezone: Europe/London
  battery:
    capacity_kwh: 5
    max_charge_w: 3000
    max_discharge_w: 3000
    min_soc_pct: 10
    max_soc_pct: 95
device:
  type: homeassistant
  url: "{url}"
  token: ${{HA_TOKEN}}
  timeout_s: 1
  read_retries: 0
  entities:
    soc_pct: {{entity_id: sensor.battery_soc}}
    load_w: {{entity_id: sensor.load_power}}
    pv_w: {{entity_id: sensor.pv_power}}
    grid_w: {{entity_id: sensor.grid_power}}
    battery_w: {{entity_id: sensor.battery_power, positive_means: charging}}
  controls:
    charge:
      - service: select.select_option
        entity_id: select.battery_mode
        data: {{option: Force Charge}}
      - service: number.set_value
        entity_id: number.battery_charge_power
        data: {{value: "{{power_w}}"}}
      - service: number.set_value
        entity_id: number.battery_target_soc
        data: {{value: "{{target_soc_pct}}"}}
    discharge:
      - service: select.select_option
        entity_id: select.battery_mode
        data: {{option: Force Discharge}}
      - service: number.set_value
        entity_id: number.battery_discharge_power
        data: {{value: "{{power_w}}"}}
    self_consumption:
      - service: select.select_option
        entity_id: select.battery_mode
        data: {{option: Eco}}
    hold:
      - service: select.select_option
        entity_id: select.battery_mode
        data: {{option: Stop}}
""" + DAY_PLAN + """\
run:
  interval_s: {interval}
  max_state_age_s: 1200
  read_timeout_s: 3
  backoff_initial_s: 600
  backoff_max_s: 1800
  command_valid_s: 3600
"""


def tick_of(local_hhmm: str) -> int:
    """The tick at a London wall-clock time on the day (BST = UTC+1)."""
    hh, mm = (int(x) for x in local_hhmm.split(":"))
    return ((hh - 1) * 60 + mm) * 60 // INTERVAL_S + 1


@pytest.fixture
def emu() -> Iterator[HomeAssistantEmulator]:
    with HomeAssistantEmulator(load_w=300) as e:
        yield e


def service_posts(emu: HomeAssistantEmulator) -> list[tuple[str, dict[str, Any]]]:
    return [(r.path.removeprefix("/api/services/"), r.json() or {})
            for r in emu.requests if r.method == "POST"]


async def test_a_day_against_home_assistant_with_a_person_and_a_restart(
    tmp_path: Path, emu: HomeAssistantEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridpilot.rules.loader import load_policy
    from gridpilot.scheduler.site_device import device_for_policy

    clock = ManualClock(START)
    emu.clock = lambda: clock.now().timestamp()
    emu._last_step = emu.clock()
    emu.soc_pct = 30.0
    monkeypatch.setenv("HA_TOKEN", emu.token)
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.format(url=emu.url, interval=INTERVAL_S))
    policy = load_policy(path)
    device = device_for_policy(policy, clock=clock)
    sched = Scheduler(policy, device, clock=clock, state_dir=tmp_path / "state")

    person_from, person_back = tick_of("11:00"), tick_of("13:00")
    restart_at = tick_of("08:00")
    posted_before: dict[int, int] = {}
    soc_at: dict[int, float] = {}
    for n in range(1, TICKS + 1):
        if n == person_from:
            emu.person_selects("select.battery_mode", "Stop")  # keeps it for later
        if n == person_back:
            emu.person_selects("select.battery_mode", "Eco")  # hands it back
        if n == restart_at:
            emu.restart(15 * 60)
        posted_before[n] = len(service_posts(emu))
        soc_at[n] = emu.soc_pct
        await sched.tick()
        clock.advance(INTERVAL_S)
    posted_before[TICKS + 1] = len(service_posts(emu))
    await sched.shutdown()

    def posts_between(first: int, last: int) -> list[tuple[str, dict[str, Any]]]:
        return service_posts(emu)[posted_before[first]: posted_before[last + 1]]

    records = list(read_audit(tmp_path / "state"))
    ticks = [r for r in records if r["kind"] == "tick"]
    assert [r["tick"] for r in ticks] == list(range(1, TICKS + 1))
    assert {r["status"] for r in ticks} <= {"ok", "no_state", "failsafe"}
    assert [r["status"] for r in ticks[-10:]] == ["ok"] * 10

    # Home Assistant never had to refuse a call: every value fitted its entity.
    assert {r.status for r in emu.requests if r.method == "POST"} == {200}

    # The night charge: mode, power and target sent as service calls; the battery filled.
    night = posts_between(tick_of("01:30"), tick_of("01:30"))
    assert night == [
        ("select/select_option", {"entity_id": "select.battery_mode", "option": "Force Charge"}),
        ("number/set_value", {"entity_id": "number.battery_charge_power", "value": 2000.0}),
        ("number/set_value", {"entity_id": "number.battery_target_soc", "value": 90.0}),
    ]
    assert soc_at[tick_of("06:30")] > 80

    # Home Assistant restarting: entities unavailable for 15 minutes; nothing sent over an
    # unknown mode, and the first tick after it runs normally again without a resend.
    down = ticks[restart_at - 1: restart_at + 1]
    assert all(r["status"] != "ok" for r in down[:1])
    assert posts_between(restart_at, restart_at + 1) == []
    assert ticks[restart_at + 2]["status"] == "ok"

    # The person's two hours: gridpilot yielded and sent nothing; they handed it back.
    assert posts_between(person_from, person_back - 1) == []
    during = ticks[person_from - 1: person_back - 1]
    assert {r["dispatch"]["status"] for r in during} == {"yielded"}
    assert ticks[person_back - 1]["dispatch"]["status"] != "yielded"

    # The evening peak.
    evening = posts_between(tick_of("17:00"), tick_of("17:00"))
    assert ("number/set_value", {"entity_id": "number.battery_discharge_power",
                                 "value": 2500.0}) in evening
    assert soc_at[tick_of("17:00")] > 20
    assert emu.value("select.battery_mode") == "Eco"  # self-consumption after 20:00
    assert START + timedelta(seconds=TICKS * INTERVAL_S) == clock.now()
