"""How the optimum runs HiGHS: quiet, at tight tolerances, again from scratch where a warm start
ends without a verdict, and once more with looser tolerances where the tight one alone makes a
programme infeasible."""

from __future__ import annotations

import highspy

from gridpilot.solver import new_highs, run_counting_threads

__all__ = ["new_lp_solver", "new_milp_solver", "run_lp"]

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


_SUB_MIP_SEARCHES = ("mip_heuristic_run_rins", "mip_heuristic_run_rens")
"""HiGHS heuristics that solve smaller MILPs in search of a schedule, off in every MILP of the
optimum. On the months measured HiGHS found the optimal schedule at the root by its cheaper
heuristics and proved it there; these searches took most of its time (one MILP of July at 30
minutes: 3.4 of its 4.1 s, in twelve sub-MILPs) and changed no bill and no bound
(``bench_optimum.py --months``, ``--step 30m|5m|1m``, ``--real-minutes``, and the Economy 7
example on the UCI home's minutes)."""
_PROOF_SEARCHES = ("mip_heuristic_run_root_reduced_cost",)
"""Off too where a MILP runs to its proof (the whole horizon), which took July at 30 minutes from
5.9 to 3.6 s of CPU; on in a window's MILP, which stops at its time cap with the best schedule
found: without it, the recorded-minute year's gap grew from 0.013 to 0.016 GBP and the Economy 7
example's on the UCI minutes from 0.0048 to 0.0072."""


def new_milp_solver(*, capped: bool) -> highspy.Highs:
    """A solver for one of the optimum's MILPs; ``capped``: it stops at a short time cap with the
    best schedule found (a window's).

    No presolve: with it, HiGHS 1.16 called a schedule optimal, with its bound equal to its cost,
    while another that the battery can run cost 1.5e-4 less (a 9-step case kept in the tests);
    HiGHS's tracker has such MIP presolve reports (ERGO-Code/HiGHS #3043, #3094). Without it the
    same MILP finds the cheaper one."""
    solver = new_lp_solver("off")
    for heuristic in _SUB_MIP_SEARCHES + (() if capped else _PROOF_SEARCHES):
        solver.setOptionValue(heuristic, False)
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
