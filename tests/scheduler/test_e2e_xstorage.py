"""End to end: 24 simulated hours of the real scheduler, the real engine and the real xStorage
adapter against the HTTPS emulator, with faults injected along the way.

The clock is a ManualClock shared with the emulated unit, so a day of 5-minute ticks runs in
seconds while token life and manual-mode expiry follow simulated time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gridpilot.clock import ManualClock
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.control import ControlServer, ensure_token
from gridpilot.scheduler.loop import Scheduler
from tests.emulators import XStorageEmulator
from tests.scheduler.day_plan import DAY_PLAN

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 01:00 in London (BST)
INTERVAL_S = 300
TICKS = 24 * 3600 // INTERVAL_S

POLICY = """\
version: 1
site:
  name: e2e garage
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
  timeout_s: 0.4
  read_retries: 0
  retry_backoff_s: 0
""" + DAY_PLAN + """\
run:
  interval_s: {interval}
  max_state_age_s: 900
  read_timeout_s: 3
  backoff_initial_s: 300
  backoff_max_s: 1800
  command_valid_s: 3600
"""


def tick_at(n: int) -> datetime:
    """Simulated time of tick ``n`` (1-based)."""
    return START + timedelta(seconds=(n - 1) * INTERVAL_S)


def tick_of(local_hhmm: str) -> int:
    """The tick at a London wall-clock time on the day (BST = UTC+1)."""
    hh, mm = (int(x) for x in local_hhmm.split(":"))
    minutes = (hh - 1) * 60 + mm
    return minutes * 60 // INTERVAL_S + 1


@pytest.fixture
def emu() -> Iterator[XStorageEmulator]:
    with XStorageEmulator() as e:
        yield e


def command_posts(emu: XStorageEmulator) -> list[dict[str, Any]]:
    return [r.json() for r in emu.requests_to("POST", "/api/device/command")]


async def test_a_day_against_the_xstorage_emulator_with_faults(
    tmp_path: Path, emu: XStorageEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridpilot.rules.loader import load_policy
    from gridpilot.scheduler.site_device import device_for_policy

    clock = ManualClock(START)
    emu.clock = lambda: clock.now().timestamp()
    monkeypatch.setenv("XSTORAGE_PASSWORD", emu.password)
    path = tmp_path / "policy.yaml"
    good_text = POLICY.format(port=emu.port, fingerprint=emu.fingerprint_sha256,
                              interval=INTERVAL_S)
    path.write_text(good_text)
    policy = load_policy(path)
    device = device_for_policy(policy, clock=clock)
    sched = Scheduler(policy, device, clock=clock, state_dir=tmp_path / "state")
    token = ensure_token(tmp_path / "state" / "control.token")
    control = ControlServer(token=token, overrides=sched.overrides, metrics=sched.metrics,
                            audit=sched.audit, clock=clock, health=sched.health,
                            on_change=sched.wake)
    url = (await control.start_tcp("127.0.0.1", 0))["url"]
    auth = {"Authorization": f"Bearer {token}"}

    person_from, person_until = tick_of("11:00"), tick_of("13:00")  # a 2 h manual mode
    override_from, override_until = tick_of("14:00"), tick_of("15:00")  # a 1 h override
    bad_edit, fixed_edit = tick_of("15:30"), tick_of("16:00")
    stale_from = tick_of("21:00")
    person_record: dict[str, Any] = {}
    posted_before: dict[int, int] = {}  # tick -> number of command POSTs before it

    def commands_between(first: int, last: int) -> list[dict[str, Any]]:
        """The command bodies the unit received during ticks ``first``..``last``."""
        return command_posts(emu)[posted_before[first]: posted_before[last + 1]]

    async with httpx.AsyncClient(base_url=url, headers=auth) as api:
        for n in range(1, TICKS + 1):
            assert clock.now() == tick_at(n)
            if n == tick_of("03:00"):
                emu.expire_tokens()
            if n == tick_of("04:00"):
                emu.faults.timeout(path="/api/device/status", delay_s=1.0)
            if n == tick_of("05:00"):
                emu.faults.server_error(503, path="/api/device/status", count=2)
            if n == tick_of("07:00"):
                emu.reboot()
            if n == tick_of("17:00"):
                emu.faults.server_error(500, path="/api/device/command")
            if n == person_from:
                person_record = emu.person_sets_manual(
                    "SET_CHARGE", {"power": 50, "soc": 100, "action": "ACTION_CHARGE"},
                    duration_h=2)
            if n == override_from:
                r = await api.post("/overrides", json={
                    "action": {"kind": "discharge", "power_w": 1000}, "for_s": 3600,
                    "name": "dinner"})
                assert r.status_code == 201, r.text
            if n == bad_edit:
                path.write_text(good_text.replace("  action: {kind: self_consumption}",
                                                  "  action: {kind: self_consumptoin}"))
            if n == fixed_edit:
                path.write_text(good_text)
            if stale_from <= n < stale_from + 4:
                emu.faults.reset(path="/api/device/status")
            posted_before[n] = len(command_posts(emu))
            await sched.tick()
            clock.advance(INTERVAL_S)
        posted_before[TICKS + 1] = len(command_posts(emu))
        health = (await api.get("/healthz")).json()
        metrics = (await api.get("/metrics")).text
    await control.close()
    await sched.shutdown()

    records = list(read_audit(tmp_path / "state"))
    ticks = [r for r in records if r["kind"] == "tick"]

    # Every tick audited, in order, and every fault survived: the day ends in normal ticks.
    assert [r["tick"] for r in ticks] == list(range(1, TICKS + 1))
    assert {r["status"] for r in ticks} <= {"ok", "no_state", "failsafe"}
    assert [r["status"] for r in ticks[-10:]] == ["ok"] * 10
    assert health["status"] == "ok"

    # No command outside the unit's ranges ever reached it.
    assert emu.state.out_of_range_commands == []

    # Token expiry: the adapter signed in again and the tick went on.
    signins = emu.requests_to("POST", "/api/auth/signin")
    assert len(signins) >= 3  # first contact, after expiry, after the reboot
    assert ticks[tick_of("03:00") - 1]["status"] == "ok"

    # Timeout and 5xx on reads: recorded, survived.
    errors = [r for r in records if r["kind"] == "error"]
    assert any(r["tick"] == tick_of("04:00") for r in errors)
    assert {r["tick"] for r in errors} >= {tick_of("05:00"), tick_of("05:00") + 1}

    # The reboot dropped the running mode: gridpilot sent its command again.
    resent = commands_between(tick_of("07:00"), tick_of("07:00"))
    assert [c["command"] for c in resent] == ["SET_MAXIMIZE_AUTO_CONSUMPTION"]

    # The person's manual mode ran untouched for its 2 hours, and the log says so.
    assert commands_between(person_from, person_until - 1) == []
    assert any(r["kind"] == "person_mode" for r in records)
    during = ticks[person_from - 1: person_until - 1]
    assert {r["dispatch"]["status"] for r in during} == {"yielded"}
    assert person_record["id"]
    ended = [r for r in records if r["kind"] == "person_mode_ended"]
    assert datetime.fromisoformat(ended[0]["ts"]) == tick_at(person_until)

    # The override won while it lasted, then the policy took over again.
    over = ticks[override_from - 1: override_until - 1]
    assert all(r["decision"]["winner"] == "override:dinner" for r in over)
    sent = commands_between(override_from, override_until - 1)
    # Sent when it began (and refreshed before the unit's one-hour duration ran out).
    assert sent and {c["command"] for c in sent} == {"SET_DISCHARGE"}
    # 1000 W of a 3600 W inverter, in the unit's whole percent steps.
    assert all(abs(c["parameters"]["power"] * 36 - 1000) < 36 for c in sent)
    assert ticks[override_until - 1]["decision"]["winner"] != "override:dinner"

    # The invalid edit kept the running policy and named the line; the fix was swapped in.
    invalid = [r for r in records if r["kind"] == "policy_invalid"]
    assert len(invalid) == 1
    line = good_text.splitlines().index("  action: {kind: self_consumption}") + 1
    assert f"policy.yaml:{line}:" in invalid[0]["error"]
    assert {r["status"] for r in ticks[bad_edit - 1: fixed_edit]} == {"ok"}
    assert sum(r["kind"] == "policy_reloaded" for r in records) == 1

    # The 5xx on the evening command was retried after the backoff and the discharge ran.
    failed = [r for r in records if r["kind"] == "command_failed"]
    assert any(r["tick"] == tick_of("17:00") for r in failed)
    evening = commands_between(tick_of("17:00"), tick_of("17:30"))
    assert [c["command"] for c in evening][-1] == "SET_DISCHARGE"

    # Twenty minutes without state: the safe action once, then quiet until data returned.
    entered = [r for r in records if r["kind"] == "failsafe_entered"]
    assert len(entered) == 1
    cleared = [r for r in records if r["kind"] == "failsafe_cleared"]
    assert len(cleared) == 1

    assert "gridpilot_commands_sent_total" in metrics


async def test_a_restart_does_not_mistake_gridpilots_own_mode_for_a_persons(
    tmp_path: Path, emu: XStorageEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridpilot.rules.loader import load_policy
    from gridpilot.scheduler.site_device import device_for_policy

    clock = ManualClock(START)
    emu.clock = lambda: clock.now().timestamp()
    monkeypatch.setenv("XSTORAGE_PASSWORD", emu.password)
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.format(port=emu.port, fingerprint=emu.fingerprint_sha256,
                                  interval=INTERVAL_S))
    policy = load_policy(path)
    first = Scheduler(policy, device_for_policy(policy, clock=clock), clock=clock,
                      state_dir=tmp_path / "state")
    await first.tick()
    await first.shutdown()
    assert len(command_posts(emu)) == 1

    clock.advance(INTERVAL_S)  # a new process: a new adapter that never saw the mode's id
    second = Scheduler(policy, device_for_policy(policy, clock=clock), clock=clock,
                       state_dir=tmp_path / "state")
    report = await second.tick()
    await second.shutdown()
    assert report.outcome is not None and report.outcome.status == "unchanged"
    assert not any(r["kind"] == "person_mode" for r in read_audit(tmp_path / "state"))
    assert len(command_posts(emu)) == 1

    # A person's mode that merely looks similar (another expiry) is still a person's.
    emu.person_sets_manual("SET_MAXIMIZE_AUTO_CONSUMPTION", None, duration_h=3)
    clock.advance(INTERVAL_S)
    third = Scheduler(policy, device_for_policy(policy, clock=clock), clock=clock,
                      state_dir=tmp_path / "state")
    report = await third.tick()
    await third.shutdown()
    assert report.outcome is not None and report.outcome.status == "yielded"
