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

``python benchmarks/bench_forecast.py --cost`` measures instead what the default forecast and the
calendar cost a replay of the year at 5 minutes (``--step``), in CPU time, best of 3: a reading
learnt one ``observe`` at a time or in one ``observe_many`` batch per 30-minute price slot, a
48-hour forecast once per slot (of the slots, or of their grid: ``forecast_grid``), scoring
those forecasts, and the calendar codes of the bench policy's windows
(``benchmarks/policies/bench-decide.yaml``) read minute by minute (``code_at``), for every
tick at once (``codes_at``), or per tick after ``codes_at`` (which keeps them).

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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridpilot.calendar.table import CalendarTable  # noqa: E402
from gridpilot.engine.model import engine_model  # noqa: E402
from gridpilot.forecasts.evaluate import Scorer  # noqa: E402
from gridpilot.forecasts.providers import TimeOfWeekAverage  # noqa: E402
from gridpilot.forecasts.registry import FORECASTS, forecast_factory  # noqa: E402
from gridpilot.recorded import load_data  # noqa: E402
from gridpilot.recorded.resample import parse_step, resample  # noqa: E402
from gridpilot.rules.loader import load_policy  # noqa: E402
from gridpilot.simulator.backtest import run_backtest  # noqa: E402

POLICY = ROOT / "examples" / "policies" / "agile-dynamic.yaml"
BENCH_POLICY = ROOT / "benchmarks" / "policies" / "bench-decide.yaml"
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
    ap.add_argument("--cost", action="store_true",
                    help="the CPU cost of the default forecast and the calendar codes instead")
    args = ap.parse_args()
    if args.cost:
        return cost(args.step if "--step" in sys.argv else "5m")

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


def _best_cpu_s(run: Callable[[], object], repeat: int = 3) -> float:
    spent = []
    for _ in range(repeat):
        c0 = time.process_time()
        run()
        spent.append(time.process_time() - c0)
    return min(spent)


def cost(step: str) -> int:
    policy = load_policy(BENCH_POLICY)
    series = resample(load_data(DATA), parse_step(step))
    t_s = series.start_s
    load, pv = series.columns["load_w"], series.columns["pv_w"]
    slot_s, horizon = 1800, 96
    # The ticks of each price slot: a replay forecasts once per slot, after its first tick.
    slot_of = (t_s // slot_s).tolist()
    firsts = [i for i in range(len(slot_of)) if i == 0 or slot_of[i] != slot_of[i - 1]]
    bounds = [*firsts, len(slot_of)]
    times, loads, pvs = t_s.tolist(), load.tolist(), pv.tolist()
    stamps = [datetime.fromtimestamp(t, UTC) for t in times]
    horizons = [int(t_s[i]) - int(t_s[i]) % slot_s + slot_s * np.arange(horizon, dtype=np.int64)
                for i in firsts]

    def one_by_one(forecast: bool) -> None:
        f = TimeOfWeekAverage(policy.tz)
        observe = f.observe
        for k, i in enumerate(firsts):
            observe(stamps[i], loads[i], pvs[i])
            if forecast:
                f.forecast(horizons[k])
            for j in range(i + 1, bounds[k + 1]):
                observe(stamps[j], loads[j], pvs[j])

    def batched(forecast: bool, grid: bool = False) -> None:
        f = TimeOfWeekAverage(policy.tz)
        done = 0
        for k, i in enumerate(firsts):
            # Array slices, as the replay passes them.
            f.observe_many(t_s[done:i + 1], load[done:i + 1], pv[done:i + 1])
            done = i + 1
            if forecast and grid:
                f.forecast_grid(int(horizons[k][0]), slot_s, horizon)
            elif forecast:
                f.forecast(horizons[k])
        f.observe_many(t_s[done:], load[done:], pv[done:])

    def gridded(forecast: bool) -> None:
        batched(forecast, grid=True)

    n, calls = len(times), len(firsts)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"data: {DATA.name} at {series.interval_s} s ({n} ticks, {calls} forecasts of "
          f"{horizon} slots); CPU time, best of 3")
    for name, run in (("one observe per reading", one_by_one), ("observe_many per slot", batched),
                      ("the same, forecast_grid", gridded)):
        learn = _best_cpu_s(lambda run=run: run(False))  # type: ignore[misc]
        both = _best_cpu_s(lambda run=run: run(True))  # type: ignore[misc]
        print(f"  time_of_week, {name:24}: learning {learn:.3f} s ({learn / n * 1e6:.2f} us a "
              f"reading); forecasts {both - learn:.3f} s ({(both - learn) / calls * 1e6:.1f} us "
              f"a call); together {both:.3f} s")
    f = TimeOfWeekAverage(policy.tz)
    issued = []
    done = 0
    for k, i in enumerate(firsts):
        f.observe_many(t_s[done:i + 1], load[done:i + 1], pv[done:i + 1])
        done = i + 1
        issued.append((times[i], horizons[k], f.forecast(horizons[k])))

    def scoring() -> object:
        scorer = Scorer(t_s, load, pv)
        for t, slots, net in issued:
            scorer.score(t, slots, net)
        return scorer.result()

    spent = _best_cpu_s(scoring)
    print(f"  scoring the {calls} forecasts against the recording (Scorer, as a backtest does): "
          f"{spent:.3f} s ({spent / calls * 1e6:.1f} us a forecast)")
    windows = engine_model(policy).calendar.windows

    def minute_by_minute() -> list[int]:
        table = CalendarTable(windows)
        return [table.code_at(t) for t in times]

    def kept_then_read() -> list[int]:
        table = CalendarTable(windows)
        table.codes_at(t_s)
        return [table.code_at(t) for t in times]

    per_tick = _best_cpu_s(minute_by_minute)
    at_once = _best_cpu_s(lambda: CalendarTable(windows).codes_at(t_s))
    kept = _best_cpu_s(kept_then_read)
    print(f"  calendar codes of {len(windows)} windows: code_at per tick {per_tick:.3f} s "
          f"({per_tick / n * 1e6:.2f} us a tick), codes_at at once {at_once:.3f} s "
          f"({per_tick / at_once:.1f}x less), code_at per tick after codes_at kept them "
          f"{kept:.3f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
