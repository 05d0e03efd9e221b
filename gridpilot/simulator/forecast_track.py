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
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.forecasts.evaluate import Scorer
from gridpilot.forecasts.providers import ForecastProvider, forecast_slots, observe_readings
from gridpilot.simulator.kept import Kept

__all__ = [
    "ForecastTrack",
    "TrackRecorder",
    "build_track",
    "outlook_ticks",
    "provider_key",
    "recall",
    "remember",
    "track_key",
]

_DATA_ONLY = frozenset({"time_of_week", "flat"})

_tracks: Kept[ForecastTrack] = Kept(4)
"""One per site a worker is busy with is enough (each is a few MB for a year)."""


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


class TrackRecorder:
    """Asks ``provider`` for the forecast of each outlook a replay over ``t_s`` builds, as the
    replay builds them, and scores each against the recording.

    Before the forecast of the outlook a tick builds, ``provider`` learns every reading up to and
    including that tick's, and none after: a forecast never sees the data it forecasts. ``keep``
    keeps the forecasts, read-only, for a :class:`ForecastTrack` (only for the built-in providers
    kept across replays: another provider may reuse the arrays it returns)."""

    def __init__(self, provider: ForecastProvider, t_s: IntArray, load_w: FloatArray,
                 pv_w: FloatArray, slots: IntArray, slot_s: int, *, keep: bool) -> None:
        self.provider = provider
        self._t_s, self._load_w, self._pv_w = t_s, load_w, pv_w
        self._slots, self._slot_s = slots, slot_s
        self._scorer = Scorer(t_s, load_w, pv_w)
        self._kept: list[FloatArray | None] | None = [] if keep else None
        self._observed = 0

    def outlook(self, i: int, s0: int, s1: int) -> FloatArray | None:
        """The forecast for slots ``s0 .. s1 - 1`` of the outlook tick ``i`` builds."""
        a, b = self._observed, i + 1
        observe_readings(self.provider, self._t_s[a:b], self._load_w[a:b], self._pv_w[a:b])
        self._observed = b
        slots = self._slots
        fc = forecast_slots(self.provider, int(slots[s0]), self._slot_s, s1 - s0)
        if fc is not None:
            if self._kept is not None:
                # Strategies only read it, and a kept track must stay as it was made.
                fc.setflags(write=False)
            self._scorer.score(int(self._t_s[i]), slots[s0:s1], fc,
                               getattr(self.provider, "last_pv_w", None))
        if self._kept is not None:
            self._kept.append(fc)
        return fc

    def learn_rest(self) -> None:
        """Let the provider learn the readings after the last outlook's tick too."""
        a = self._observed
        if a < self._t_s.shape[0]:
            observe_readings(self.provider, self._t_s[a:], self._load_w[a:], self._pv_w[a:])
            self._observed = int(self._t_s.shape[0])

    def summary(self) -> dict[str, Any] | None:
        """The forecasts' score (``None`` when none had a recorded slot to be scored on)."""
        return self._scorer.result().summary() if self._scorer.issues else None

    def track(self) -> ForecastTrack:
        assert self._kept is not None, "a track needs keep=True"
        return ForecastTrack(tuple(self._kept), self.summary())


def outlook_ticks(tick_slot: IntArray) -> list[int]:
    """The ticks at which a replay builds a new outlook: the first, and each whose price slot
    (``tick_slot``) differs from the tick before's."""
    if tick_slot.shape[0] == 0:
        return []
    return [0, *(np.flatnonzero(np.diff(tick_slot)) + 1).tolist()]


def build_track(provider: ForecastProvider, t_s: IntArray, load_w: FloatArray, pv_w: FloatArray,
                slots: IntArray, slot_s: int, tick_slot: IntArray,
                known_end: Sequence[int]) -> ForecastTrack:
    """The forecasts of every outlook of a replay (:class:`TrackRecorder`) in one pass: the
    outlook at tick ``i`` spans the slots ``tick_slot[i]`` to ``known_end`` of that slot."""
    recorder = TrackRecorder(provider, t_s, load_w, pv_w, slots, slot_s, keep=True)
    slot_of = tick_slot.tolist()
    for i in outlook_ticks(tick_slot):
        s0 = slot_of[i]
        recorder.outlook(i, s0, known_end[s0])
    return recorder.track()


def recall(key: Hashable) -> ForecastTrack | None:
    return _tracks.get(key)


def remember(key: Hashable, track: ForecastTrack) -> None:
    _tracks.put(key, track)


def _ints(values: Sequence[int]) -> Any:
    import array

    return array.array("q", values)
