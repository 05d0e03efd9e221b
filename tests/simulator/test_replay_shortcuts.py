"""The replay's shortcuts give what the direct computation gives.

The publication horizon is bisected (``known_until`` asked once per publication, not per slot) and
the default forecast keeps running aggregates; both are checked against a plain per-item
computation here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.forecasts.providers import TimeOfWeekAverage
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.rules.tariff import Tariff
from gridpilot.simulator.replay import _known_slot_ends

ROOT = Path(__file__).resolve().parents[2]
YEAR_START_S = int(datetime(2018, 1, 1, tzinfo=UTC).timestamp())
SLOT_S = 1800


@pytest.fixture(scope="module")
def dynamic_policy() -> Policy:
    return load_policy(ROOT / "benchmarks" / "policies" / "bench-decide.yaml")


@pytest.fixture(scope="module")
def fixed_policy() -> Policy:
    return load_policy(ROOT / "examples" / "policies" / "economy7.yaml")


def _direct_ends(tariff: Tariff, slots: np.ndarray, tick_slot: np.ndarray,
                 horizon_slots: int) -> list[int]:
    """One ``known_until`` per slot, as the replay did before it bisected."""
    ends = [0] * slots.shape[0]
    for s in np.unique(tick_slot).tolist():
        known = tariff.known_until(datetime.fromtimestamp(int(slots[s]), UTC))
        end = s + horizon_slots
        if known is not None:
            end = min(end, (int(known.timestamp()) - int(slots[0])) // SLOT_S)
        ends[s] = min(max(end, s + 1), slots.shape[0])
    return ends


@settings(max_examples=25, deadline=None)
@given(first=st.integers(0, 360 * 48), n_slots=st.integers(1, 6 * 48),
       every=st.integers(1, 7), horizon=st.integers(1, 96))
def test_bisected_horizon_equals_one_lookup_per_slot(
    dynamic_policy: Policy, fixed_policy: Policy, first: int, n_slots: int, every: int,
    horizon: int,
) -> None:
    slots = YEAR_START_S + (first + np.arange(n_slots + horizon, dtype=np.int64)) * SLOT_S
    # Ticks in only some of the slots (a coarse step, or a gap in the data).
    tick_slot = np.arange(0, n_slots, every, dtype=np.int64)
    for policy in (dynamic_policy, fixed_policy):
        tariff = policy.tariff
        assert _known_slot_ends(tariff, slots, tick_slot, horizon) == _direct_ends(
            tariff, slots, tick_slot, horizon)


def _reference_forecast(obs: list[tuple[int, float]], starts: np.ndarray, tz: str, weeks: int,
                        bin_s: int, flat_w: float) -> np.ndarray:
    """The time-of-week average written out plainly: per local week and bin, then the last
    ``weeks`` distinct weeks seen."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    shift = 3 * 86400

    def local_s(t_s: int) -> int:
        hour = t_s // 3600 * 3600
        off = datetime.fromtimestamp(hour, UTC).astimezone(zone).utcoffset()
        assert off is not None
        return t_s + int(off.total_seconds()) + shift

    if not obs:
        return np.full(starts.shape[0], flat_w)
    kept: list[int] = []
    for t_s, _ in obs:
        w = local_s(t_s) // (7 * 86400)
        if w not in kept:
            kept.append(w)
            if len(kept) > weeks:
                kept.pop(0)
    nbins = 7 * 86400 // bin_s
    sums = [0.0] * nbins
    counts = [0.0] * nbins
    for t_s, net in obs:
        loc = local_s(t_s)
        if loc // (7 * 86400) in kept:
            b = (loc % (7 * 86400)) // bin_s
            sums[b] += net
            counts[b] += 1.0
    fallback = sum(sums) / sum(counts)
    out = []
    for s in starts.tolist():
        b = (local_s(int(s)) % (7 * 86400)) // bin_s
        out.append(sums[b] / counts[b] if counts[b] > 0 else fallback)
    return np.asarray(out)


@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(1, 40 * 3600), st.floats(-3000, 6000)),
                   min_size=0, max_size=120),
    start_h=st.integers(0, 365 * 24),
    weeks=st.integers(1, 3),
)
def test_forecast_matches_a_plain_average(steps: list[tuple[int, float]], start_h: int,
                                          weeks: int) -> None:
    tz = "Europe/London"
    provider = TimeOfWeekAverage(tz, weeks=weeks, bin_s=3600)
    t_s = YEAR_START_S + start_h * 3600
    obs: list[tuple[int, float]] = []
    for gap_s, net in steps:
        t_s += gap_s
        provider.observe(datetime.fromtimestamp(t_s, UTC), net, 0.0)
        obs.append((t_s, net))
    starts = t_s - t_s % 3600 + 3600 * np.arange(60, dtype=np.int64)
    got = provider.forecast(starts)
    want = _reference_forecast(obs, starts, tz, weeks, 3600, 500.0)
    assert np.allclose(got, want, rtol=1e-9, atol=1e-6)


def test_forecast_of_bins_never_seen_is_the_mean_of_everything_seen() -> None:
    provider = TimeOfWeekAverage("UTC", bin_s=3600)
    monday = datetime(2018, 1, 1, tzinfo=UTC)
    for h, net in ((0, 100.0), (1, 300.0), (1, 500.0)):
        provider.observe(monday + timedelta(hours=h), net, 0.0)
    starts = np.asarray([int((monday + timedelta(hours=h)).timestamp()) for h in (0, 1, 2, 5)])
    got = provider.forecast(starts)
    assert got.tolist() == [100.0, 400.0, 300.0, 300.0]
    assert all(math.isfinite(v) for v in got)
