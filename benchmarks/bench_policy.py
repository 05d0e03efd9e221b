"""Policy-language figures: load + validate a 200-rule policy, and the vectorised price lookup
over a year of 5-minute instants (105,120).

    python benchmarks/bench_policy.py

Targets: load + validate under 200 ms; price lookup under 50 ms.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.rules.loader import load_policy
from gridpilot.rules.schema import TariffSpec
from gridpilot.rules.tariff import Tariff

ROOT = Path(__file__).resolve().parents[1]
PRICES = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def policy_text(n_rules: int) -> str:
    rules = []
    for i in range(n_rules):
        # Each rule owns one (month, weekday, 8-hour block) cell, so none is unreachable
        # (check rejects a rule whose every time earlier action rules already take).
        block = i // 84
        start = block * 8 + i % 5
        when = [f'time: "{start:02d}:{(i * 5) % 60:02d}-{block * 8 + 6:02d}:00"',
                f"days: {DAYS[(i // 12) % 7]}",
                f"months: {MONTHS[i % 12]}"]
        if i % 3 == 0:
            when.append(f"price_below: {0.05 + i / 1000:.3f}")
        if i % 4 == 0:
            when.append(f"soc_below_pct: {50 + i % 40}")
        action = ("{kind: charge, power_w: 2000, target_soc_pct: 90}" if i % 2 == 0
                  else "{kind: discharge, power_w: 1500, floor_soc_pct: 20}")
        rules.append(f"  - name: rule {i}\n    layer: schedule\n    when: {{{', '.join(when)}}}\n"
                     f"    action: {action}\n")
    return (
        "version: 1\n"
        "site:\n  name: bench\n  timezone: Europe/London\n"
        "  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000,"
        " min_soc_pct: 10, max_soc_pct: 95}\n"
        "tariff:\n  import:\n    default: 0.3\n    periods:\n"
        "      - {price: 0.1, time: \"00:30-07:30\"}\n"
        "      - {price: 0.4, time: \"16:00-19:00\", days: mon-fri}\n"
        "  export: {default: 0.05}\n"
        "guards:\n  - {kind: backup_reserve, min_soc_pct: 20}\n"
        "rules:\n" + "".join(rules)
    )


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(median wall, best wall, median CPU) time [ms] over ``repeat`` runs after one warm-up.

    CPU time is reported too because on a shared machine other processes stretch wall time."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def main() -> None:
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(policy_text(200), encoding="utf-8")
        policy = load_policy(path)
        assert len(policy.rules) == 200
        med, best, cpu = timed(lambda: load_policy(path), repeat=15)
        print(f"load + validate + compile, 200-rule policy: median {med:.1f} ms, "
              f"best {best:.1f} ms, CPU {cpu:.1f} ms (target < 200 ms)")

    tz = ZoneInfo("Europe/London")
    index = np.arange(np.datetime64("2018-01-01T00:00:00"), np.datetime64("2019-01-01T00:00:00"),
                      np.timedelta64(300, "s"))
    assert index.shape[0] == 105_120
    fixed = Tariff.from_spec(TariffSpec.model_validate({
        "import": {"default": 0.3, "periods": [
            {"price": 0.1, "time": "00:30-07:30"},
            {"price": 0.4, "time": "16:00-19:00", "days": "mon-fri"},
            {"price": 0.2, "months": "jun-aug", "days": "sat,sun"},
            {"price": 0.0, "dates": "12-25"},
        ]},
    }), tz, ROOT)
    dynamic = Tariff.from_spec(TariffSpec.model_validate({
        "import": {"default": 0.3, "periods": [{"price": 0.1, "time": "00:30-07:30"}],
                   "dynamic": {"file": str(PRICES), "column": "import_price"}},
    }), tz, ROOT)
    for label, tariff in (("fixed time-of-use (4 periods)", fixed),
                          ("dynamic half-hourly + fixed fallback", dynamic)):
        med, best, cpu = timed(lambda t=tariff: t.import_prices(index), repeat=30)
        print(f"vectorised import price, 105,120 5-minute instants, {label}: median {med:.1f} ms, "
              f"best {best:.1f} ms, CPU {cpu:.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
