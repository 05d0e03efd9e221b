"""Benchmark decide(): ``python benchmarks/bench_decide.py [--ticks N] [--tick-s S]``.

Replays real UK 2018 load, PV and day-ahead prices at ``--tick-s`` (default 300 s) through the
policy in ``benchmarks/policies/bench-decide.yaml`` (3 guards, 10 rules, 3 strategies) and the
battery model, and prints the time per ``decide()`` call (p50, p90, p99, mean) and the replay
rate with the battery step included, plus the machine it ran on. States (price outlooks and
forecasts) are built before timing, as the simulator does once per price slot.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridpilot.engine.battery import step  # noqa: E402
from gridpilot.engine.decide import decide  # noqa: E402
from gridpilot.engine.state import SiteState  # noqa: E402
from gridpilot.forecasts.providers import TimeOfWeekAverage  # noqa: E402
from gridpilot.rules.loader import load_policy  # noqa: E402

POLICY = ROOT / "benchmarks" / "policies" / "bench-decide.yaml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=30_000)
    ap.add_argument("--tick-s", type=int, default=300)
    ap.add_argument("--start", default="2018-01-01")
    args = ap.parse_args()

    policy = load_policy(POLICY)
    raw = np.genfromtxt(DATA, delimiter=",", names=True, dtype=None, encoding="utf-8")
    ts = np.array([int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())
                   for s in raw["timestamp"]], dtype=np.int64)
    load = raw["load_w"].astype(float)
    pv = raw["pv_w"].astype(float)
    t0 = int(datetime.fromisoformat(args.start).replace(tzinfo=UTC).timestamp())

    forecast = TimeOfWeekAverage(policy.tz)
    outlooks: dict[int, tuple[object, np.ndarray]] = {}
    ticks = []
    for k in range(args.ticks):
        t_s = t0 + k * args.tick_s
        i = int(np.searchsorted(ts, t_s, side="right") - 1)
        slot = int(ts[i])
        if slot not in outlooks:
            t = datetime.fromtimestamp(slot, UTC)
            forecast.observe(t, float(load[i]), float(pv[i]))
            prices = policy.tariff.outlook(t)
            outlooks[slot] = (prices, forecast.forecast(prices.start_s))
        ticks.append((t_s, float(load[i]), float(pv[i]), *outlooks[slot]))

    params = policy.battery
    times = np.empty(len(ticks))
    soc = 50.0
    prev = since = layer = None
    kinds: dict[str, int] = {}
    loop_start = time.perf_counter()
    for n, (t_s, ld, p, prices, fc) in enumerate(ticks):
        t = datetime.fromtimestamp(t_s, UTC)
        state = SiteState(time=t, soc_pct=soc, load_w=ld, pv_w=p, prices=prices,  # type: ignore[arg-type]
                          active_command=prev, active_since=since, active_layer=layer,
                          forecast_net_load_w=fc)
        c0 = time.perf_counter_ns()
        d = decide(policy, state)
        times[n] = time.perf_counter_ns() - c0
        if prev is None or d.command.kind is not prev.kind:
            since = t
        prev, layer = d.command, d.layer
        soc = step(d.command, soc, ld, p, float(args.tick_s), params).soc_pct
        kinds[d.command.kind.value] = kinds.get(d.command.kind.value, 0) + 1
    loop_s = time.perf_counter() - loop_start

    us = times / 1000.0
    print(f"policy    {POLICY.relative_to(ROOT)} ({len(policy.guards)} guards, "
          f"{len(policy.rules)} rules, {len(policy.strategies)} strategies)")
    print(f"replay    {len(ticks)} ticks of {args.tick_s} s from {args.start}, UK 2018 data")
    print(f"decide    p50 {np.percentile(us, 50):.1f} us   p90 {np.percentile(us, 90):.1f} us   "
          f"p99 {np.percentile(us, 99):.1f} us   mean {us.mean():.1f} us")
    print(f"loop      {len(ticks) / loop_s:,.0f} ticks/s (state + decide + battery step)")
    print(f"commands  {dict(sorted(kinds.items()))}")
    print(f"machine   {_cpu()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
