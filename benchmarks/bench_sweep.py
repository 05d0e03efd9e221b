"""Benchmark a sweep: ``python benchmarks/bench_sweep.py [--step 5m] [--variants 5] [--repeat 2]
[--optimal]``.

Runs ``gridpilot sweep`` of the Agile example (``tariff_arbitrage``) over the UK 2018 year at
``--step``, varying ``min_spread_per_kwh`` over ``--variants`` values, on one local process
(``--jobs 1``), in a fresh interpreter each time (this tree's ``gridpilot``), and prints the
best and median CPU time of the whole command (user + system of the child) and per variant.
Every variant replays and bills the same data; what a later variant can reuse from an earlier
one (the forecast track, the baselines) shows as the gap between the first variant's cost
(``--variants 1``) and a later one's.

``--optimal`` runs the same variants with each one's perfect-foresight optimum (its savings
captured), which ``sweep`` does not report: as ``gridpilot fleet simulate`` of a one-site fleet
with ``--set`` and ``--optimal`` (``--jobs 1``, no per-site reports). Every variant keeps the
same battery and data, so they share one optimum.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGILE = ROOT / "examples" / "policies" / "agile-dynamic.yaml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _sweep_cpu_s(step: str, variants: int, csv: Path) -> float:
    top = 0.01 * (variants - 1)
    values = f"0.0:{top:g}:0.01" if variants > 1 else "0.0"
    # Run from the tree's root, which ``python -m`` puts first on the path: this tree's
    # gridpilot, whatever is installed.
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    before = _children_cpu_s()
    subprocess.run(
        [sys.executable, "-m", "gridpilot", "sweep", str(AGILE), "--data", str(DATA),
         "--step", step, "--set", f"strategies.arbitrage.min_spread_per_kwh={values}",
         "--jobs", "1", "--csv", str(csv)],
        check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _children_cpu_s() - before


def _fleet_cpu_s(step: str, variants: int, tmp: Path) -> tuple[float, int]:
    """CPU of ``fleet simulate --optimal`` of the variants on a one-site fleet, and its rows."""
    top = 0.01 * (variants - 1)
    values = f"0.0:{top:g}:0.01" if variants > 1 else "0.0"
    fleet = tmp / "fleet.yaml"
    fleet.write_text(f"version: 1\nname: bench\ndefaults:\n  policy: {AGILE}\n"
                     f"  data: {DATA}\n  step: {step}\nsites:\n  - name: home\n")
    out = Path(tempfile.mkdtemp(prefix="fleet-out-", dir=tmp))
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    before = _children_cpu_s()
    subprocess.run(
        [sys.executable, "-m", "gridpilot", "fleet", "simulate", str(fleet),
         "--set", f"strategies.arbitrage.min_spread_per_kwh={values}", "--optimal",
         "--jobs", "1", "--no-site-reports", "--out", str(out)],
        check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu = _children_cpu_s() - before
    return cpu, len((out / "results.jsonl").read_text().splitlines())


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--step", default="5m")
    ap.add_argument("--variants", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--optimal", action="store_true",
                    help="with each variant's optimum (fleet simulate of one site)")
    args = ap.parse_args()
    if args.optimal:
        return _optimal(args.step, args.variants, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "sweep.csv"
        runs = [_sweep_cpu_s(args.step, args.variants, csv) for _ in range(max(1, args.repeat))]
        rows = len(csv.read_text().splitlines()) - 1
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"gridpilot sweep of {AGILE.name}, UK 2018 year at {args.step}, {rows} variants, "
          f"--jobs 1: CPU best {min(runs):.2f} s, median {statistics.median(runs):.2f} s "
          f"({min(runs) / rows:.2f} s a variant, start-up included)")
    return 0


def _optimal(step: str, variants: int, repeat: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        results = [_fleet_cpu_s(step, variants, Path(tmp)) for _ in range(max(1, repeat))]
    runs = [cpu for cpu, _rows in results]
    rows = results[0][1]
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"gridpilot fleet simulate --optimal of {AGILE.name} on one site, UK 2018 year at "
          f"{step}, {rows} variants, --jobs 1: CPU best {min(runs):.2f} s, median "
          f"{statistics.median(runs):.2f} s ({min(runs) / rows:.2f} s a variant, start-up "
          "included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
