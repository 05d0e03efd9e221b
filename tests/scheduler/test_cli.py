"""``gridpilot run``, ``override`` and ``log`` as a user runs them, against the HTTPS xStorage
emulator on loopback. A scheduler that runs until a signal stops it is a real process; the
commands run next to it, and the ones that end by themselves, run in this process."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.runner import run_cli
from tests.emulators import XStorageEmulator

POLICY = """\
version: 1
site:
  name: cli garage
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
  timeout_s: 2
tariff:
  import:
    default: 0.30
default:
  action: {{kind: self_consumption}}
control:
  min_dwell_s: 0
run:
  interval_s: 1
  control_port: 0
  release_on_exit: true
"""


@pytest.fixture
def emu() -> Iterator[XStorageEmulator]:
    with XStorageEmulator() as e:
        yield e


gridpilot = run_cli


class Lines:
    """Collects a process's stdout lines on a thread so the test can wait with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.q: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        threading.Thread(target=lambda: [self.q.put(line) for line in stream],
                         daemon=True).start()

    def wait_for(self, text: str, timeout_s: float = 20) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} within {timeout_s} s; saw:\n"
                             + "".join(self.seen))


def test_run_override_log_and_sigterm(tmp_path: Path, emu: XStorageEmulator) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(port=emu.port, fingerprint=emu.fingerprint_sha256))
    env = {**os.environ, "XSTORAGE_PASSWORD": emu.password}
    state = tmp_path / ".gridpilot"
    proc = subprocess.Popen([sys.executable, "-m", "gridpilot", "run", str(policy)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = Lines(proc)
        banner = lines.wait_for("gridpilot run:")
        assert "control API http://127.0.0.1:" in banner
        first = lines.wait_for("#1 ")
        assert "self_consumption" in first and "[sent" in first
        lines.wait_for("#2 ")

        second = gridpilot("run", str(policy), "--once", env=env)
        assert second.returncode == 1 and "already uses" in second.stderr

        token_file = state / "control.token"
        assert token_file.stat().st_mode & 0o077 == 0
        r = gridpilot("override", "--state-dir", str(state), "set", "charge", "--power-w",
                      "2000", "--target-soc-pct", "90", "--for", "30m", "--name", "boost")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("override boost: charge until ")
        line = lines.wait_for("override:boost")
        assert "charge 2000 W to 90 %" in line
        r = gridpilot("override", "--policy", str(policy), "list")
        assert r.returncode == 0 and "boost: charge power_w=2000" in r.stdout

        r = gridpilot("override", "--state-dir", str(state), "set", "peak_shave", "--for", "1h")
        assert r.returncode == 1 and "max_import_w" in r.stderr
        assert "Traceback" not in r.stderr

        r = gridpilot("override", "--state-dir", str(state), "clear")
        assert r.returncode == 0 and "removed 1" in r.stdout
        lines.wait_for("(default)")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "Traceback" not in stderr
    assert emu.password not in stderr

    # release_on_exit: the unit got its default mode back as the last command.
    posts = [r.json() for r in emu.requests_to("POST", "/api/device/command")]
    assert posts[-1]["command"] == "SET_BASIC_MODE"
    assert not (state / "control.json").exists()

    r = gridpilot("log", "--state-dir", str(state), "--json")
    assert r.returncode == 0, r.stderr
    records = [json.loads(x) for x in r.stdout.splitlines()]
    kinds = [x["kind"] for x in records]
    assert kinds[0] == "started" and kinds[-1] == "stopped"
    assert {"override_set", "override_cleared", "release_attempt"} <= set(kinds)
    ticks = [x["tick"] for x in records if x["kind"] == "tick"]
    assert ticks == list(range(1, len(ticks) + 1))
    r = gridpilot("log", "--policy", str(policy), "--kind", "command_attempt")
    assert r.returncode == 0 and "command_attempt" in r.stdout and "tick " not in r.stdout
    assert emu.password not in r.stdout


def test_run_refuses_bad_input_with_a_located_error(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(port=1, fingerprint="0" * 64).replace(
        "interval_s: 1", "interval_s: often"))
    r = gridpilot("run", str(policy), "--once", env={**os.environ, "XSTORAGE_PASSWORD": "x"})
    assert r.returncode == 1
    line = POLICY.splitlines().index("  interval_s: 1") + 1
    assert f"policy.yaml:{line}:" in r.stderr and "run.interval_s" in r.stderr
    assert "Traceback" not in r.stderr

    policy.write_text(POLICY.format(port=1, fingerprint="0" * 64))
    r = gridpilot("run", str(policy), "--speed", "50", env={**os.environ,
                                                            "XSTORAGE_PASSWORD": "x"})
    assert r.returncode == 1 and "simulated device" in r.stderr
    r = gridpilot("run", str(policy), "--interval", "soon", env={**os.environ,
                                                                 "XSTORAGE_PASSWORD": "x"})
    assert r.returncode == 2 and "--interval" in r.stderr


def test_override_and_log_without_a_running_instance(tmp_path: Path) -> None:
    r = gridpilot("override", "list", cwd=tmp_path)
    assert r.returncode == 1 and "no running gridpilot" in r.stderr
    r = gridpilot("log", cwd=tmp_path)
    assert r.returncode == 1 and "no audit log" in r.stderr


def test_run_writes_and_removes_the_device_schedule(tmp_path: Path,
                                                    emu: XStorageEmulator) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(port=emu.port, fingerprint=emu.fingerprint_sha256) + (
        "rules:\n  - name: night\n    layer: schedule\n    when: {time: \"00:30-04:30\"}\n"
        "    action: {kind: charge, power_w: 1800}\n"))
    env = {**os.environ, "XSTORAGE_PASSWORD": emu.password}
    r = gridpilot("run", str(policy), "--sync-schedule", env=env)
    assert r.returncode == 0, r.stderr
    assert "wrote 1 event(s)" in r.stdout
    assert [(e["command"], e["startTime"], e["endTime"]) for e in emu.state.schedule] == [
        ("SET_CHARGE", 30, 430)]
    r = gridpilot("run", str(policy), "--remove-schedule", env=env)
    assert r.returncode == 0 and "removed 1" in r.stdout
    assert emu.state.schedule == []
    assert emu.requests_to("POST", "/api/device/command") == []  # nothing else was sent


def test_out_of_the_box_run_replays_the_bundled_data_on_the_simulated_battery(
    tmp_path: Path,
) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "policies" / "economy7.yaml"
    policy = tmp_path / "economy7.yaml"
    policy.write_text(example.read_text())
    started = time.monotonic()
    r = gridpilot("run", str(policy), "--max-ticks", "120", "--speed", "3000",
                  "--start", "2026-01-15T00:00:00+00:00")
    took_s = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("gridpilot run: Economy 7 bungalow | device simulated")
    ticks = [x for x in lines if " #" in x]
    assert len(ticks) == 120
    assert "self_consumption (default)" in ticks[0]
    # At 00:30 the night-rate rule takes over and the simulated battery charges.
    charging = [x for x in ticks if "rule:charge on the night rate" in x]
    # (at this speed a tick may land a few simulated seconds after its aligned time)
    assert charging and charging[0].startswith("2026-01-15 00:30:")
    socs = [float(x.split("SOC")[1].split("%")[0]) for x in charging]
    assert socs[-1] > socs[0] + 5
    assert took_s < 30


def test_ctrl_c_finishes_the_tick_and_exits_0(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "policies" / "economy7.yaml"
    policy = tmp_path / "economy7.yaml"
    policy.write_text(example.read_text() + "run:\n  control_port: 0\n")
    proc = subprocess.Popen([sys.executable, "-m", "gridpilot", "run", str(policy)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = Lines(proc)
        lines.wait_for("#3 ")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    r = gridpilot("log", "--policy", str(policy), "--json")
    kinds = [json.loads(x)["kind"] for x in r.stdout.splitlines()]
    assert kinds[-1] == "stopped" and "tick" in kinds
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
