"""The replay forms (what a backtest's PV forecast is) never read the future: perturb the
recorded data after t, and no forecast made up to t changes. And they are useful: on a clear
day after a clear day, clear-sky replay is close to the truth."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.forecasts.open_meteo import OpenMeteoForecast, OpenMeteoSettings
from gridpilot.forecasts.pv_model import PvArray, Site, clear_sky_weather, pv_ac_w
from gridpilot.forecasts.pv_replay import PvHistory, persistence_pv

START_S = 1_718_928_000  # 2024-06-21 00:00 UTC
STEP = 1800
N = 3 * 48
SITE = Site(51.75, -1.26, 70.0)
ARRAY = PvArray(kwp=4)
TRUE_PV = pv_ac_w((ARRAY,), SITE, clear_sky_weather(
    SITE, START_S + STEP * (np.arange(N, dtype=np.int64) + 1), STEP))


def make(replay: str) -> OpenMeteoForecast:
    return OpenMeteoForecast(OpenMeteoSettings(
        latitude_deg=51.75, longitude_deg=-1.26, altitude_m=70, arrays=(ARRAY,),
        replay=replay), ZoneInfo("Europe/London"))  # type: ignore[arg-type]


def walk(replay: str, pv: np.ndarray, load: np.ndarray, upto: int) -> list[np.ndarray]:
    """Observe tick by tick; the 48-slot forecast made after each tick up to ``upto``."""
    p = make(replay)
    made = []
    for i in range(upto + 1):
        t_s = START_S + i * STEP
        p.observe(datetime.fromtimestamp(t_s, UTC), float(load[i]), float(pv[i]))
        made.append(p.forecast(t_s + STEP + STEP * np.arange(48, dtype=np.int64)).copy())
    return made


@settings(max_examples=6, deadline=None)
@given(replay=st.sampled_from(["clear_sky", "persistence", "time_of_week"]),
       t=st.integers(50, N - 10), scale=st.floats(0.0, 3.0), seed=st.integers(0, 2**16))
def test_perturbing_after_t_changes_nothing_up_to_t(replay: str, t: int, scale: float,
                                                    seed: int) -> None:
    rng = np.random.default_rng(seed)
    load = 400 + 300 * rng.random(N)
    pv = TRUE_PV * (0.5 + 0.5 * rng.random(N))
    pv2, load2 = pv.copy(), load.copy()
    pv2[t + 1:] *= scale
    load2[t + 1:] = rng.random(N - t - 1) * 5000
    before = walk(replay, pv, load, t)
    after = walk(replay, pv2, load2, t)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_clear_sky_replay_after_a_clear_day_is_close() -> None:
    p = make("clear_sky")
    for i in range(48):  # one clear day measured
        p.observe(datetime.fromtimestamp(START_S + i * STEP, UTC), 500.0, float(TRUE_PV[i]))
    tomorrow = START_S + 48 * STEP + STEP * np.arange(48, dtype=np.int64)
    pv = p.pv_w(tomorrow)
    assert p.sources()["clear_sky_slots"] == 48
    assert float(np.abs(pv - TRUE_PV[48:96]).sum()) < 0.05 * float(TRUE_PV[48:96].sum())


def test_persistence_uses_only_complete_past_bins() -> None:
    h = PvHistory(STEP)
    for i in range(60):
        h.observe(START_S + i * STEP, float(i))
    # Every slot repeats the same slot of the latest day already complete: a day back here.
    got = persistence_pv(h, START_S + STEP * np.array([58, 59, 70], dtype=np.int64))
    assert got is not None
    assert got.tolist() == [10.0, 11.0, 22.0]


def test_a_gap_is_not_read_as_zero() -> None:
    p = make("time_of_week")
    for i in range(48):
        p.observe(datetime.fromtimestamp(START_S + i * STEP, UTC), 800.0, float("nan"))
    # Nothing finite was read: the load stays at its flat default, no zero-load bins appear.
    assert float(p.load.forecast(START_S + STEP * np.arange(48, dtype=np.int64)).min()) == 500.0
