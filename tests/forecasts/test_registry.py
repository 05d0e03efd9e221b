"""Choosing the load/PV forecast provider in the policy: ``forecast: {type: ..., ...}``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

import gridpilot.registry
from gridpilot.engine.decide import decide
from gridpilot.engine.state import SiteState
from gridpilot.errors import PolicyError
from gridpilot.forecasts.providers import FlatForecast, TimeOfWeekAverage
from gridpilot.forecasts.registry import FORECASTS
from gridpilot.recorded import load_data
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.simulator.replay import replay

ROOT = Path(__file__).resolve().parents[2]
BASE = """\
version: 1
site:
  name: forecast site
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000}
tariff:
  import: {default: 0.25}
strategies:
  arbitrage: {type: tariff_arbitrage}
default:
  strategy: arbitrage
"""


def write(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def errors(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return [i.format() for i in info.value.issues]


def test_default_is_the_time_of_week_average(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path))
    first, second = policy.new_forecast(), policy.new_forecast()
    assert isinstance(first, TimeOfWeekAverage) and first is not second


def test_flat_forecast_from_the_policy(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "forecast: {type: flat, net_load_w: 800}\n"))
    provider = policy.new_forecast()
    assert isinstance(provider, FlatForecast)
    assert provider.forecast(np.array([0, 1800], dtype=np.int64)).tolist() == [800.0, 800.0]


def test_unknown_type_and_bad_settings_are_located(tmp_path: Path) -> None:
    msgs = errors(write(tmp_path, "forecast:\n  type: flatt\n"))
    assert len(msgs) == 1
    assert msgs[0].startswith(f"{tmp_path / 'policy.yaml'}:13:3:")
    assert "unknown forecast type 'flatt'" in msgs[0] and "did you mean 'flat'?" in msgs[0]
    msgs = errors(write(tmp_path, "forecast:\n  type: time_of_week\n  bin_s: 1000\n"))
    assert any(":14:" in m and "forecast.bin_s" in m and "divide a week" in m for m in msgs), msgs
    msgs = errors(write(tmp_path, "forecast:\n  type: flat\n  net_load: 5\n"))
    assert any("forecast.net_load" in m and "did you mean 'net_load_w'" in m for m in msgs), msgs


class _Constant:
    """A third-party provider as an entry point would name it."""

    class Settings(BaseModel):
        value_w: float = 0.0

    def __init__(self, settings: Settings, tz: Any) -> None:
        self.value_w = settings.value_w

    def observe(self, t: Any, load_w: float, pv_w: float) -> None:
        return None

    def forecast(self, slot_start_s: Any) -> Any:
        return np.full(len(slot_start_s), self.value_w)


class _EntryPoint:
    def __init__(self, name: str, target: object) -> None:
        self.name, self.value, self._target = name, f"plugin:{name}", target

    def load(self) -> object:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_plugins_come_from_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    eps = [_EntryPoint("constant", _Constant), _EntryPoint("broken", ImportError("no numpy2"))]
    monkeypatch.setattr(
        gridpilot.registry, "entry_points",
        lambda group: eps if group == "gridpilot.forecasts" else [],
    )
    FORECASTS.reset()
    assert {"constant", "flat", "time_of_week"} <= set(FORECASTS.names())
    assert "no numpy2" in FORECASTS.problems()["broken"]
    policy = load_policy(write(tmp_path, "forecast: {type: constant, value_w: 1234}\n"))
    assert policy.new_forecast().forecast(np.array([0])).tolist() == [1234.0]
    msgs = errors(write(tmp_path, "forecast: {type: broken}\n"))
    assert any("forecast plugin 'broken'" in m and "no numpy2" in m for m in msgs), msgs
    monkeypatch.undo()
    FORECASTS.reset()


def test_replay_feeds_the_policys_forecast_to_decide(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "forecast: {type: flat, net_load_w: 777}\n"))
    series = load_data(ROOT / "examples" / "data" / "uk-2018-halfhourly.csv")
    start = int(series.start_s[0])
    seen: list[SiteState] = []

    def spy(p: Policy, state: SiteState) -> Any:
        seen.append(state)
        return decide(p, state)

    replay(policy, series.slice_time(start, start + 6 * 3600), decide_fn=spy)
    forecasts = [s.forecast_net_load_w for s in seen if s.forecast_net_load_w is not None]
    assert forecasts and all(np.all(f == 777.0) for f in forecasts)
