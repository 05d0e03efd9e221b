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

A kept provider's track is built before the replay's loop (:func:`build_track`), in one pass over
the price slots: the same readings learnt and the same forecasts asked, in the same order, as the
loop would, without the decisions' work in between.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.forecasts.evaluate import Scorer
from gridpilot.forecasts.providers import ForecastProvider, forecast_slots, observe_readings

__all__ = ["ForecastTrack", "build_track", "provider_key", "recall", "remember", "track_key"]

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


def build_track(provider: ForecastProvider, t_s: IntArray, load_w: FloatArray, pv_w: FloatArray,
                slots: IntArray, tick_slot: IntArray, known_end: Sequence[int]) -> ForecastTrack:
    """The forecast of each outlook a replay over ``t_s`` builds, and their score.

    A replay builds a new outlook at each tick whose price slot (``tick_slot``, an index into
    ``slots``) differs from the tick before's; the outlook spans the slots from there to
    ``known_end`` of that slot. Before each forecast ``provider`` learns every reading up to and
    including that tick's, and none after: a forecast never sees the data it forecasts.
    """
    n = int(t_s.shape[0])
    if n == 0:
        return ForecastTrack((), None)
    slot_s = int(slots[1] - slots[0]) if slots.shape[0] > 1 else 1
    firsts = np.flatnonzero(np.diff(tick_slot)) + 1
    ticks = [0, *firsts.tolist()]
    times = t_s.tolist()
    slot_of = tick_slot.tolist()
    scorer = Scorer(t_s, load_w, pv_w)
    forecasts: list[FloatArray | None] = []
    observed = 0
    for i in ticks:
        observe_readings(provider, t_s[observed:i + 1], load_w[observed:i + 1],
                         pv_w[observed:i + 1])
        observed = i + 1
        s0 = slot_of[i]
        s1 = known_end[s0]
        fc = forecast_slots(provider, int(slots[s0]), slot_s, s1 - s0)
        if fc is not None:
            # Strategies only read it, and a kept track must stay as it was made.
            fc.setflags(write=False)
            scorer.score(times[i], slots[s0:s1], fc, getattr(provider, "last_pv_w", None))
        forecasts.append(fc)
    return ForecastTrack(tuple(forecasts), scorer.result().summary() if scorer.issues else None)


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
