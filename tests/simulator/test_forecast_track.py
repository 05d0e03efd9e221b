"""A replay that reads the forecasts an earlier replay of the same data kept gets what forecasting
afresh gives: the same decisions on every tick and the same forecast score."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from gridpilot.forecasts.providers import TimeOfWeekAverage
from gridpilot.recorded import load_uk_composite
from gridpilot.recorded.base import TimeSeries
from gridpilot.recorded.resample import parse_step, resample
from gridpilot.rules.loader import load_policy
from gridpilot.simulator import forecast_track
from gridpilot.simulator.replay import ReplayResult, replay

ROOT = Path(__file__).resolve().parents[2]
AGILE = ROOT / "examples/policies/agile-dynamic.yaml"


@pytest.fixture(scope="module")
def winter() -> TimeSeries:
    year = load_uk_composite(ROOT / "examples/data/uk-2018-halfhourly.csv")
    return year.slice_time(int(datetime(2018, 1, 1, tzinfo=UTC).timestamp()),
                           int(datetime(2018, 2, 15, tzinfo=UTC).timestamp()))


def _equal(a: ReplayResult, b: ReplayResult) -> None:
    for name in ("battery_w", "grid_w", "soc_pct", "kind_code"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.forecast == b.forecast


def test_a_kept_track_decides_as_a_fresh_forecast(winter: TimeSeries,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forecast_track, "_tracks", type(forecast_track._tracks)())
    fresh = replay(load_policy(AGILE), winter)
    assert len(forecast_track._tracks) == 1
    again = replay(load_policy(AGILE), winter)
    # An explicit provider object is never replaced by a track.
    policy = load_policy(AGILE)
    own = replay(policy, winter, forecast=TimeOfWeekAverage(policy.tz))
    _equal(fresh, again)
    _equal(fresh, own)
    assert fresh.forecast is not None and fresh.forecast["forecasts_scored"] > 0


def test_other_data_or_settings_get_their_own_track(winter: TimeSeries,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forecast_track, "_tracks", type(forecast_track._tracks)())
    replay(load_policy(AGILE), winter)
    shorter = winter.slice_time(None, int(winter.start_s[0]) + 20 * 86_400)
    replay(load_policy(AGILE), shorter)
    assert len(forecast_track._tracks) == 2
    assert forecast_track.provider_key({"type": "time_of_week", "weeks": 2}) != (
        forecast_track.provider_key({"type": "time_of_week"}))
    # Forecasts that may read more than the recorded data are never kept.
    assert forecast_track.provider_key({"type": "open_meteo"}) is None
    assert forecast_track.provider_key({"type": "time_of_week", "holidays_file": "x"}) is None


class _Spy:
    """A provider that notes, at each forecast, how many readings it has learnt and the last."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.asked: list[tuple[int, list[int]]] = []

    def observe(self, t: datetime, load_w: float, pv_w: float) -> None:
        self.seen.append(int(t.timestamp()))

    def forecast(self, slot_start_s: np.ndarray) -> np.ndarray:
        self.asked.append((len(self.seen), [int(s) for s in slot_start_s]))
        return np.zeros(len(slot_start_s))


@pytest.mark.parametrize("first_s", [0, 900, 1500])
def test_a_track_learns_each_reading_before_it_is_forecast_and_none_after(first_s: int) -> None:
    step_s, slot_s = 300, 1800
    t_s = np.arange(first_s, first_s + 2 * 86_400, step_s, dtype=np.int64)
    load = np.linspace(100.0, 900.0, t_s.shape[0])
    pv = np.zeros_like(load)
    slots = np.arange(0, 4 * 86_400, slot_s, dtype=np.int64)
    tick_slot = t_s // slot_s
    # Outlooks of different lengths, as a day-ahead publication makes them.
    known_end = [min(s + 1 + s % 7, slots.shape[0]) for s in range(slots.shape[0])]
    spy = _Spy()
    track = forecast_track.build_track(spy, t_s, load, pv, slots, slot_s, tick_slot, known_end)
    firsts = [i for i in range(t_s.shape[0]) if i == 0 or tick_slot[i] != tick_slot[i - 1]]
    assert len(track.forecasts) == len(spy.asked) == len(firsts)
    for (learnt, asked), i in zip(spy.asked, firsts, strict=True):
        # Every reading up to this outlook's tick, in order, and not one after it.
        assert learnt == i + 1
        assert spy.seen[:learnt] == t_s[:i + 1].tolist()
        s0 = int(tick_slot[i])
        assert asked == slots[s0:known_end[s0]].tolist()
    assert all(fc is not None and not fc.flags.writeable for fc in track.forecasts)
    # Scored: each forecast with a slot that starts a recorded interval.
    recorded = set(t_s.tolist())
    scored = sum(1 for _, asked in spy.asked if recorded.intersection(asked))
    assert track.summary is not None and track.summary["forecasts_scored"] == scored > 0


def test_a_providers_own_object_learns_in_the_loop_and_the_whole_recording(
        winter: TimeSeries) -> None:
    spy = _Spy()
    ticks = resample(winter, parse_step("15m"))  # two ticks per half-hour price slot
    replay(load_policy(AGILE), ticks, forecast=spy)
    times = ticks.start_s.tolist()
    assert len(spy.asked) == len(times) // 2
    for k, (learnt, asked) in enumerate(spy.asked):
        # The outlook starts at the slot of its first tick: learnt up to that tick, not after.
        assert learnt == 2 * k + 1 and asked[0] == times[2 * k]
    # And the readings after the last outlook's tick once the replay is over.
    assert spy.seen == times
