"""Replay recorded load and PV through the live ``decide()`` and the battery model.

Each tick builds the :class:`SiteState` the live scheduler would build: the recorded load and PV,
the model's SOC, the prices known at that instant (a day-ahead tariff only shows what was
published by then), a forecast from the default time-of-week provider, the month's peak import
so far, and the previous command with the time its kind started (anti-flap). ``decide()`` picks
the command and :func:`gridpilot.engine.battery.step` applies it for one step.

Everything that does not change per tick is built once: prices for every slot, the publication
horizon per slot, month numbers, the forecast and price outlook (rebuilt only when the slot or
the known horizon changes), so the loop itself only builds the state and calls two functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.engine.battery import BatteryParams, step
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.hold import Hold
from gridpilot.engine.model import engine_model
from gridpilot.engine.state import PriceOutlook, ReadingAges, SiteState
from gridpilot.errors import DataError
from gridpilot.recorded.base import TimeSeries
from gridpilot.simulator.accounting import month_index
from gridpilot.simulator.forecast_track import (
    ForecastTrack,
    TrackRecorder,
    build_track,
    provider_key,
    recall,
    remember,
    track_key,
)
from gridpilot.simulator.pricehistory import live_sides, require_live_prices

if TYPE_CHECKING:
    from gridpilot.engine.decision import Decision
    from gridpilot.engine.program import CompiledOverride
    from gridpilot.forecasts.providers import ForecastProvider
    from gridpilot.rules.policy import Policy
    from gridpilot.rules.tariff import Tariff

__all__ = ["KINDS", "DecideFn", "ReplayResult", "replay", "tick_prices"]

DecideFn = Callable[["Policy", SiteState], "Decision"]
FullDecideFn = Callable[..., "Decision"]
ProgressFn = Callable[[int, int], None]

KINDS: tuple[CommandKind, ...] = tuple(CommandKind)
"""Command kinds in the order of :attr:`ReplayResult.kind_code`."""
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
DEFAULT_HORIZON_S = 48 * 3600


@dataclass
class ReplayResult:
    """Per-tick arrays of one replay. Powers are averages over the step [W]; ``soc_pct`` is the
    SOC at the end of each step, ``soc_start_pct`` at its start."""

    start_s: IntArray
    step_s: int
    load_w: FloatArray
    pv_w: FloatArray
    battery_w: FloatArray
    grid_w: FloatArray
    soc_start_pct: FloatArray
    soc_pct: FloatArray
    import_price: FloatArray
    export_price: FloatArray
    kind_code: npt.NDArray[np.int8]
    """Index into :data:`KINDS` of each tick's command."""
    winner_code: npt.NDArray[np.int16]
    winners: list[str] = field(default_factory=list)
    """Labels of :attr:`winner_code` (the winning rule/strategy source)."""
    elapsed_s: float = 0.0
    forecast: dict[str, Any] | None = None
    """How good the forecast the strategies planned on was (:mod:`gridpilot.forecasts.evaluate`):
    each forecast scored against the recorded interval starting at its slot; ``None`` when no
    strategy read one."""

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    def command_changes(self) -> int:
        return int((np.diff(self.kind_code) != 0).sum())


def _real_decide() -> FullDecideFn:
    from gridpilot.engine.decide import decide

    return decide


def replay(
    policy: Policy,
    series: TimeSeries,
    *,
    initial_soc_pct: float | None = None,
    params: BatteryParams | None = None,
    decide_fn: DecideFn | None = None,
    forecast: ForecastProvider | None = None,
    overrides: Sequence[CompiledOverride] = (),
    horizon_s: int = DEFAULT_HORIZON_S,
    progress: ProgressFn | None = None,
    progress_every: int = 2048,
) -> ReplayResult:
    """Run ``policy`` over ``series`` (regular steps with ``load_w`` and ``pv_w`` columns, no
    gaps). ``initial_soc_pct`` defaults to the battery's lowest SOC."""
    import time

    params = params or policy.battery
    # Without a decide_fn of the caller's, each decision comes with a Hold: the ticks it covers
    # reuse it without building a state or deciding again (the same decisions, see
    # gridpilot.engine.hold).
    real = _real_decide()
    ovs = tuple(overrides)
    # Only strategies read the forecast; a policy of plain actions skips its upkeep.
    use_forecast = forecast is not None or any(
        r.strategy is not None for r in (*policy.rules, policy.default)
    )
    # The default provider learns only the recorded data: its forecasts are kept for the next
    # replay of the same data (a sweep's variants, a fleet's), see forecast_track.
    provider = provider_key(policy.doc.forecast.model_dump()) if forecast is None else None
    if forecast is None:
        forecast = policy.new_forecast()
    load, pv = series.complete_columns("load_w", "pv_w", fix="resample with a gap policy")
    n = len(series)
    if n == 0:
        raise DataError(f"{series.report.source}: no data in the chosen period")
    step_s = series.interval_s
    t_s = series.start_s
    tariff = policy.tariff
    if live_sides(tariff):
        # Before the first tick: a time without a price is refused here, located in the policy.
        require_live_prices(policy, int(t_s[0]), series.end_s, horizon_s)

    slot_s = int(tariff.slot_s)
    horizon_slots = max(1, math.ceil(horizon_s / slot_s))
    first_slot = int(t_s[0]) - int(t_s[0]) % slot_s
    n_slots = (int(t_s[-1]) - first_slot) // slot_s + 1 + horizon_slots
    slots = first_slot + np.arange(n_slots, dtype=np.int64) * slot_s
    tick_slot = ((t_s - first_slot) // slot_s).astype(np.int64)
    tick_imp, tick_exp = tick_prices(tariff, t_s, step_s)
    # How far prices are known, per slot: looked up once per slot at the slot's start (a tick
    # later in the slot never sees less than that).
    known_end = _known_slot_ends(tariff, slots, tick_slot, horizon_slots)
    # Prices are asked only for slots some tick can see: past the end of a live side's history
    # there is no price to ask for (and none is shown).
    seen = max(known_end)
    slot_imp = np.full(n_slots, np.nan)
    slot_exp = np.full(n_slots, np.nan)
    slot_imp[:seen] = tariff.import_prices(slots[:seen])
    slot_exp[:seen] = tariff.export_prices(slots[:seen])
    midx, _ = month_index(t_s, policy.tz)
    # The calendar code of every tick at once: a decision's hold names the code it holds for.
    codes = engine_model(policy).calendar.codes_at(t_s) if decide_fn is None else [0] * n
    started = time.perf_counter()
    track: ForecastTrack | None = None
    recorder: TrackRecorder | None = None
    if use_forecast and provider is not None:
        key = track_key(provider, policy.tz.key, t_s, load, pv, slots, known_end)
        track = recall(key)
        if track is None:
            # Learnt and asked before the loop, as the loop would: half the cost of doing it
            # between the decisions.
            track = build_track(forecast, t_s, load, pv, slots, slot_s, tick_slot, known_end)
            remember(key, track)
    elif use_forecast:
        # Any other provider is asked in the loop, where the progress shows a slow one.
        recorder = TrackRecorder(forecast, t_s, load, pv, slots, slot_s, keep=False)
    outlooks = 0

    # Per-tick results go into Python lists (cheaper to append than numpy item writes).
    bat: list[float] = []
    grid: list[float] = []
    soc_end: list[float] = []
    soc_start: list[float] = []
    kinds: list[int] = []
    winner_ids: list[int] = []
    winners: dict[str, int] = {}

    soc = params.min_soc_pct if initial_soc_pct is None else float(initial_soc_pct)
    soc = min(max(soc, params.min_soc_pct), params.max_soc_pct)
    loads = load.tolist()
    pvs = pv.tolist()
    times = t_s.tolist()
    slot_list = tick_slot.tolist()
    month_list = midx.tolist()
    dt = float(step_s)
    active: Command | None = None
    active_kind = None
    active_since = None
    active_layer = None
    month_peak = 0.0
    month = -1
    last_s0 = last_s1 = -1
    outlook = PriceOutlook.empty()
    fc: FloatArray | None = None
    prev_bat = 0.0
    kind_codes = _KIND_CODE
    fromtimestamp = datetime.fromtimestamp
    utc = UTC
    make_state = _state_factory()
    battery_step = step
    append_bat = bat.append
    append_grid = grid.append
    append_soc = soc_end.append
    append_soc0 = soc_start.append
    append_kind = kinds.append
    append_winner = winner_ids.append
    next_progress = 0 if progress is not None else n + 1
    # The decision in force and its hold, unpacked (a tick inside it costs a few comparisons).
    held: Decision | None = None
    command = Command(CommandKind.SELF_CONSUMPTION)
    kind_code = winner_id = 0
    h_code = 0
    h_until = 0.0
    h_soc0 = h_soc1 = h_net0 = h_net1 = h_peak0 = h_peak1 = 0.0
    for i in range(n):
        t = times[i]
        ld = loads[i]
        p = pvs[i]
        s0 = slot_list[i]
        s1 = known_end[s0]
        if s0 != last_s0 or s1 != last_s1:
            last_s0 = s0
            last_s1 = s1
            starts = slots[s0:s1]
            outlook = PriceOutlook(
                starts, int(slots[s1 - 1]) + slot_s, slot_imp[s0:s1], slot_exp[s0:s1]
            )
            held = None
            if track is not None:
                fc = track.forecasts[outlooks]
                outlooks += 1
            elif recorder is not None:
                fc = recorder.outlook(i, s0, s1)
        if month_list[i] != month:
            month = month_list[i]
            month_peak = 0.0
        net = ld - p
        if (
            held is not None
            and t < h_until
            and codes[i] == h_code
            and h_soc0 <= soc <= h_soc1
            and h_net0 <= net <= h_net1
            and h_peak0 <= month_peak <= h_peak1
        ):
            pass  # the held decision: its command, kind and winner stay as they are
        else:
            now = fromtimestamp(t, utc)
            state = make_state(now, soc, ld, p, net - prev_bat, prev_bat, outlook, active,
                               active_since, month_peak, fc, active_layer)
            if decide_fn is None:
                hold = Hold()
                decision = real(policy, state, ovs, hold)
            else:
                decision = decide_fn(policy, state)
            cmd = decision.command
            kind = cmd.kind
            layer = decision.layer
            if cmd is not active and (active is None or cmd != active):
                if kind is not active_kind:
                    active_since = now
                    active_kind = kind
                active = cmd
                held = None
            elif layer != active_layer or decide_fn is not None:
                held = None
            else:
                # The next tick's state has this tick's objects: the hold applies to it.
                held = decision
                h_code = codes[i]
                h_until = hold.until_s
                h_soc0 = hold.soc_min_pct
                h_soc1 = hold.soc_max_pct
                h_net0 = hold.net_min_w
                h_net1 = hold.net_max_w
                h_peak0 = hold.peak_min_w
                h_peak1 = hold.peak_max_w
            active_layer = layer
            command = cmd
            kind_code = kind_codes[kind]
            found = winners.get(decision.winner)
            if found is None:
                found = winners[decision.winner] = len(winners)
            winner_id = found
        append_soc0(soc)
        prev_bat, g, soc = battery_step(command, soc, ld, p, dt, params)
        append_bat(prev_bat)
        append_grid(g)
        append_soc(soc)
        if g > month_peak:
            month_peak = g
        append_kind(kind_code)
        append_winner(winner_id)
        if i >= next_progress:
            next_progress += progress_every
            progress(i, n)  # type: ignore[misc]
    score = None
    if track is not None:
        score = track.summary
    elif recorder is not None:
        # The provider has learnt the whole recording (a caller may read its object after).
        recorder.learn_rest()
        score = recorder.summary()
    elapsed = time.perf_counter() - started
    if progress is not None:
        progress(n, n)
    return ReplayResult(
        start_s=t_s.copy(),
        step_s=step_s,
        load_w=load.copy(),
        pv_w=pv.copy(),
        battery_w=np.asarray(bat, dtype=np.float64),
        grid_w=np.asarray(grid, dtype=np.float64),
        soc_start_pct=np.asarray(soc_start, dtype=np.float64),
        soc_pct=np.asarray(soc_end, dtype=np.float64),
        import_price=np.asarray(tick_imp, dtype=np.float64),
        export_price=np.asarray(tick_exp, dtype=np.float64),
        kind_code=np.asarray(kinds, dtype=np.int8),
        winner_code=np.asarray(winner_ids, dtype=np.int16),
        winners=list(winners),
        elapsed_s=elapsed,
        forecast=None if score is None else dict(score),
    )


def tick_prices(tariff: Tariff, t_s: IntArray, step_s: int) -> tuple[FloatArray, FloatArray]:
    """Import and export price of each step [currency/kWh]: the mean over the price slots the
    step spans (power is flat within a step, so this bills each slot's share of the energy)."""
    slot_s = int(tariff.slot_s)
    if slot_s >= step_s or step_s % slot_s:
        return tariff.import_prices(t_s), tariff.export_prices(t_s)
    sub = (t_s[:, None] + np.arange(0, step_s, slot_s, dtype=np.int64)[None, :]).ravel()
    k = step_s // slot_s
    imp = tariff.import_prices(sub).reshape(-1, k).mean(axis=1)
    exp = tariff.export_prices(sub).reshape(-1, k).mean(axis=1)
    return imp, exp


_AGES = ReadingAges()
_FIELD_ORDER = (
    "time", "soc_pct", "load_w", "pv_w", "grid_w", "battery_w", "prices", "ages", "device_mode",
    "active_command", "active_since", "month_peak_import_w", "forecast_net_load_w",
    "active_layer",
)


def _state_factory() -> Callable[..., SiteState]:
    """A fast SiteState constructor: positional arguments (with one shared ``ReadingAges``)
    cost half of keywords, so use them while the field order is the one this module knows."""
    names = tuple(f.name for f in fields(SiteState))
    if names[: len(_FIELD_ORDER)] == _FIELD_ORDER:

        def positional(now: datetime, soc: float, ld: float, pv: float, grid: float,
                       bat: float, outlook: PriceOutlook, active: Command | None,
                       since: datetime | None, peak: float, fc: FloatArray | None,
                       layer: str | None) -> SiteState:
            return SiteState(now, soc, ld, pv, grid, bat, outlook, _AGES, None, active, since,
                             peak, fc, layer)

        return positional

    def keywords(now: datetime, soc: float, ld: float, pv: float, grid: float, bat: float,
                 outlook: PriceOutlook, active: Command | None, since: datetime | None,
                 peak: float, fc: FloatArray | None, layer: str | None) -> SiteState:
        return SiteState(time=now, soc_pct=soc, load_w=ld, pv_w=pv, grid_w=grid, battery_w=bat,
                         prices=outlook, ages=_AGES, active_command=active, active_since=since,
                         month_peak_import_w=peak, forecast_net_load_w=fc, active_layer=layer)

    return keywords


def _known_slot_ends(
    tariff: Tariff, slots: IntArray, tick_slot: IntArray, horizon_slots: int
) -> list[int]:
    """For each slot, the end index (exclusive) of the outlook a tick in it sees.

    What is published stays published, so ``known_until`` never moves back as time moves on:
    where it gives the same answer at two slots it gives it at every slot between them. The
    slots are therefore bisected, and ``known_until`` is asked about once per publication rather
    than once per slot.
    """
    known_until = tariff.known_until
    n_slots = slots.shape[0]
    slot_s = int(slots[1] - slots[0]) if n_slots > 1 else 1800
    first_s = int(slots[0])
    used = np.unique(tick_slot).tolist()
    known: list[int | None] = [None] * len(used)

    def ask(j: int) -> int | None:
        k = known_until(datetime.fromtimestamp(int(slots[used[j]]), UTC))
        return None if k is None else int(k.timestamp())

    if used:
        known[0] = ask(0)
        known[-1] = ask(len(used) - 1)
        spans = [(0, len(used) - 1)]
        while spans:
            lo, hi = spans.pop()
            if hi - lo <= 1:
                continue
            if known[lo] == known[hi]:
                for j in range(lo + 1, hi):
                    known[j] = known[lo]
                continue
            mid = (lo + hi) // 2
            known[mid] = ask(mid)
            spans.append((lo, mid))
            spans.append((mid, hi))
    ends = [0] * n_slots
    for s, k_s in zip(used, known, strict=True):
        end = s + horizon_slots
        if k_s is not None:
            end = min(end, (k_s - first_s) // slot_s)
        ends[s] = min(max(end, s + 1), n_slots)
    return ends
