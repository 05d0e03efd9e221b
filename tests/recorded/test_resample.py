"""Energy-conserving resampling and explicit gap policies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.errors import DataError
from gridpilot.recorded import load_uk_composite
from gridpilot.recorded.base import LoadReport, TimeSeries
from gridpilot.recorded.resample import GapPolicy, fill_gaps, parse_step, resample

ROOT = Path(__file__).resolve().parents[2]
UCI = ROOT.parent / "shared/data/uci-household/household_power_consumption_2006-12.txt"


def _series(values: list[float], interval_s: int, start_s: int = 0) -> TimeSeries:
    v = np.asarray(values, dtype=float)
    return TimeSeries(start_s + np.arange(v.size, dtype=np.int64) * interval_s, interval_s,
                      {"load_w": v}, LoadReport("test"))


@pytest.mark.parametrize("step_s", [60, 300, 900, 1800, 3600])
def test_real_year_keeps_its_energy(step_s: int) -> None:
    s = load_uk_composite(ROOT / "examples/data/uk-2018-halfhourly.csv")
    r = resample(s, step_s)
    for col in ("load_w", "pv_w"):
        before = s.columns[col].sum() * s.interval_s
        after = r.columns[col].sum() * r.interval_s
        assert after == pytest.approx(before, rel=1e-12)
    assert r.start_s[0] == s.start_s[0] and r.end_s == s.end_s


@pytest.mark.skipif(not UCI.exists(), reason="../shared/data is not present")
def test_uci_minutes_to_five_minutes_with_a_fill() -> None:
    from gridpilot.recorded import load_uci_household

    s = load_uci_household(UCI)
    with pytest.raises(DataError, match="missing interval"):
        resample(s, 300)
    r = resample(s, 300, gaps=GapPolicy("linear", max_gap_s=600))
    assert not np.isnan(r.columns["load_w"]).any()
    assert any("filled" in x for x in r.report.repairs)
    # five-minute averages are the mean of their minutes
    i0 = int((r.start_s[0] - s.start_s[0]) // 60)
    assert r.columns["load_w"][0] == pytest.approx(np.mean(s.columns["load_w"][i0 : i0 + 5]))


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.floats(-5000, 5000), min_size=12, max_size=60),
    src=st.sampled_from([60, 300, 900, 1800, 3600]),
    dst=st.sampled_from([60, 300, 900, 1800, 3600]),
)
def test_energy_is_conserved_on_whole_steps(values: list[float], src: int, dst: int) -> None:
    s = _series(values, src)
    if len(values) * src < dst:
        with pytest.raises(DataError, match="less than one"):
            resample(s, dst)
        return
    r = resample(s, dst)
    # energy of the source inside the result's span
    fine = np.repeat(np.asarray(values), src)  # one value per second
    lo = int(r.start_s[0] - s.start_s[0])
    hi = lo + len(r) * dst
    assert r.columns["load_w"].sum() * dst == pytest.approx(fine[lo:hi].sum(), abs=1e-6)


def test_gap_fill_methods() -> None:
    s = _series([1.0, np.nan, np.nan, 4.0, 5.0], 300)
    assert fill_gaps(s, GapPolicy("hold")).columns["load_w"].tolist() == [1, 1, 1, 4, 5]
    assert fill_gaps(s, GapPolicy("linear")).columns["load_w"].tolist() == [1, 2, 3, 4, 5]
    assert fill_gaps(s, GapPolicy("zero")).columns["load_w"].tolist() == [1, 0, 0, 4, 5]
    with pytest.raises(DataError, match="gap of 600 s"):
        fill_gaps(s, GapPolicy("hold", max_gap_s=300))
    with pytest.raises(DataError, match="first at 1970-01-01T00:05:00Z"):
        fill_gaps(s, GapPolicy("fail"))


def test_parse_step() -> None:
    assert [parse_step(x) for x in ("1m", "5m", "15min", "30m", "1h", "300")] == [
        60, 300, 900, 1800, 3600, 300]
    with pytest.raises(DataError, match="1m, 5m, 15m, 30m or 1h"):
        parse_step("7m")


def test_a_derived_series_notes_its_repairs_and_leaves_the_source_report_alone() -> None:
    # One loaded series is resampled again and again (a fleet's sites, a sweep's variants):
    # each result says what was done to it, once, and the loaded one stays as it was loaded.
    s = _series([1.0, np.nan, np.nan, 4.0, 5.0, 6.0, 7.0, 8.0], 300)
    s.report.repairs.append("read as loaded")
    notes = ["read as loaded", "filled 2 missing value(s) by 'hold'",
             "resampled from 300 s to 600 s (energy conserved)"]
    for _ in range(3):
        out = resample(s, 600, gaps=GapPolicy("hold"))
        assert out.report.repairs == notes
    assert s.report.repairs == ["read as loaded"]
    assert fill_gaps(s, GapPolicy("zero")).report.repairs == [*notes[:1], "filled 2 missing "
                                                              "value(s) by 'zero'"]
    assert s.report.repairs == ["read as loaded"]
