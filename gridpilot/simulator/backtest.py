"""One backtest: replay a policy, bill it, and bill the baselines and the optimum beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.engine.battery import BatteryParams
from gridpilot.recorded.base import TimeSeries
from gridpilot.simulator.accounting import BillInputs, SiteSeries, Totals, compute_totals
from gridpilot.simulator.baselines import baselines, optima, optima_key
from gridpilot.simulator.optimum import OptimumResult, savings_captured
from gridpilot.simulator.optimum_figures import OptimumFigures
from gridpilot.simulator.pricesource import (
    DEFAULT_PRICE_SOURCE,
    PRICE_COLUMNS,
    PriceSource,
    describe_prices,
    with_data_prices,
)
from gridpilot.simulator.replay import ReplayResult, replay
from gridpilot.simulator.storedcost import loss_making_discharge_kwh

if TYPE_CHECKING:
    from gridpilot.rules.policy import Policy

__all__ = ["Backtest", "always_on_reserve_pct", "cost", "run_backtest"]


@dataclass
class Backtest:
    """The outcome of :func:`run_backtest`."""

    policy_name: str
    currency: str
    replay: ReplayResult
    params: BatteryParams
    initial_soc_pct: float
    policy: Totals
    no_battery: Totals
    self_consumption: Totals
    self_consumption_soc_pct: np.ndarray
    tz: ZoneInfo
    """The site's timezone: months, days and plot axes are site-local."""
    optimum: Totals | None = None
    """The optimum that keeps the policy's always-on reserve (its floor:
    ``optimum_floor_soc_pct``); the headline ``savings_captured`` uses it."""
    optimum_result: OptimumResult | None = None
    optimal_cost_bound: float | None = None
    """A lower bound on ``bill + wear`` of every schedule with that floor (standing charge
    included); the optimum's cost minus it is ``optimum_gap``."""
    max_import_w: float | None = None
    optimum_floor_soc_pct: float | None = None
    """The lowest SOC the optimum used: the battery's minimum or an always-on reserve guard."""
    optimum_full_range: Totals | None = None
    """The same battery's optimum down to the device's minimum SOC (the reserve traded too)."""
    optimum_full_range_result: OptimumResult | None = None
    optimum_gap: float | None = None
    """How much cheaper than the reported optimum any schedule could still be [currency]."""
    optimum_key: str | None = None
    """:func:`~gridpilot.simulator.baselines.optima_key` of the optimum's inputs."""
    prices: PriceSource = DEFAULT_PRICE_SOURCE
    """Which prices decided and billed: ``policy`` (the tariff) or ``data`` (the file's)."""
    prices_note: str = ""
    """One line saying which prices were used (and which were not)."""
    loss_making_cycles_kwh: dict[str, float] = field(default_factory=dict)
    """Run name (``policy``, ``self_consumption``, ``optimum``) -> AC energy discharged in
    steps that earned less than the stored energy cost (:mod:`gridpilot.simulator.storedcost`)."""

    @property
    def savings_captured(self) -> float | None:
        """Share of the possible saving (against no battery) the policy takes, in cost (bill +
        wear on every side), against the optimum that keeps the always-on reserve."""
        if self.optimum is None:
            return None
        return savings_captured(cost(self.no_battery), cost(self.policy), cost(self.optimum))

    @property
    def savings_captured_full_range(self) -> float | None:
        """The same against the optimum free to use the reserve too (never above the headline)."""
        if self.optimum_full_range is None:
            return None
        return savings_captured(
            cost(self.no_battery), cost(self.policy), cost(self.optimum_full_range)
        )

    @property
    def savings_captured_vs_bound(self) -> float | None:
        """The headline share against the solver's lower bound: never above the true share."""
        if self.optimal_cost_bound is None:
            return None
        return savings_captured(cost(self.no_battery), cost(self.policy), self.optimal_cost_bound)

    def optimum_figures(self) -> OptimumFigures | None:
        """The optimum's figures without its schedules (``None`` without the optimum)."""
        if (self.optimum is None or self.optimum_full_range is None or self.optimum_key is None
                or self.optimum_floor_soc_pct is None or self.optimal_cost_bound is None
                or self.optimum_gap is None):
            return None
        return OptimumFigures(
            key=self.optimum_key,
            floor_soc_pct=self.optimum_floor_soc_pct,
            optimum=self.optimum,
            full_range=self.optimum_full_range,
            cost_bound=self.optimal_cost_bound,
            gap=self.optimum_gap,
            loss_making_kwh=self.loss_making_cycles_kwh["optimum"],
        )


def cost(totals: Totals) -> float:
    """What a run cost its owner: the bill plus battery wear."""
    return totals.bill + totals.wear_cost


def always_on_reserve_pct(policy: Policy, params: BatteryParams) -> float:
    """The highest ``backup_reserve`` guard without a window (0 when there is none), capped at
    the battery's maximum SOC."""
    floors = [
        g.min_soc_pct
        for g in policy.guards
        if g.kind == "backup_reserve" and g.window is None and g.min_soc_pct is not None
    ]
    return min(max(floors, default=0.0), params.max_soc_pct)


def run_backtest(
    policy: Policy,
    series: TimeSeries,
    *,
    optimal: bool = False,
    initial_soc_pct: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    prices: PriceSource = DEFAULT_PRICE_SOURCE,
    price_series: TimeSeries | None = None,
    known_optimum: OptimumFigures | None = None,
) -> Backtest:
    """Replay ``policy`` on ``series`` and bill it; with ``optimal`` also solve the
    perfect-foresight optimum on the same data. ``prices`` says whose prices decide and bill:
    the policy's tariff, or the data's price columns (:mod:`gridpilot.simulator.pricesource`),
    taken from ``price_series`` where given (it must cover ``series``, and may run past its end
    so that the last steps see the prices published by then). ``known_optimum``: the figures
    of this backtest's optimum from an earlier run of it, used instead of solving when their
    key is this backtest's (the result then has no optimum schedules, ``optimum_result``)."""
    note = describe_prices(prices, series.report.source,
                           all(c in series.columns for c in PRICE_COLUMNS))
    if prices == "data":
        policy = with_data_prices(policy, series if price_series is None else price_series)
    params = policy.battery
    soc0 = params.min_soc_pct if initial_soc_pct is None else float(initial_soc_pct)
    rep = replay(policy, series, initial_soc_pct=soc0, params=params, progress=progress)
    tariff = policy.tariff
    site = SiteSeries(
        start_s=rep.start_s,
        step_s=rep.step_s,
        load_w=rep.load_w,
        pv_w=rep.pv_w,
        import_price=rep.import_price,
        export_price=rep.export_price,
        tz=policy.tz,
        bill=BillInputs(
            standing_charge_per_day=tariff.standing_charge_per_day,
            demand_charge_per_kw=tariff.demand_charge_per_kw,
            currency=tariff.currency,
        ),
    )
    tz = policy.tz

    def totals(grid: np.ndarray, battery: np.ndarray) -> Totals:
        return compute_totals(site, grid, battery, params)

    # The same for every variant of a sweep: kept across backtests of the same inputs.
    base = baselines(site, params, soc0)
    out = Backtest(
        policy_name=policy.name,
        currency=tariff.currency,
        replay=rep,
        params=params,
        initial_soc_pct=soc0,
        policy=totals(rep.grid_w, rep.battery_w),
        no_battery=base.no_battery,
        self_consumption=base.self_consumption,
        self_consumption_soc_pct=base.self_consumption_soc_pct,
        tz=tz,
        max_import_w=policy.limits.max_import_w,
        prices=prices,
        prices_note=note,
    )

    def loss_making(battery: np.ndarray, soc0_pct: float) -> float:
        return loss_making_discharge_kwh(site, battery, params, soc0_pct)

    out.loss_making_cycles_kwh["policy"] = loss_making(rep.battery_w, soc0)
    out.loss_making_cycles_kwh["self_consumption"] = base.self_consumption_loss_making_kwh
    if optimal:
        # The headline optimum keeps the same always-on reserve the policy must keep: that
        # energy is for outages, not for trading. The full-range one shows what it costs.
        # Both are the same for every variant of a sweep that keeps the battery and the site.
        floor = max(always_on_reserve_pct(policy, params), params.min_soc_pct)
        floors = [floor] + ([params.min_soc_pct] if floor > params.min_soc_pct else [])
        cases = [(replace(params, min_soc_pct=f), max(soc0, f)) for f in floors]
        max_export_w = policy.limits.max_export_w
        out.optimum_floor_soc_pct = floor
        out.optimum_key = optima_key(site, cases, max_export_w=max_export_w)
        if known_optimum is not None and known_optimum.key == out.optimum_key:
            # The same inputs as the run that solved it: the same optimum, not solved again.
            out.optimum, out.optimum_full_range = known_optimum.optimum, known_optimum.full_range
            out.optimal_cost_bound = known_optimum.cost_bound
            out.optimum_gap = known_optimum.gap
            out.loss_making_cycles_kwh["optimum"] = known_optimum.loss_making_kwh
            return out
        solved = optima(site, cases, max_export_w=max_export_w)
        headline, full = solved[0], solved[-1]
        out.optimum_result, out.optimum = headline, totals(headline.grid_w, headline.battery_w)
        out.optimum_gap = headline.gap
        out.optimal_cost_bound = headline.objective_bound + out.optimum.standing_charge
        out.loss_making_cycles_kwh["optimum"] = loss_making(headline.battery_w,
                                                            max(soc0, floor))
        out.optimum_full_range_result = full
        out.optimum_full_range = out.optimum if full is headline else totals(full.grid_w,
                                                                              full.battery_w)
    return out
