"""Live and replay know the same prices: a day of the scheduler against an Octopus emulator that
publishes at 16:00 UK records what each tick knew; the history of that day (``prices fetch``,
or the run's own price cache) replayed by the backtest shows every tick the same prices up to the
same horizon."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gridpilot.cli import prices as prices_cli
from gridpilot.clock import ManualClock
from gridpilot.engine.decide import decide
from gridpilot.engine.decision import Decision
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import SiteState
from gridpilot.errors import PolicyError
from gridpilot.recorded.base import LoadReport, TimeSeries
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.scheduler.loop import Scheduler
from gridpilot.scheduler.prices import PriceRefresher
from gridpilot.simulator.pricehistory import with_price_history
from gridpilot.simulator.replay import replay
from tests.cli.runner import run_cli
from tests.emulators.octopus import AGILE, OUTGOING
from tests.prices.live_support import PublishingOctopus, client_for, write_live_policy
from tests.scheduler.fakes import FakeDevice

DAY = datetime(2025, 1, 14, tzinfo=UTC)  # UK winter: local time is UTC
TICKS = 48
Seen = tuple[int, list[int], list[float], list[float], int]
"""tick time, outlook slot starts, import and export prices, outlook end [UNIX s]."""


@pytest.fixture(scope="module")
def octopus() -> Iterator[PublishingOctopus]:
    with PublishingOctopus() as emu:
        yield emu


def _policy(tmp_path: Path, emu: PublishingOctopus) -> Path:
    def octopus(product: str) -> dict[str, Any]:
        return {"provider": {"type": "octopus", "product": product, "region": "C",
                             "base_url": emu.url}}
    return write_live_policy(tmp_path, octopus(AGILE), export=octopus(OUTGOING),
                             currency="GBP", timezone="Europe/London",
                             default={"strategy": "arbitrage"},
                             extra={"strategies": {"arbitrage": {
                                 "type": "tariff_arbitrage", "allow_export": True}},
                                 "run": {"interval_s": 1800}})


def _seen(state: SiteState) -> Seen:
    p = state.prices
    return (int(state.time.timestamp()), p.start_s.tolist(), p.import_per_kwh.tolist(),
            p.export_per_kwh.tolist(), int(p.end_s))


def _live_day(tmp_path: Path, emu: PublishingOctopus, policy: Policy) -> list[Seen]:
    clock = ManualClock(DAY)
    emu.now = clock.now
    seen: list[Seen] = []

    def recording(p: Policy, state: SiteState, ovs: Sequence[CompiledOverride]) -> Decision:
        seen.append(_seen(state))
        return decide(p, state, ovs)

    refresher = PriceRefresher(tmp_path / "state", clock, client=client_for(emu))
    sched = Scheduler(policy, FakeDevice(clock, policy.limits), clock=clock,
                      state_dir=tmp_path / "state", decide_fn=recording, watch_policy=False,
                      prices=refresher)
    asyncio.run(sched.run(max_ticks=TICKS))
    return seen


def _day_series() -> TimeSeries:
    t0 = int(DAY.timestamp())
    return TimeSeries(np.arange(t0, t0 + TICKS * 1800, 1800, dtype=np.int64), 1800,
                      {"load_w": np.full(TICKS, 400.0), "pv_w": np.zeros(TICKS)},
                      LoadReport(source="flat load"))


def _replayed(policy: Policy) -> list[Seen]:
    seen: list[Seen] = []

    def recording(p: Policy, state: SiteState) -> Decision:
        seen.append(_seen(state))
        return decide(p, state, ())

    replay(policy, _day_series(), decide_fn=recording)
    return seen


def test_a_live_day_and_its_replay_know_the_same_prices(
        tmp_path: Path, octopus: PublishingOctopus, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _policy(tmp_path, octopus)
    live = _live_day(tmp_path, octopus, load_policy(path))
    assert len(live) == TICKS
    # The publication reached the 16:00 tick: 23:00 today before it, 23:00 tomorrow from it.
    ends = {datetime.fromtimestamp(t, UTC).hour: end for t, *_, end in live[::2]}
    assert ends[15] == int(datetime(2025, 1, 14, 23, tzinfo=UTC).timestamp())
    assert ends[16] == int(datetime(2025, 1, 15, 23, tzinfo=UTC).timestamp())

    # The history of the day as a backtest gets it, fetched after the day.
    octopus.now = lambda: datetime(2025, 1, 15, tzinfo=UTC)
    monkeypatch.setattr(prices_cli, "http_client", lambda: client_for(octopus))
    csv_path = tmp_path / "history.csv"
    proc = run_cli("prices", "fetch", str(path), "--from", "2025-01-14", "--to", "2025-01-16",
                   "--out", str(csv_path))
    assert proc.returncode == 1 and "no price from 2025-01-15 23:00" in proc.stderr  # unpublished
    from_file = _replayed(with_price_history(load_policy(path), csv_path))
    from_cache = _replayed(with_price_history(load_policy(path), tmp_path / "state"))
    assert from_file == live
    assert from_cache == live


def test_a_backtest_without_history_or_with_a_gap_is_refused_located(
        tmp_path: Path, octopus: PublishingOctopus) -> None:
    path = _policy(tmp_path, octopus)
    with pytest.raises(PolicyError) as without:
        replay(load_policy(path), _day_series())
    text = str(without.value)
    assert "policy.yaml:" in text and "tariff.import.provider" in text
    assert "a backtest needs the price history of octopus" in text and "prices fetch" in text
    short = tmp_path / "short.csv"
    short.write_text("timestamp,import_price,export_price\n" + "".join(
        f"2025-01-14T{h:02d}:{m:02d}:00Z,0.2,0.05\n" for h in range(12) for m in (0, 30)))
    with pytest.raises(PolicyError) as gap:
        replay(with_price_history(load_policy(path), short), _day_series())
    assert "has no price from 2025-01-14T12:00:00Z to 2025-01-15T00:00:00Z" in str(gap.value)
    assert "add 'default: <price>'" in str(gap.value)
