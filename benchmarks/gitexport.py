"""The ``gridpilot`` package as a git commit had it, for the benchmarks that measure this tree
against an earlier one (``--against REV``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export_package(rev: str, into: Path) -> Path:
    """Unpack commit ``rev``'s ``gridpilot`` package under ``into`` (created if missing), which
    then goes first on ``PYTHONPATH`` or ``sys.path``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "gridpilot"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into
