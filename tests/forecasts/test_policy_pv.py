"""A policy that gives its PV arrays gets the open_meteo forecast; bad settings are located in
the file; a backtest runs on the replay form without asking any service."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpilot.errors import PolicyError
from gridpilot.forecasts.pv_forecast import OpenMeteoForecast
from gridpilot.rules.loader import load_policy

BASE = """\
version: 1
site:
  name: pv site
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000}
tariff:
  import: {default: 0.25}
strategies:
  arbitrage: {type: tariff_arbitrage}
default:
  strategy: arbitrage
forecast:
  latitude_deg: 51.75
  longitude_deg: -1.26
  arrays:
    - {kwp: 4, tilt_deg: 35, azimuth_deg: 180}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_arrays_make_open_meteo_the_default(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, BASE))
    provider = policy.new_forecast()
    assert isinstance(provider, OpenMeteoForecast)
    assert provider.settings.replay == "clear_sky"


def test_a_bad_array_is_located(tmp_path: Path) -> None:
    text = BASE.replace("kwp: 4", "kwp: -4").replace(
        "    - {kwp: -4", "    - {kwp: -4, tilt_deg: 35}\n    - {kwp: 2, colour: blue")
    with pytest.raises(PolicyError) as err:
        load_policy(write(tmp_path, text.replace(", tilt_deg: 35, azimuth_deg: 180}", "}")))
    message = str(err.value)
    assert "policy.yaml:" in message and "forecast.arrays" in message
    assert "kwp" in message
