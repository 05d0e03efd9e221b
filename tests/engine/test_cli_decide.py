"""``gridpilot decide`` as a user runs it (the command line), on the example policies."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.runner import run_cli

ROOT = Path(__file__).resolve().parents[2]
AGILE = ROOT / "tests" / "engine" / "data" / "agile-home.yaml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("decide", *args, cwd=ROOT)


def test_trace_for_the_evening_peak(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"time": "2018-01-10T17:00:00Z", "soc_pct": 60, "load_w": 900}))
    proc = run(str(AGILE), "--state", str(state))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "command  self_consumption" in out
    assert "winner   rule:evening peak [schedule]" in out
    assert "not_active" in out and "outranked" in out
    assert "guard:outage reserve.min_soc_pct: floor_soc_pct 5 -> 20" in out


def test_json_and_at_override(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"time": "2018-01-10T17:00:00Z", "soc_pct": 60}))
    proc = run(str(AGILE), "--state", str(state), "--at", "2018-01-10T12:00:00Z", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"command", "winner", "layer", "reason", "candidates", "limits", "notes",
                         "yielded"}
    assert data["winner"] == "default"
    assert data["command"]["kind"] == "self_consumption"
    assert data["command"]["floor_soc_pct"] == 20


def test_missing_fields_take_defaults() -> None:
    proc = run(str(AGILE), "--at", "2018-01-10T03:00:00Z")
    assert proc.returncode == 0, proc.stderr
    assert "SOC 50 %, load 0 W, PV 0 W" in proc.stdout
    # 03:00 on 2018-01-10 cost 0.08195: the overnight charge rule applies at the default SOC.
    assert "winner   rule:cheap overnight charge" in proc.stdout


def test_person_mode_yields(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"time": "2018-01-10T17:00:00Z",
                                 "device_mode": {"kind": "charge", "source": "person",
                                                 "native": "SET_CHARGE"}}))
    proc = run(str(AGILE), "--state", str(state))
    assert proc.returncode == 0, proc.stderr
    assert "winner   device [manual]" in proc.stdout
    assert "nothing will be sent" in proc.stdout


def test_bad_state_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"time": "2018-01-10T17:00:00Z", "soc": 60}))
    proc = run(str(AGILE), "--state", str(state))
    assert proc.returncode == 1
    assert f"{state}: soc: Extra inputs are not permitted" in proc.stderr
    assert "soc_pct" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreadable_states_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gridpilot.cli import main

    state = tmp_path / "state.json"
    state.write_text('{"soc_pct": 50,\n "load_w": }')
    assert main(["decide", str(AGILE), "--state", str(state)]) == 1
    assert f"{state}:2:" in capsys.readouterr().err
    state.write_text(json.dumps({"time": "2018-01-10T17:00:00"}))
    assert main(["decide", str(AGILE), "--state", str(state)]) == 1
    assert "UTC offset" in capsys.readouterr().err
    state.write_text(json.dumps({"prices": {"start": ["2018-01-10T17:00:00Z"], "end":
                                            "2018-01-10T17:30:00Z", "import_per_kwh": []}}))
    assert main(["decide", str(AGILE), "--state", str(state)]) == 1
    assert "one value per slot" in capsys.readouterr().err
