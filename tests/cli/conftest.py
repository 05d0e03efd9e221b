"""Helpers for running ``gridpilot`` as a user does: the command line (in this process, or a new
one where only a process boundary shows the behaviour), a policy in a temporary folder, a small
slice of the bundled real data."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli.runner import REPO, run_cli, run_process

__all__ = ["BUNDLED_DATA", "POLICY", "REPO", "assert_no_traceback", "gridpilot",
           "gridpilot_process"]

BUNDLED_DATA = REPO / "examples" / "data" / "uk-2018-halfhourly.csv"

# A fixed tariff, so the policy needs no price file; the device is the default simulated battery
# on the bundled UK 2018 year.
POLICY = """\
version: 1
site:
  name: bad input
  timezone: Europe/London
  battery:
    capacity_kwh: 5
    max_charge_w: 3000
    max_discharge_w: 3000
    min_soc_pct: 10
    max_soc_pct: 95
tariff:
  import:
    default: 0.30
    periods:
      - {time: "00:30-04:30", price: 0.10}
  export:
    default: 0.05
strategies:
  self_consumption: {}
default:
  strategy: self_consumption
"""


gridpilot = run_cli
gridpilot_process = run_process


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture
def two_days(tmp_path: Path) -> Path:
    """The first two days (96 half hours) of the bundled real data."""
    lines = BUNDLED_DATA.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "two-days.csv"
    path.write_text("\n".join(lines[:97]) + "\n", encoding="utf-8")
    return path
