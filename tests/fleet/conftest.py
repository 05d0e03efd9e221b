"""A tiny fleet (three valid homes, a week at one hour) for every fleet test."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "policies" / "agile-dynamic.yaml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"

TINY = f"""\
version: 1
name: tiny
defaults:
  policy: {POLICY}
  data: {DATA}
  step: 1h
  from: '2018-01-08'
  to: '2018-01-12'
sites:
  - name: small
    set: {{site.battery.capacity_kwh: 5}}
    transform: {{load_scale: 0.6, pv_scale: 0.5, shift_days: -2}}
  - name: middle
  - name: large
    set: {{site.battery.capacity_kwh: 13.5}}
    transform: {{load_scale: 1.4, shift_days: 3}}
  - name: broken
    set: {{site.battery.capacity_kwh: -1}}
"""


@pytest.fixture(scope="session")
def tiny_fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fleet") / "fleet.yaml"
    path.write_text(TINY)
    return path
