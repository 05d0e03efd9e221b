"""Property: a price history written by ``prices fetch`` and read back by ``simulate
--price-history`` gives every instant the price, and every tick the horizon, the live side had."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.prices.base import PriceSlots
from gridpilot.rules.loader import load_policy
from gridpilot.simulator.pricehistory import history_rows, with_price_history, write_history_csv
from tests.prices.live_support import write_live_policy

T0 = int(datetime(2025, 1, 14, tzinfo=UTC).timestamp())
_DIR = Path(tempfile.mkdtemp(prefix="gridpilot-history-"))
POLICY = load_policy(write_live_policy(
    _DIR, {"provider": {"type": "octopus", "product": "AGILE-24-10-01", "region": "C"},
           "compose": {"add_per_kwh": 0.011, "vat_pct": 5, "fees": [
               {"time": "16:00-19:00", "price": 0.0733}]}},
    currency="GBP", timezone="Europe/London"))

prices = st.floats(min_value=-50, max_value=150, allow_nan=False).map(lambda v: round(v, 4))


@settings(max_examples=25, deadline=None)
@given(step=st.sampled_from([900, 1800, 3600]),
       values=st.lists(prices, min_size=2, max_size=120),
       holes=st.sets(st.integers(min_value=0, max_value=119), max_size=6))
def test_the_history_reads_back_what_the_live_side_held(step: int, values: list[float],
                                                        holes: set[int]) -> None:
    starts = np.array([T0 + i * step for i in range(len(values)) if i not in holes],
                      dtype=np.int64)
    vals = np.array([v for i, v in enumerate(values) if i not in holes])
    side = POLICY.tariff.import_side
    side.set_live([(PriceSlots(starts, starts + step, vals, "minor_per_kwh", "GBP", "t"),
                    "octopus")])
    end = T0 + len(values) * step
    rows = history_rows(POLICY.tariff, T0, end)
    path = _DIR / f"h{step}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        write_history_csv(rows, fh)
    if rows.start_s.shape[0] < 2:
        return  # a file of one row cannot tell its slot length
    back = with_price_history(POLICY, path).tariff.import_side
    grid = rows.start_s
    assert np.array_equal(back.prices_s(grid), side.prices_s(grid))  # bit for bit
    for t in (T0, T0 + 15 * 3600, T0 + 16 * 3600 + 60, end - 1):
        moment = datetime.fromtimestamp(t, UTC)
        if int(rows.start_s[-1]) + rows.resolution_s == int(side.series.last_end_s):
            assert back.known_until(moment) == side.known_until(moment)
    side.set_live([])
