"""Benchmark how fast ``gridpilot`` starts: ``python benchmarks/bench_startup.py [--runs N]``.

Runs ``gridpilot --version``, ``gridpilot check examples/policies/economy7.yaml``, ``gridpilot
check`` of ``octopus-agile-live.yaml`` (a tariff with live prices) and of ``agile-dynamic.yaml``
(import and export prices from one CSV file, the simulated battery's data and scenario tests
on the same file), and of the Economy 7 example with a live PV forecast (Open-Meteo), each in a
fresh process
(``python -m gridpilot``) ``--runs`` times, and prints the best and the median CPU time (user +
system, of the child) and the median wall time of each. CPU time is the figure to compare: it
does not depend on what else the machine is doing.

The floor rows are what no change to gridpilot can remove: the interpreter alone, and the
libraries ``check`` cannot do without (numpy, pydantic, ruamel.yaml), imported the way ``check``
imports them (one BLAS thread), measured in the same run.

Bytecode is cached as in an installed package, in a temporary directory
(``PYTHONPYCACHEPREFIX``) so the source tree stays clean, even when the shell sets
``PYTHONDONTWRITEBYTECODE``; ``--no-bytecode`` measures a start that compiles every gridpilot
module from source instead. ``--against REV`` also runs the ``gridpilot`` package of git commit
REV, its runs interleaved with this tree's, and prints the ratio (before and after in one run).
``--importtime`` also prints the ten slowest imports of each command (``python -X importtime``).
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
import time
from pathlib import Path

from gitexport import export_package

ROOT = Path(__file__).resolve().parents[1]

COMMANDS: dict[str, list[str]] = {
    "--version": ["-m", "gridpilot", "--version"],
    "check": ["-m", "gridpilot", "check", str(ROOT / "examples" / "policies" / "economy7.yaml")],
    "check, live prices": ["-m", "gridpilot", "check",
                           str(ROOT / "examples" / "policies" / "octopus-agile-live.yaml")],
    "check, price files": ["-m", "gridpilot", "check",
                           str(ROOT / "examples" / "policies" / "agile-dynamic.yaml")],
}
FLOORS: dict[str, list[str]] = {
    "python": ["-c", "pass"],
    "numpy+pydantic+ruamel": ["-c", "import numpy, ruamel.yaml; from pydantic import BaseModel"],
}

PV_FORECAST = """
forecast:
  latitude_deg: 51.75
  longitude_deg: -1.26
  arrays:
    - {kwp: 4.0, tilt_deg: 35, azimuth_deg: 180}
"""
"""Added to the Economy 7 example for the live PV forecast row (Open-Meteo, a provider that
fetches when run; check only builds it)."""


def _pv_forecast_policy(into: Path) -> Path:
    """economy7.yaml with a live PV forecast, next to the example so its relative paths hold."""
    text = (ROOT / "examples" / "policies" / "economy7.yaml").read_text()
    head, default = text.split("\ndefault:", 1)
    path = into / "economy7-pv-forecast.yaml"
    path.write_text(f"{head}\n{PV_FORECAST}\ndefault:{default}")
    return path


BUDGET_S = 0.2
"""The CPU time each command may take to start on a development machine."""


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU and wall seconds of one ``python ARGV``, started in the tree ``env`` imports from
    (``-m`` looks in the working directory first)."""
    cpu0, wall0 = _children_cpu_s(), time.perf_counter()
    proc = subprocess.run([sys.executable, *argv], capture_output=True, env=env, check=False,
                          cwd=env["PYTHONPATH"])
    wall, cpu = time.perf_counter() - wall0, _children_cpu_s() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"python {' '.join(argv)} failed ({proc.returncode}):\n"
                         + proc.stderr.decode(errors="replace"))
    return cpu, wall


def _slowest_imports(argv: list[str], env: dict[str, str], top: int = 10) -> list[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv],
                          capture_output=True, text=True, env=env, check=False,
                          cwd=env["PYTHONPATH"])
    rows: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return [f"{us / 1000:8.1f} ms {name}" for us, name in sorted(rows, reverse=True)[:top]]


def _child_env(root: Path, bytecode: bool, cache_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(root)
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _measure(argv: list[str], envs: dict[str, dict[str, str]],
             runs: int) -> dict[str, tuple[float, float, float]]:
    """(best CPU, median CPU, median wall) of ``python ARGV`` in each environment, the runs of
    the environments interleaved so that a change in the machine's load meets them alike."""
    for env in envs.values():
        _run_once(argv, env)  # warm the file cache and write the bytecode
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in envs}
    for _ in range(runs):
        for name, env in envs.items():
            results[name].append(_run_once(argv, env))
    return {
        name: (min(c for c, _ in r), statistics.median(c for c, _ in r),
               statistics.median(w for _, w in r))
        for name, r in results.items()
    }


def _report(label: str, figures: tuple[float, float, float], budget_s: float | None) -> None:
    best, cpu, wall = figures
    verdict = ""
    if budget_s is not None:
        verdict = "  (ok)" if best <= budget_s else f"  (over the {budget_s:g} s budget)"
    print(f"{label:<40} CPU best {best:6.3f} s  median {cpu:6.3f} s  wall {wall:6.3f} s{verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="repetitions per command (9)")
    parser.add_argument("--importtime", action="store_true", help="show the slowest imports")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="compile gridpilot from source on every start (no bytecode cache)")
    parser.add_argument("--against", metavar="REV",
                        help="also run the gridpilot of git commit REV, interleaved with this one")
    args = parser.parse_args()
    bytecode = not args.no_bytecode
    with tempfile.TemporaryDirectory(prefix="gridpilot-bench-startup-") as tmp:
        envs = {"": _child_env(ROOT, bytecode, Path(tmp) / "pycache-here")}
        if args.against:
            old = export_package(args.against, Path(tmp) / "against")
            envs[f" @{args.against}"] = _child_env(old, bytecode, Path(tmp) / "pycache-against")
        print(f"python {platform.python_version()} on {platform.machine()}, "
              f"{os.cpu_count()} CPU(s); best and median of {args.runs} runs, after one warm-up; "
              + ("bytecode cached" if bytecode else "no bytecode cache"))
        here = envs[""]
        floor_env = {**here, "OPENBLAS_NUM_THREADS": "1"}  # as check starts numpy
        for name, argv in FLOORS.items():
            _report(f"floor: {name}", _measure(argv, {"": floor_env}, args.runs)[""], None)
        commands = dict(COMMANDS)
        commands["check, live PV forecast"] = [
            "-m", "gridpilot", "check", str(_pv_forecast_policy(Path(tmp)))]
        for name, argv in commands.items():
            figures = _measure(argv, envs, args.runs)
            for tag, fig in figures.items():
                _report(f"gridpilot {name}{tag}", fig, BUDGET_S if not tag else None)
            if args.against:
                now, then = figures[""][0], figures[f" @{args.against}"][0]
                print(f"{'':<40} best CPU {now / then:.2f}x of {args.against}'s")
            if args.importtime:
                for row in _slowest_imports(argv, here):
                    print(f"    {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
