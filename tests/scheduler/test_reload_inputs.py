"""Hot reload of every file the policy read: new rows in a dynamic price file reach the running
scheduler without an edit of the policy, exactly as a policy edit would."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gridpilot.clock import ManualClock
from gridpilot.engine.commands import CommandKind
from gridpilot.inputs import note_input, recording_inputs
from gridpilot.rules.loader import load_policy
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.loop import Scheduler
from gridpilot.scheduler.reload import FileWatch
from tests.scheduler.fakes import FakeDevice

T0 = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)

POLICY = """\
version: 1
site:
  name: dynamic site
  timezone: UTC
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000, min_soc_pct: 10}
tariff:
  import:
    default: 0.30
    dynamic: {file: prices.csv}
control: {min_dwell_s: 0}
rules:
  - name: cheap
    layer: schedule
    when: {price_below: 0.10}
    action: {kind: charge, power_w: 2000}
default:
  action: {kind: self_consumption}
run: {interval_s: 60, read_timeout_s: 0.2, control_port: 0}
"""


def _rows(start: datetime, prices: list[float]) -> str:
    return "".join(
        f"{(start + timedelta(minutes=30 * i)).strftime('%Y-%m-%dT%H:%M:%SZ')},{p}\n"
        for i, p in enumerate(prices)
    )


def _setup(tmp_path: Path) -> tuple[Scheduler, ManualClock, Path]:
    prices = tmp_path / "prices.csv"
    # Known until 13:00 only; after that the tariff's default (0.30) applies.
    prices.write_text("timestamp,price\n" + _rows(T0 - timedelta(hours=1), [0.3, 0.3, 0.3, 0.3]))
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    policy = load_policy(path)
    clock = ManualClock(T0 + timedelta(hours=1))
    device = FakeDevice(clock, policy.limits)
    sched = Scheduler(policy, device, clock=clock, state_dir=tmp_path / "state")
    return sched, clock, prices


def test_the_compiled_policy_names_every_file_it_read(tmp_path: Path) -> None:
    sched, _clock, prices = _setup(tmp_path)
    assert set(sched.policy.inputs) == {(tmp_path / "policy.yaml").absolute(),
                                        prices.absolute()}


async def test_rows_appended_to_the_price_file_reach_the_next_decision(tmp_path: Path) -> None:
    sched, clock, prices = _setup(tmp_path)
    first = await sched.tick()
    assert first.decision is not None and first.decision.command.kind is not CommandKind.CHARGE
    # The next day's prices are published: cheap from 13:00.
    with prices.open("a") as fh:
        fh.write(_rows(T0 + timedelta(hours=1), [0.05, 0.05, 0.05]))
    clock.advance(60)
    second = await sched.tick()
    assert second.decision is not None
    assert second.decision.command.kind is CommandKind.CHARGE, second.decision.reason
    assert second.decision.winner == "rule:cheap"
    reloads = [r for r in read_audit(tmp_path / "state") if r["kind"] == "policy_reloaded"]
    assert len(reloads) == 1 and reloads[0]["changed"] == [str(prices.absolute())]


async def test_touching_a_file_is_not_a_change_and_a_bad_price_file_keeps_the_policy(
    tmp_path: Path,
) -> None:
    sched, clock, prices = _setup(tmp_path)
    await sched.tick()
    running = sched.policy
    st = prices.stat()
    os.utime(prices, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    clock.advance(60)
    await sched.tick()
    assert sched.policy is running and sched.metrics.policy_reloads == 0
    with prices.open("a") as fh:
        fh.write("2018-06-01T13:00:00Z,not-a-price\n")
    for _ in range(2):
        clock.advance(60)
        await sched.tick()
    assert sched.policy is running
    invalid = [r for r in read_audit(tmp_path / "state") if r["kind"] == "policy_invalid"]
    assert len(invalid) == 1  # once per version of the file, not per tick
    assert "prices.csv: row 6" in invalid[0]["error"]
    # Fixed: swapped in.
    prices.write_text(prices.read_text().replace("not-a-price", "0.05"))
    clock.advance(60)
    report = await sched.tick()
    assert sched.policy is not running
    assert report.decision is not None and report.decision.command.kind is CommandKind.CHARGE


async def test_a_missing_price_file_is_watched_until_it_appears(tmp_path: Path) -> None:
    sched, clock, prices = _setup(tmp_path)
    await sched.tick()
    running = sched.policy
    prices.rename(tmp_path / "prices.old")
    clock.advance(60)
    await sched.tick()
    assert sched.policy is running
    (tmp_path / "prices.old").rename(prices)
    with prices.open("a") as fh:
        fh.write(_rows(T0 + timedelta(hours=1), [0.05]))
    clock.advance(60)
    report = await sched.tick()
    assert sched.policy is not running
    assert report.decision is not None and report.decision.command.kind is CommandKind.CHARGE


async def test_a_changed_device_input_asks_for_a_restart(tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "load.csv"
    data.write_text("timestamp,load_w,pv_w\n")
    prices = tmp_path / "prices.csv"
    prices.write_text("timestamp,price\n" + _rows(T0, [0.3, 0.3]))
    (tmp_path / "policy.yaml").write_text(POLICY)
    policy = load_policy(tmp_path / "policy.yaml")
    clock = ManualClock(T0)
    sched = Scheduler(policy, FakeDevice(clock, policy.limits), clock=clock,
                      state_dir=tmp_path / "state", device_inputs=[data])
    await sched.tick()
    data.write_text("timestamp,load_w,pv_w\n2018-06-01T00:00:00Z,1,0\n")
    clock.advance(60)
    with caplog.at_level("WARNING", logger="gridpilot.scheduler"):
        await sched.tick()
        clock.advance(60)
        await sched.tick()
    restart: list[dict[str, Any]] = [r for r in read_audit(tmp_path / "state")
                                     if r["kind"] == "restart_needed"]
    assert len(restart) == 1 and restart[0]["files"] == [str(data)]
    assert "restart gridpilot run" in caplog.text
    assert sched.metrics.policy_reloads == 0


def test_inputs_are_recorded_in_nested_blocks_and_only_inside_them(tmp_path: Path) -> None:
    note_input(tmp_path / "outside")
    with recording_inputs() as outer:
        note_input(tmp_path / "a")
        with recording_inputs() as inner:
            note_input(tmp_path / "b")
            note_input(tmp_path / "b")
    assert outer == [tmp_path / "a", tmp_path / "b"]
    assert inner == [tmp_path / "b"]


async def test_file_watch_reports_content_changes_once(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("1")
    watch = FileWatch([f, tmp_path / "missing"])
    assert await watch.changed() == ()
    f.write_text("22")
    (tmp_path / "missing").write_text("x")
    assert set(await watch.changed()) == {f, tmp_path / "missing"}
    assert await watch.changed() == ()
    f.unlink()
    assert await watch.changed() == (f,)
