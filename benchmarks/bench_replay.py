"""Benchmark the replay: ``python benchmarks/bench_replay.py [--step 5m] [--profile]``.

Replays the UK 2018 year (105,120 ticks at 5 minutes) through a policy with three strategies
(``benchmarks/policies/bench-decide.yaml``: tariff arbitrage, peak shaving, backup reserve) and
the battery model, and prints, in CPU time (best of ``--repeat``):

- the bare-loop floor: a Python loop that only builds the same ``SiteState`` per tick;
- the replay, and its ratio to that floor, measured in the same process;
- the replay with the full ``decide()`` on every tick (no held decisions), which must give the
  same decisions on every tick (checked here), and the loop with a constant decision.

``--profile`` adds a cProfile listing of the functions where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridpilot.engine.commands import Command, CommandKind  # noqa: E402
from gridpilot.engine.decide import decide  # noqa: E402
from gridpilot.engine.decision import Decision  # noqa: E402
from gridpilot.engine.state import PriceOutlook, ReadingAges, SiteState  # noqa: E402
from gridpilot.recorded import load_data  # noqa: E402
from gridpilot.recorded.base import TimeSeries  # noqa: E402
from gridpilot.recorded.resample import parse_step, resample  # noqa: E402
from gridpilot.rules.loader import load_policy  # noqa: E402
from gridpilot.simulator import forecast_track  # noqa: E402
from gridpilot.simulator.replay import ReplayResult, replay  # noqa: E402

POLICY = ROOT / "benchmarks" / "policies" / "bench-decide.yaml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--step", default="5m")
    ap.add_argument("--policy", default=str(POLICY))
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    args = ap.parse_args()

    t0 = time.perf_counter()
    policy = load_policy(args.policy)
    series = resample(load_data(DATA), parse_step(args.step))
    setup_s = time.perf_counter() - t0
    n = len(series)

    # warm-up on a day (imports, caches), then the timed year
    replay(policy, series.slice_time(None, int(series.start_s[0]) + 86400))
    floor_cpu = min(_cpu(lambda: _bare_loop(series)) for _ in range(max(1, args.repeat)))
    # Each timed replay starts without the forecasts a previous replay of the data kept; a
    # sweep's later variants do reuse them, shown on their own line.
    runs = [_timed(lambda: _fresh(lambda: replay(policy, series)))
            for _ in range(max(1, args.repeat))]
    variant_cpu = min(_timed(lambda: replay(policy, series))[0]
                      for _ in range(max(1, args.repeat)))
    cpu_s = min(c for c, _, _ in runs)
    wall_s = min(w for _, w, _ in runs)
    result = runs[0][2]
    full_policy = load_policy(args.policy)
    full_cpu, _, full = _timed(lambda: _fresh(lambda: replay(
        full_policy, series, decide_fn=lambda p, s: decide(p, s))))
    fixed = Decision(Command(CommandKind.SELF_CONSUMPTION), "fixed", "default", "constant")
    loop_cpu = min(_cpu(lambda: _fresh(lambda: replay(policy, series,
                                                      decide_fn=lambda _p, _s: fixed)))
                   for _ in range(max(1, args.repeat)))

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"policy: {Path(args.policy).name} ({len(policy.strategies)} strategies); "
          f"data: {DATA.name} at {series.interval_s} s, {n} ticks")
    print(f"setup (load policy and data, resample): {setup_s:.2f} s")
    print(f"bare-loop floor (build the SiteState of every tick): {floor_cpu:.2f} s CPU "
          f"({floor_cpu / n * 1e6:.1f} us/tick)")
    print(f"replay: {cpu_s:.2f} s CPU = {cpu_s / floor_cpu:.1f}x the floor (goal <= 4x); "
          f"{cpu_s / n * 1e6:.1f} us/tick, {n / wall_s:,.0f} ticks/s wall; best of {len(runs)}: "
          f"{', '.join(f'{c:.2f}' for c, _, _ in runs)} s CPU")
    print(f"  a sweep's later variant (the data's forecasts kept from an earlier replay): "
          f"{variant_cpu:.2f} s CPU = {variant_cpu / floor_cpu:.1f}x the floor")
    print(f"  full decide() on every tick: {full_cpu:.2f} s CPU = {full_cpu / floor_cpu:.1f}x "
          f"the floor; decisions {'identical' if _same(result, full) else 'DIFFERENT'} on "
          "every tick")
    print(f"  loop with a constant decision (no decide): {loop_cpu:.2f} s CPU = "
          f"{loop_cpu / floor_cpu:.1f}x the floor")
    print(f"  command changes: {result.command_changes()}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (CPU time barely depends on it)")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        replay(policy, series)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    return 0


def _cpu(fn: Callable[[], object]) -> float:
    c0 = time.process_time()
    fn()
    return time.process_time() - c0


def _timed(fn: Callable[[], ReplayResult]) -> tuple[float, float, ReplayResult]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - w0, out


def _fresh(fn: Callable[[], ReplayResult]) -> ReplayResult:
    """``fn`` run without the forecast tracks earlier replays kept."""
    forecast_track._tracks.clear()
    return fn()


def _bare_loop(series: TimeSeries) -> None:
    """The floor: per tick, the instant and the SiteState a replay hands decide()."""
    loads = series.columns["load_w"].tolist()
    pvs = series.columns["pv_w"].tolist()
    outlook = PriceOutlook.empty()
    ages = ReadingAges()
    utc = UTC
    fromtimestamp = datetime.fromtimestamp
    soc = 50.0
    for t, ld, p in zip(series.start_s.tolist(), loads, pvs, strict=True):
        SiteState(fromtimestamp(t, utc), soc, ld, p, ld - p, 0.0, outlook, ages, None, None,
                  None, 0.0, None, None)


def _same(a: ReplayResult, b: ReplayResult) -> bool:
    return (all(np.array_equal(getattr(a, f), getattr(b, f))
                for f in ("battery_w", "grid_w", "soc_pct", "kind_code"))
            and [a.winners[i] for i in a.winner_code] == [b.winners[i] for i in b.winner_code])


if __name__ == "__main__":
    raise SystemExit(main())
