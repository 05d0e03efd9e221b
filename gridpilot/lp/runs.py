"""Runs of consecutive steps that are the same programme, solved as one step each.

Where every datum of the battery programme (:mod:`gridpilot.lp.battery`) is the same over
consecutive steps (step length, net load, prices, costs, column bounds, month, whether the
step carries a relaxed direction constraint), the LP over those steps has the same optimum as the
LP with one step in their place, as long as all of them together:

- any solution, averaged over the run, is a solution of the merged step at the same cost: every
  constraint is linear and the same on each step, the stored energy at the run's ends is kept,
  and a monthly peak at or above each step's import is at or above their average;
- the merged step's solution, held on each step of the run with the stored energy moving
  linearly between the run's ends, is a solution of the original at the same cost: the energy
  within the run lies between two values that obey the same bounds (which is why a step only
  joins a run when its predecessor's energy bounds are the same too).

Data resampled from half-hours to 5 or 1 minutes is constant over each half-hour, so its LP is
no bigger than the half-hourly one. A step with a direction binary is never merged: one binary
over a run would hold one direction over all of it, a restriction rather than the same
programme.

Where each step of a run must import or export but not both, the run is *counted* instead
(:func:`counted_rows`): an integer ``m`` of its ``k`` steps import, the rest export. Each
direction's steps lie in a polytope (import only, or export only), and ``m`` copies of a
polytope sum to ``m`` times it, so with the flows of the importing steps as columns of their
own the run's total is linear in ``m`` and those flows: the exact set of what ``k`` such steps
can do together, with one integer instead of ``k`` interchangeable binaries (whose symmetry
makes a MILP slow to prove). Run back out (:func:`order_counted`), each direction's steps share
its flows, ordered so the stored energy stays within its bounds: when the bounds are at least
one importing and one exporting step's energy apart, taking an importing step whenever it
fits and an exporting one otherwise never leaves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.lp.battery import BatteryLP, Rows

__all__ = ["Counted", "Runs", "counted_rows", "equal_runs", "order_counted"]


@dataclass(frozen=True, slots=True)
class Runs:
    """A partition of ``n`` steps into runs of consecutive steps."""

    first: IntArray
    """First step of each run."""
    length: IntArray
    """Steps in each run."""
    of_step: IntArray
    """Run of each step."""

    @property
    def count(self) -> int:
        return int(self.first.size)

    def spread(self, per_run: FloatArray) -> FloatArray:
        """A value per run held on each of its steps (a power over the run)."""
        return per_run[self.of_step]

    def spread_energy(self, end_kwh: FloatArray, start_kwh: float) -> FloatArray:
        """Stored energy at each step's end, moving linearly from the energy before each run
        (``start_kwh`` before the first) to the run's end energy ``end_kwh``."""
        before = np.empty_like(end_kwh)
        if before.size:
            before[0] = start_kwh
            before[1:] = end_kwh[:-1]
        run = self.of_step
        share = (np.arange(run.size) - self.first[run] + 1) / self.length[run]
        return np.asarray(before[run] + share * (end_kwh[run] - before[run]), dtype=np.float64)


def equal_runs(keys: Sequence[npt.NDArray[np.generic]], n: int) -> Runs:
    """The longest runs of consecutive steps over which every array of ``keys`` (one value per
    step, ``n`` steps) stays the same."""
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    first = np.flatnonzero(change).astype(np.int64)
    length = np.diff(np.append(first, n)).astype(np.int64)
    of_step = (np.cumsum(change) - 1).astype(np.int64)
    return Runs(first=first, length=length, of_step=of_step)


@dataclass(frozen=True, slots=True)
class Counted:
    """The columns a counted run adds after a model's own (``offset`` on): per counted run, the
    importing steps' charge and discharge (their sum over the run divided by its length, as the
    run's own flows are), then the count ``m`` of importing steps."""

    runs: IntArray
    """Steps of the programme (one per run) that are counted."""
    steps: IntArray
    """How many original steps each counted run holds (``k``)."""
    offset: int

    @property
    def count(self) -> int:
        return int(self.runs.size)

    def columns(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The importing steps' charge and discharge [W] and their count, from a solution."""
        q, o = self.count, self.offset
        return x[o:o + q], x[o + q:o + 2 * q], x[o + 2 * q:o + 3 * q]


def counted_rows(lp: BatteryLP, upper: FloatArray, runs: IntArray, steps: IntArray,
                 offset: int) -> tuple[Counted, FloatArray, FloatArray, Rows]:
    """The columns (lower and upper bounds; no cost; the counts integer) and rows that count
    ``runs`` of ``lp`` (``steps`` original steps each) as the module docstring says. With
    ``u = m / k`` the share of importing steps and ``c1``, ``d1`` their flows:

        i + d1 - c1 = net u       (the importing steps' balance; the exporting steps' follows)
        i <= I u,  x <= X (1 - u),  c1 <= C u,  d1 <= D u,
        0 <= c - c1 <= C (1 - u),  0 <= d - d1 <= D (1 - u)

    with ``I``, ``X``, ``C``, ``D`` the run's column bounds in ``upper``."""
    n, q = lp.n, int(runs.size)
    cnt = Counted(runs=runs, steps=steps, offset=offset)
    caps = lp.columns(upper)
    k = steps.astype(np.float64)
    imax, xmax = caps.import_w[runs], caps.export_w[runs]
    cmax, dmax = caps.charge_w[runs], caps.discharge_w[runs]
    net = lp.row_lo[runs]  # the balance rows' right-hand side is the net load
    col_lo = np.zeros(3 * q)
    col_hi = np.concatenate((cmax, dmax, k))
    c, d, i, x = runs, n + runs, 2 * n + runs, 3 * n + runs
    c1 = offset + np.arange(q)
    d1, m = c1 + q, c1 + 2 * q
    one, zero, inf = np.ones(q), np.zeros(q), np.full(q, np.inf)
    # (columns, values, lower, upper) of each row kind, one row per counted run
    kinds = [
        ((i, d1, c1, m), (one, one, -one, -net / k), zero, zero),
        ((i, m), (one, -imax / k), -inf, zero),
        ((x, m), (one, xmax / k), -inf, xmax),
        ((c1, m), (one, -cmax / k), -inf, zero),
        ((d1, m), (one, -dmax / k), -inf, zero),
        ((c, c1, m), (one, -one, cmax / k), -inf, cmax),
        ((d, d1, m), (one, -one, dmax / k), -inf, dmax),
        ((c, c1), (one, -one), zero, inf),
        ((d, d1), (one, -one), zero, inf),
    ]
    index: list[npt.NDArray[np.int64]] = []
    value: list[FloatArray] = []
    sizes: list[npt.NDArray[np.int64]] = []
    lower: list[FloatArray] = []
    upper_rows: list[FloatArray] = []
    for cols, vals, lo, hi in kinds:
        index.append(np.column_stack([np.asarray(col, dtype=np.int64) for col in cols]).ravel())
        value.append(np.column_stack(vals).ravel())
        sizes.append(np.full(q, len(cols), dtype=np.int64))
        lower.append(lo)
        upper_rows.append(hi)
    start = np.concatenate(([0], np.cumsum(np.concatenate(sizes))[:-1]))
    rows = Rows(lower=np.concatenate(lower), upper=np.concatenate(upper_rows),
                start=start.astype(np.int32), index=np.concatenate(index).astype(np.int32),
                value=np.concatenate(value))
    return cnt, col_lo, col_hi, rows


def order_counted(
    k: int, m: int, first: FloatArray, second: FloatArray, gain_first_kwh: float,
    gain_second_kwh: float, start_kwh: float, lo_kwh: float, hi_kwh: float,
) -> tuple[FloatArray, FloatArray]:
    """The ``k`` steps of one counted run in an order that keeps the stored energy within
    ``lo_kwh..hi_kwh`` (module docstring): ``m`` steps of flows ``first`` (each gaining
    ``gain_first_kwh``) and ``k - m`` of ``second``. The flows per step (one row each) and the
    stored energy at each step's end."""
    flows = np.empty((k, first.size))
    stored = np.empty(k)
    e, left_first, left_second = start_kwh, m, k - m
    for j in range(k):
        take_first = left_first > 0 and (
            left_second == 0 or e + gain_first_kwh <= hi_kwh if gain_first_kwh > 0
            else left_second == 0 or e + gain_first_kwh >= lo_kwh
        )
        if take_first:
            flows[j], e, left_first = first, e + gain_first_kwh, left_first - 1
        else:
            flows[j], e, left_second = second, e + gain_second_kwh, left_second - 1
        stored[j] = e
    return flows, stored
