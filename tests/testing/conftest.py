"""Shared policy texts for the scenario-test tests.

Files are written to tmp_path so that the intentionally broken cases never sit in the repository,
where the pytest plugin would collect them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

BASE_POLICY = textwrap.dedent(
    """\
    version: 1
    site:
      name: Test house
      timezone: Europe/London
      battery:
        capacity_kwh: 10
        max_charge_w: 3000
        max_discharge_w: 3000
        min_soc_pct: 5
        max_soc_pct: 95
    tariff:
      import:
        default: 0.30
        periods:
          - name: night
            time: "00:30-07:30"
            price: 0.10
          - name: peak
            time: "16:00-19:00"
            price: 0.45
      export:
        default: 0.05
    guards:
      - name: reserve
        kind: backup_reserve
        min_soc_pct: 30
    rules:
      - name: night charge
        layer: schedule
        when:
          time: "00:30-07:30"
        action:
          kind: charge
          power_w: 2500
          target_soc_pct: 90
      - name: evening peak
        layer: schedule
        when:
          time: "16:00-19:00"
        action:
          kind: discharge
          power_w: 3000
    default:
      action:
        kind: self_consumption
    """
)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write(name, text)``: a file in tmp_path with ``text`` (dedented)."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


def policy_with_tests(tests_yaml: str) -> str:
    """BASE_POLICY plus a ``tests:`` section (given unindented, as under ``tests:``)."""
    body = textwrap.indent(textwrap.dedent(tests_yaml), "  ")
    return BASE_POLICY + "tests:\n" + body
