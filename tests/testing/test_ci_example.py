"""examples/ci/github-actions.yml, run step by step as written on a small policy repository:
`gridpilot` and `python` on PATH are this checkout and this interpreter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "ci" / "github-actions.yml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"


def _workflow() -> Any:
    return YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))


def _steps() -> dict[str, dict[str, Any]]:
    steps = _workflow()["jobs"]["policy"]["steps"]
    return {s["name"]: s for s in steps if "run" in s}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "gridpilot"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gridpilot "$@"\n')
    shim.chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    work = tmp_path / "repo"
    for sub in ("policies", "tests", "data", "baseline"):
        (work / sub).mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "policies" / "economy7.yaml", work / "policies" / "home.yaml")
    (work / "tests" / "night.gridpilot-test.yaml").write_text(
        "policy: ../policies/home.yaml\ntests:\n  - name: night rate charges\n"
        "    at: '2026-01-15 02:00'\n    expect: {kind: charge, power_w: 3000}\n",
        encoding="utf-8",
    )
    # nine real days of January 2018
    with DATA.open(encoding="utf-8") as src:
        lines = [next(src)] + [ln for ln in src if ln.startswith("2018-01-0")]
    (work / "data" / "history.csv").write_text("".join(lines), encoding="utf-8")
    return work


def run_step(name: str, repo: Path) -> subprocess.CompletedProcess[str]:
    step = _steps()[name]
    env = {**os.environ, **{k: str(v) for k, v in _workflow()["env"].items()}}
    env["PATH"] = f"{repo.parent / 'bin'}{os.pathsep}{env['PATH']}"
    if step.get("shell") == "python":
        argv = [sys.executable, "-c", step["run"]]
    else:
        argv = ["bash", "-e", "-c", step["run"]]
    return subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, check=False)


def accept_baseline(repo: Path) -> None:
    """What the workflow's header says to run after an intended change."""
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot", "simulate", "policies/home.yaml",
         "--data", "data/history.csv", "--out", "baseline", "--no-plots"],
        cwd=repo, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_step_passes_on_a_good_repository(repo: Path) -> None:
    accept_baseline(repo)
    for name in ("Check the policies", "Run the scenario tests",
                 "Backtest the policy and fail on a bill regression"):
        proc = run_step(name, repo)
        assert proc.returncode == 0, f"{name}: {proc.stdout}{proc.stderr}"
    assert (repo / "reports" / "scenarios.xml").is_file()
    assert (repo / "reports" / "backtest" / "report.json").is_file()


def test_a_broken_scenario_fails_the_test_step(repo: Path) -> None:
    home = repo / "policies" / "home.yaml"
    home.write_text(home.read_text().replace("power_w: 3000 ", "power_w: 2000 "),
                    encoding="utf-8")
    proc = run_step("Run the scenario tests", repo)
    assert proc.returncode == 1
    assert "night rate charges" in proc.stdout


def test_a_dearer_policy_fails_the_bill_gate(repo: Path) -> None:
    accept_baseline(repo)
    home = repo / "policies" / "home.yaml"
    # Charging on the day rate instead of the night rate: the scenario tests would catch it
    # too, but the bill gate must on its own.
    home.write_text(home.read_text().replace('time: "00:30-07:30"\n    action:',
                                             'time: "08:00-15:00"\n    action:'),
                    encoding="utf-8")
    proc = run_step("Backtest the policy and fail on a bill regression", repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "bill gate: FAIL" in proc.stderr and "limit +2 %)" in proc.stderr
    assert (repo / "reports" / "backtest" / "report.json").is_file()


def test_a_missing_baseline_is_a_clear_error(repo: Path) -> None:
    proc = run_step("Backtest the policy and fail on a bill regression", repo)
    assert proc.returncode == 1
    assert "--baseline baseline/report.json: file not found" in proc.stderr
    assert "Traceback" not in proc.stderr
