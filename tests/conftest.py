"""Fixtures shared across the test packages."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PLUGIN = ROOT / "examples" / "plugin"


@pytest.fixture(scope="session")
def example_plugin_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The example strategy plugin (examples/plugin), pip-installed into the running environment
    as a user would, so the ``gridpilot.strategies`` entry point finds it.

    Reinstalled once per run so the installed copy is always the one in the checkout: by the
    first pytest-xdist worker that needs it, while the others wait (two pip processes writing
    one environment break it).
    """
    from gridpilot.strategies import registry

    base = tmp_path_factory.getbasetemp()
    # Under pytest-xdist each worker has its own base below the run's: the lock lives there.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with (shared / "example-plugin.lock").open("a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        done = shared / "example-plugin.installed"
        if not done.exists():
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
                 "--disable-pip-version-check", "--force-reinstall", str(EXAMPLE_PLUGIN)],
                capture_output=True, text=True, check=False,
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            done.touch()
    registry.STRATEGIES.reset()
    yield
    registry.STRATEGIES.reset()
