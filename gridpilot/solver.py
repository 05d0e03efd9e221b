"""The one place gridpilot builds a HiGHS solver.

HiGHS (from 1.16) prints a version banner on the process's stdout when a solver is built, from C,
before any option can silence it; a stray line there breaks every ``--json`` output. So the
solver is built with fd 1 on the null device (the banner is the only thing written then), and
every option that makes HiGHS write is switched off before it is handed out.
"""

from __future__ import annotations

import highspy

from gridpilot.stdio import fd_redirected

__all__ = ["new_highs"]


def new_highs(**options: bool | int | float | str) -> highspy.Highs:
    """A silent ``highspy.Highs`` with ``options`` set (e.g. ``presolve="off"``)."""
    with fd_redirected(None):
        solver = highspy.Highs()  # type: ignore[no-untyped-call]
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("log_to_console", False)
    for name, value in options.items():
        solver.setOptionValue(name, value)
    return solver
