"""A backtest's two optima (keeping the always-on reserve, and down to the device's minimum)
solve the second relaxation from the basis the first ended on: far fewer simplex iterations, the
same optimum."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from gridpilot.simulator import optimum as optimum_mod
from gridpilot.simulator import optimum_model
from gridpilot.simulator.optimum import solve_optima, solve_optimum

from .agile_site import agile_days


def _relaxations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, int]]:
    """(given another optimum's basis, simplex iterations) of each relaxation solved over
    every step (not a window's, not a repair's)."""
    seen: list[tuple[bool, int]] = []
    real = optimum_model.OptimumModel.solve

    def recorded(self: optimum_model.OptimumModel, z_bin: np.ndarray, y_bin: np.ndarray,
                 time_left_s: float, **kwargs: Any) -> Any:
        got = real(self, z_bin, y_bin, time_left_s, **kwargs)
        if not kwargs and not z_bin.any() and not y_bin.any() and not self.capped:
            assert self._warm is not None
            seen.append((self.start is not None,
                         int(self._warm.solver.getInfo().simplex_iteration_count)))
        return got

    monkeypatch.setattr(optimum_model.OptimumModel, "solve", recorded)
    return seen


@pytest.mark.parametrize("windows", [False, True], ids=["whole horizon", "windows"])
@pytest.mark.parametrize("demand_charge", [0.0, 10.0])
def test_the_second_optimum_starts_from_the_first_relaxation(
        windows: bool, demand_charge: float, monkeypatch: pytest.MonkeyPatch) -> None:
    site, params = agile_days(150, 7, demand_charge_per_kw=demand_charge)  # a summer week
    cases = [(replace(params, min_soc_pct=20.0), 20.0), (params, params.min_soc_pct)]
    if windows:
        monkeypatch.setattr(optimum_mod, "_EXACT_STEPS", 0)
    relaxations = _relaxations(monkeypatch)
    alone = [solve_optimum(site, p, soc) for p, soc in cases]
    fresh = relaxations[:]
    del relaxations[:]
    together = solve_optima(site, cases)
    assert [given for given, _ in fresh] == [False, False]
    assert [given for given, _ in relaxations] == [False, True]
    # the second relaxation from the first one's basis
    assert relaxations[1][1] * 5 < fresh[1][1]
    for a, b in zip(alone, together, strict=True):
        assert b.objective == pytest.approx(a.objective, abs=1e-9)
        assert b.objective_bound == pytest.approx(a.objective_bound, abs=1e-9)
        assert b.timed_out == a.timed_out
