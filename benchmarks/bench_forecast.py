"""Benchmark the forecasts: ``python benchmarks/bench_forecast.py [--step 30m] [--days N]``.

Backtests the Agile example (``examples/policies/agile-dynamic.yaml``) on the UK 2018 year with
each forecast and prints ``savings_captured`` against the perfect-foresight optimum, and the
forecast's own errors (MAE of the net load, of the PV, skill against persistence):

- ``time_of_week``: today's default (net-load average per time-of-week bin), and with
  ``aggregate: median`` (the median of the weeks' means per bin);
- ``open_meteo`` with each replay form (``clear_sky``: the arrays' clear-sky power scaled by
  yesterday's clearness; ``persistence``: yesterday's PV), the load from its time-of-week
  average: what a PV-aware policy runs on in a backtest (no service is asked);
- ``gradient_boosting``: the ``ml`` extra's model of the net load (time of day, weekday,
  holiday, the same slot one and two weeks before), refitted daily on the last 8 weeks;
- ``true future``: the recorded net load itself, the ceiling no forecast can pass.

Forecast errors are the backtest's own (report.json's ``forecast``): every forecast the
strategy planned on, scored against the recorded interval of each slot; skill is against
persistence (the same slot a day earlier).

The PV in the data is a 4 kWp system near Oxford (examples/data/README.md); the arrays below
describe it (south, 35°, PVWatts' 14 % losses).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridpilot.forecasts.registry import FORECASTS, forecast_factory  # noqa: E402
from gridpilot.recorded import load_data  # noqa: E402
from gridpilot.recorded.resample import parse_step, resample  # noqa: E402
from gridpilot.rules.loader import load_policy  # noqa: E402
from gridpilot.simulator.backtest import run_backtest  # noqa: E402

POLICY = ROOT / "examples" / "policies" / "agile-dynamic.yaml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"
SITE = {"latitude_deg": 51.75, "longitude_deg": -1.26, "altitude_m": 70,
        "arrays": [{"kwp": 4, "tilt_deg": 35, "azimuth_deg": 180}]}


class TrueFuture:
    """The recorded net load of each slot: a forecast no real one can beat."""

    def __init__(self, start_s: np.ndarray, net_w: np.ndarray) -> None:
        self.start_s, self.net_w = start_s, net_w

    def observe(self, t: Any, load_w: float, pv_w: float) -> None:
        return None

    def forecast(self, slot_start_s: np.ndarray) -> np.ndarray:
        idx = np.clip(np.searchsorted(self.start_s, slot_start_s), 0, len(self.start_s) - 1)
        return self.net_w[idx]


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--step", default="30m")
    ap.add_argument("--days", type=int, default=0, help="only the first N days (0: the year)")
    ap.add_argument("--only", default="", help="only the forecasts whose name contains this")
    args = ap.parse_args()

    policy = load_policy(POLICY)
    series = resample(load_data(DATA), parse_step(args.step))
    if args.days:
        n = args.days * 86_400 // series.interval_s
        series = dataclasses.replace(series, start_s=series.start_s[:n], rows=None, columns={
            k: v[:n] for k, v in series.columns.items()})
    load, pv = series.columns["load_w"], series.columns["pv_w"]
    kind = FORECASTS.get("open_meteo")

    variants: dict[str, Any] = {
        "time_of_week (today)": policy.new_forecast,
        "time_of_week, aggregate median": forecast_factory(
            FORECASTS.get("time_of_week"), {"aggregate": "median"}, policy.tz),
        "open_meteo, replay clear_sky": forecast_factory(
            kind, {**SITE, "replay": "clear_sky"}, policy.tz),
        "open_meteo, clear_sky, median": forecast_factory(
            kind, {**SITE, "replay": "clear_sky", "aggregate": "median"}, policy.tz),
        "open_meteo, replay persistence": forecast_factory(
            kind, {**SITE, "replay": "persistence"}, policy.tz),
        "open_meteo, replay time_of_week": forecast_factory(
            kind, {**SITE, "replay": "time_of_week"}, policy.tz),
        "gradient_boosting (ml extra)": forecast_factory(
            FORECASTS.get("gradient_boosting"), {}, policy.tz),
        "true future": lambda: TrueFuture(series.start_s, load - pv),
    }
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"policy: {POLICY.name}; data: {DATA.name} at {series.interval_s} s "
          f"({len(series)} ticks)")
    print(f"{'forecast':32} {'captured':>8} {'bill':>9} {'MAE net W':>9} {'MAE pv W':>9} "
          f"{'skill':>6} {'time s':>7}")
    for name, make in variants.items():
        if args.only and args.only not in name:
            continue
        variant = dataclasses.replace(policy, forecast_factory=make)
        t0 = time.perf_counter()
        bt = run_backtest(variant, series, optimal=True)
        spent = time.perf_counter() - t0
        # The backtest scores the forecast it planned on (report.json's "forecast").
        f = bt.replay.forecast or {}
        pv_mae = f.get("pv_mae_w")
        skill = f.get("skill_vs_persistence")
        print(f"{name:32} {bt.savings_captured:8.3f} {bt.policy.bill:9.2f} "
              f"{f.get('net_mae_w', float('nan')):9.1f} "
              f"{'-' if pv_mae is None else f'{pv_mae:.1f}':>9} "
              f"{'-' if skill is None else f'{skill:.3f}':>6} {spent:7.1f}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
