"""The decisions fingerprint of every example policy: ``python benchmarks/example_bills.py``.

Backtests each example in ``examples/policies/`` over the bundled UK 2018 year (30 minutes, and
5 minutes for the two that plan on prices) and prints its bill, to the penny, and how often its
command changed. A change to the engine, the rules or the strategies that is meant to change no
decision must leave this output identical: run it before and after, and diff. Examples whose
tariff comes from a live provider need a price history and are reported as such.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"
FIVE_MINUTES = ("agile-dynamic", "demand-charge")


def main() -> int:
    for policy in sorted((ROOT / "examples" / "policies").glob("*.yaml")):
        for step in ("30m", "5m") if policy.stem in FIVE_MINUTES else ("30m",):
            proc = subprocess.run(
                [sys.executable, "-m", "gridpilot", "simulate", str(policy), "--data", str(DATA),
                 "--step", step, "--json"],
                capture_output=True, text=True, cwd=ROOT, check=False)
            if proc.returncode != 0:
                reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "?"
                print(f"{policy.stem} {step} not run: {reason}")
                continue
            report = json.loads(proc.stdout)
            shares = json.dumps(report["replay"]["command_share"], sort_keys=True)
            print(f"{policy.stem} {step} bill={report['results']['policy']['bill']:.2f} "
                  f"changes={report['replay']['command_changes']} share={shares}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
