"""`gridpilot run` serves the dashboard and the status API on its control port (a real process,
stopped with SIGTERM as a service manager would)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gridpilot.cli import main
from tests.dashboard.live import POLICY


def test_gridpilot_run_serves_status_and_a_login_that_outlasts_a_fast_clock(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = POLICY.parent.parent / "data"
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.read_text().replace("../data/", f"{data}/")
                      + "\nrun:\n  control_port: 0\n  state_dir: state\n")
    proc = subprocess.Popen([sys.executable, "-m", "gridpilot", "run", str(policy), "--dry-run",
                             "--speed", "3000", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        control = tmp_path / "state" / "control.json"
        deadline = time.monotonic() + 20
        while not control.exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        assert main(["status", "--policy", str(policy), "--open"]) == 0
        link = capsys.readouterr().out.split()[-1]
        # 3000x: 0.3 real seconds are 15 minutes of the run's clock, past a login code's life
        # if it were measured on that clock.
        time.sleep(0.3)
        with httpx.Client() as c:
            assert c.get(link).status_code == 200
            status = c.get(link.split("/login")[0] + "/api/status").json()
        assert status["site"] == "Agile home (Oxford)" and status["dry_run"] is True
        assert main(["status", "--policy", str(policy)]) == 0
        assert "Agile home (Oxford): " in capsys.readouterr().out
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert main(["status", "--policy", str(policy)]) == 1
