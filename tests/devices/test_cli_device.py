"""``gridpilot device probe|export`` run as a user would (the command line in this process),
against the emulator."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from tests.cli.runner import run_cli
from tests.emulators import XStorageEmulator

REPO = Path(__file__).resolve().parents[2]

POLICY = """\
version: 1
site:
  name: test house
  timezone: Europe/London
  battery: {{capacity_kwh: 4.2, max_charge_w: 3600, max_discharge_w: 3600}}
tariff:
  import: {{default: 0.25}}
device:
  type: xstorage
  name: garage
  host: 127.0.0.1:{port}
  password: ${{XS_PASSWORD}}
  tls_fingerprint_sha256: {pin}
  timeout_s: 2
"""


def run(*args: str, password: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=REPO, env={"XS_PASSWORD": password})


def test_probe_prints_state_capabilities_and_mode(tmp_path: Path) -> None:
    with XStorageEmulator() as emu:
        emu.person_sets_manual("SET_CHARGE", {"power": 15, "soc": 90, "action": "ACTION_CHARGE"})
        policy = tmp_path / "site.yaml"
        policy.write_text(POLICY.format(port=emu.port, pin=emu.fingerprint_sha256))
        proc = run("device", "probe", str(policy), password=emu.password)
        as_json = run("device", "probe", str(policy), "--json", password=emu.password)
        commands = emu.requests_to("POST", "/api/device/command")
        puts = [r for r in emu.requests if r.method in ("PUT", "DELETE")]
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "device: garage" in out
    assert "soc_pct    55" in out
    assert "mode: SET_CHARGE (kind charge, set by person" in out
    assert "power_rating_w 3600" in out
    assert emu.password not in out + proc.stderr
    data = json.loads(as_json.stdout)
    assert data["state"]["grid_w"] == -400
    assert data["capabilities"]["capacity_kwh"] == 4.2
    assert commands == [] and puts == []  # probe is read-only


def test_probe_reports_a_refused_login_without_a_traceback(tmp_path: Path) -> None:
    with XStorageEmulator() as emu:
        policy = tmp_path / "site.yaml"
        policy.write_text(POLICY.format(port=emu.port, pin=emu.fingerprint_sha256))
        proc = run("device", "probe", str(policy), password="wrong")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "device 'garage'" in proc.stderr and "refused" in proc.stderr


def test_export_writes_metrics_for_the_simulator(tmp_path: Path) -> None:
    with XStorageEmulator() as emu:
        policy = tmp_path / "site.yaml"
        policy.write_text(POLICY.format(port=emu.port, pin=emu.fingerprint_sha256))
        out = tmp_path / "metrics.json"
        proc = run("device", "export", str(policy), "--from", "2026-07-01", "--to",
                   "2026-07-02", "--out", str(out), password=emu.password)
        bad = run("device", "export", str(policy), "--from", "yesterday", "--to",
                  "2026-11-02", "--out", str(out), password=emu.password)
    assert proc.returncode == 0, proc.stderr
    assert "wrote 288 records" in proc.stdout
    records = json.loads(out.read_text())
    # --from is read in the site's timezone: midnight BST is 23:00 UTC the day before.
    assert records[0]["time"] == datetime(2026, 6, 30, 23, 0, tzinfo=UTC).timestamp() * 1000
    assert bad.returncode == 2 and "argument --from: 'yesterday'" in bad.stderr
