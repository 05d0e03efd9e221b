"""Benchmark how fast ``gridpilot`` starts: ``python benchmarks/bench_startup.py [--runs N]``.

Runs ``gridpilot --version`` and ``gridpilot check examples/policies/economy7.yaml``, each in a
fresh process (``python -m gridpilot``) ``--runs`` times, and prints the median CPU time (user +
system, of the child) and wall time of each. CPU time is the figure to compare: it does not
depend on what else the machine is doing. ``--importtime`` also prints the ten slowest imports
of each command (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS: dict[str, list[str]] = {
    "--version": ["--version"],
    "check": ["check", str(ROOT / "examples" / "policies" / "economy7.yaml")],
}

BUDGET_S = 0.2
"""The CPU time each command may take to start on a development machine."""


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU and wall seconds of one ``python -m gridpilot ARGV``."""
    cpu0, wall0 = _children_cpu_s(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gridpilot", *argv], capture_output=True,
                          env=env, check=False)
    wall, cpu = time.perf_counter() - wall0, _children_cpu_s() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"gridpilot {' '.join(argv)} failed ({proc.returncode}):\n"
                         + proc.stderr.decode(errors="replace"))
    return cpu, wall


def _slowest_imports(argv: list[str], env: dict[str, str], top: int = 10) -> list[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gridpilot", *argv],
                          capture_output=True, text=True, env=env, check=False)
    rows: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return [f"{us / 1000:8.1f} ms {name}" for us, name in sorted(rows, reverse=True)[:top]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="repetitions per command (9)")
    parser.add_argument("--importtime", action="store_true", help="show the slowest imports")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPU(s); median of {args.runs} runs, after one warm-up")
    for name, argv in COMMANDS.items():
        _run_once(argv, env)  # warm the file cache and the bytecode
        runs = [_run_once(argv, env) for _ in range(args.runs)]
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        verdict = "ok" if cpu <= BUDGET_S else f"over the {BUDGET_S:g} s budget"
        print(f"gridpilot {name:<10} CPU {cpu:6.3f} s  wall {wall:6.3f} s  ({verdict})")
        if args.importtime:
            for row in _slowest_imports(argv, env):
                print(f"    {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
