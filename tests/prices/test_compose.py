"""Composition, failover, the known-when rule: property tests against brute-force references."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.calendar.spec import CalendarSpec
from gridpilot.prices.base import Publication
from gridpilot.prices.compose import (
    Composition,
    CurrencyMismatchError,
    compose,
    to_tariff_per_kwh,
)
from gridpilot.prices.failover import first_wins
from gridpilot.prices.known import known_until_s, next_publication_s

BERLIN = ZoneInfo("Europe/Berlin")
FEES = (
    (CalendarSpec.parse("00:00-24:00", None, None, None), 0.05),
    (CalendarSpec.parse("17:00-20:00", None, None, None), 0.11),
)


def _fee_ref(t_s: int) -> float:
    local = datetime.fromtimestamp(t_s, UTC).astimezone(BERLIN)
    return 0.11 if 17 <= local.hour < 20 else 0.05


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(-500, 3000, allow_nan=False), min_size=1, max_size=48),
    multiply=st.floats(0, 3), add=st.floats(-1, 1), vat=st.floats(0, 30),
    first=st.integers(1_700_000_000 // 900, 1_800_000_000 // 900),
)
def test_composed_prices_equal_a_brute_force_reference(
    values: list[float], multiply: float, add: float, vat: float, first: int
) -> None:
    starts = (first + np.arange(len(values), dtype=np.int64)) * 900
    c = Composition(multiply, add, vat, None, FEES)
    base = to_tariff_per_kwh(np.array(values), "per_mwh", "EUR", "EUR", None)
    got = compose(base, starts, BERLIN, c)
    for i, v in enumerate(values):
        want = (v / 1000 * multiply + add + _fee_ref(int(starts[i]))) * (1 + vat / 100)
        assert got[i] == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_units_and_currency_conversion() -> None:
    pence = to_tariff_per_kwh(np.array([25.0, -2.5]), "minor_per_kwh", "GBP", "GBP", None)
    assert pence.tolist() == [0.25, -0.025]
    sek = to_tariff_per_kwh(np.array([1000.0]), "per_mwh", "SEK", "EUR", 0.087)
    assert sek.tolist() == pytest.approx([0.087])
    with pytest.raises(CurrencyMismatchError, match="fx_rate"):
        to_tariff_per_kwh(np.array([1.0]), "per_kwh", "SEK", "EUR", None)
    text = Composition(1.0, 0.12, 19.0).describe("per_mwh", "EUR", "EUR")
    assert text == "EUR/MWh / 1000 + 0.12 + 19 % VAT = EUR/kWh"


slots = st.lists(st.tuples(st.integers(0, 200), st.integers(1, 8), st.floats(-5, 5)),
                 max_size=12)


def _part(rows: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out: list[tuple[int, int, float]] = []
    end = -1
    for s, n, v in sorted(rows):
        if s >= end:
            out.append((s, s + n, v))
            end = s + n
    return (np.array([r[0] for r in out], dtype=np.int64),
            np.array([r[1] for r in out], dtype=np.int64),
            np.array([r[2] for r in out], dtype=np.float64))


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(slots, min_size=1, max_size=3), lo=st.integers(0, 100),
       width=st.integers(0, 150))
def test_failover_never_leaves_the_range_and_the_first_provider_wins(
    parts: list[list[tuple[int, int, float]]], lo: int, width: int
) -> None:
    built = [_part(p) for p in parts]
    hi = lo + width
    merged = first_wins(built, lo, hi)
    assert np.all(merged.start_s >= lo) and np.all(merged.end_s <= hi)
    assert np.all(merged.start_s < merged.end_s)
    assert np.all(merged.start_s[1:] >= merged.end_s[:-1])
    # Second by second, the value is the first provider's that covers it.
    for t in range(lo, hi):
        want = None
        for i, (s, e, v) in enumerate(built):
            hit = np.nonzero((s <= t) & (t < e))[0]
            if hit.shape[0]:
                want = (float(v[hit[0]]), i)
                break
        hit = np.nonzero((merged.start_s <= t) & (t < merged.end_s))[0]
        got = (float(merged.value[hit[0]]), int(merged.origin[hit[0]])) if hit.shape[0] else None
        assert got == want


def test_known_when_octopus_and_epex() -> None:
    agile = Publication(time(16, 0), ZoneInfo("Europe/London"), time(23, 0))
    before = int(datetime(2026, 1, 15, 15, 59, tzinfo=UTC).timestamp())
    after = int(datetime(2026, 1, 15, 16, 0, tzinfo=UTC).timestamp())
    assert known_until_s(agile, before) == int(datetime(2026, 1, 15, 23, tzinfo=UTC).timestamp())
    assert known_until_s(agile, after) == int(datetime(2026, 1, 16, 23, tzinfo=UTC).timestamp())
    assert known_until_s(agile, after, data_end_s=after + 60) == after + 60
    assert next_publication_s(agile, before) == after
    epex = Publication(time(13, 0), BERLIN)
    # The spring clock change: the next day has 23 hours, known up to its local midnight.
    noon = int(datetime(2026, 3, 28, 12, 30, tzinfo=UTC).timestamp())
    assert known_until_s(epex, noon) == int(datetime(2026, 3, 29, 22, tzinfo=UTC).timestamp())
