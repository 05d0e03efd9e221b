"""examples/ci/github-actions.yml: its gridpilot steps run, as written, on a policy repository."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "ci" / "github-actions.yml"


def _steps() -> dict[str, str]:
    doc: Any = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    steps = doc["jobs"]["policy"]["steps"]
    return {s["name"]: " ".join(s["run"].split()) for s in steps if "run" in s}


def _run(command: str, cwd: Path, env_vars: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for key, value in env_vars.items():
        command = command.replace(f'"${{{key}}}"', value)
    argv = shlex.split(command)
    assert argv[0] == "gridpilot"
    return subprocess.run([sys.executable, "-m", "gridpilot", *argv[1:]], cwd=cwd,
                          capture_output=True, text=True, check=False)


@pytest.fixture
def policy_repo(tmp_path: Path) -> Path:
    (tmp_path / "policies").mkdir()
    (tmp_path / "tests").mkdir()
    shutil.copy(ROOT / "examples" / "policies" / "economy7.yaml",
                tmp_path / "policies" / "home.yaml")
    (tmp_path / "tests" / "night.gridpilot-test.yaml").write_text(
        "policy: ../policies/home.yaml\n"
        "tests:\n"
        "  - name: night rate charges\n"
        "    at: '2026-01-15 02:00'\n"
        "    expect: {kind: charge, power_w: 3000}\n",
        encoding="utf-8",
    )
    return tmp_path


def test_check_and_test_steps_pass_on_a_good_repository(policy_repo: Path) -> None:
    steps = _steps()
    env = {"MAX_BILL_INCREASE_PCT": "2"}
    check = _run(steps["Check the policies"], policy_repo, env)
    assert check.returncode == 0, check.stdout + check.stderr
    test = _run(steps["Run the scenario tests"], policy_repo, env)
    assert test.returncode == 0, test.stdout + test.stderr
    assert test.stdout.splitlines()[-1].endswith(" passed, 0 failed")
    assert (policy_repo / "reports" / "scenarios.xml").is_file()


def test_the_test_step_fails_the_build_on_a_broken_policy(policy_repo: Path) -> None:
    home = policy_repo / "policies" / "home.yaml"
    home.write_text(home.read_text().replace("power_w: 3000 ", "power_w: 2000 "),
                    encoding="utf-8")
    test = _run(_steps()["Run the scenario tests"], policy_repo, {})
    assert test.returncode == 1
    assert "night rate charges" in test.stdout


def test_the_backtest_step_uses_flags_simulate_accepts() -> None:
    help_proc = subprocess.run([sys.executable, "-m", "gridpilot", "simulate", "--help"],
                               capture_output=True, text=True, check=False)
    if help_proc.returncode != 0:
        pytest.skip("gridpilot simulate is not available in this build")
    argv = shlex.split(_steps()["Backtest, failing on a bill regression"])
    flags = [a for a in argv if a.startswith("--")]
    for flag in flags:
        assert flag in help_proc.stdout, f"gridpilot simulate has no {flag}"
