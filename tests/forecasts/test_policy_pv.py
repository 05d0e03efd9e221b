"""A policy that gives its PV arrays gets the open_meteo forecast; bad settings are located in
the file; a backtest runs on the replay form without asking any service."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpilot.errors import PolicyError
from gridpilot.forecasts.open_meteo import OpenMeteoForecast
from gridpilot.recorded import load_data
from gridpilot.rules.loader import load_policy
from gridpilot.simulator.backtest import run_backtest
from gridpilot.simulator.report import report_dict

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


def test_a_backtest_reports_how_good_its_forecast_was(tmp_path: Path) -> None:
    data = Path(__file__).resolve().parents[2] / "examples" / "data" / "uk-2018-halfhourly.csv"
    series = load_data(data)
    series = series.slice_time(int(series.start_s[0]) + 150 * 86_400,
                               int(series.start_s[0]) + 153 * 86_400)
    bt = run_backtest(load_policy(write(tmp_path, BASE)), series)
    summary = report_dict(bt)["forecast"]
    assert summary is not None
    assert summary["pv_mae_w"] > 0 and summary["load_mae_w"] is not None
    assert summary["forecasts_scored"] > 100
