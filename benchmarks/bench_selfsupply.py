"""Benchmark the origin accounting: ``python benchmarks/bench_selfsupply.py [--repeat 5]``.

Resamples the UK 2018 year to 5 minutes (105,120 steps), runs the plain self-consumption battery
through it, then times :func:`gridpilot.simulator.selfsupply.self_supply` (the PV-share
recurrence included) and the whole :func:`compute_totals` it runs inside. Prints the best time of
``--repeat`` runs and the resulting figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridpilot.engine.battery import BatteryParams  # noqa: E402
from gridpilot.engine.commands import CommandKind  # noqa: E402
from gridpilot.recorded import load_data  # noqa: E402
from gridpilot.recorded.resample import resample  # noqa: E402
from gridpilot.simulator.accounting import (  # noqa: E402
    BillInputs,
    SiteSeries,
    compute_totals,
    run_fixed_command,
)
from gridpilot.simulator.selfsupply import self_supply  # noqa: E402

DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    s = resample(load_data(DATA), 300)
    load, pv = s.columns["load_w"], s.columns["pv_w"]
    params = BatteryParams(capacity_kwh=9.5, max_charge_w=3300, max_discharge_w=3300,
                           min_soc_pct=10.0)
    bat, grid, _ = run_fixed_command(CommandKind.SELF_CONSUMPTION, load, pv, 300, params, 10.0)
    # A night charge from the grid on top, so the pool mixes PV and grid energy.
    night = ((s.start_s // 3600) % 24 < 4) & (bat == 0)
    bat = np.where(night, -1000.0, bat)
    grid = load - pv - bat
    print(f"steps: {len(s)} at 300 s; battery moving in {int((bat != 0).sum())} of them")
    t_ss = best(lambda: self_supply(load, pv, bat, 300, charge_efficiency=0.95,
                                    discharge_efficiency=0.95), args.repeat)

    site = SiteSeries(start_s=s.start_s, step_s=300, load_w=load, pv_w=pv,
                      import_price=s.columns["import_price"],
                      export_price=s.columns["export_price"], tz=ZoneInfo("Europe/London"),
                      bill=BillInputs())

    def totals() -> object:
        return compute_totals(site, grid, bat, params)

    t_tot = best(totals, args.repeat)
    r = self_supply(load, pv, bat, 300, charge_efficiency=0.95, discharge_efficiency=0.95)
    print(f"self_supply:    {t_ss * 1000:7.1f} ms  ({len(s) / t_ss:,.0f} steps/s)")
    print(f"compute_totals: {t_tot * 1000:7.1f} ms")
    print(f"self_sufficiency {r.self_sufficiency:.3f}, self_consumption {r.self_consumption:.3f}, "
          f"grid_to_battery {r.grid_to_battery_kwh:.0f} kWh, pv_to_battery "
          f"{r.pv_to_battery_kwh:.0f} kWh")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
