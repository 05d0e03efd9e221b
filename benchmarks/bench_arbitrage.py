"""Benchmark tariff arbitrage: ``python benchmarks/bench_arbitrage.py [--step 5m] [--policy P]``.

Backtests the Agile example (``examples/policies/agile-dynamic.yaml``: the ``tariff_arbitrage``
planner with export, behind a 20 % backup reserve) on the UK 2018 year against the
perfect-foresight optimum, and prints savings_captured, the bills, how many plans the strategy
solved (fresh builds on new publications, warm re-solves on SOC drift), and the time the strategy
takes per tick and per solve.

``--cpu`` instead measures the replay alone in CPU time (best of ``--repeat``), twice in the same
run: with the planner's HiGHS model changed in place (what the strategy does) and with a new
model passed for every fresh plan (what it did before), checking both decide alike on every tick;
and splits the planner's cost into HiGHS runs (and their simplex iterations) and the rest.

``--cpu --against REV`` measures this tree's planner against the ``gridpilot`` package of git
commit ``REV``, each in its own process, taking turns: the replay, the same replay with the
planner's recorded proposals played back instead (the planner's cost is the difference, measured
without a timer around each call), and the planner's HiGHS runs; and checks both trees give the
same decisions and the same proposals (command, reason and hold) on every tick.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A child of --against imports the package of the tree it was given, not this one.
TREE = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--tree=")), str(ROOT))
sys.path.insert(0, TREE)

import highspy  # noqa: E402
from gitexport import export_package  # noqa: E402

from gridpilot.lp.battery import BatteryLP  # noqa: E402
from gridpilot.recorded import load_data  # noqa: E402
from gridpilot.recorded.resample import parse_step, resample  # noqa: E402
from gridpilot.rules.loader import load_policy  # noqa: E402
from gridpilot.simulator.backtest import run_backtest  # noqa: E402
from gridpilot.simulator.replay import replay  # noqa: E402
from gridpilot.strategies import arbitrage_plan  # noqa: E402
from gridpilot.strategies.tariff_arbitrage import TariffArbitrage  # noqa: E402

POLICY = ROOT / "examples" / "policies" / "agile-dynamic.yaml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--step", default="30m")
    ap.add_argument("--policy", default=str(POLICY))
    ap.add_argument("--cpu", action="store_true",
                    help="the replay's CPU time, model reused against a new model per plan")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs for --cpu; the best counts")
    ap.add_argument("--against", metavar="REV",
                    help="with --cpu: the planner of this tree against git commit REV's")
    ap.add_argument("--tree", help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return planner_share(args.policy, args.step, args.repeat)
    if args.cpu and args.against:
        return against(args.against, args.policy, args.step, args.repeat)
    if args.cpu:
        return replay_cpu(args.policy, args.step, args.repeat)

    policy = load_policy(args.policy)
    series = resample(load_data(DATA), parse_step(args.step))

    # Count and time (in CPU time) the strategy's calls by wrapping them (the wrappers cost a
    # little; the figures are an upper bound on the strategy's share).
    timers = {"propose": [0, 0.0], "fresh": [0, 0.0], "warm": [0, 0.0]}

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        cell = timers[name]

        def wrapper(*a, **k):  # type: ignore[no-untyped-def]
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                cell[0] += 1
                cell[1] += time.process_time() - t

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
    print(f"wall time: replay loop {bt.replay.elapsed_s:.2f} s; backtest with optimum "
          f"{total_s:.2f} s")
    print(f"strategy: {calls} proposals, {spent:.2f} s CPU = {spent / max(calls, 1) * 1e6:.1f} "
          "us/call")
    print(f"  fresh plans: {fresh_n} x {fresh_s / max(fresh_n, 1) * 1e3:.2f} ms; "
          f"warm re-solves: {warm_n} x {warm_s / max(warm_n, 1) * 1e3:.2f} ms")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} "
          "(other work on the machine slows every figure)")
    return 0


def replay_cpu(policy_path: str, step: str, repeat: int) -> int:
    """Print the replay's CPU time with the planner's model reused and with a new model per
    fresh plan, measured alternately in this process, and where the planner's time goes."""
    policy = load_policy(policy_path)
    series = resample(load_data(DATA), parse_step(step))
    reuse_load = arbitrage_plan.PlanSolver.load

    def new_model(self: arbitrage_plan.PlanSolver, lp: BatteryLP) -> None:
        # The planner before the model was reused: every fresh plan passes its own model.
        self.lp = None
        reuse_load(self, lp)

    best = {"reused": math.inf, "new model": math.inf}
    decisions: dict[str, tuple[object, ...]] = {}
    for _ in range(repeat):
        for name in best:
            arbitrage_plan.PlanSolver.load = (  # type: ignore[method-assign]
                reuse_load if name == "reused" else new_model)
            try:
                t = time.process_time()
                result = replay(policy, series)
                best[name] = min(best[name], time.process_time() - t)
            finally:
                arbitrage_plan.PlanSolver.load = reuse_load  # type: ignore[method-assign]
            decisions[name] = (result.kind_code.tobytes(), result.battery_w.tobytes(),
                               result.soc_pct.tobytes())
    same = decisions["reused"] == decisions["new model"]
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"policy: {Path(policy_path).name}; data: {DATA.name} at {series.interval_s} s "
          f"({len(series)} ticks); CPU time, best of {repeat}")
    print(f"replay, planner model reused:         {best['reused']:.3f} s")
    print(f"replay, new model per fresh plan:     {best['new model']:.3f} s "
          f"(reused / new = {best['reused'] / best['new model']:.2f})")
    print(f"same decisions on every tick: {'yes' if same else 'NO'}")

    # One more replay, timing each HiGHS run and the strategy's calls.
    run = highspy.Highs.run
    spent = {"runs": [0, 0.0, 0], "propose": [0, 0.0, 0]}

    def timed_run(self: highspy.Highs) -> object:
        t = time.process_time()
        out = run(self)
        cell = spent["runs"]
        cell[0] += 1
        cell[1] += time.process_time() - t
        cell[2] += self.getInfo().simplex_iteration_count
        return out

    propose = TariffArbitrage.propose

    def timed_propose(self: TariffArbitrage, state: object, ctx: object) -> object:
        t = time.process_time()
        try:
            return propose(self, state, ctx)  # type: ignore[arg-type]
        finally:
            cell = spent["propose"]
            cell[0] += 1
            cell[1] += time.process_time() - t

    strategies = [s for s in policy.strategies.values() if isinstance(s, TariffArbitrage)]
    solves = -sum(s.solves for s in strategies)
    passed = -sum(s._solver.models_passed for s in strategies if s._solver is not None)
    highspy.Highs.run = timed_run  # type: ignore[method-assign]
    TariffArbitrage.propose = timed_propose  # type: ignore[assignment, method-assign]
    try:
        replay(policy, series)
    finally:
        highspy.Highs.run = run  # type: ignore[method-assign]
        TariffArbitrage.propose = propose  # type: ignore[method-assign]
    solves += sum(s.solves for s in strategies)
    passed += sum(s._solver.models_passed for s in strategies if s._solver is not None)
    n_runs, run_s, iters = spent["runs"]
    calls, propose_s, _ = spent["propose"]
    print(f"planner: {calls} proposals, {propose_s:.3f} s CPU with the timers; {solves} solves "
          f"({passed} with a new model), HiGHS runs {run_s:.3f} s ({n_runs} runs, "
          f"{iters / max(n_runs, 1):.1f} simplex iterations each); the rest of the planner "
          f"{propose_s - run_s:.3f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0 if same else 1


def planner_share(policy_path: str, step: str, repeat: int) -> int:
    """Print, as one JSON line, the replay's CPU time, the same replay with the planner's
    proposals played back, the planner's HiGHS runs (each best of ``repeat``) and a digest of
    every decision and proposal (the child process of :func:`against`)."""
    policy = load_policy(policy_path)
    series = resample(load_data(DATA), parse_step(step))
    proposals: list[object] = []
    propose = TariffArbitrage.propose

    def recording(self: TariffArbitrage, state: object, ctx: object) -> object:
        p = propose(self, state, ctx)  # type: ignore[arg-type]
        proposals.append(p)
        return p

    TariffArbitrage.propose = recording  # type: ignore[assignment, method-assign]
    try:
        first = replay(policy, series)
    finally:
        TariffArbitrage.propose = propose  # type: ignore[method-assign]
    digest = hashlib.sha256()
    for p in proposals:
        hold = p.hold  # type: ignore[attr-defined]
        ranges = None if hold is None else (hold.until_s, hold.soc_min_pct, hold.soc_max_pct,
                                            hold.net_min_w, hold.net_max_w)
        digest.update(repr((p.command, p.reason, ranges)).encode())  # type: ignore[attr-defined]
    for a in (first.kind_code, first.winner_code, first.battery_w, first.soc_pct):
        digest.update(a.tobytes())

    run = highspy.Highs.run
    highs_s = [0.0]

    def timed_run(self: highspy.Highs) -> object:
        t = time.process_time()
        out = run(self)
        highs_s[0] += time.process_time() - t
        return out

    best = {"replay_s": math.inf, "played_back_s": math.inf, "highs_s": math.inf}
    for _ in range(repeat):
        t = time.process_time()
        replay(policy, series)
        best["replay_s"] = min(best["replay_s"], time.process_time() - t)
        TariffArbitrage.propose = _played_back(proposals)  # type: ignore[method-assign]
        try:
            t = time.process_time()
            replay(policy, series)
            best["played_back_s"] = min(best["played_back_s"], time.process_time() - t)
        finally:
            TariffArbitrage.propose = propose  # type: ignore[method-assign]
        highs_s[0] = 0.0
        highspy.Highs.run = timed_run  # type: ignore[method-assign]
        try:
            replay(policy, series)
        finally:
            highspy.Highs.run = run  # type: ignore[method-assign]
        best["highs_s"] = min(best["highs_s"], highs_s[0])
    print(json.dumps({**best, "digest": digest.hexdigest(), "proposals": len(proposals)}))
    return 0


def _played_back(proposals: list[object]):  # type: ignore[no-untyped-def]
    """A ``propose`` that answers the recorded proposals in turn."""
    given = iter(proposals)
    return lambda self, state, ctx: next(given)


def against(rev: str, policy_path: str, step: str, repeat: int) -> int:
    """Print the planner's CPU time in this tree and in commit ``rev``'s, measured by turns in
    one child process each, and whether both decide and propose alike on every tick."""
    best: dict[str, dict[str, float]] = {}
    digests: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        export_package(rev, Path(tmp))
        trees = {"this tree": str(ROOT), rev: tmp}
        for _ in range(2):
            for name, tree in trees.items():
                out = subprocess.run(
                    [sys.executable, __file__, "--child", f"--tree={tree}", "--policy",
                     policy_path, "--step", step, "--repeat", str(repeat)],
                    capture_output=True, check=True, text=True).stdout
                got = json.loads(out.strip().splitlines()[-1])
                digests[name] = got.pop("digest")
                mine = best.setdefault(name, {k: math.inf for k in got})
                for k, v in got.items():
                    mine[k] = min(mine[k], v)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"policy: {Path(policy_path).name}; data: {DATA.name} at {step}; CPU time, best of "
          f"{2 * repeat} in two processes per tree, taking turns")
    for name, f in best.items():
        planner = f["replay_s"] - f["played_back_s"]
        print(f"{name:>10}: replay {f['replay_s']:.3f} s; the planner {planner:.3f} s = HiGHS runs "
              f"{f['highs_s']:.3f} s + the rest {planner - f['highs_s']:.3f} s "
              f"(the replay without it {f['played_back_s']:.3f} s)")
    now, then = best["this tree"], best[rev]
    ratio = ((now["replay_s"] - now["played_back_s"])
             / (then["replay_s"] - then["played_back_s"]))
    same = digests["this tree"] == digests[rev]
    print(f"planner: {ratio:.2f}x of {rev}'s; replay {now['replay_s'] / then['replay_s']:.2f}x")
    print(f"same decisions and proposals on every tick ({int(now['proposals'])} proposals): "
          f"{'yes' if same else 'NO'}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
