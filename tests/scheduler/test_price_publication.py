"""The running scheduler across a real publication: an Octopus emulator on loopback TLS publishes
the next day at 16:00 UK time by the test's clock; the tariff_arbitrage plan takes it in at the
first tick after it (one refresh), without a restart, and a late publication is reported stale
and taken in at the first tick after it arrives."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gridpilot.clock import ManualClock
from gridpilot.engine.decide import decide
from gridpilot.engine.decision import Decision
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import SiteState
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.loop import Scheduler
from gridpilot.scheduler.prices import PriceRefresher
from tests.emulators.octopus import AGILE, OUTGOING
from tests.prices.live_support import PublishingOctopus, client_for, write_live_policy
from tests.scheduler.fakes import FakeDevice

START = datetime(2025, 1, 14, 12, tzinfo=UTC)  # UK winter: local time is UTC
TODAY_23 = int(datetime(2025, 1, 14, 23, tzinfo=UTC).timestamp())
TOMORROW_23 = int(datetime(2025, 1, 15, 23, tzinfo=UTC).timestamp())


@pytest.fixture(scope="module")
def octopus() -> Iterator[PublishingOctopus]:
    with PublishingOctopus() as emu:
        yield emu


def _run(tmp_path: Path, emu: PublishingOctopus, ticks: int, start: datetime = START,
         interval_s: int = 1800) -> tuple[
        list[tuple[int, int, int]], list[dict[str, Any]], int]:
    """Per tick: (time, outlook end, plan end) [UNIX s]; the audit records; requests made."""
    def octopus(product: str) -> dict[str, Any]:
        return {"provider": {"type": "octopus", "product": product, "region": "C",
                             "base_url": emu.url}}
    path = write_live_policy(tmp_path, octopus(AGILE), export=octopus(OUTGOING),
                             currency="GBP", timezone="Europe/London",
                             default={"strategy": "arbitrage"},
                             extra={"strategies": {"arbitrage": {
                                 "type": "tariff_arbitrage", "allow_export": True}},
                                 "run": {"interval_s": interval_s}})
    policy = load_policy(path)
    clock = ManualClock(start)
    emu.now = clock.now
    strategy = policy.strategies["arbitrage"]
    seen: list[tuple[int, int, int]] = []

    def recording(p: Policy, state: SiteState, ovs: Sequence[CompiledOverride]) -> Decision:
        decision = decide(p, state, ovs)
        plan = getattr(strategy, "_plan", None)
        seen.append((int(state.time.timestamp()), int(state.prices.end_s),
                     int(plan.result.end_s) if plan is not None else 0))
        return decision

    before = len(emu.requests)
    sched = Scheduler(policy, FakeDevice(clock, policy.limits), clock=clock,
                      state_dir=tmp_path / "state", decide_fn=recording, watch_policy=False,
                      prices=PriceRefresher(tmp_path / "state", clock,
                                            client=client_for(emu)))
    asyncio.run(sched.run(max_ticks=ticks))
    return seen, list(read_audit(tmp_path / "state")), len(emu.requests) - before


def test_the_plan_takes_in_the_publication_at_the_next_tick(
        tmp_path: Path, octopus: PublishingOctopus) -> None:
    octopus.late_by_s = 0
    seen, audit, requests = _run(tmp_path, octopus, 16)  # 12:00 to 19:30
    for t, outlook_end, plan_end in seen:
        hour = datetime.fromtimestamp(t, UTC).hour
        expected = TODAY_23 if hour < 16 else TOMORROW_23
        assert outlook_end == expected, hour
        assert plan_end == expected, hour  # the plan was solved again on the new prices
    # A fetch per side at start and one per side at 16:00: nothing polled in between.
    fetches = [r for r in audit if r.get("kind") == "price_fetch"]
    assert len(fetches) == 4 and all(not r.get("error") for r in fetches)
    assert requests == 4
    assert not any(r.get("kind") == "prices_stale" for r in audit)


def test_a_late_publication_is_stale_until_it_arrives(
        tmp_path: Path, octopus: PublishingOctopus) -> None:
    octopus.late_by_s = 4 * 3600  # out at 20:00 instead of 16:00
    try:
        seen, audit, _ = _run(tmp_path, octopus, 20)  # 12:00 to 21:30
    finally:
        octopus.late_by_s = 0
    by_hour = {datetime.fromtimestamp(t, UTC).strftime("%H:%M"): (o, p) for t, o, p in seen}
    assert by_hour["19:30"] == (TODAY_23, TODAY_23)  # planned on what is known
    assert by_hour["20:00"] == (TOMORROW_23, TOMORROW_23)
    kinds = [(r["kind"], r["ts"][11:16]) for r in audit if r.get("kind", "").startswith(
        "prices_")]
    # Stale from 19:00 (16:00 + the default 3 h), fresh again when it arrived.
    assert ("prices_stale", "19:00") in kinds and ("prices_fresh", "20:00") in kinds
    ticks = [r for r in audit if r.get("kind") == "tick"]
    assert ticks[-1]["prices"]["import"]["stale"] is False
    assert all(r["status"] == "ok" for r in ticks)


def test_36_hours_across_two_publications_never_lack_known_prices(
        tmp_path: Path, octopus: PublishingOctopus) -> None:
    octopus.late_by_s = 0
    start = datetime(2025, 1, 14, 6, tzinfo=UTC)
    seen, audit, requests = _run(tmp_path, octopus, 36, start=start, interval_s=3600)
    assert len(seen) == 36
    for t, outlook_end, plan_end in seen:
        now = datetime.fromtimestamp(t, UTC)
        today_23 = int(now.replace(hour=23, minute=0).timestamp())
        assert outlook_end > t and plan_end > t
        if now.hour < 23:
            assert outlook_end >= today_23
        if now.hour >= 16:
            assert outlook_end == today_23 + 86_400  # tomorrow, from the publication's tick
    # Two sides: a fetch each at start and at each of the two publications.
    assert requests == 6 and not any(r.get("kind") == "prices_stale" for r in audit)
