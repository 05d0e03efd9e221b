"""The one place gridpilot builds a HiGHS solver.

HiGHS (from 1.16) prints a version banner on the process's stdout when a solver is built, from C,
before any option can silence it; a stray line there breaks every ``--json`` output. So the
solver is built with fd 1 on the null device (the banner is the only thing written then), and
every option that makes HiGHS write is switched off before it is handed out.

Every solver is also told the worker count of its thread's HiGHS scheduler
(:func:`scheduler_threads`), which gridpilot starts with one worker.
"""

from __future__ import annotations

import os
import threading

import highspy
import numpy as np

from gridpilot.stdio import fd_redirected

__all__ = ["new_highs", "run_counting_threads", "scheduler_threads"]

_local = threading.local()


def new_highs(**options: bool | int | float | str) -> highspy.Highs:
    """A silent ``highspy.Highs`` with ``options`` set (e.g. ``presolve="off"``), its
    ``threads`` this thread's scheduler's count unless ``options`` say otherwise."""
    solver = _silent_highs()
    threads = scheduler_threads()
    if threads:
        solver.setOptionValue("threads", threads)
    for name, value in options.items():
        solver.setOptionValue(name, value)
    return solver


def scheduler_threads() -> int:
    """The worker count of this thread's HiGHS scheduler (HiGHS keeps one per thread), started
    with one worker if no solver in this thread has run yet; 0 if no count is accepted.

    One worker, because a second one mostly spins beside the simplex: on the 2-core machine of
    the README's table, the optimum of the bundled 5-minute year took 5.23 s of CPU with
    HiGHS's default of two and 4.08 s with one, in about the same wall time (3.87 s and 4.08 s;
    3.90 s and 3.84 s in another pair of runs) and to the same schedule, and sweeps and fleets
    run one process per core besides. A MILP that stops at its time limit finds a little less in
    that time with one: the README's year of recorded minutes ends 0.014 GBP from its bound
    instead of 0.012. The count is given to every solver: with ``threads`` at 0 HiGHS 1.16
    reads the CPU topology under /sys twice a run (7 % of the arbitrage planner's HiGHS time on
    the bundled Agile year), but it refuses to run if the count given differs from its
    scheduler's. So the count is found by trying from one up: where this thread has no
    scheduler yet, the first try starts it with one worker; where another solver started one,
    the count it has is the one accepted.
    """
    found: int | None = getattr(_local, "threads", None)
    if found is None:
        probe = _silent_highs()
        probe.setOptionValue("presolve", "off")
        probe.passModel(_probe_model())
        found = 0
        for threads in range(1, 4 * (os.cpu_count() or 1) + 1):
            probe.setOptionValue("threads", threads)
            if probe.run() == highspy.HighsStatus.kOk:
                found = threads
                break
        _local.threads = found
    return found


def run_counting_threads(solver: highspy.Highs) -> highspy.HighsStatus:
    """Run ``solver``; if HiGHS refuses its thread count (a solver built in one thread and run
    in another whose scheduler has another count), let HiGHS count instead and run again."""
    status = solver.run()
    if status == highspy.HighsStatus.kError:
        solver.setOptionValue("threads", 0)
        status = solver.run()
    return status


def _silent_highs() -> highspy.Highs:
    with fd_redirected(None):
        solver = highspy.Highs()  # type: ignore[no-untyped-call]
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("log_to_console", False)
    return solver


def _probe_model() -> highspy.HighsLp:
    """A one-column programme, solved only to set up and probe HiGHS's scheduler."""
    lp = highspy.HighsLp()
    lp.num_col_ = 1
    lp.col_cost_ = np.ones(1)
    lp.col_lower_ = np.zeros(1)
    lp.col_upper_ = np.ones(1)
    return lp
