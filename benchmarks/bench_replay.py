"""Benchmark the replay: ``python benchmarks/bench_replay.py [--step 5m] [--profile]``.

Replays the UK 2018 year (105,120 ticks at 5 minutes) through a policy with three strategies
(``benchmarks/policies/bench-decide.yaml``: tariff arbitrage, peak shaving, backup reserve) and
the battery model, and prints the wall-clock time and ticks per second of the replay loop, the
share spent inside ``decide()``, and the loop's own overhead measured with a constant decision.
``--profile`` adds a cProfile listing of the functions where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridpilot.engine.commands import Command, CommandKind  # noqa: E402
from gridpilot.engine.decide import decide  # noqa: E402
from gridpilot.engine.decision import Decision  # noqa: E402
from gridpilot.recorded import load_data  # noqa: E402
from gridpilot.recorded.resample import parse_step, resample  # noqa: E402
from gridpilot.rules.loader import load_policy  # noqa: E402
from gridpilot.simulator.replay import replay  # noqa: E402

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
    walls = []
    cpus = []
    for _ in range(max(1, args.repeat)):
        c0 = time.process_time()
        t0 = time.perf_counter()
        result = replay(policy, series)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    wall_s = min(walls)

    spent = [0.0]

    def timed(p, s):  # type: ignore[no-untyped-def]
        a = time.perf_counter()
        d = decide(p, s)
        spent[0] += time.perf_counter() - a
        return d

    t0 = time.perf_counter()
    replay(policy, series, decide_fn=timed)
    timed_wall_s = time.perf_counter() - t0

    fixed = Decision(Command(CommandKind.SELF_CONSUMPTION), "fixed", "default", "constant")
    loops = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        replay(policy, series, decide_fn=lambda _p, _s: fixed)
        loops.append(time.perf_counter() - t0)
    loop_s = min(loops)

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"policy: {Path(args.policy).name} ({len(policy.strategies)} strategies); "
          f"data: {DATA.name} at {series.interval_s} s")
    print(f"setup (load policy and data, resample): {setup_s:.2f} s")
    median_s = statistics.median(walls)
    print(f"replay: {n} ticks in {wall_s:.2f} s = {n / wall_s:,.0f} ticks/s "
          f"({wall_s / n * 1e6:.1f} us/tick; best of {len(walls)}: "
          f"{', '.join(f'{w:.2f}' for w in walls)} s; target <= 2 s, >= 50,000 ticks/s)")
    print(f"  median of {len(walls)}: {median_s:.2f} s = {n / median_s:,.0f} ticks/s")
    # CPU time of this process: steadier than the wall clock while other work shares the cores.
    print(f"  CPU time: best {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work on the machine "
          "slows every figure)")
    print(f"  inside decide(): {spent[0]:.2f} s of {timed_wall_s:.2f} s "
          f"({spent[0] / timed_wall_s:.0%}), {spent[0] / n * 1e6:.1f} us/call")
    print(f"  loop without decide() (constant decision): {loop_s:.2f} s = "
          f"{n / loop_s:,.0f} ticks/s ({loop_s / n * 1e6:.1f} us/tick: state, outlook, "
          "forecast, battery step)")
    print(f"  command changes: {result.command_changes()}")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        replay(policy, series)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
