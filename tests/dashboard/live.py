"""A real scheduler with its control API and dashboard on loopback, run in a thread of its own
(the browser test drives it from the test's thread): the bundled Agile example against the
simulated battery, on a manual clock in January 2018."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from gridpilot.clock import ManualClock
from gridpilot.scheduler.control import ControlServer, ensure_token
from gridpilot.scheduler.loop import Scheduler
from gridpilot.scheduler.site_device import device_for_policy, load_site_policy
from gridpilot.scheduler.status_view import StatusView
from gridpilot.scheduler.web_api import WebFront
from gridpilot.scheduler.websession import WebSessions

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "policies" / "agile-dynamic.yaml"
T0 = datetime(2018, 1, 17, 12, 0, tzinfo=UTC)
T = TypeVar("T")


@dataclass
class Live:
    url: str
    token: str
    state_dir: Path
    scheduler: Scheduler
    sessions: WebSessions
    clock: ManualClock
    loop: asyncio.AbstractEventLoop
    control: ControlServer
    thread: threading.Thread

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def start_live(state_dir: Path, ticks: int = 8) -> Live:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="live-scheduler", daemon=True)
    thread.start()
    clock = ManualClock(T0)
    policy = load_site_policy(POLICY)
    scheduler = Scheduler(policy, device_for_policy(policy, clock=clock), clock=clock,
                          state_dir=state_dir, watch_policy=False)
    token_file = state_dir / "control.token"
    sessions = WebSessions(clock)
    control = ControlServer(
        token=ensure_token(token_file), overrides=scheduler.overrides,
        metrics=scheduler.metrics, audit=scheduler.audit, clock=clock,
        health=scheduler.health, on_change=scheduler.wake,
        web=WebFront(StatusView(scheduler), sessions, scheduler.audit, clock),
    )

    async def begin() -> str:
        for i in range(ticks):
            if i:
                clock.advance(scheduler.interval_s)
            await scheduler.tick()
        address = await control.start_tcp("127.0.0.1", 0)
        control.publish(state_dir, token_file)
        return str(address["url"])

    live = Live("", token_file.read_text().strip(), state_dir, scheduler, sessions, clock, loop,
                control, thread)
    live.url = live.call(begin())
    return live


def stop_live(live: Live) -> None:
    live.call(live.control.close())
    live.scheduler.audit.close()
    live.loop.call_soon_threadsafe(live.loop.stop)
    live.thread.join(timeout=10)
    live.loop.close()


def artefacts(tmp_path: Path) -> Path:
    """Where screenshots go: ``$GRIDPILOT_ARTEFACTS`` when set, else the test's tmp_path."""
    where = Path(os.environ.get("GRIDPILOT_ARTEFACTS") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    return where
