"""Replay recorded load and PV through the live ``decide()`` and the battery model.

Each tick builds the :class:`SiteState` the live scheduler would build: the recorded load and PV,
the model's SOC, the prices known at that instant (a day-ahead tariff only shows what was
published by then), a forecast from the default time-of-week provider, the month's peak import
so far, and the previous command with the time its kind started (anti-flap). ``decide()`` picks
the command and :func:`gridpilot.simulator.battery.step` applies it for one step.

Everything that does not change per tick is built once: prices for every slot, the publication
horizon per slot, month numbers, the forecast and price outlook (rebuilt only when the slot or
the known horizon changes), so the loop itself only builds the state and calls two functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from gridpilot.engine.commands import CommandKind
from gridpilot.engine.state import PriceOutlook, SiteState
from gridpilot.errors import DataError
from gridpilot.simulator.accounting import month_index
from gridpilot.simulator.battery import BatteryParams, step
from gridpilot.simulator.loaders.base import TimeSeries

if TYPE_CHECKING:
    from gridpilot.engine.decision import Decision
    from gridpilot.engine.forecast import ForecastProvider
    from gridpilot.rules.policy import CompiledOverride, Policy

__all__ = ["KINDS", "DecideFn", "ReplayResult", "replay"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DecideFn = Callable[["Policy", SiteState], "Decision"]
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

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    def command_changes(self) -> int:
        return int((np.diff(self.kind_code) != 0).sum())


def _real_decide() -> DecideFn:
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

    params = params or BatteryParams.from_policy(policy)
    if decide_fn is None:
        real = _real_decide()
        if overrides:
            ovs = tuple(overrides)

            def decide_fn(p: Policy, s: SiteState) -> Decision:
                return real(p, s, ovs)  # type: ignore[call-arg]
        else:
            decide_fn = real
    if forecast is None:
        from gridpilot.engine.forecast import TimeOfWeekAverage

        forecast = TimeOfWeekAverage(policy.tz)
    load = series.column("load_w")
    pv = series.column("pv_w")
    for name, col in (("load_w", load), ("pv_w", pv)):
        if np.isnan(col).any():
            raise DataError(
                f"{series.report.source}: column {name!r} has gaps; resample with a gap policy"
            )
    n = len(series)
    if n == 0:
        raise DataError(f"{series.report.source}: no data in the chosen period")
    step_s = series.interval_s
    t_s = series.start_s
    tariff = policy.tariff

    slot_s = int(tariff.slot_s)
    horizon_slots = max(1, math.ceil(horizon_s / slot_s))
    first_slot = int(t_s[0]) - int(t_s[0]) % slot_s
    n_slots = (int(t_s[-1]) - first_slot) // slot_s + 1 + horizon_slots
    slots = first_slot + np.arange(n_slots, dtype=np.int64) * slot_s
    slot_imp = tariff.import_prices(slots)
    slot_exp = tariff.export_prices(slots)
    tick_slot = ((t_s - first_slot) // slot_s).astype(np.int64)
    tick_imp = tariff.import_prices(t_s)
    tick_exp = tariff.export_prices(t_s)
    # How far prices are known, per slot: looked up once per slot at the slot's start (a tick
    # later in the slot never sees less than that).
    known_end = _known_slot_ends(tariff, slots, tick_slot, horizon_slots)
    midx, _ = month_index(t_s, policy.tz)

    bat = np.empty(n)
    grid = np.empty(n)
    soc_end = np.empty(n)
    soc_start = np.empty(n)
    kind_code = np.empty(n, dtype=np.int8)
    winner_code = np.empty(n, dtype=np.int16)
    winners: dict[str, int] = {}

    soc = params.min_soc_pct if initial_soc_pct is None else float(initial_soc_pct)
    soc = min(max(soc, params.min_soc_pct), params.max_soc_pct)
    loads = load.tolist()
    pvs = pv.tolist()
    times = t_s.tolist()
    slot_list = tick_slot.tolist()
    month_list = midx.tolist()
    dt = float(step_s)
    active = None
    active_since = None
    active_layer = None
    month_peak = 0.0
    month = -1
    last_key = (-1, -1)
    outlook = PriceOutlook.empty()
    fc: FloatArray | None = None
    prev_bat = 0.0
    observe = forecast.observe
    kind_codes = _KIND_CODE
    started = time.perf_counter()
    for i in range(n):
        ts = times[i]
        now = datetime.fromtimestamp(ts, UTC)
        ld = loads[i]
        p = pvs[i]
        observe(now, ld, p)
        s0 = slot_list[i]
        s1 = known_end[s0]
        if (s0, s1) != last_key:
            last_key = (s0, s1)
            starts = slots[s0:s1]
            outlook = PriceOutlook(
                starts, int(slots[s1 - 1]) + slot_s, slot_imp[s0:s1], slot_exp[s0:s1]
            )
            fc = forecast.forecast(starts)
        if month_list[i] != month:
            month = month_list[i]
            month_peak = 0.0
        state = SiteState(
            time=now,
            soc_pct=soc,
            load_w=ld,
            pv_w=p,
            grid_w=ld - p - prev_bat,
            battery_w=prev_bat,
            prices=outlook,
            active_command=active,
            active_since=active_since,
            month_peak_import_w=month_peak,
            forecast_net_load_w=fc,
            active_layer=active_layer,
        )
        decision = decide_fn(policy, state)
        cmd = decision.command
        if active is None or cmd.kind is not active.kind:
            active_since = now
        active = cmd
        active_layer = decision.layer
        r = step(cmd, soc, ld, p, dt, params)
        soc_start[i] = soc
        soc = r.soc_pct
        prev_bat = r.battery_w
        bat[i] = prev_bat
        g = r.grid_w
        grid[i] = g
        soc_end[i] = soc
        if g > month_peak:
            month_peak = g
        kind_codes_i = kind_codes[cmd.kind]
        kind_code[i] = kind_codes_i
        w = winners.get(decision.winner)
        if w is None:
            w = winners[decision.winner] = len(winners)
        winner_code[i] = w
        if progress is not None and i % progress_every == 0:
            progress(i, n)
    elapsed = time.perf_counter() - started
    if progress is not None:
        progress(n, n)
    return ReplayResult(
        start_s=t_s.copy(),
        step_s=step_s,
        load_w=load.copy(),
        pv_w=pv.copy(),
        battery_w=bat,
        grid_w=grid,
        soc_start_pct=soc_start,
        soc_pct=soc_end,
        import_price=np.asarray(tick_imp, dtype=np.float64),
        export_price=np.asarray(tick_exp, dtype=np.float64),
        kind_code=kind_code,
        winner_code=winner_code,
        winners=list(winners),
        elapsed_s=elapsed,
    )


def _known_slot_ends(
    tariff: object, slots: IntArray, tick_slot: IntArray, horizon_slots: int
) -> list[int]:
    """For each slot, the end index (exclusive) of the outlook a tick in it sees."""
    known_until = tariff.known_until  # type: ignore[attr-defined]
    n_slots = slots.shape[0]
    slot_s = int(slots[1] - slots[0]) if n_slots > 1 else 1800
    ends = [0] * n_slots
    used = np.unique(tick_slot).tolist()
    cache: dict[int, int] = {}
    for s in used:
        start = int(slots[s])
        known = known_until(datetime.fromtimestamp(start, UTC))
        end = s + horizon_slots
        if known is not None:
            k_s = int(known.timestamp())
            key = k_s
            if key not in cache:
                cache[key] = (k_s - int(slots[0])) // slot_s
            end = min(end, cache[key])
        ends[s] = min(max(end, s + 1), n_slots)
    return ends
