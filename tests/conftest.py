"""Fixtures shared across the test packages."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PLUGIN = ROOT / "examples" / "plugin"


@pytest.fixture(scope="session")
def example_plugin_installed() -> Iterator[None]:
    """The example strategy plugin (examples/plugin), pip-installed into the running environment
    as a user would, so the ``gridpilot.strategies`` entry point finds it.

    Reinstalled once per run so the installed copy is always the one in the checkout.
    """
    from gridpilot.strategies import registry

    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
         "--disable-pip-version-check", "--force-reinstall", str(EXAMPLE_PLUGIN)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    registry.STRATEGIES.reset()
    yield
    registry.STRATEGIES.reset()
