"""What a person reads about a run agrees: the tick line says when anti-flap held the previous
command, and the log lines, the audit log and ``gridpilot log`` tell one time, the run's own
clock, in the site's zone with its offset."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridpilot.cli import main
from gridpilot.cli.log import format_record
from gridpilot.clock import ManualClock
from gridpilot.rules.loader import load_policy
from gridpilot.scheduler.audit import AuditLog, read_audit
from gridpilot.scheduler.loop import Scheduler
from gridpilot.timefmt import ClockFormatter, format_time
from tests.scheduler.fakes import FakeDevice

T0 = datetime(2018, 6, 1, 11, 0, tzinfo=UTC)  # 12:00 in London (BST)

POLICY = """\
version: 1
site:
  name: dwell site
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000, min_soc_pct: 10}
tariff:
  import: {default: 0.25}
control: {min_dwell_s: 300}
rules:
  - name: morning charge
    layer: schedule
    when: {time: "11:00-12:02"}
    action: {kind: charge, power_w: 2000}
  - name: evening
    layer: schedule
    when: {time: "12:02-23:00"}
    action: {kind: discharge, power_w: 1000}
default:
  action: {kind: self_consumption}
run: {interval_s: 60, read_timeout_s: 0.2, control_enabled: false}
"""


async def _held_run(tmp_path: Path) -> list[str]:
    (tmp_path / "policy.yaml").write_text(POLICY)
    policy = load_policy(tmp_path / "policy.yaml")
    clock = ManualClock(T0)
    lines: list[str] = []
    sched = Scheduler(policy, FakeDevice(clock, policy.limits), clock=clock,
                      state_dir=tmp_path / "state",
                      on_tick=lambda report: lines.append(report.line(policy.tz)))
    await sched.run(max_ticks=4)
    return lines


async def test_the_tick_line_shows_the_anti_flap_hold(tmp_path: Path) -> None:
    lines = await _held_run(tmp_path)
    assert "-> charge 2000 W" in lines[0] and "(rule:morning charge)" in lines[0]
    # 12:02: the evening rule wants to discharge, but the charge has run only 120 s of 300.
    held = lines[2]
    assert held.startswith("2018-06-01 12:02:00 BST #3")
    assert "-> charge 2000 W" in held
    assert ("(held by anti-flap: charge has run 120 s of the minimum 300 s; discharge waits; "
            "wanted by rule:evening)") in held
    assert "(rule:evening)" not in held


async def test_gridpilot_log_shows_the_hold_and_site_times_with_their_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _held_run(tmp_path)
    capsys.readouterr()
    assert main(["log", "--state-dir", str(tmp_path / "state"), "--kind", "tick"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2018-06-01 12:00:00+01:00 tick ")
    assert out[2].startswith("2018-06-01 12:02:00+01:00 tick ")
    assert "held by anti-flap" in out[2] and "wanted by rule:evening" in out[2]


def test_a_log_written_before_the_zone_was_recorded_shows_utc_with_its_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = AuditLog(tmp_path)
    audit.write("started", T0, interval_s=60.0)
    audit.write("stopped", T0 + timedelta(minutes=5), ticks=5)
    audit.close()
    assert main(["log", "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line[:26] for line in out] == ["2018-06-01 11:00:00+00:00 ",
                                           "2018-06-01 11:05:00+00:00 "]


def test_format_record_keeps_a_time_it_cannot_convert() -> None:
    record = {"ts": "0001-01-01T00:00:00+14:00", "kind": "stopped"}
    assert format_record(record, ZoneInfo("Europe/London")).startswith("0001-01-01T00:00:00+14:00")


def test_log_lines_are_stamped_by_the_run_clock_in_the_site_zone() -> None:
    clock = ManualClock(datetime(2018, 1, 17, 17, 30, tzinfo=UTC))
    formatter = ClockFormatter(clock, ZoneInfo("Europe/Paris"))
    record = logging.LogRecord("gridpilot.scheduler", logging.WARNING, __file__, 1, "late", (),
                               None)
    assert formatter.format(record) == ("2018-01-17 18:30:00+01:00 WARNING gridpilot.scheduler: "
                                        "late")
    assert format_time(datetime(2018, 7, 1, tzinfo=UTC), ZoneInfo("Europe/London")) == (
        "2018-07-01 01:00:00+01:00")


def test_an_accelerated_run_tells_one_time_in_all_three_places(tmp_path: Path) -> None:
    # A real process: its logging set-up (stderr lines) is what is under test.
    example = Path(__file__).resolve().parents[2] / "examples" / "policies" / "economy7.yaml"
    policy = tmp_path / "economy7.yaml"
    policy.write_text(example.read_text() + "run:\n  control_enabled: false\n"
                      "  read_timeout_s: 120\n")  # a warning at start: one stderr log line
    r = subprocess.run([sys.executable, "-m", "gridpilot", "run", str(policy), "--max-ticks", "3",
                        "--speed", "3000", "--start", "2018-07-15T00:00:00+00:00"],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    stamp = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d) WARNING ")
    logged = [m.group(1) for line in r.stderr.splitlines() if (m := stamp.match(line))]
    assert logged, r.stderr
    warned = datetime.fromisoformat(logged[0])
    records = list(read_audit(tmp_path / ".gridpilot"))
    first = datetime.fromisoformat(records[0]["ts"])
    # Simulated time (2018, BST), not the wall clock; within the simulated start-up.
    assert warned.utcoffset() == timedelta(hours=1)
    assert abs((warned - first).total_seconds()) < 3600
    ticks = [line for line in r.stdout.splitlines() if " #" in line]
    assert ticks[0].startswith("2018-07-15 01:")
