"""Device adapter figures: the xStorage adapter against the HTTPS emulator on loopback (cold start,
read_state, apply), status mapping, and the simulated battery's read rate on the bundled data.

    python benchmarks/bench_devices.py

Targets: a warm xStorage read under 20 ms on loopback; the simulated battery well above
1,000 reads/s (a year at 1-minute ticks in minutes).
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from gridpilot.clock import ManualClock  # noqa: E402
from gridpilot.devices.xstorage import XStorageAdapter, XStorageSettings  # noqa: E402
from gridpilot.devices.xstorage.status import reading_from_status  # noqa: E402
from gridpilot.engine.commands import charge, self_consumption  # noqa: E402
from gridpilot.rules.loader import load_policy  # noqa: E402
from gridpilot.scheduler.site_device import device_for_policy  # noqa: E402
from tests.emulators import XStorageEmulator  # noqa: E402

POLICY = """\
version: 1
site:
  name: bench
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000}
tariff:
  import: {default: 0.25}
"""


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1]
    return f"median {statistics.median(values) * 1e3:.2f} ms, p95 {p95 * 1e3:.2f} ms"


async def xstorage() -> None:
    with XStorageEmulator() as emu:
        settings = XStorageSettings(host=f"127.0.0.1:{emu.port}",
                                    password=SecretStr(emu.password),
                                    tls_fingerprint_sha256=emu.fingerprint_sha256)
        cold = []
        for _ in range(10):
            a = XStorageAdapter(settings)
            t = time.perf_counter()
            await a.read_state()
            cold.append(time.perf_counter() - t)
            await a.aclose()
        a = XStorageAdapter(settings)
        await a.read_state()
        reads = []
        for _ in range(300):
            t = time.perf_counter()
            await a.read_state()
            reads.append(time.perf_counter() - t)
        applies = []
        for i in range(100):
            cmd = charge(1000 + i, 90) if i % 2 else self_consumption()
            t = time.perf_counter()
            await a.apply(cmd, valid_for_s=60)
            applies.append(time.perf_counter() - t)
        await a.aclose()
    print(f"xstorage cold start (TLS + pin + sign-in + device info + status), 10 runs: {ms(cold)}")
    print(f"xstorage warm read_state, 300 reads:  {ms(reads)}")
    print(f"xstorage apply (POST command), 100:    {ms(applies)}")


def status_mapping() -> None:
    result = {
        "currentMode": {"id": "x", "command": "SET_CHARGE", "createdAt": 1752584987000,
                        "duration": 1, "type": "MANUAL",
                        "parameters": {"action": "ACTION_CHARGE", "power": 15, "soc": 90}},
        "energyFlow": {"batteryStatus": "BAT_CHARGING", "batteryEnergyFlow": 406,
                       "gridRole": "CONSUMER", "gridValue": 900, "stateOfCharge": 88,
                       "criticalLoadValue": 300, "nonCriticalLoadValue": 500,
                       "acPvValue": 0, "dcPvValue": 1200},
    }
    now = datetime(2026, 1, 1, tzinfo=UTC)
    n = 20_000
    t = time.perf_counter()
    for _ in range(n):
        reading_from_status("bench", result, now=now, own_ids={"x"})
    dt = time.perf_counter() - t
    print(f"status mapping: {dt / n * 1e6:.1f} us per status ({n} runs)")


async def simulated() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(POLICY)
        clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        device = device_for_policy(load_policy(path), clock=clock)
        await device.read_state()  # loads the data
        n = 7 * 24 * 60
        t = time.perf_counter()
        for i in range(n):
            clock.advance(60)
            if i % 30 == 0:
                await device.apply(charge(2000, 90) if (i // 720) % 2 else self_consumption(),
                                   valid_for_s=60)
            await device.read_state()
        dt = time.perf_counter() - t
    print(f"simulated battery: {n} one-minute ticks (a week) in {dt:.2f} s = {n / dt:,.0f} reads/s")


def main() -> None:
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    asyncio.run(xstorage())
    status_mapping()
    asyncio.run(simulated())


if __name__ == "__main__":
    main()
