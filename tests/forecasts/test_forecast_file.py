"""The forecast_file replay form: recorded forecasts used only from their issue time, a relative
path read from the policy's folder, a bad file located, and the perturbation property (change
what is issued or measured after t: no forecast made up to t changes)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.errors import PolicyError
from gridpilot.forecasts.forecast_file import ForecastFileError, load_forecast_file
from gridpilot.forecasts.open_meteo import OpenMeteoForecast, OpenMeteoSettings
from gridpilot.forecasts.pv_model import PvArray
from gridpilot.rules.loader import load_policy

START_S = 1_718_928_000  # 2024-06-21 00:00 UTC
STEP = 1800
N = 2 * 48
ISSUE_EVERY = 6  # an issue every 3 hours, each 24 hours ahead


def iso(t_s: int) -> str:
    return datetime.fromtimestamp(t_s, UTC).isoformat()


def forecast_csv(values: np.ndarray) -> str:
    """``values[k, j]``: issue k's forecast of its j-th period (issue k at slot k*ISSUE_EVERY)."""
    lines = ["issued_at,period_start,pv_w"]
    for k in range(values.shape[0]):
        issued = START_S + k * ISSUE_EVERY * STEP
        for j in range(values.shape[1]):
            lines.append(f"{iso(issued)},{iso(issued + j * STEP)},{values[k, j]:.3f}")
    return "\n".join(lines) + "\n"


def provider(path: Path) -> OpenMeteoForecast:
    return OpenMeteoForecast(OpenMeteoSettings(
        latitude_deg=51.75, longitude_deg=-1.26, arrays=(PvArray(kwp=4),),
        replay="forecast_file", forecast_file=path), ZoneInfo("Europe/London"))


def test_an_issue_is_used_only_from_its_issue_time(tmp_path: Path) -> None:
    path = tmp_path / "fc.csv"
    path.write_text("issued_at,period_start,pv_w\n"
                    f"{iso(START_S)},{iso(START_S + 3600)},100\n"
                    f"{iso(START_S)},{iso(START_S + 5400)},200\n"
                    f"{iso(START_S + 3600)},{iso(START_S + 3600)},300\n"
                    f"{iso(START_S + 3600)},{iso(START_S + 5400)},400\n", encoding="utf-8")
    recorded = load_forecast_file(path)
    slots = np.asarray([START_S + 3600, START_S + 5400, START_S + 7200], dtype=np.int64)
    assert np.isnan(recorded.pv_w(START_S - 1, slots, STEP)).all()
    early = recorded.pv_w(START_S + 3599, slots, STEP)
    np.testing.assert_array_equal(early[:2], [100, 200])
    assert np.isnan(early[2])  # past the issue's last period: not covered
    np.testing.assert_array_equal(recorded.pv_w(START_S + 3600, slots, STEP)[:2], [300, 400])


def test_the_provider_falls_back_to_clear_sky_where_the_file_says_nothing(
        tmp_path: Path) -> None:
    path = tmp_path / "fc.csv"
    path.write_text(forecast_csv(np.full((1, 4), 123.0)), encoding="utf-8")
    p = provider(path)
    noon = START_S + 12 * 3600
    p.observe(datetime.fromtimestamp(START_S, UTC), 500.0, 0.0)
    pv = p.pv_w(START_S + STEP * np.arange(4, dtype=np.int64))
    np.testing.assert_array_equal(pv, 123.0)
    for i in range(1, 30):  # a clearness to scale the clear sky by
        p.observe(datetime.fromtimestamp(START_S + i * STEP, UTC), 500.0, 1000.0)
    later = p.pv_w(np.asarray([noon, noon + STEP], dtype=np.int64))
    assert (later > 500).all()
    assert p.sources()["forecast_file_slots"] == 2


@pytest.mark.parametrize(("text", "found"), [
    ("when,period_start,pv_w\n", ":1: the header is when,period_start,pv_w"),
    ("issued_at,period_start,pv_w\n2024-06-21T00:00:00,2024-06-21T00:00:00+00:00,1\n",
     ":2: issued_at '2024-06-21T00:00:00' has no UTC offset"),
    ("issued_at,period_start,pv_w\n\n2024-06-21T00:00Z,tomorrow,1\n",
     ":3: period_start 'tomorrow' is not an ISO 8601 time"),
    ("issued_at,period_start,pv_w\n2024-06-21T00:00Z,2024-06-21T00:00Z,-5\n",
     ":2: pv_w '-5' must be a number >= 0"),
    ("issued_at,period_start,pv_w\n2024-06-21T00:00Z,2024-06-21T00:00Z,nan\n",
     ":2: pv_w 'nan' must be a number >= 0"),
    ("issued_at,period_start,pv_w\n2024-06-21T00:00Z,2024-06-21T00:00Z,1\n"
     "2024-06-21T00:00Z,2024-06-21T00:00Z,2\n", ":3: a second value for period"),
    ("issued_at,period_start,pv_w\n2024-06-21T00:00Z,1\n", ":2: 2 columns"),
    ("issued_at,period_start,pv_w\n", "no forecast rows"),
])
def test_a_bad_file_is_located(tmp_path: Path, text: str, found: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ForecastFileError) as err:
        load_forecast_file(path)
    assert str(path) in str(err.value) and found in str(err.value)


POLICY = """\
version: 1
site:
  name: pv site
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000}
tariff:
  import: {default: 0.25}
default:
  action: {kind: self_consumption}
forecast:
  latitude_deg: 51.75
  longitude_deg: -1.26
  arrays:
    - {kwp: 4}
  replay: forecast_file
  forecast_file: FILE
"""


def test_a_relative_path_is_read_from_the_policy_folder(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "fc.csv").write_text(forecast_csv(np.full((1, 4), 7.0)), encoding="utf-8")
    policy_path = folder / "policy.yaml"
    policy_path.write_text(POLICY.replace("FILE", "data/fc.csv"), encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)  # not the policy's folder: the path must not depend on it
    try:
        made = load_policy(policy_path).new_forecast()
    finally:
        os.chdir(cwd)
    assert isinstance(made, OpenMeteoForecast)
    assert made.settings.forecast_file == folder / "data" / "fc.csv"


@pytest.mark.parametrize(("forecast_file", "found"), [
    ("missing.csv", "missing.csv: cannot be read"),
    ("bad.csv", "bad.csv:2: pv_w 'x' must be a number"),
])
def test_a_missing_or_bad_file_is_located_in_the_policy(tmp_path: Path, forecast_file: str,
                                                       found: str) -> None:
    (tmp_path / "bad.csv").write_text(
        "issued_at,period_start,pv_w\n2024-06-21T00:00Z,2024-06-21T00:00Z,x\n", encoding="utf-8")
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(POLICY.replace("FILE", forecast_file), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy(policy_path)
    message = str(err.value)
    assert "policy.yaml:16" in message and "forecast.forecast_file" in message
    assert found in message


def test_replay_and_file_go_together(tmp_path: Path) -> None:
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(POLICY.replace("  forecast_file: FILE\n", ""), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy(policy_path)
    assert "replay: forecast_file and a forecast_file: path go together" in str(err.value)


def walk(path: Path, pv: np.ndarray, upto: int) -> list[np.ndarray]:
    p = provider(path)
    made = []
    for i in range(upto + 1):
        t_s = START_S + i * STEP
        p.observe(datetime.fromtimestamp(t_s, UTC), 500.0, float(pv[i]))
        made.append(p.forecast(t_s + STEP + STEP * np.arange(48, dtype=np.int64)).copy())
    return made


@settings(max_examples=3, deadline=None)
@given(t=st.integers(10, N - 10), scale=st.floats(0.0, 3.0), seed=st.integers(0, 2**16))
def test_perturbing_after_t_changes_nothing_up_to_t(tmp_path_factory: pytest.TempPathFactory,
                                                    t: int, scale: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    issues = N // ISSUE_EVERY
    values = 3000 * rng.random((issues, 48))
    pv = 2000 * rng.random(N)
    later = values.copy()
    first_after = t // ISSUE_EVERY + 1  # the issues made after slot t
    later[first_after:] = later[first_after:] * scale + 1.0
    pv2 = pv.copy()
    pv2[t + 1:] *= scale
    folder = tmp_path_factory.mktemp("fc")
    (folder / "a.csv").write_text(forecast_csv(values), encoding="utf-8")
    (folder / "b.csv").write_text(forecast_csv(later), encoding="utf-8")
    before = walk(folder / "a.csv", pv, t)
    after = walk(folder / "b.csv", pv2, t)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    # And the file is read at all: the next issue's values do change the forecast after t.
    assert not np.array_equal(walk(folder / "a.csv", pv, t + ISSUE_EVERY)[-1],
                              walk(folder / "b.csv", pv2, t + ISSUE_EVERY)[-1])
