"""How the optimum sets HiGHS up for its MILPs: no presolve (it called a dearer schedule optimal),
no sub-MILP searches where a MILP runs to its proof, and the root's reduced-cost search kept in
a window's MILP, which stops at its time cap with the best schedule found."""

from __future__ import annotations

from typing import Any

import highspy
import numpy as np
import pytest

from gridpilot.simulator import optimum as optimum_mod
from gridpilot.simulator import optimum_model
from gridpilot.simulator.optimum import solve_optimum

from .test_optimum_runs import P, _held, _site

# Free import, and export that pays at some steps: the optimum needs direction binaries.
RUNS = [(0.0, 0.0, 0.0, 0.0, 1), (0.0, 0.0, 0.0, 0.25, 2), (0.0, 0.0, 0.0, 0.0, 1),
        (0.0, 0.0, 0.0, 0.0, 1), (0.0, 2500.0, 0.0, 0.001953125, 3), (0.0, 0.0, 0.0, 0.25, 1)]


def _solvers(windows: bool) -> list[highspy.Highs]:
    made: list[highspy.Highs] = []

    def recording(real: Any) -> Any:
        def built(*args: Any, **kwargs: Any) -> Any:
            solver = real(*args, **kwargs)
            made.append(solver)
            return solver
        return built

    lengths = [r[4] for r in RUNS]
    cols = [_held([r[j] for r in RUNS], lengths) for j in range(4)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimum_model, "new_lp_solver", recording(optimum_model.new_lp_solver))
        patch.setattr(optimum_model, "new_milp_solver",
                      recording(optimum_model.new_milp_solver))
        if windows:
            patch.setattr(optimum_mod, "_EXACT_STEPS", 0)
        solve_optimum(_site(*cols), P, 20.0)
    return made


def _option(solver: highspy.Highs, name: str) -> Any:
    status, value = solver.getOptionValue(name)
    assert status == highspy.HighsStatus.kOk
    return value


def _is_milp(solver: highspy.Highs) -> bool:
    return bool(np.any(np.asarray(solver.getLp().integrality_, dtype=np.int64) != 0))


@pytest.mark.parametrize("windows", [False, True], ids=["whole horizon", "windows"])
def test_milps_run_without_presolve_or_sub_milp_searches(windows: bool) -> None:
    made = _solvers(windows)
    milps = [s for s in made if _is_milp(s)]
    assert milps, "the case needs direction binaries"
    for solver in milps:
        assert _option(solver, "presolve") == "off"
        assert _option(solver, "mip_heuristic_run_rins") is False
        assert _option(solver, "mip_heuristic_run_rens") is False
        # a window's MILP keeps the search that finds better schedules before its cap
        assert _option(solver, "mip_heuristic_run_root_reduced_cost") is windows
    if not windows:
        # the whole horizon's relaxations keep HiGHS's presolve
        assert any(_option(s, "presolve") == "choose" for s in made if not _is_milp(s))
