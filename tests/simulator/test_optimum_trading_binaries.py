"""Once the relaxation imports and exports at once at one step, the next MILP has a binary on
every step where trading may pay, not only on that one: one round at a time, the relaxation moved
its trade to another step of about the same value round after round (3 to 8 MILPs a month)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gridpilot.simulator import optimum_model
from gridpilot.simulator.optimum import solve_optimum

from .agile_site import agile_days


def test_a_trading_step_gives_every_trading_step_its_binary(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # five June days at 5 minutes (1,440 steps: one horizon, no windows), where the Agile
    # example's export pays more than its import at times
    site, params = agile_days(160, 5, step="5m")
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
