"""The third-party strategy plugin in examples/plugin: installed with pip into the running
environment, found through the ``gridpilot.strategies`` entry point, and used by a policy."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from pydantic import ValidationError

from gridpilot.strategies import registry

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "plugin"


@pytest.fixture
def installed(example_plugin_installed: None) -> None:
    """The plugin, installed once per run by the shared fixture in tests/conftest.py."""


def test_the_plugin_installs_and_registers(installed: None) -> None:
    try:
        assert version("gridpilot-export-boost") == "0.1.0"
    except PackageNotFoundError:  # pragma: no cover - the fixture asserts the install
        pytest.fail("gridpilot-export-boost is not installed")
    assert "export_boost" in registry.STRATEGIES.names()
    assert "export_boost" not in registry.STRATEGIES.problems()
    strategy = registry.create_strategy("evening", {"type": "export_boost",
                                                    "min_export_price": 0.2})
    assert type(strategy).__module__ == "gridpilot_export_boost.strategy"


def test_its_settings_are_validated(installed: None) -> None:
    with pytest.raises(ValidationError, match="min_export_price"):
        registry.create_strategy("evening", {"type": "export_boost"})
    with pytest.raises(ValidationError, match="floor_soc_pct"):
        registry.create_strategy("evening", {"type": "export_boost", "min_export_price": 0.2,
                                             "floor_soc_pct": 140})


def test_a_policy_using_it_passes_its_scenario_tests(installed: None) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot", "test", str(PLUGIN)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "4 passed, 0 failed"
    check = subprocess.run(
        [sys.executable, "-m", "gridpilot", "check", str(PLUGIN / "policy.yaml")],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_misconfigured_plugin_strategy_is_a_located_error(
    installed: None, tmp_path: Path
) -> None:
    text = (PLUGIN / "policy.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "policy.yaml"
    bad.write_text(text.replace("min_export_price: 0.25", "min_export_prise: 0.25"),
                   encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot", "check", str(bad)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 1
    line = next(i for i, ln in enumerate(bad.read_text().splitlines(), 1) if "prise" in ln)
    assert f"{bad}:{line}" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
