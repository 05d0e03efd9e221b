"""Scoring forecasts in batches gives what scoring each one on arrival gives."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.forecasts.evaluate import Evaluation, Scorer

STEP_S = 1800


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), with_pv=st.booleans(), gaps=st.booleans())
def test_batches_score_like_one_forecast_at_a_time(seed: int, with_pv: bool, gaps: bool) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    start_s = np.arange(n, dtype=np.int64) * STEP_S + 1_500_000_000
    load = rng.uniform(100, 3000, n)
    pv = rng.uniform(0, 2000, n)
    if gaps:
        load[rng.integers(0, n, 20)] = np.nan
    forecasts: list[tuple[int, IntArray, FloatArray, FloatArray | None]] = []
    for k in range(0, n, 7):
        slots = start_s[k:k + 96] + (STEP_S if k % 3 else 0)  # some slots miss the recording
        net: FloatArray = rng.normal(0, 800, slots.shape[0])
        pv_fc: FloatArray | None = rng.uniform(0, 2000, slots.shape[0]) if with_pv else None
        forecasts.append((int(start_s[k]), slots, net, pv_fc))

    one_by_one = Scorer(start_s, load, pv)
    one_by_one._BATCH_SLOTS = 1  # flush after every forecast
    batched = Scorer(start_s, load, pv)
    for f in forecasts:
        one_by_one.score(*f)
        batched.score(*f)
    a, b = one_by_one.result(), batched.result()
    assert a.issues == b.issues > 0
    assert np.array_equal(a.lead_hour, b.lead_hour)
    for name in ("mae_w", "rmse_w", "bias_w", "persistence_mae_w"):
        assert np.allclose(getattr(a, name), getattr(b, name), equal_nan=True), name
    for name in ("net_mae_w", "net_rmse_w", "net_bias_w", "skill_vs_persistence", "pv_mae_w",
                 "load_mae_w"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or x == pytest.approx(y, rel=1e-9, nan_ok=True), name


def test_a_caller_reusing_its_buffer_does_not_change_what_was_scored() -> None:
    start_s = np.arange(10, dtype=np.int64) * STEP_S
    scorer = Scorer(start_s, np.full(10, 1000.0), np.zeros(10))
    buf = np.full(4, 1000.0)
    scorer.score(0, start_s[1:5], buf)
    buf[:] = 0.0  # the replay loop may fill the same array for the next forecast
    assert scorer.result().net_mae_w == 0.0


def _fields(e: Evaluation) -> list[object]:
    return [getattr(e, f.name) for f in dataclasses.fields(e)]


@settings(max_examples=40, deadline=None)
@example(seed=632367550, step_s=300, with_pv=False, batch_slots=1)  # a recording of one row
@given(
    seed=st.integers(0, 2**32 - 1),
    step_s=st.sampled_from([300, 1800, 3600, 7 * 3600]),
    with_pv=st.booleans(),
    batch_slots=st.integers(1, 2000),
)
def test_a_regular_recording_is_indexed_as_a_search_would_index_it(
    seed: int, step_s: int, with_pv: bool, batch_slots: int
) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 600))
    start_s = np.arange(n, dtype=np.int64) * step_s + 1_500_000_000
    load = rng.uniform(100, 3000, n)
    load[rng.integers(0, n, 5)] = np.nan
    pv = rng.uniform(0, 2000, n)
    arithmetic, searched = Scorer(start_s, load, pv), Scorer(start_s, load, pv)
    # One row has no spacing to go by: it is searched like any irregular recording.
    assert arithmetic._step_s == (step_s if n > 1 else 0)
    searched._step_s = 0  # the binary search any recording gets
    for s in (arithmetic, searched):
        s._BATCH_SLOTS = batch_slots
    for _ in range(int(rng.integers(1, 40))):
        issued = int(start_s[0]) + int(rng.integers(-2, n + 2)) * step_s
        # Slots on and off the recording's grid, before its start and past its end.
        m = int(rng.integers(0, 60))
        off_grid = rng.integers(1, step_s, m) * (rng.random(m) < 0.2)
        slots = issued + rng.integers(-3, 100, m) * step_s + off_grid
        net = np.asarray(rng.normal(0, 800, slots.shape[0]), dtype=np.float64)
        pv_fc = (np.asarray(rng.uniform(0, 2000, slots.shape[0]), dtype=np.float64)
                 if with_pv else None)
        arithmetic.score(issued, slots, net, pv_fc)
        searched.score(issued, slots, net, pv_fc)
    a, b = _fields(arithmetic.result()), _fields(searched.result())
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray) and np.array_equal(x, y, equal_nan=True)
        else:
            assert x == y or (x != x and y != y)  # equal, or both NaN


def test_a_recording_with_a_missing_interval_is_searched() -> None:
    start_s = np.asarray([0, 1800, 5400, 7200], dtype=np.int64)
    scorer = Scorer(start_s, np.full(4, 1000.0), np.zeros(4))
    assert scorer._step_s == 0
    scorer.score(0, np.asarray([1800, 3600, 5400], dtype=np.int64), np.full(3, 1100.0))
    result = scorer.result()
    assert result.net_mae_w == 100.0 and result.issues == 1


def test_a_forecast_needs_one_value_per_slot() -> None:
    start_s = np.arange(10, dtype=np.int64) * STEP_S
    scorer = Scorer(start_s, np.full(10, 1000.0), np.zeros(10))
    with pytest.raises(ValueError, match="one net load"):
        scorer.score(0, start_s[1:5], np.full(3, 1000.0))
    with pytest.raises(ValueError, match="one net load"):
        scorer.score(0, start_s[1:5], np.full(4, 1000.0), np.zeros(2))
