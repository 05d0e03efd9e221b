"""Benchmark a sweep: ``python benchmarks/bench_sweep.py [--step 5m] [--variants 5] [--repeat 2]
[--optimal [--sites N] [--jobs N] [--site-reports] [--against REV]]``.

Runs ``gridpilot sweep`` of the Agile example (``tariff_arbitrage``) over the UK 2018 year at
``--step``, varying ``min_spread_per_kwh`` over ``--variants`` values, on one local process
(``--jobs 1``), in a fresh interpreter each time (this tree's ``gridpilot``), and prints the
best and median CPU time of the whole command (user + system of the child) and per variant.
Every variant replays and bills the same data; what a later variant can reuse from an earlier
one (the forecast track, the baselines) shows as the gap between the first variant's cost
(``--variants 1``) and a later one's.

``--optimal`` runs the same variants with each one's perfect-foresight optimum (its savings
captured), which ``sweep`` does not report: as ``gridpilot fleet simulate`` with ``--set`` and
``--optimal`` (no per-site reports) of a one-site fleet, or with ``--sites N`` of the first N
homes of ``examples/fleet/fleet.yaml``, on ``--jobs`` processes (default 1), and prints the wall
time beside the CPU. Every variant keeps its site's battery and data, so a site's variants share
one optimum. ``--site-reports`` also writes the best and worst sites' own reports, as
``fleet simulate`` does by default. ``--against REV`` also runs the ``gridpilot`` package of git
commit REV, the two trees taking turns, and checks that both wrote the same rows and the same
site reports (but for the replay's timing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitexport import export_package

ROOT = Path(__file__).resolve().parents[1]
AGILE = ROOT / "examples" / "policies" / "agile-dynamic.yaml"
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"
FLEET = ROOT / "examples" / "fleet" / "fleet.yaml"


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


def _fleet_yaml(step: str, sites: int, into: Path) -> Path:
    """The one-site Agile fleet, or the first ``sites`` homes of the example fleet."""
    path = into / "fleet.yaml"
    if sites <= 1:
        path.write_text(f"version: 1\nname: bench\ndefaults:\n  policy: {AGILE}\n"
                        f"  data: {DATA}\n  step: {step}\nsites:\n  - name: home\n")
        return path
    lines: list[str] = []
    seen = 0
    for line in FLEET.read_text().splitlines():
        seen += line.startswith("  - name:")
        if seen > sites:
            break
        lines.append(line.replace("  step: 30m", f"  step: {step}"))
    path.write_text("\n".join(lines).replace("../", f"{FLEET.parent.parent}/") + "\n")
    return path


Outcome = tuple[list[dict[str, object]], dict[str, object]]
"""A run's rows, sorted, and its site reports by site (each without the replay's timing)."""


def _fleet_run(tree: Path, fleet: Path, variants: int, jobs: int, site_reports: bool,
               tmp: Path) -> tuple[float, float, Outcome]:
    """CPU and wall time of ``fleet simulate --optimal`` of the variants with ``tree``'s
    gridpilot, and what it wrote."""
    top = 0.01 * (variants - 1)
    values = f"0.0:{top:g}:0.01" if variants > 1 else "0.0"
    out = Path(tempfile.mkdtemp(prefix="fleet-out-", dir=tmp))
    env = dict(os.environ, PYTHONPATH=str(tree), OPENBLAS_NUM_THREADS="1")
    before = _children_cpu_s()
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gridpilot", "fleet", "simulate", str(fleet),
         "--set", f"strategies.arbitrage.min_spread_per_kwh={values}", "--optimal",
         "--jobs", str(jobs), "--out", str(out),
         *(() if site_reports else ("--no-site-reports",))],
        check=True, env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    cpu = _children_cpu_s() - before
    # The journal's columns (a newer row also keeps its optimum's figures for the reports).
    fields = ("site", "variant", "settings", "status", "error", "bill", "optimal_bill",
              "savings_captured", "import_kwh", "export_kwh", "equivalent_full_cycles")
    rows = sorted(({k: row.get(k) for k in fields} for row in map(
        json.loads, (out / "results.jsonl").read_text().splitlines())),
        key=lambda r: (str(r["site"]), str(r["variant"])))
    reports: dict[str, object] = {}
    for path in sorted(out.glob("sites/*/report.json")):
        report = json.loads(path.read_text())
        report.pop("replay")
        reports[path.parent.name] = report
    return cpu, wall, (rows, reports)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--step", default="5m")
    ap.add_argument("--variants", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--optimal", action="store_true",
                    help="with each variant's optimum (fleet simulate)")
    ap.add_argument("--sites", type=int, default=1,
                    help="with --optimal: the first N homes of the example fleet")
    ap.add_argument("--jobs", type=int, default=1, help="with --optimal: worker processes")
    ap.add_argument("--site-reports", action="store_true",
                    help="with --optimal: also write the best and worst sites' reports")
    ap.add_argument("--against", metavar="REV",
                    help="with --optimal: also run git commit REV's gridpilot, taking turns")
    args = ap.parse_args()
    if args.optimal:
        return _optimal(args)
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


def _optimal(args: argparse.Namespace) -> int:
    trees = {"this tree": ROOT}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.against:
            trees[args.against] = export_package(args.against, tmp / "against")
        fleet = _fleet_yaml(args.step, args.sites, tmp)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        wrote: dict[str, Outcome] = {}
        for _ in range(max(1, args.repeat)):
            for name, tree in trees.items():  # taking turns: both see the same machine
                cpu, wall, wrote[name] = _fleet_run(tree, fleet, args.variants, args.jobs,
                                                    args.site_reports, tmp)
                runs[name].append((cpu, wall))
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    n_rows = len(wrote["this tree"][0])
    n_reports = len(wrote["this tree"][1])
    where = "one site" if args.sites <= 1 else f"the first {args.sites} homes of {FLEET.name}"
    print(f"gridpilot fleet simulate --optimal of {AGILE.name} on {where}, UK 2018 year at "
          f"{args.step}, {n_rows} rows ({args.variants} variants a site), {n_reports} site "
          f"reports, --jobs {args.jobs}:")
    for name, figures in runs.items():
        cpus = [cpu for cpu, _ in figures]
        walls = [wall for _, wall in figures]
        print(f"  {name:<12} CPU best {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s "
              f"({min(cpus) / n_rows:.2f} s a row, start-up included); wall best "
              f"{min(walls):.2f} s")
    if args.against:
        same_rows = wrote["this tree"][0] == wrote[args.against][0]
        same_reports = wrote["this tree"][1] == wrote[args.against][1]
        same = same_rows and same_reports
        cpu_now = min(c for c, _ in runs["this tree"])
        cpu_then = min(c for c, _ in runs[args.against])
        wall_now = min(w for _, w in runs["this tree"])
        wall_then = min(w for _, w in runs[args.against])
        print(f"  CPU {cpu_now / cpu_then:.2f}x, wall {wall_now / wall_then:.2f}x of "
              f"{args.against}'s; rows {'the same' if same_rows else 'DIFFERENT'}, site "
              f"reports {'the same' if same_reports else 'DIFFERENT'}")
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
