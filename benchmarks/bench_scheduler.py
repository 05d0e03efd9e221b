"""Scheduler figures: the cost of one live tick (read, decide, dispatch, audit) on the simulated
battery with the example policies, the control API's latency on loopback, and the audit log's
write rate.

    python benchmarks/bench_scheduler.py

Targets: a tick's own overhead (everything but decide) well under 5 ms, so a small always-on
computer spends its time waiting; control API answers under 5 ms.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from gridpilot.clock import ManualClock  # noqa: E402
from gridpilot.engine.decide import decide  # noqa: E402
from gridpilot.engine.decision import Decision  # noqa: E402
from gridpilot.engine.program import CompiledOverride  # noqa: E402
from gridpilot.engine.state import SiteState  # noqa: E402
from gridpilot.rules.loader import load_policy  # noqa: E402
from gridpilot.scheduler.audit import AuditLog  # noqa: E402
from gridpilot.scheduler.control import ControlServer, ensure_token  # noqa: E402
from gridpilot.scheduler.loop import Scheduler  # noqa: E402
from gridpilot.scheduler.site_device import device_for_policy  # noqa: E402

TICKS = 1440  # one simulated day at 60 s ticks


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[max(0, int(len(values) * 0.95) - 1)]
    return f"median {statistics.median(values) * 1e3:.2f} ms, p95 {p95 * 1e3:.2f} ms"


async def ticks(policy_file: str, start: datetime) -> None:
    policy = load_policy(ROOT / policy_file)
    clock = ManualClock(start)
    decide_s: list[float] = []
    winners: set[str] = set()

    def timed(p: Any, state: SiteState, overrides: Sequence[CompiledOverride]) -> Decision:
        t = time.perf_counter()
        d = decide(p, state, overrides)
        decide_s.append(time.perf_counter() - t)
        winners.add(d.winner)
        return d

    with tempfile.TemporaryDirectory() as tmp:
        sched = Scheduler(policy, device_for_policy(policy, clock=clock), clock=clock,
                          state_dir=Path(tmp), decide_fn=timed, watch_policy=True)
        tick_s: list[float] = []
        for _ in range(TICKS):
            t = time.perf_counter()
            await sched.tick()
            tick_s.append(time.perf_counter() - t)
            clock.advance(60)
        await sched.shutdown()
        audit_kb = sum(f.stat().st_size for f in Path(tmp).glob("audit.jsonl*")) / 1024
    overhead = [a - b for a, b in zip(tick_s, decide_s, strict=True)]
    print(f"tick, {policy_file} ({TICKS} ticks, simulated battery): whole tick {ms(tick_s)}; "
          f"decide {ms(decide_s)}; the rest (read, dispatch, audit, memory) {ms(overhead)}; "
          f"audit {audit_kb / TICKS:.2f} kB per tick; {len(winners)} distinct winners")


async def control_api() -> None:
    from gridpilot.scheduler.metrics import Metrics
    from gridpilot.scheduler.overrides import OverrideStore

    with tempfile.TemporaryDirectory() as tmp:
        token = ensure_token(Path(tmp) / "control.token")
        clock = ManualClock(datetime(2026, 1, 15, tzinfo=UTC))
        srv = ControlServer(token=token, overrides=OverrideStore(Path(tmp)), metrics=Metrics(),
                            audit=AuditLog(Path(tmp)), clock=clock,
                            health=lambda: (True, {"status": "ok"}))
        url = (await srv.start_tcp("127.0.0.1", 0))["url"]
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, headers=auth) as client:
            metrics_s, set_s = [], []
            for i in range(300):
                t = time.perf_counter()
                r = await client.get("/metrics")
                metrics_s.append(time.perf_counter() - t)
                assert r.status_code == 200
                t = time.perf_counter()
                r = await client.post("/overrides", json={"action": {"kind": "hold"},
                                                          "for_s": 600, "name": f"o{i % 5}"})
                set_s.append(time.perf_counter() - t)
                assert r.status_code == 201
        await srv.close()
    print(f"control API on loopback: GET /metrics {ms(metrics_s)}; "
          f"POST /overrides (persisted) {ms(set_s)}")


def audit_rate() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(Path(tmp), max_bytes=1024 * 1024, keep=3)
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        n = 20_000
        t = time.perf_counter()
        for i in range(n):
            log.write("tick", t0, tick=i, status="ok", state={"soc_pct": 50.0, "grid_w": 300.0})
        took = time.perf_counter() - t
        log.close()
    print(f"audit log: {n / took:,.0f} records/s with rotation at 1 MiB")


async def main() -> None:
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    # Dynamic prices are known for 2018 (the bundled data), so those policies run on a 2018 day.
    await ticks("examples/policies/economy7.yaml", datetime(2026, 1, 15, tzinfo=UTC))
    await ticks("examples/policies/agile-dynamic.yaml", datetime(2018, 1, 14, tzinfo=UTC))
    await ticks("benchmarks/policies/bench-decide.yaml", datetime(2018, 1, 14, tzinfo=UTC))
    await control_api()
    audit_rate()


if __name__ == "__main__":
    asyncio.run(main())
