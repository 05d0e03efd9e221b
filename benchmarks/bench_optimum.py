"""Benchmark the perfect-foresight optimum: ``python benchmarks/bench_optimum.py [--step 30m]``.

Builds and solves the LP for the UK 2018 year (17,520 half hours) with the battery of the Agile
example policy, once without and once with a demand charge, and prints the build+solve time, the
HiGHS solve time and the model size. Then it backtests the Agile example policy and the
three-strategy benchmark policy on the same year and prints their ``savings_captured``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridpilot.recorded import load_data  # noqa: E402
from gridpilot.recorded.resample import parse_step, resample  # noqa: E402
from gridpilot.rules.loader import load_policy  # noqa: E402
from gridpilot.simulator.accounting import BillInputs, SiteSeries  # noqa: E402
from gridpilot.simulator.backtest import run_backtest  # noqa: E402
from gridpilot.simulator.optimum import solve_optimum  # noqa: E402

AGILE = ROOT / "examples" / "policies" / "agile-dynamic.yaml"
BENCH = ROOT / "benchmarks" / "policies" / "bench-decide.yaml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--step", default="30m")
    ap.add_argument("--skip-policies", action="store_true",
                    help="only time the LP, skip the savings_captured backtests")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    policy = load_policy(AGILE)
    series = resample(load_data(DATA), parse_step(args.step))
    params = policy.battery
    c = series.columns
    site = SiteSeries(start_s=series.start_s, step_s=series.interval_s, load_w=c["load_w"],
                      pv_w=c["pv_w"], import_price=policy.tariff.import_prices(series.start_s),
                      export_price=policy.tariff.export_prices(series.start_s), tz=policy.tz)
    n = len(series)
    for demand in (0.0, 10.0):
        t0 = time.perf_counter()
        res = solve_optimum(replace(site, bill=BillInputs(demand_charge_per_kw=demand)),
                            params, params.min_soc_pct)
        wall = time.perf_counter() - t0
        print(f"optimum, {n} steps of {series.interval_s} s, demand charge {demand:g}/kW: "
              f"{wall:.2f} s wall (HiGHS {res.solve_s:.2f} s; goal at 5 minutes <= "
              f"{30 if demand else 5} s{'; stopped at the time limit' if res.timed_out else ''}), "
              f"energy+demand bill {res.bill:,.2f}, lower bound {res.objective_bound:,.2f} "
              f"(gap {res.gap:,.3f}; {res.binary_steps} direction binaries, "
              f"{res.rounds} solves)")
    if not args.skip_policies:
        for path in (AGILE, BENCH):
            pol = load_policy(path)
            t0 = time.perf_counter()
            bt = run_backtest(pol, series, optimal=True)
            wall = time.perf_counter() - t0
            sc = bt.savings_captured
            scb = bt.savings_captured_vs_bound
            print(f"{path.name}: bill {bt.policy.bill:,.2f}, no battery "
                  f"{bt.no_battery.bill:,.2f}, self-consumption "
                  f"{bt.self_consumption.bill:,.2f}, optimum "
                  f"{bt.optimum.bill if bt.optimum else float('nan'):,.2f} -> savings_captured "
                  f"{'n/a' if sc is None else f'{sc:.3f}'} (vs LP bound "
                  f"{'n/a' if scb is None else f'{scb:.3f}'}; full range "
                  f"{bt.savings_captured_full_range or float('nan'):.3f}); backtest {wall:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
