"""The forecasts a replay hands its strategies, kept for the next replay of the same data.

A sweep or a fleet replays one site's data through many variants of a policy. The default
forecast (the time-of-week average) learns only from the recorded load and PV, and a replay asks
it at the same instants for the same slots whatever the variant decides, so every variant would
compute the very same forecasts and the same forecast score. The first replay records them as a
:class:`ForecastTrack`; a later replay with the same key (the data, the site's zone, the price
slots and what is known when) reads them back instead of learning and forecasting again.

Only the built-in providers that learn from nothing but the recorded data (``time_of_week``,
the default, and ``flat``) are kept, keyed by their settings; one that reads a file, a weather
service or a model is asked afresh. A replay given its own provider object never uses a track.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from gridpilot.arrays import FloatArray, IntArray

__all__ = ["ForecastTrack", "provider_key", "recall", "remember", "track_key"]

_DATA_ONLY = frozenset({"time_of_week", "flat"})

_KEEP = 4
"""Tracks kept: one per site a worker is busy with is enough (each is a few MB for a year)."""

_tracks: OrderedDict[Hashable, ForecastTrack] = OrderedDict()


@dataclass(frozen=True, slots=True)
class ForecastTrack:
    """Each outlook's forecast, in the order the replay built the outlooks, and the score."""

    forecasts: tuple[FloatArray | None, ...]
    summary: dict[str, Any] | None


def provider_key(spec: dict[str, Any]) -> str | None:
    """The policy's ``forecast:`` section (``type`` and settings) as a key, or ``None`` when its
    forecasts may depend on more than the recorded data."""
    if spec.get("type") not in _DATA_ONLY or any(k.endswith("_file") for k in spec):
        return None
    return json.dumps(spec, sort_keys=True, default=str)


def track_key(provider: str, zone: str, t_s: IntArray, load_w: FloatArray, pv_w: FloatArray,
              slots: IntArray, known_end: Sequence[int]) -> Hashable:
    """What the default provider's forecasts over a replay depend on, as one hashable value."""
    digest = hashlib.blake2b(digest_size=20)
    for arr in (t_s, load_w, pv_w, slots):
        digest.update(arr.tobytes())
    digest.update(bytes(memoryview(_ints(known_end))))
    return (provider, zone, digest.hexdigest())


def recall(key: Hashable) -> ForecastTrack | None:
    track = _tracks.get(key)
    if track is not None:
        _tracks.move_to_end(key)
    return track


def remember(key: Hashable, track: ForecastTrack) -> None:
    _tracks[key] = track
    _tracks.move_to_end(key)
    while len(_tracks) > _KEEP:
        _tracks.popitem(last=False)


def _ints(values: Sequence[int]) -> Any:
    import array

    return array.array("q", values)
