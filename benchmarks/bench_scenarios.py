"""Benchmark the scenario tests: ``python benchmarks/bench_scenarios.py [--repeat N]``.

Measures what a policy repository's CI pays for ``gridpilot test``:

* the bundled example policies' suites end to end in-process (load the policies, run every case),
  the best of ``--repeat`` runs, as cases per second;
* one sequence case of a full day at 1-minute ticks (1,440 ticks through ``decide()`` and the
  battery model, with its checks), as ticks per second;
* the ``gridpilot test examples/policies`` command in a fresh process, start-up included.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridpilot.rules.loader import load_policy  # noqa: E402
from gridpilot.rules.scenario import ScenarioCase  # noqa: E402
from gridpilot.testing.runner import run_case  # noqa: E402
from gridpilot.testing.session import run_paths  # noqa: E402

DAY_POLICY = """\
version: 1
site:
  name: bench
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000, min_soc_pct: 5}
tariff:
  import:
    default: 0.30
    periods: [{time: "00:30-07:30", price: 0.10}, {time: "16:00-19:00", price: 0.45}]
guards: [{kind: backup_reserve, name: reserve, min_soc_pct: 20}]
rules:
  - {name: night, layer: schedule, when: {time: "00:30-07:30"},
     action: {kind: charge, power_w: 2500, target_soc_pct: 90}}
  - {name: peak, layer: schedule, when: {time: "16:00-19:00"}, action: {kind: discharge}}
default: {action: {kind: self_consumption}}
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")

    examples = ROOT / "examples" / "policies"
    best = float("inf")
    cases = 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        results = run_paths([examples])
        best = min(best, time.perf_counter() - t0)
        cases = sum(len(r.results) for r in results)
        assert all(r.failed == 0 for r in results), "an example scenario failed"
    print(f"example suites: {cases} cases (incl. sequences) in {best * 1000:.1f} ms "
          f"(best of {args.repeat}), {cases / best:.0f} cases/s")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(DAY_POLICY, encoding="utf-8")
        policy = load_policy(path)
        case = ScenarioCase.model_validate({
            "name": "day", "at": "2026-01-15 00:00", "until": "2026-01-16 00:00", "step": "1m",
            "state": {"soc_pct": 30, "load_w": 500},
            "checks": [{"by": "07:30", "soc_pct": ">= 85"}, {"max_changes": 5},
                       {"during": "16:00-19:00", "expect": {"kind": ["discharge", "hold"]}}],
        })
        run_case(policy, case)  # warm caches (engine model, compiled windows)
        best_seq = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = run_case(policy, case)
            best_seq = min(best_seq, time.perf_counter() - t0)
        assert result.passed, result.failures
        print(f"sequence case: {len(result.ticks)} ticks in {best_seq * 1000:.1f} ms "
              f"(best of {args.repeat}), {len(result.ticks) / best_seq:.0f} ticks/s")

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gridpilot", "test", str(examples)],
                          capture_output=True, text=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - t0
    print(f"gridpilot test examples/policies: {proc.stdout.splitlines()[-1]!r}, "
          f"exit {proc.returncode}, {wall:.2f} s wall including interpreter start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
