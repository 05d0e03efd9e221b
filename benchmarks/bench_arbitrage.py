"""Benchmark tariff arbitrage: ``python benchmarks/bench_arbitrage.py [--step 5m] [--policy P]``.

Backtests the Agile example (``examples/policies/agile-dynamic.yaml``: the ``tariff_arbitrage``
planner with export, behind a 20 % backup reserve) on the UK 2018 year against the
perfect-foresight optimum, and prints savings_captured, the bills, how many plans the strategy
solved (fresh builds on new publications, warm re-solves on SOC drift), and the time the strategy
takes per tick and per solve.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridpilot.recorded import load_data  # noqa: E402
from gridpilot.recorded.resample import parse_step, resample  # noqa: E402
from gridpilot.rules.loader import load_policy  # noqa: E402
from gridpilot.simulator.backtest import run_backtest  # noqa: E402
from gridpilot.strategies import arbitrage_plan  # noqa: E402
from gridpilot.strategies.tariff_arbitrage import TariffArbitrage  # noqa: E402

POLICY = ROOT / "examples" / "policies" / "agile-dynamic.yaml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--step", default="30m")
    ap.add_argument("--policy", default=str(POLICY))
    args = ap.parse_args()

    policy = load_policy(args.policy)
    series = resample(load_data(DATA), parse_step(args.step))

    # Count and time the strategy's calls by wrapping them (the wrappers cost a little; the
    # figures are an upper bound on the strategy's share).
    timers = {"propose": [0, 0.0], "fresh": [0, 0.0], "warm": [0, 0.0]}

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        cell = timers[name]

        def wrapper(*a, **k):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                cell[0] += 1
                cell[1] += time.perf_counter() - t

        return wrapper

    propose = TariffArbitrage.propose
    solve, resolve = arbitrage_plan.solve_plan, arbitrage_plan.resolve_plan
    TariffArbitrage.propose = timed("propose", propose)  # type: ignore[method-assign]
    import gridpilot.strategies.tariff_arbitrage as ta

    ta.solve_plan = timed("fresh", solve)
    ta.resolve_plan = timed("warm", resolve)
    try:
        t0 = time.perf_counter()
        bt = run_backtest(policy, series, optimal=True)
        total_s = time.perf_counter() - t0
    finally:
        TariffArbitrage.propose = propose  # type: ignore[method-assign]
        ta.solve_plan, ta.resolve_plan = solve, resolve

    n = len(series)
    cur = bt.currency
    opt = bt.optimum
    assert opt is not None
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"policy: {Path(args.policy).name}; data: {DATA.name} at {series.interval_s} s "
          f"({n} ticks)")
    print(f"savings_captured: {bt.savings_captured:.3f} "
          f"(vs the LP bound {bt.savings_captured_vs_bound:.3f})")
    print(f"bills [{cur}]: no battery {bt.no_battery.bill:.2f}, self-consumption "
          f"{bt.self_consumption.bill:.2f}, policy {bt.policy.bill:.2f}, optimum {opt.bill:.2f}")
    calls, spent = timers["propose"]
    fresh_n, fresh_s = timers["fresh"]
    warm_n, warm_s = timers["warm"]
    print(f"replay loop: {bt.replay.elapsed_s:.2f} s; backtest with optimum: {total_s:.2f} s")
    print(f"strategy: {calls} proposals, {spent:.2f} s = {spent / max(calls, 1) * 1e6:.1f} us/call")
    print(f"  fresh plans: {fresh_n} x {fresh_s / max(fresh_n, 1) * 1e3:.2f} ms; "
          f"warm re-solves: {warm_n} x {warm_s / max(warm_n, 1) * 1e3:.2f} ms")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} "
          "(other work on the machine slows every figure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
