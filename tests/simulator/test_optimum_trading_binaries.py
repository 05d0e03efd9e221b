"""Once the relaxation imports and exports at once at one step, the next MILP has a binary on
every step where trading may pay, not only on that one: one round at a time, the relaxation moved
its trade to another step of about the same value round after round (3 to 8 MILPs a month)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gridpilot.recorded import load_data
from gridpilot.recorded.resample import parse_step, resample
from gridpilot.rules.loader import load_policy
from gridpilot.simulator import optimum_model
from gridpilot.simulator.accounting import BillInputs, SiteSeries
from gridpilot.simulator.optimum import solve_optimum

ROOT = Path(__file__).resolve().parents[2]


def _summer_days() -> tuple[SiteSeries, Any]:
    """Five June days of the bundled year at 5 minutes on the Agile example's tariff (1,440
    steps: one horizon, no windows), where its export pays more than its import at times."""
    policy = load_policy(ROOT / "examples/policies/agile-dynamic.yaml")
    year = resample(load_data(ROOT / "examples/data/uk-2018-halfhourly.csv"), parse_step("5m"))
    first = int(year.start_s[0]) + 160 * 86_400
    days = year.slice_time(first, first + 1440 * 300)
    tariff = policy.tariff
    site = SiteSeries(start_s=days.start_s, step_s=days.interval_s,
                      load_w=days.columns["load_w"], pv_w=days.columns["pv_w"],
                      import_price=tariff.import_prices(days.start_s),
                      export_price=tariff.export_prices(days.start_s), tz=policy.tz,
                      bill=BillInputs())
    return site, policy.battery


def test_a_trading_step_gives_every_trading_step_its_binary(
        monkeypatch: pytest.MonkeyPatch) -> None:
    site, params = _summer_days()
    rounds: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    real = optimum_model.OptimumModel.solve

    def recorded(self: optimum_model.OptimumModel, z_bin: np.ndarray, y_bin: np.ndarray,
                 time_left_s: float, **kwargs: Any) -> Any:
        got = real(self, z_bin, y_bin, time_left_s, **kwargs)
        if not kwargs:  # the lazy loop's rounds, not the repairs' LPs
            # (its binaries, the steps it may trade at, the steps its solution traded at)
            rounds.append((y_bin.copy(), self.may_trade.copy(), self.both(got[0])[1]))
        return got

    monkeypatch.setattr(optimum_model.OptimumModel, "solve", recorded)
    res = solve_optimum(site, params, params.min_soc_pct)
    assert len(rounds) >= 2, "the case must need a MILP"
    (none, trade, traded), (y_next, _, _) = rounds[0], rounds[1]
    assert not none.any()
    # the relaxation traded at a few of the steps that may trade...
    assert 0 < int(traded.sum()) < int(trade.sum())
    # ...and the MILP after it has a binary on every one of them
    assert np.array_equal(y_next, trade)
    assert res.binary_steps >= int(trade.sum())
