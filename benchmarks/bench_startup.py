"""Benchmark how fast ``gridpilot`` starts: ``python benchmarks/bench_startup.py [--runs N]``.

Runs ``gridpilot --version`` and ``gridpilot check examples/policies/economy7.yaml``, each in a
fresh process (``python -m gridpilot``) ``--runs`` times, and prints the best and the median CPU
time (user + system, of the child) and the median wall time of each. CPU time is the figure to
compare: it does not depend on what else the machine is doing.

The floor rows are what no change to gridpilot can remove: the interpreter alone, and the
libraries ``check`` cannot do without (numpy, pydantic, ruamel.yaml), imported the way ``check``
imports them (one BLAS thread), measured in the same run.

Bytecode is cached as in an installed package, in a temporary directory
(``PYTHONPYCACHEPREFIX``) so the source tree stays clean, even when the shell sets
``PYTHONDONTWRITEBYTECODE``; ``--no-bytecode`` measures a start that compiles every gridpilot
module from source instead. ``--importtime`` also prints the ten slowest imports of each command
(``python -X importtime``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS: dict[str, list[str]] = {
    "--version": ["-m", "gridpilot", "--version"],
    "check": ["-m", "gridpilot", "check", str(ROOT / "examples" / "policies" / "economy7.yaml")],
}
FLOORS: dict[str, list[str]] = {
    "python": ["-c", "pass"],
    "numpy+pydantic+ruamel": ["-c", "import numpy, ruamel.yaml; from pydantic import BaseModel"],
}

BUDGET_S = 0.2
"""The CPU time each command may take to start on a development machine."""


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU and wall seconds of one ``python ARGV``."""
    cpu0, wall0 = _children_cpu_s(), time.perf_counter()
    proc = subprocess.run([sys.executable, *argv], capture_output=True, env=env, check=False)
    wall, cpu = time.perf_counter() - wall0, _children_cpu_s() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"python {' '.join(argv)} failed ({proc.returncode}):\n"
                         + proc.stderr.decode(errors="replace"))
    return cpu, wall


def _slowest_imports(argv: list[str], env: dict[str, str], top: int = 10) -> list[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv],
                          capture_output=True, text=True, env=env, check=False)
    rows: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return [f"{us / 1000:8.1f} ms {name}" for us, name in sorted(rows, reverse=True)[:top]]


def _child_env(bytecode: bool, cache_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = cache_dir
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _measure(name: str, argv: list[str], env: dict[str, str], runs: int,
             budget_s: float | None) -> tuple[float, float, float]:
    _run_once(argv, env)  # warm the file cache and write the bytecode
    results = [_run_once(argv, env) for _ in range(runs)]
    best = min(c for c, _ in results)
    cpu = statistics.median(c for c, _ in results)
    wall = statistics.median(w for _, w in results)
    verdict = ""
    if budget_s is not None:
        verdict = "  (ok)" if best <= budget_s else f"  (over the {budget_s:g} s budget)"
    print(f"{name:<30} CPU best {best:6.3f} s  median {cpu:6.3f} s  wall {wall:6.3f} s{verdict}")
    return best, cpu, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="repetitions per command (9)")
    parser.add_argument("--importtime", action="store_true", help="show the slowest imports")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="compile gridpilot from source on every start (no bytecode cache)")
    args = parser.parse_args()
    cache_dir = tempfile.mkdtemp(prefix="gridpilot-bench-pycache-")
    try:
        env = _child_env(not args.no_bytecode, cache_dir)
        print(f"python {platform.python_version()} on {platform.machine()}, "
              f"{os.cpu_count()} CPU(s); best and median of {args.runs} runs, after one warm-up; "
              + ("no bytecode cache" if args.no_bytecode else "bytecode cached"))
        floor_env = {**env, "OPENBLAS_NUM_THREADS": "1"}  # as check starts numpy
        for name, argv in FLOORS.items():
            _measure(f"floor: {name}", argv, floor_env, args.runs, None)
        for name, argv in COMMANDS.items():
            _measure(f"gridpilot {name}", argv, env, args.runs, BUDGET_S)
            if args.importtime:
                for row in _slowest_imports(argv, env):
                    print(f"    {row}")
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
