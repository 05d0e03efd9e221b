"""The price refresher across publications: an accelerated day of ticks against a provider that
publishes the next day at 16:00 UK, once late; faults never end a tick."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridpilot.errors import PriceProviderError
from gridpilot.prices.base import PriceSlots, ProviderContext, Publication
from gridpilot.prices.registry import PRICE_PROVIDERS
from gridpilot.prices.settings import ProviderSettings
from gridpilot.rules.loader import load_policy
from gridpilot.scheduler.prices import PriceRefresher

LONDON = ZoneInfo("Europe/London")


class FakeSettings(ProviderSettings):
    base_url: str = "http://127.0.0.1:9"


class FakeMarket:
    """Half-hourly prices in p/kWh; day D+1 appears at ``publish_at`` local time on day D."""

    now = datetime(2026, 1, 15, tzinfo=UTC)
    publish_at = time(16, 0)
    late_until: datetime | None = None
    fail_next = 0
    calls = 0


class FakeProvider:
    settings_model: ClassVar[type[FakeSettings]] = FakeSettings

    def __init__(self, settings: FakeSettings, context: ProviderContext) -> None:
        self.name = "fake"
        self.context = context

    def publication(self) -> Publication:
        return Publication(time(16, 0), LONDON, covers_until_local=time(23, 0))

    def fetch(self, start: datetime, end: datetime) -> PriceSlots:
        FakeMarket.calls += 1
        if FakeMarket.fail_next:
            FakeMarket.fail_next -= 1
            raise PriceProviderError("fake", "HTTP 500 from the emulator; retried")
        now = self.context.clock.now().astimezone(LONDON)
        published = now.time() >= FakeMarket.publish_at and (
            FakeMarket.late_until is None or self.context.clock.now() >= FakeMarket.late_until)
        last_day = now.date() + timedelta(days=1 if published else 0)
        until = datetime.combine(last_day, time(23, 0), tzinfo=LONDON)
        lo, hi = int(start.timestamp()), min(int(end.timestamp()), int(until.timestamp()))
        starts = np.arange(lo - lo % 1800, hi, 1800, dtype=np.int64)
        # A price per slot that says which slot it is: 10 p + the half-hour of the day.
        values = 10.0 + (starts // 1800 % 48).astype(np.float64)
        return PriceSlots(starts, starts + 1800, values, "minor_per_kwh", "GBP", "fake")


class StepClock:
    def __init__(self, start: datetime) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


POLICY = """\
version: 1
site:
  name: live prices
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000}
tariff:
  currency: GBP
  import:
    provider: {type: fake}
  export:
    default: 0.05
default:
  action: {kind: self_consumption}
"""


@pytest.fixture
def fake_type() -> Iterator[None]:
    PRICE_PROVIDERS.register("fake", FakeProvider)
    FakeMarket.late_until, FakeMarket.fail_next, FakeMarket.calls = None, 0, 0
    yield
    PRICE_PROVIDERS.reset()


def _policy(tmp_path: Path) -> Any:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return load_policy(path)


class Audit:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, kind: str, t: datetime, **fields: Any) -> None:
        self.records.append({"kind": kind, "ts": t.isoformat(), **fields})


def _run_day(tmp_path: Path, start: datetime, hours: float, step_s: int = 300) -> tuple[
        PriceRefresher, Audit, list[tuple[datetime, int]], Any]:
    policy = _policy(tmp_path)
    clock = StepClock(start)
    audit = Audit()
    refresher = PriceRefresher(tmp_path / "state", clock, audit=audit, backoff_initial_s=120)
    seen: list[tuple[datetime, int]] = []

    async def ticks() -> None:
        for _ in range(int(hours * 3600 // step_s)):
            refresher.bind(policy.tariff, tmp_path)
            await refresher.refresh(clock.now())
            try:
                end_s = policy.tariff.outlook(clock.now()).end_s
            except LookupError:  # live-only and nothing known: the scheduler's fail-safe
                end_s = 0
            seen.append((clock.now(), end_s))
            await clock.sleep(step_s)

    asyncio.run(ticks())
    refresher.close()
    return refresher, audit, seen, policy


def test_a_day_across_two_publications_never_lacks_known_prices(
        tmp_path: Path, fake_type: None) -> None:
    start = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
    refresher, audit, seen, policy = _run_day(tmp_path, start, 36)
    # Every tick had the current slot and at least until 23:00 of the current day.
    for now, end_s in seen:
        assert end_s > now.timestamp()
        today_23 = datetime.combine(now.astimezone(LONDON).date(), time(23), tzinfo=LONDON)
        if now < today_23:
            assert end_s >= today_23.timestamp()
    # Right after each 16:00 publication, tomorrow is in within one tick (one refresh).
    for day in (15, 16):
        pub = datetime(2026, 1, day, 16, 0, tzinfo=UTC)
        after = [end for now, end in seen if pub <= now < pub + timedelta(minutes=5)]
        assert after and after[0] == datetime(2026, 1, day + 1, 23, tzinfo=UTC).timestamp()
    # Not polling: a fetch at start and one per publication.
    fetches = [r for r in audit.records if r["kind"] == "price_fetch"]
    assert len(fetches) == 3 and FakeMarket.calls == 3
    assert all(r["slots"] > 0 and r["provider"] == "fake" for r in fetches)
    # Pence became pounds: 10 p + the half-hour index.
    outlook = policy.tariff.outlook(datetime(2026, 1, 16, 0, 30, tzinfo=UTC))
    assert outlook.import_per_kwh[0] == pytest.approx(0.11)
    assert not any(st.stale for st in refresher.status.values())


def test_a_late_publication_is_retried_with_backoff_and_reported_stale(
        tmp_path: Path, fake_type: None) -> None:
    FakeMarket.late_until = datetime(2026, 1, 15, 19, 30, tzinfo=UTC)
    FakeMarket.fail_next = 2
    start = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)
    _, audit, seen, _ = _run_day(tmp_path, start, 6)
    kinds = [r["kind"] for r in audit.records]
    # Stale at start (the failed fetches: today itself unknown), and from 19:00 (16:00 + the
    # default 3 h) until the late publication; fresh again after each.
    assert kinds.count("prices_stale") == 2 and kinds.count("prices_fresh") == 2
    stale_at = [r["ts"] for r in audit.records if r["kind"] == "prices_stale"]
    assert stale_at[0].startswith("2026-01-15T15:00") and stale_at[1].startswith(
        "2026-01-15T19:0")
    errors = [r for r in audit.records if r["kind"] == "price_fetch" and r.get("error")]
    assert len(errors) == 2 and "HTTP 500" in errors[0]["error"]
    # Retries back off (2, 4, 8 ... minutes, at most 30): far fewer than one per tick.
    assert 4 <= FakeMarket.calls <= 16  # one per 5-min tick would be 42
    # Tomorrow arrived within one backoff of the late publication.
    tomorrow = datetime(2026, 1, 16, 23, tzinfo=UTC).timestamp()
    first_in = next(now for now, end in seen if end >= tomorrow)
    assert first_in - FakeMarket.late_until <= timedelta(minutes=31)
    # Only the two ticks whose fetch failed had nothing; every later one knew the present.
    assert [end for _, end in seen[:2]] == [0, 0]
    assert all(end > now.timestamp() for now, end in seen[2:])


def test_a_restart_with_a_fresh_cache_fetches_nothing(tmp_path: Path, fake_type: None) -> None:
    start = datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
    _run_day(tmp_path, start, 0.5)
    calls = FakeMarket.calls
    refresher, _, seen, _ = _run_day(tmp_path, start + timedelta(hours=1), 0.5)
    assert FakeMarket.calls == calls
    assert seen[0][1] == datetime(2026, 1, 16, 23, tzinfo=UTC).timestamp()
    assert "gridpilot_prices_stale{side=\"import\"} 0" in refresher.metric_lines()
