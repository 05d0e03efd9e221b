"""Benchmark the perfect-foresight optimum: ``python benchmarks/bench_optimum.py [--step 5m]``.

The UK 2018 year at ``--step`` (30m, 5m or 1m) with the battery of the Agile example policy:
the optimum once without and once with a demand charge (10 per kW), then the backtests of the
Agile example policy and the three-strategy benchmark policy with the optimum (skip them with
``--skip-policies``; ``--demand-charge X`` runs only that case). ``--real-minutes`` times the
optimum on a 1-minute year that does not repeat from minute to minute instead
(:func:`real_minutes_site`: recorded minute load; ``--days N`` for its first days only), where
the resampled UK year's half-hours would be solved as one step each. ``--months`` times the
optimum on single calendar months of the UK year at 30 minutes (January, April, July and
October, with and without the demand charge; ``--months all``: every month, and their total):
up to 1,500 steps, the whole horizon is solved by MILPs over all of it
(``gridpilot.simulator.optimum._EXACT_STEPS``) rather than by windows. Each case runs in a fresh
process, so that its peak memory is its own: the line shows its CPU time (the optimum's own, and
the whole process's), its peak RSS (``ru_maxrss``), the bill and the proven gap.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AGILE = ROOT / "examples" / "policies" / "agile-dynamic.yaml"
BENCH = ROOT / "benchmarks" / "policies" / "bench-decide.yaml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"
UCI = Path("/work/shared/data/uci-household/household_power_consumption_2006-12.txt")
DAY_MIN = 1440
GOAL_S = {("5m", False): 5.0, ("5m", True): 30.0, ("1m", False): 120.0, ("1m", True): 120.0}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _optimum_case(step: str, demand: float, month: int | None = None) -> dict[str, Any]:
    from datetime import datetime

    from gridpilot.recorded import load_data
    from gridpilot.recorded.resample import parse_step, resample
    from gridpilot.rules.loader import load_policy
    from gridpilot.simulator.accounting import BillInputs, SiteSeries
    from gridpilot.simulator.optimum import solve_optimum

    policy = load_policy(AGILE)
    series = resample(load_data(DATA), parse_step(step))
    if month is not None:
        start, end = (int(datetime(2018 + (m - 1) // 12, (m - 1) % 12 + 1, 1,
                                   tzinfo=policy.tz).timestamp()) for m in (month, month + 1))
        series = series.slice_time(start, end)
    params = policy.battery
    c = series.columns
    site = SiteSeries(start_s=series.start_s, step_s=series.interval_s, load_w=c["load_w"],
                      pv_w=c["pv_w"], import_price=policy.tariff.import_prices(series.start_s),
                      export_price=policy.tariff.export_prices(series.start_s), tz=policy.tz,
                      bill=BillInputs(demand_charge_per_kw=demand))
    before_mib = _peak_mib()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    res = solve_optimum(site, params, params.min_soc_pct)
    return {
        "steps": len(series), "cpu_s": time.process_time() - cpu0,
        "wall_s": time.perf_counter() - wall0, "highs_s": res.solve_s,
        "data_peak_mib": before_mib, "bill": res.bill, "bound": res.objective_bound,
        "gap": res.gap, "binaries": res.binary_steps, "rounds": res.rounds,
        "timed_out": res.timed_out,
    }


def real_minutes_site(days: int | None = None, demand: float = 0.0,
                      uci: Path = UCI) -> Any:
    """A UK 2018 year at 1 minute that does not repeat from one minute to the next: the UCI
    home's recorded minute load (its whole days, the few missing minutes held), laid day after
    day over the year in turn and each day scaled to the UK profile's energy that day (so the
    seasons stay the UK's and the shape within the day is a real home's); the UK PV interpolated
    linearly between its half-hour means (placed at each half-hour's middle); the Agile
    example's prices per minute (half-hourly). ``days`` keeps only the first days."""
    import numpy as np

    from gridpilot.recorded import load_data
    from gridpilot.recorded.resample import GapPolicy, resample
    from gridpilot.rules.loader import load_policy
    from gridpilot.simulator.accounting import BillInputs, SiteSeries

    policy = load_policy(AGILE)
    uk = load_data(DATA)
    home = resample(load_data(uci), 60, gaps=GapPolicy(method="hold"))
    first_day = -(-int(home.start_s[0]) // 86400) * 86400 - int(home.start_s[0])
    home_w = home.columns["load_w"][first_day // 60:]
    home_days = home_w[: home_w.size // DAY_MIN * DAY_MIN].reshape(-1, DAY_MIN)
    uk_days = uk.columns["load_w"].reshape(-1, 48)
    n_days = uk_days.shape[0] if days is None else days
    scale = uk_days[:n_days].mean(axis=1) / home_days.mean(axis=1)[np.arange(n_days)
                                                                     % home_days.shape[0]]
    load = (home_days[np.arange(n_days) % home_days.shape[0]] * scale[:, None]).ravel()
    n = n_days * DAY_MIN
    start = int(uk.start_s[0]) + 60 * np.arange(n, dtype=np.int64)
    mid = uk.start_s.astype(np.float64) + 900.0
    pv = np.interp(start + 30.0, mid, uk.columns["pv_w"])
    return SiteSeries(start_s=start, step_s=60, load_w=load, pv_w=pv,
                      import_price=policy.tariff.import_prices(start),
                      export_price=policy.tariff.export_prices(start), tz=policy.tz,
                      bill=BillInputs(demand_charge_per_kw=demand))


def _real_case(days: int | None, demand: float, uci: Path) -> dict[str, Any]:
    from gridpilot.rules.loader import load_policy
    from gridpilot.simulator.optimum import solve_optimum

    params = load_policy(AGILE).battery
    site = real_minutes_site(days, demand, uci)
    before_mib = _peak_mib()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    res = solve_optimum(site, params, params.min_soc_pct, time_limit_s=600.0)
    return {
        "steps": int(site.load_w.size), "cpu_s": time.process_time() - cpu0,
        "wall_s": time.perf_counter() - wall0, "highs_s": res.solve_s,
        "data_peak_mib": before_mib, "bill": res.bill, "bound": res.objective_bound,
        "gap": res.gap, "binaries": res.binary_steps, "rounds": res.rounds,
        "timed_out": res.timed_out,
    }


def _backtest_case(step: str, policy_path: str) -> dict[str, Any]:
    from gridpilot.recorded import load_data
    from gridpilot.recorded.resample import parse_step, resample
    from gridpilot.rules.loader import load_policy
    from gridpilot.simulator.backtest import run_backtest

    pol = load_policy(Path(policy_path))
    series = resample(load_data(DATA), parse_step(step))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    bt = run_backtest(pol, series, optimal=True)
    sc, scb = bt.savings_captured, bt.savings_captured_vs_bound
    return {
        "steps": len(series), "cpu_s": time.process_time() - cpu0,
        "wall_s": time.perf_counter() - wall0, "bill": bt.policy.bill,
        "no_battery": bt.no_battery.bill, "self_consumption": bt.self_consumption.bill,
        "optimum": bt.optimum.bill if bt.optimum else None, "sc": sc, "sc_bound": scb,
        "sc_full": bt.savings_captured_full_range,
    }


def _in_fresh_process(*args: str) -> dict[str, Any]:
    """Run one case in a new interpreter; its JSON line, with the process's CPU and peak RSS."""
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True,
                         capture_output=True, text=True).stdout
    got: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return got


def _child(args: argparse.Namespace) -> int:
    kind, step, what = args.child[:3]
    if kind == "real":
        got = _real_case(None if step == "year" else int(step), float(what), Path(args.child[3]))
    elif kind == "optimum":
        got = _optimum_case(step, float(what))
    elif kind == "month":
        got = _optimum_case("30m", float(what), int(step))
    else:
        got = _backtest_case(step, what)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    got["process_cpu_s"] = usage.ru_utime + usage.ru_stime
    got["peak_mib"] = _peak_mib()
    print(json.dumps(got))
    return 0


def _real_minutes(args: argparse.Namespace) -> int:
    span = "year" if args.days is None else str(args.days)
    for demand in args.demand_charge or [0.0, 10.0]:
        r = _in_fresh_process("real", span, str(demand), str(args.uci))
        print(f"optimum, recorded minutes ({span}{'' if span == 'year' else ' days'}), "
              f"{r['steps']} steps, demand charge {demand:g}/kW: "
              f"CPU {r['cpu_s']:.2f} s (process {r['process_cpu_s']:.2f} s, wall "
              f"{r['wall_s']:.2f} s, HiGHS {r['highs_s']:.2f} s; goal <= 120 s"
              f"{'; stopped at the time limit' if r['timed_out'] else ''}), "
              f"peak RSS {r['peak_mib']:.0f} MiB ({r['data_peak_mib']:.0f} MiB before solving; "
              f"goal <= 1536), bill {r['bill']:,.2f}, lower bound {r['bound']:,.2f} "
              f"(gap {r['gap']:,.3f}; {r['binaries']} direction binaries, {r['rounds']} solves)",
              flush=True)
    return 0


def _months(args: argparse.Namespace) -> int:
    months = range(1, 13) if args.months == "all" else (1, 4, 7, 10)
    total_s = 0.0
    for month in months:
        for demand in args.demand_charge or [0.0, 10.0]:
            r = _in_fresh_process("month", str(month), str(demand))
            total_s += r["cpu_s"]
            print(f"optimum, month {month} of 2018, {r['steps']} steps of 30m, demand charge "
                  f"{demand:g}/kW: CPU {r['cpu_s']:.2f} s (HiGHS {r['highs_s']:.2f} s"
                  f"{'; stopped at the time limit' if r['timed_out'] else ''}), bill "
                  f"{r['bill']:,.6f}, lower bound {r['bound']:,.6f} ({r['binaries']} direction "
                  f"binaries, {r['rounds']} solves)", flush=True)
    print(f"the optimum's CPU over these months: {total_s:.2f} s")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--step", default="30m", help="30m, 5m or 1m (the data is half-hourly)")
    ap.add_argument("--demand-charge", type=float, action="append",
                    help="only this demand charge per kW (repeatable; default 0 and 10)")
    ap.add_argument("--skip-policies", action="store_true",
                    help="only time the optimum, skip the policies' backtests")
    ap.add_argument("--real-minutes", action="store_true",
                    help="the optimum on a 1-minute year of recorded minute load that does not "
                         "repeat (real_minutes_site) instead of the resampled UK year")
    ap.add_argument("--days", type=int, help="with --real-minutes: only the first days")
    ap.add_argument("--uci", type=Path, default=UCI,
                    help="with --real-minutes: the UCI household minute file (format uci)")
    ap.add_argument("--months", nargs="?", const="four", choices=("four", "all"),
                    help="the optimum on single months at 30 minutes: four of them, or all")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; every case in a fresh process")
    if args.real_minutes:
        return _real_minutes(args)
    if args.months:
        return _months(args)
    for demand in args.demand_charge or [0.0, 10.0]:
        r = _in_fresh_process("optimum", args.step, str(demand))
        goal = GOAL_S.get((args.step, demand > 0))
        print(f"optimum, {r['steps']} steps of {args.step}, demand charge {demand:g}/kW: "
              f"CPU {r['cpu_s']:.2f} s (wall {r['wall_s']:.2f} s, HiGHS {r['highs_s']:.2f} s"
              f"{f'; goal <= {goal:g} s' if goal else ''}"
              f"{'; stopped at the time limit' if r['timed_out'] else ''}), "
              f"peak RSS {r['peak_mib']:.0f} MiB ({r['data_peak_mib']:.0f} MiB before solving), "
              f"energy+demand bill {r['bill']:,.2f}, lower bound {r['bound']:,.2f} "
              f"(gap {r['gap']:,.3f}; {r['binaries']} direction binaries, {r['rounds']} solves)")
    if not args.skip_policies:
        for path in (AGILE, BENCH):
            r = _in_fresh_process("backtest", args.step, str(path))
            sc, scb, scf = r["sc"], r["sc_bound"], r["sc_full"]
            print(f"{path.name}: bill {r['bill']:,.2f}, no battery {r['no_battery']:,.2f}, "
                  f"self-consumption {r['self_consumption']:,.2f}, optimum "
                  f"{r['optimum'] if r['optimum'] is not None else float('nan'):,.2f} -> "
                  f"savings_captured {'n/a' if sc is None else f'{sc:.3f}'} (vs LP bound "
                  f"{'n/a' if scb is None else f'{scb:.3f}'}; full range "
                  f"{float('nan') if scf is None else scf:.3f}); backtest CPU "
                  f"{r['cpu_s']:.1f} s (wall {r['wall_s']:.1f} s), peak RSS "
                  f"{r['peak_mib']:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
