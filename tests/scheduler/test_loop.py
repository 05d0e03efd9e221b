"""The tick loop against a scripted device: failsafe, faults, person's mode, overrides, restarts,
hot reload and clock alignment."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.clock import ManualClock
from gridpilot.engine.commands import CommandKind
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.loop import Scheduler
from gridpilot.scheduler.overrides import parse_override_request
from gridpilot.scheduler.tick import next_tick_at
from tests.scheduler.fakes import (
    POLICY_YAML,
    FakeDevice,
    fake_decide,
    load_fake_policy,
    write_policy,
)

T0 = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)


def make(tmp_path: Path, yaml: str = POLICY_YAML, **kw: Any) -> tuple[Scheduler, FakeDevice,
                                                                      ManualClock]:
    clock = kw.pop("clock", None) or ManualClock(T0)
    path = write_policy(tmp_path, yaml)
    policy = load_fake_policy(path)
    device = kw.pop("device", None) or FakeDevice(clock, policy.limits)
    sched = Scheduler(policy, device, clock=clock, state_dir=tmp_path / "state",
                      decide_fn=kw.pop("decide_fn", fake_decide),
                      policy_loader=load_fake_policy, **kw)
    return sched, device, clock


def records(tmp_path: Path, kind: str | None = None) -> list[dict[str, Any]]:
    recs = list(read_audit(tmp_path / "state"))
    return [r for r in recs if kind is None or r["kind"] == kind]


@given(st.floats(min_value=0, max_value=4e9), st.sampled_from([1.0, 5.0, 60.0, 300.0, 900.0]))
@settings(max_examples=200, deadline=None)
def test_next_tick_is_aligned_and_within_one_interval(ts: float, interval: float) -> None:
    now = datetime.fromtimestamp(ts, UTC)
    nxt = next_tick_at(now, interval)
    gap = (nxt - now).total_seconds()
    assert 0 < gap <= interval + 1e-3
    assert abs(nxt.timestamp() / interval - round(nxt.timestamp() / interval)) < 1e-6


async def test_ticks_are_aligned_to_the_clock_and_each_is_audited(tmp_path: Path) -> None:
    clock = ManualClock(T0 + timedelta(seconds=17))
    sched, device, _ = make(tmp_path, clock=clock)
    assert await sched.run(max_ticks=5) == 0
    ticks = records(tmp_path, "tick")
    assert [r["tick"] for r in ticks] == [1, 2, 3, 4, 5]
    times = [datetime.fromisoformat(r["ts"]) for r in ticks]
    assert times[0] == T0 + timedelta(seconds=17)
    assert all(t.second == 0 for t in times[1:])
    assert all((b - a) == timedelta(seconds=60) for a, b in itertools.pairwise(times[1:]))
    # Sent once, then unchanged: the device already runs it.
    assert len(device.applied) == 1
    assert [r["dispatch"]["status"] for r in ticks] == ["sent"] + ["unchanged"] * 4
    assert device.closed


async def test_exception_in_a_tick_is_audited_and_the_next_tick_comes(tmp_path: Path) -> None:
    calls = {"n": 0}

    def flaky(policy: Any, state: Any, overrides: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ZeroDivisionError("strategy bug")
        return fake_decide(policy, state, overrides)

    sched, _device, _ = make(tmp_path, decide_fn=flaky)
    await sched.run(max_ticks=4)
    ticks = records(tmp_path, "tick")
    assert [r["status"] for r in ticks] == ["ok", "error", "ok", "ok"]
    err = ticks[1]
    assert err["error_kind"] == "ZeroDivisionError" and "strategy bug" in err["error"]
    assert "test_loop.py" in err["where"]
    assert sched.metrics.errors["ZeroDivisionError"] == 1


async def test_read_faults_are_survived_and_retried_next_tick(tmp_path: Path) -> None:
    sched, device, _ = make(tmp_path)
    # Tick 1 reads twice (state, then the read-back after sending).
    device.read_faults = [None, None, "timeout", "unreachable", "5xx", None]
    await sched.run(max_ticks=5)
    statuses = [r["status"] for r in records(tmp_path, "tick")]
    assert statuses == ["ok", "no_state", "no_state", "no_state", "ok"]
    kinds = [r["error_kind"] for r in records(tmp_path, "error")]
    assert kinds == ["timeout", "DeviceUnreachable", "DeviceProtocolError"]
    assert sched.metrics.errors["timeout"] == 1


async def test_stale_state_sends_the_safe_action_once_then_nothing_until_fresh(
    tmp_path: Path,
) -> None:
    yaml = POLICY_YAML.replace("interval_s: 60", "interval_s: 120") + (
        "  safe_action: {kind: hold}\n"
    )
    sched, device, clock = make(tmp_path, yaml)
    await sched.tick()  # fresh: self_consumption sent
    assert [c.kind for c in device.applied] == [CommandKind.SELF_CONSUMPTION]
    device.reading_lag_s = 400  # older than max_state_age_s (300)
    for _ in range(4):
        clock.advance(120)
        await sched.tick()
    assert [c.kind for c in device.applied] == [CommandKind.SELF_CONSUMPTION, CommandKind.HOLD]
    hold_cmd = device.applied[-1]
    assert hold_cmd.floor_soc_pct == 10 and hold_cmd.target_soc_pct == 95
    assert sched.metrics.failsafe_active
    assert len(records(tmp_path, "failsafe_entered")) == 1
    device.reading_lag_s = 0
    clock.advance(120)
    await sched.tick()
    assert not sched.failsafe_active
    assert len(records(tmp_path, "failsafe_cleared")) == 1
    assert device.applied[-1].kind is CommandKind.SELF_CONSUMPTION


async def test_missing_state_from_the_start_triggers_failsafe(tmp_path: Path) -> None:
    sched, device, clock = make(tmp_path)
    device.read_faults = ["unreachable"] * 3
    device.apply_faults = ["unreachable", None]
    await sched.tick()  # no state ever: safe action attempted, fails (device down)
    clock.advance(30)
    await sched.tick()  # still inside the 60 s backoff: not attempted
    assert device.apply_calls == 1
    clock.advance(30)
    await sched.tick()  # backoff over: attempted and sent
    assert device.apply_calls == 2 and len(device.applied) == 1
    clock.advance(60)
    await sched.tick()  # fresh again: normal decision, already running self_consumption
    assert [r["status"] for r in records(tmp_path, "tick")] == ["failsafe"] * 3 + ["ok"]


async def test_a_persons_manual_mode_is_never_overwritten(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    sched, device, clock = make(tmp_path)
    await sched.tick()
    sent_before = len(device.applied)
    device.person_sets("SET_CHARGE")
    store = sched.overrides
    store.add(parse_override_request({"action": {"kind": "discharge", "power_w": 2000},
                                      "for_s": 3600}, clock.now()))
    with caplog.at_level("INFO", logger="gridpilot.scheduler"):
        for _ in range(5):
            clock.advance(60)
            await sched.tick()
    assert len(device.applied) == sent_before
    assert device.mode.source.value == "person"
    assert "will not overwrite" in caplog.text
    assert len(records(tmp_path, "person_mode")) == 1
    assert {r["dispatch"]["status"] for r in records(tmp_path, "tick")[1:]} == {"yielded"}
    # The person hands back: gridpilot resumes with what the policy (the override) says.
    await device.release()
    clock.advance(60)
    await sched.tick()
    assert len(records(tmp_path, "person_mode_ended")) == 1
    assert device.applied[-1].kind is CommandKind.DISCHARGE


async def test_overrides_win_while_they_last_and_survive_a_restart(tmp_path: Path) -> None:
    sched, device, clock = make(tmp_path)
    await sched.tick()
    sched.overrides.add(parse_override_request(
        {"action": {"kind": "charge", "power_w": 2500, "target_soc_pct": 90}, "for_s": 300,
         "name": "boost"}, clock.now()))
    clock.advance(60)
    await sched.tick()
    assert device.applied[-1].kind is CommandKind.CHARGE and device.applied[-1].power_w == 2500
    await sched.shutdown()

    # A new process with the same state directory still knows the override and the dwell timer.
    sched2, _d, _c = make(tmp_path, clock=clock, device=device)
    assert [o.name for o in sched2.overrides.all()] == ["boost"]
    assert sched2.memory.active_command is not None
    assert sched2.memory.active_command.kind is CommandKind.CHARGE
    assert sched2.memory.active_since == T0 + timedelta(seconds=60)
    clock.advance(60)
    await sched2.tick()
    assert len(device.applied) == 2  # unchanged: no resend after the restart
    clock.advance(300)  # past the override's end
    await sched2.tick()
    assert device.applied[-1].kind is CommandKind.SELF_CONSUMPTION
    assert sched2.overrides.all() == []


async def test_unchanged_command_is_refreshed_before_it_expires(tmp_path: Path) -> None:
    yaml = POLICY_YAML + "  command_valid_s: 600\n  refresh_before_s: 120\n"
    sched, _device, clock = make(tmp_path, yaml)
    for _ in range(18):
        await sched.tick()
        clock.advance(60)
    # Sent at 0, valid 600 s, refreshed 120 s before: at 480 s and again at 960 s.
    sent_at = [r["ts"] for r in records(tmp_path, "command_attempt")]
    assert [datetime.fromisoformat(t) - T0 for t in sent_at] == [
        timedelta(0), timedelta(seconds=480), timedelta(seconds=960)]


async def test_a_device_that_reboots_into_its_default_gets_the_command_again(
    tmp_path: Path,
) -> None:
    sched, device, clock = make(tmp_path)
    await sched.tick()
    assert len(device.applied) == 1
    await device.release()  # what a reboot looks like from outside: the device default runs
    clock.advance(60)
    await sched.tick()
    assert len(device.applied) == 2
    assert records(tmp_path, "command_attempt")[-1]["why"] == "device runs its default mode"


async def test_an_unconfirmed_command_counts_as_failed_and_backs_off(tmp_path: Path) -> None:
    sched, device, clock = make(tmp_path)
    device.ignore_commands = True  # accepts but keeps running its default mode
    device.mode = device.mode.__class__(CommandKind.IDLE, device.mode.source, "BASIC")
    for _ in range(4):
        await sched.tick()
        clock.advance(60)
    fails = records(tmp_path, "command_failed")
    # Attempts at 0 s, 60 s (after 60 s backoff), 180 s (after 120 s); 120 s is skipped.
    assert [f["ts"][11:19] for f in fails] == ["12:00:00", "12:01:00", "12:03:00"]
    assert [f["stage"] for f in fails] == ["read-back"] * 3
    assert [f["retry_in_s"] for f in fails] == [60, 120, 240]
    assert sched.metrics.commands_failed == 3 and sched.metrics.commands_sent == 0


async def test_dry_run_decides_and_audits_but_sends_nothing(tmp_path: Path) -> None:
    sched, device, _ = make(tmp_path, dry_run=True)
    await sched.run(max_ticks=3)
    assert device.apply_calls == 0
    assert len(records(tmp_path, "command_dry_run")) == 3
    assert len(records(tmp_path, "tick")) == 3


async def test_policy_edits_are_swapped_in_and_invalid_ones_keep_the_running_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sched, device, clock = make(tmp_path)
    await sched.tick()
    path = tmp_path / "policy.yaml"
    text = path.read_text()
    path.write_text(text.replace("default: 0.25", "default: 0.25\n") + (
        "default:\n  action: {kind: hold}\n"))
    clock.advance(60)
    await sched.tick()
    assert device.applied[-1].kind is CommandKind.HOLD
    assert sched.metrics.policy_reloads == 1
    good = sched.policy
    # A bad edit: a misspelt key.
    path.write_text(path.read_text().replace("  action: {kind: hold}", "  acton: {kind: hold}"))
    line = path.read_text().splitlines().index("  acton: {kind: hold}") + 1
    with caplog.at_level("ERROR", logger="gridpilot.scheduler"):
        clock.advance(60)
        await sched.tick()
        clock.advance(60)
        await sched.tick()
    assert sched.policy is good
    invalid = records(tmp_path, "policy_invalid")
    assert len(invalid) == 1  # reported once, not on every tick
    assert f"policy.yaml:{line}:" in invalid[0]["error"] and "acton" in invalid[0]["error"]
    assert invalid[0]["issues"][0]["line"] == line
    assert f"policy.yaml:{line}:" in caplog.text
    assert [r["status"] for r in records(tmp_path, "tick")] == ["ok"] * 4


async def test_stop_request_finishes_the_tick_and_releases_when_asked(tmp_path: Path) -> None:
    yaml = POLICY_YAML + "  release_on_exit: true\n"
    clock = ManualClock(T0)
    sched, device, _ = make(tmp_path, yaml, clock=clock)

    real_sleep = clock.sleep

    async def slow_sleep(seconds: float) -> None:
        sched.request_stop()
        await real_sleep(0)
        await asyncio.sleep(3600)

    clock.sleep = slow_sleep  # type: ignore[method-assign]
    code = await asyncio.wait_for(sched.run(), 5)
    assert code == 0
    assert device.released == 1
    kinds = [r["kind"] for r in records(tmp_path)]
    assert kinds[-1] == "stopped" and "release_attempt" in kinds
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    assert state["sent_command"] is None


async def test_a_read_only_device_runs_as_a_dry_run(tmp_path: Path) -> None:
    from types import SimpleNamespace

    clock = ManualClock(T0)
    device = FakeDevice(clock, load_fake_policy(write_policy(tmp_path)).limits)
    device.capabilities = SimpleNamespace(read_only=True)  # type: ignore[attr-defined]
    sched, _, _ = make(tmp_path, clock=clock, device=device)
    assert sched.dry_run
    await sched.run(max_ticks=2)
    assert device.apply_calls == 0
    assert len(records(tmp_path, "command_dry_run")) == 2


async def test_an_unexpected_adapter_exception_backs_off_like_a_device_error(
    tmp_path: Path,
) -> None:
    sched, device, clock = make(tmp_path)
    calls = {"n": 0}

    async def broken_apply(command: Any, *, valid_for_s: float) -> Any:
        calls["n"] += 1
        raise KeyError("result")  # an adapter bug, not a DeviceError

    device.apply = broken_apply  # type: ignore[method-assign]
    for _ in range(3):
        await sched.tick()
        clock.advance(30)
    assert calls["n"] == 2  # at 0 s, and after the 60 s backoff; not at 30 s
    assert [r["error_kind"] for r in records(tmp_path, "command_failed")] == ["KeyError"] * 2
    assert {r["status"] for r in records(tmp_path, "tick")} == {"ok"}


async def test_a_reading_that_cannot_be_understood_still_leads_to_the_failsafe(
    tmp_path: Path,
) -> None:
    sched, device, clock = make(tmp_path)
    await sched.tick()

    async def garbled() -> Any:
        raise ValueError("could not convert string to float: 'n/a'")  # an adapter bug

    device.read_state = garbled  # type: ignore[method-assign]
    for _ in range(7):
        clock.advance(60)
        await sched.tick()
    statuses = [r["status"] for r in records(tmp_path, "tick")]
    assert statuses == ["ok"] + ["no_state"] * 5 + ["failsafe"] * 2
    assert len(records(tmp_path, "failsafe_entered")) == 1
    # The safe action went out once, trusted on the device's word (no state to read it back).
    safe = [r for r in records(tmp_path, "command_attempt") if r["why"] == "safe action"]
    assert len(safe) == 1 and device.apply_calls == 2
    assert records(tmp_path, "command_failed") == []
