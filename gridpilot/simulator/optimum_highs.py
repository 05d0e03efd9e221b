"""How the optimum runs HiGHS: quiet, at tight tolerances, again from scratch where a warm start
ends without a verdict, and once more with looser tolerances where the tight one alone makes a
programme infeasible."""

from __future__ import annotations

import highspy

from gridpilot.solver import new_highs, run_counting_threads

__all__ = ["new_lp_solver", "run_lp"]

_PRIMAL_TOL = 1e-9
"""How far HiGHS may leave a bound [kWh, W], in LPs and MILPs: its defaults (1e-7 and 1e-6) let
a full battery's stored energy pass its top by 1e-7 kWh, 2e-6 % of a 5 kWh battery, more than
the SOC check allows."""
_LOOSER_TOLS = (1e-8, 1e-7)
"""Tolerances a programme HiGHS calls infeasible at :data:`_PRIMAL_TOL` is solved again with:
the battery left idle is always a schedule, so that verdict comes from the tight tolerance (a
full battery under a PV surplus past the export limit, with negative prices, was one)."""
_INFEASIBLE = (highspy.HighsModelStatus.kInfeasible,
               highspy.HighsModelStatus.kUnboundedOrInfeasible)


_DEVEX = 1
"""HiGHS's ``simplex_dual_edge_weight_strategy`` for the optimum: Devex pricing. Its default
(``choose``) took 78 s of CPU for the relaxation of 30 days of recorded minutes with a demand
charge, Devex 57 s (steepest edge: 4.6 s for 7 days, against 2.3 s and 1.8 s); the bundled years
with a demand charge went from 2.84 to 2.39 s (30 minutes), 4.97 to 4.15 s (5) and 5.98 to 4.49 s
(1), to the same bills and bounds. The planner keeps HiGHS's default: its plans are tiny, and
which of several equal plans comes back decides its command."""


def new_lp_solver(presolve: str) -> highspy.Highs:
    """A quiet HiGHS instance at the optimum's tolerances and pricing."""
    solver = new_highs(presolve=presolve)
    solver.setOptionValue("primal_feasibility_tolerance", _PRIMAL_TOL)
    solver.setOptionValue("mip_feasibility_tolerance", _PRIMAL_TOL)
    solver.setOptionValue("simplex_dual_edge_weight_strategy", _DEVEX)
    return solver


def run_lp(solver: highspy.Highs) -> highspy.HighsModelStatus:
    """Run ``solver``; where it finds its programme infeasible, again with looser tolerances
    (:data:`_LOOSER_TOLS`), then back to the tight one for any later run of the same model."""
    run_counting_threads(solver)
    status = solver.getModelStatus()
    if status == highspy.HighsModelStatus.kUnknown:
        # From a warm basis HiGHS can end without a verdict (numerical trouble after a bound
        # move); from scratch the same programme solves.
        solver.clearSolver()
        solver.run()
        status = solver.getModelStatus()
    if status not in _INFEASIBLE:
        return status
    for tol in _LOOSER_TOLS:
        solver.setOptionValue("primal_feasibility_tolerance", tol)
        solver.setOptionValue("mip_feasibility_tolerance", tol)
        solver.run()
        status = solver.getModelStatus()
        if status not in _INFEASIBLE:
            break
    solver.setOptionValue("primal_feasibility_tolerance", _PRIMAL_TOL)
    solver.setOptionValue("mip_feasibility_tolerance", _PRIMAL_TOL)
    return status
