"""A tiny fleet (three valid homes and a broken one, four days at one hour) and its reference
run, shared by every fleet test: each test adds only the run it is about."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpilot.fleet import load_fleet
from gridpilot.fleet.executors import parse_executor
from gridpilot.fleet.results import read_results
from gridpilot.fleet.run import simulate_fleet
from gridpilot.simulator.sweep import parse_setting, variants

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

SWEEP = "site.battery.max_soc_pct=90,95"
"""The variants the fleet runs of the tests sweep: two, so batching and variant numbers are
exercised by every executor."""
VARIANTS = variants([parse_setting(SWEEP)])

Rows = list[tuple[object, ...]]


def row_tuples(path: Path) -> Rows:
    """A results file as comparable tuples, every column."""
    return [tuple(r.values()) for r in read_results(path)]


@pytest.fixture(scope="session")
def tiny_fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fleet") / "fleet.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="session")
def reference(tiny_fleet: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny fleet × :data:`VARIANTS` run in this process, one task after another: the
    directory whose rows every other executor and worker count must reproduce."""
    out = tmp_path_factory.mktemp("reference")
    simulate_fleet(load_fleet(tiny_fleet), out, parse_executor("local", jobs=1),
                   variants=VARIANTS)
    return out
