"""What a backtest compares its policy with: the site without a battery, the same battery on
plain self-consumption, and (``--optimal``) its perfect-foresight optimum, over the same data,
prices and bill.

None of them depends on what the policy decides. A sweep backtests many variants of one policy
on one site's data, and its variants usually change only what the policy decides, so each would
compute the very same baselines (the self-consumption run is a Python loop over every step,
about a tenth of a 5-minute year's backtest) and the very same optimum (several times the whole
replay). They are kept for the next backtest with the same inputs: every array of the site, its
step, timezone and bill, the battery and its starting SOC, as one digest; for the optimum also
its floor (in the battery) and the site's export limit. A kept optimum is also the same one for
every variant: an optimum that stopped at a time limit is not solved again to a slightly
different schedule, so the variants' ``savings_captured`` compare against one reference.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from gridpilot.arrays import FloatArray
from gridpilot.engine.battery import BatteryParams
from gridpilot.engine.commands import CommandKind
from gridpilot.simulator.accounting import (
    SiteSeries,
    Totals,
    compute_totals,
    no_battery_flows,
    run_fixed_command,
)
from gridpilot.simulator.kept import Kept
from gridpilot.simulator.optimum import OptimumResult, solve_optima
from gridpilot.simulator.storedcost import loss_making_discharge_kwh

__all__ = ["Baselines", "baselines", "optima", "optima_key"]

_kept: Kept[Baselines] = Kept(4)
"""A few MB each for a year of 5-minute steps."""
_optima: Kept[tuple[OptimumResult, ...]] = Kept(4)
"""A backtest's one or two optima (the one that keeps the always-on reserve, and the one down
to the device's minimum): about 4 MB each for a year of 5-minute steps."""


@dataclass(frozen=True, slots=True)
class Baselines:
    no_battery: Totals
    self_consumption: Totals
    self_consumption_soc_pct: FloatArray
    """SOC at the end of each step of the self-consumption run (read-only: it may be shared)."""
    self_consumption_loss_making_kwh: float


def baselines(site: SiteSeries, params: BatteryParams, initial_soc_pct: float) -> Baselines:
    """The baselines of a backtest on ``site`` with ``params``, starting at ``initial_soc_pct``."""
    key = _key(_digest(site), site, params, initial_soc_pct)
    found = _kept.get(key)
    if found is not None:
        return found
    nb_bat, nb_grid = no_battery_flows(site.load_w, site.pv_w)
    sc_bat, sc_grid, sc_soc = run_fixed_command(
        CommandKind.SELF_CONSUMPTION, site.load_w, site.pv_w, site.step_s, params,
        initial_soc_pct,
    )
    sc_soc.setflags(write=False)
    out = Baselines(
        no_battery=compute_totals(site, nb_grid, nb_bat, None),
        self_consumption=compute_totals(site, sc_grid, sc_bat, params),
        self_consumption_soc_pct=sc_soc,
        self_consumption_loss_making_kwh=loss_making_discharge_kwh(
            site, sc_bat, params, initial_soc_pct),
    )
    _kept.put(key, out)
    return out


def optima(site: SiteSeries, cases: Sequence[tuple[BatteryParams, float]], *,
           max_export_w: float | None = None) -> tuple[OptimumResult, ...]:
    """:func:`~gridpilot.simulator.optimum.solve_optima` of these cases (a battery and its
    starting SOC each), solved once for all the backtests that ask for the same ones (their
    arrays are read-only: they may be shared). The cases are kept together, as they are solved:
    a later case starts from an earlier one's relaxation, so one kept without the other could
    come back as another schedule of the same cost."""
    key = _optima_key(site, cases, max_export_w)
    found = _optima.get(key)
    if found is not None:
        return found
    solved = tuple(solve_optima(site, cases, max_export_w=max_export_w))
    for res in solved:
        for arr in (res.battery_w, res.grid_w, res.import_w, res.export_w, res.soc_pct):
            arr.setflags(write=False)
    _optima.put(key, solved)
    return solved


def optima_key(site: SiteSeries, cases: Sequence[tuple[BatteryParams, float]], *,
               max_export_w: float | None = None) -> str:
    """Every input of :func:`optima` of these cases, as one digest: two backtests with the same
    one have the same optima (what a fleet's row keeps of its optimum is checked against it)."""
    return hashlib.blake2b(repr(_optima_key(site, cases, max_export_w)).encode(),
                           digest_size=20).hexdigest()


def _optima_key(site: SiteSeries, cases: Sequence[tuple[BatteryParams, float]],
                max_export_w: float | None) -> Hashable:
    digest = _digest(site)
    return (tuple(_key(digest, site, params, soc) for params, soc in cases), repr(max_export_w))


def _digest(site: SiteSeries) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for arr in (site.start_s, site.load_w, site.pv_w, site.import_price, site.export_price):
        digest.update(str(arr.dtype).encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _key(digest: str, site: SiteSeries, params: BatteryParams,
         initial_soc_pct: float) -> Hashable:
    # The reprs of frozen dataclasses of floats and strings: a float's repr is exact.
    rest = repr((int(site.start_s.shape[0]), site.step_s, site.tz.key, site.bill, params,
                 float(initial_soc_pct)))
    return (digest, rest)
