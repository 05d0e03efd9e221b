"""Tick slots that got no tick are audited (a tick that ran long, a machine that slept), and a
read timeout that cannot fit in the interval is warned about at start."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gridpilot.clock import ManualClock
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.loop import Scheduler
from tests.scheduler.fakes import (
    POLICY_YAML,
    FakeDevice,
    fake_decide,
    load_fake_policy,
    write_policy,
)

T0 = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)


class SleepyClock(ManualClock):
    """Oversleeps once by ``extra_s``, as a laptop lid closed between two ticks does."""

    def __init__(self, start: datetime, extra_s: float) -> None:
        super().__init__(start)
        self.extra_s = extra_s

    async def sleep(self, seconds: float) -> None:
        extra, self.extra_s = self.extra_s, 0.0
        await super().sleep(seconds + extra)


def make(tmp_path: Path, clock: ManualClock, yaml: str = POLICY_YAML,
         **kw: Any) -> Scheduler:
    path = write_policy(tmp_path, yaml)
    policy = load_fake_policy(path)
    return Scheduler(policy, FakeDevice(clock, policy.limits), clock=clock,
                     state_dir=tmp_path / "state", policy_loader=load_fake_policy,
                     decide_fn=kw.pop("decide_fn", fake_decide), **kw)


def kinds(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    return [r for r in read_audit(tmp_path / "state") if r["kind"] == kind]


async def test_on_time_ticks_leave_no_skip_record(tmp_path: Path) -> None:
    sched = make(tmp_path, ManualClock(T0))
    await sched.run(max_ticks=4)
    assert kinds(tmp_path, "ticks_skipped") == []
    assert kinds(tmp_path, "config_warning") == []


async def test_a_tick_that_runs_long_audits_the_slots_it_missed(tmp_path: Path) -> None:
    clock = ManualClock(T0)

    def slow(policy: Any, state: Any, overrides: Any) -> Any:
        if state.time == T0:
            clock.advance(150)  # 12:00 runs until 12:02:30: 12:01 and 12:02 get no tick
        return fake_decide(policy, state, overrides)

    sched = make(tmp_path, clock, decide_fn=slow)
    await sched.run(max_ticks=2)
    [skip] = kinds(tmp_path, "ticks_skipped")
    assert skip["slots"] == 2
    assert skip["first"] == "2018-06-01T12:01:00+00:00"
    assert skip["last"] == "2018-06-01T12:02:00+00:00"
    assert "took longer than the 60 s interval" in skip["reason"]
    ticks = [r["ts"] for r in kinds(tmp_path, "tick")]
    assert ticks == ["2018-06-01T12:00:00+00:00", "2018-06-01T12:03:00+00:00"]


async def test_a_machine_that_slept_audits_the_slots_it_missed(tmp_path: Path) -> None:
    clock = SleepyClock(T0, extra_s=600)
    sched = make(tmp_path, clock)
    await sched.run(max_ticks=3)
    [skip] = kinds(tmp_path, "ticks_skipped")
    # Slept for 12:01 and woke at 12:11: 12:01 to 12:10 got no tick; 12:11 does.
    assert (skip["slots"], skip["first"], skip["last"]) == (
        10, "2018-06-01T12:01:00+00:00", "2018-06-01T12:10:00+00:00")
    assert "slept" in skip["reason"]
    ticks = [r["ts"] for r in kinds(tmp_path, "tick")]
    assert ticks[1] == "2018-06-01T12:11:00+00:00"


@pytest.mark.parametrize("timeout_s", [60, 120])
async def test_a_read_timeout_not_shorter_than_the_interval_is_warned_at_start(
    tmp_path: Path, timeout_s: int, caplog: pytest.LogCaptureFixture
) -> None:
    yaml = POLICY_YAML.replace("read_timeout_s: 0.2", f"read_timeout_s: {timeout_s}")
    with caplog.at_level("WARNING", logger="gridpilot.scheduler"):
        sched = make(tmp_path, ManualClock(T0), yaml)
    assert f"run.read_timeout_s ({timeout_s} s)" in caplog.text
    await sched.run(max_ticks=2)
    assert [r["kind"] for r in read_audit(tmp_path / "state")][:2] == ["started",
                                                                       "config_warning"]
    [warning] = kinds(tmp_path, "config_warning")
    assert warning["setting"] == "run.read_timeout_s"
    assert f"run.read_timeout_s ({timeout_s} s)" in caplog.text and "interval (60 s)" in caplog.text
