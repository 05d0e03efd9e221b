"""``gridpilot run`` refuses at start, located in the policy, what would break every tick; it
never starts ticking with a device that cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpilot.cli import main

POLICY = """\
version: 1
site:
  name: start site
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000, min_soc_pct: 10}
tariff:
  import: {default: 0.25}
default:
  action: {kind: self_consumption}
run: {control_enabled: false}
device:
  type: simulated
  data_file: DATA
"""


def _run(tmp_path: Path, data: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.replace("DATA", data))
    code = main(["run", str(policy), "--max-ticks", "3", "--speed", "3000",
                 "--start", "2018-01-15T00:00:00+00:00", "--state-dir", str(tmp_path / "st")])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_missing_data_file_stops_the_start_with_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(tmp_path, "nope.csv", capsys)
    assert code == 1
    line = POLICY.splitlines().index("  data_file: DATA") + 1
    assert f"policy.yaml:{line}:3: device.data_file: " in err and "nope.csv" in err
    assert "not found" in err and "hint:" in err
    assert "Traceback" not in err
    assert " #1" not in out  # not one tick ran


def test_unusable_data_stops_the_start_not_every_tick(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data.csv").write_text("timestamp,foo\n2018-01-01T00:00:00Z,1\n")
    code, out, err = _run(tmp_path, "data.csv", capsys)
    assert code == 1
    assert "device.data_file" in err and "Traceback" not in err
    assert " #1" not in out


def test_good_data_runs_and_its_file_is_watched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "".join(f"2018-01-15T{h:02d}:{m:02d}:00Z,500,0\n" for h in range(24) for m in (0, 30))
    (tmp_path / "data.csv").write_text("timestamp,load_w,pv_w\n" + rows)
    code, out, err = _run(tmp_path, "data.csv", capsys)
    assert code == 0, err
    assert sum(" #" in x for x in out.splitlines()) == 3


async def test_gridpilot_errors_inside_ticks_are_logged_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import UTC, datetime

    from gridpilot.clock import ManualClock
    from gridpilot.errors import DataError
    from gridpilot.scheduler.loop import Scheduler
    from tests.scheduler.fakes import FakeDevice, fake_decide, load_fake_policy, write_policy

    clock = ManualClock(datetime(2018, 6, 1, 12, 0, tzinfo=UTC))
    policy = load_fake_policy(write_policy(tmp_path))
    device = FakeDevice(clock, policy.limits)

    async def broken_read() -> None:
        raise DataError("data.csv: row 7: load_w 'x' is not a number")

    def broken_decide(*args: object) -> None:
        raise DataError("prices.csv: row 3: no price")

    device.read_state = broken_read  # type: ignore[method-assign,assignment]
    sched = Scheduler(policy, device, clock=clock, state_dir=tmp_path / "state",
                      decide_fn=fake_decide, watch_policy=False)
    with caplog.at_level("WARNING"):
        await sched.tick()
        device2 = FakeDevice(clock, policy.limits)
        sched2 = Scheduler(policy, device2, clock=clock, state_dir=tmp_path / "state2",
                           decide_fn=broken_decide, watch_policy=False)  # type: ignore[arg-type]
        report = await sched2.tick()
    assert report.status == "error" and "prices.csv: row 3" in report.message
    assert "data.csv: row 7" in caplog.text
    assert not any(r.exc_info for r in caplog.records), "a traceback was logged"
