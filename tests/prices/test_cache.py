"""The price cache: exact round trips, merging, a damaged file costs a refetch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.prices.base import PriceSlots
from gridpilot.prices.cache import PriceCache, cache_key, merge_slots
from gridpilot.prices.providers.octopus import OctopusSettings


def _slots(values: list[float], first: int = 0, unit: str = "per_mwh") -> PriceSlots:
    starts = (first + np.arange(len(values), dtype=np.int64)) * 900
    return PriceSlots(starts, starts + 900, np.array(values, dtype=np.float64),
                      unit, "EUR", "test")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=30))
def test_the_cache_round_trips_exactly(tmp_path: Path, values: list[float]) -> None:
    cache = PriceCache(tmp_path)
    (tmp_path / "prices" / "k.json").unlink(missing_ok=True)
    stored = cache.store("k", _slots(values))
    loaded, problem = cache.load("k")
    assert problem == "" and loaded is not None
    assert loaded.value.tobytes() == stored.value.tobytes() == np.array(
        values, dtype=np.float64).tobytes()
    assert loaded.start_s.tolist() == stored.start_s.tolist()
    assert (loaded.unit, loaded.currency, loaded.source) == ("per_mwh", "EUR", "test")


def test_new_slots_replace_the_old_ones_they_overlap() -> None:
    old = _slots([1.0, 2.0, 3.0])
    new = _slots([9.0, 8.0], first=2)
    merged = merge_slots(old, new)
    assert merged.value.tolist() == [1.0, 2.0, 9.0, 8.0]
    assert merge_slots(old, _slots([5.0], unit="per_kwh")).value.tolist() == [5.0]


def test_a_damaged_cache_is_ignored_and_said(tmp_path: Path) -> None:
    cache = PriceCache(tmp_path)
    cache.store("k", _slots([1.0]))
    cache.path("k").write_text("{not json", encoding="utf-8")
    slots, problem = cache.load("k")
    assert slots is None and "fetched again" in problem


def test_the_key_never_holds_a_secret_and_follows_the_settings() -> None:
    a = cache_key("octopus", OctopusSettings(product="AGILE-24-10-01", region="C"))
    b = cache_key("octopus", OctopusSettings(product="AGILE-24-10-01", region="A"))
    assert a != b and a.startswith("octopus-")
