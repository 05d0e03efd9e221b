"""``decide(policy, state)``: one command per tick, with the trace that explains it.

Pure and deterministic: no clock, no I/O; the same policy and state always give the same decision.
The steps:

1. **A person's mode on the device** (``state.person_override``) counts as manual: the engine
   yields. The decision has ``yielded=True``, ``winner="device"`` and a command that only describes
   the device's mode; the scheduler sends nothing while it yields.
2. **Intents, by layer.** Active manual overrides (the policy's ``manual`` section, then the
   run-time ``overrides``, each while ``start_s <= t < until_s``), then the manual rules, the
   schedule rules and the ``default``, in that order; within a layer the first matching rule in file
   order wins. A strategy rule that proposes nothing lets the next rule decide. If even the
   default has nothing to say, the engine falls back to ``self_consumption`` and says so.
3. **Anti-flap.** If the winning kind differs from ``state.active_command``'s and that kind has run
   for less than ``control.min_dwell_s`` (since ``state.active_since``), the previous command is
   kept, unless the winner is manual or from a higher layer than ``state.active_layer``, or a grid
   cap is being broken that the kept command cannot help with (the house draws more than an
   import cap while the kept command cannot discharge, or the PV surplus exceeds an export cap
   while it cannot charge): then the guard forces the change. Guards also narrow the kept
   command like any other.
4. **Limits.** The device's hard limits, then the active guards in priority order, narrow the
   command (see :mod:`gridpilot.engine.guards`). A forced manual intent skips the guards, never the
   device limits, and the trace names the guards it broke through. Under a demand charge a grid
   charge is then capped so that it sets no new monthly peak
   (:func:`gridpilot.engine.guards.cap_charge_at_month_peak`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from gridpilot.engine.actions import command_from_action, mirror_device_mode
from gridpilot.engine.commands import Command, CommandKind, DeviceLimits
from gridpilot.engine.decision import Candidate, Decision
from gridpilot.engine.guards import GuardLimit, cap_charge_at_month_peak, effective_reserve
from gridpilot.engine.model import LAYER_RANK, EngineModel, RuleEntry, engine_model

if TYPE_CHECKING:
    from gridpilot.engine.state import SiteState
    from gridpilot.rules.policy import CompiledOverride, Policy

__all__ = ["decide"]

_MANUAL = "manual"
_FALLBACK = Command(CommandKind.SELF_CONSUMPTION)


def _price_now(model: EngineModel, state: SiteState, t_s: float) -> float | None:
    prices = state.prices
    memo = model.price_memo
    if memo is not None and memo[0] is prices:
        # The same outlook as the last tick (the usual case): its first slot is remembered.
        if memo[1] <= t_s < memo[2]:
            return memo[3]
    else:
        n = len(prices)
        if n:
            end_s = float(prices.end_s)
            lo_s = float(prices.start_s[0])
            hi_s = end_s if n == 1 else min(end_s, float(prices.start_s[1]))
            first = float(prices.import_per_kwh[0])
            model.price_memo = (prices, lo_s, hi_s, first)
            if lo_s <= t_s < hi_s:
                return first
    n = len(prices)
    if n and prices.start_s[0] <= t_s < prices.end_s:
        if n == 1 or t_s < prices.start_s[1]:
            return float(prices.import_per_kwh[0])
        # An outlook built earlier than this tick: find the slot holding t.
        i = int(np.searchsorted(prices.start_s, t_s, side="right")) - 1
        return float(prices.import_per_kwh[i])
    if not model.needs_price:
        return None
    try:
        return model.tariff.import_price_at(state.time)
    except Exception:
        # An unknown price makes price conditions false; it must not stop the tick.
        return None


def _yield(model: EngineModel, state: SiteState) -> Decision:
    mode = state.device_mode
    assert mode is not None
    command = mirror_device_mode(mode.kind, model.limits)
    native = f" ({mode.native})" if mode.native else ""
    reason = f"a person set the device to {command.kind.value}{native} by hand: gridpilot yields"
    cands = (
        Candidate("device", _MANUAL, command, "won", reason),
        *(e.outranked for e in model.entries),
    )
    return Decision(
        command=command,
        winner="device",
        layer=_MANUAL,
        reason=reason,
        candidates=cands,
        notes=("yielding to the mode set on the device; nothing will be sent",),
        yielded=True,
    )


def decide(
    policy: Policy,
    state: SiteState,
    overrides: Sequence[CompiledOverride] = (),
) -> Decision:
    """Decide the command for ``state`` under ``policy`` (see the module text)."""
    model = engine_model(policy)
    if state.person_override:
        return _yield(model, state)
    t_s = state.time.timestamp()
    soc = state.soc_pct
    limits = model.limits
    soc_unknown = not math.isfinite(soc)
    if soc_unknown:
        # Nothing may discharge on a SOC nobody knows: read it as empty (at the device minimum).
        soc = limits.min_soc_pct
    price = _price_now(model, state, t_s) if model.needs_price else None
    pattern = model.pattern_at(t_s)
    if pattern.guards_fixed:
        active_guards = pattern.guards
        reserve = pattern.reserve_soc_pct
        guards_key = pattern.guards_key
    else:
        # Some guard whose calendar is open also tests price or SOC: test those now.
        active_guards = ()
        guards_key = 0
        open_key = pattern.guards_key
        for i, g in enumerate(model.guards):
            if open_key >> i & 1 and (g.probe is None or g.probe.conditions_hold(soc, price)):
                active_guards += (g,)
                guards_key |= 1 << i
        reserve = effective_reserve(limits, active_guards)
    prev = state.active_command
    prev_kind = None if prev is None else prev.kind
    cands: list[Candidate] = []
    notes: list[str] = []
    command: Command | None = None
    winner = ""
    layer = ""
    reason = ""
    force = False
    rank = -1

    if policy.overrides or overrides:
        for ov in (*policy.overrides, *overrides):
            if not ov.start_s <= t_s < ov.until_s:
                continue
            src = f"override:{ov.name}"
            if command is not None:
                cands.append(Candidate(src, _MANUAL, None, "outranked", "an earlier override won"))
                continue
            command = command_from_action(ov.action, limits)
            winner, layer, force, rank = src, _MANUAL, ov.force, 2
            until = datetime.fromtimestamp(ov.until_s, UTC).isoformat()
            reason = f"manual override until {until}: {command.describe()}"
            cands.append(Candidate(src, _MANUAL, command, "won", reason))

    entries = model.entries
    if command is not None:
        cands.extend(e.outranked for e in entries)
    else:
        hyst_pct = model.hysteresis_pct
        ctx = None
        e: RuleEntry
        for i, (e, cal_open) in enumerate(zip(entries, pattern.entry_open, strict=True)):
            if not cal_open:
                cands.append(e.not_active)
                continue
            probe = e.probe
            if probe is not None and probe.has_conditions:
                kind = e.hysteresis_kind
                h = hyst_pct if kind is not None and kind is prev_kind else 0.0
                if not probe.conditions_hold(soc, price, h):
                    cands.append(e.not_active)
                    continue
            if e.command is not None:
                command = e.command
                won = e.won
                assert won is not None
                cands.append(won)
                reason = won.reason
            else:
                strategy = e.strategy
                assert strategy is not None
                if ctx is None:
                    ctx = model.ctx_for(reserve)
                try:
                    proposal = strategy.propose(state, ctx)
                except Exception as exc:
                    # A faulty plugin is reported and skipped; it must never stop the tick.
                    msg = f"strategy {strategy.name!r} failed: {type(exc).__name__}: {exc}"
                    cands.append(Candidate(e.source, e.layer, None, "no_proposal", msg))
                    notes.append(msg)
                    continue
                if proposal.command is None:
                    cands.append(
                        Candidate(e.source, e.layer, None, "no_proposal", proposal.reason)
                    )
                    continue
                command = proposal.command
                reason = f"{strategy.name}: {proposal.reason}"
                cands.append(Candidate(e.source, e.layer, command, "won", reason))
            winner, layer, force, rank = e.source, e.layer, e.force, e.rank
            cands.extend(model.outranked_after[i])
            break

    if command is None:
        command = _FALLBACK
        winner, layer, rank = "fallback", "default", 0
        reason = "no rule or strategy proposed anything: self_consumption"
        cands.append(Candidate("fallback", "default", command, "won", reason))
        notes.append(reason)

    if (
        prev is not None
        and prev.kind is not command.kind
        and state.active_since is not None
        and rank < 2
        and model.min_dwell_s > 0
    ):
        prev_layer = state.active_layer
        if prev_layer is None or rank <= LAYER_RANK.get(prev_layer, 0):
            elapsed_s = t_s - state.active_since.timestamp()
            pressing = _guard_pressing(prev.kind, command.kind, state, limits, active_guards)
            if pressing:
                notes.append(f"{pressing} forces the change before the minimum dwell")
            elif 0 <= elapsed_s < model.min_dwell_s:
                why = (
                    f"{prev.kind.value} has run {elapsed_s:.0f} s of the minimum "
                    f"{model.min_dwell_s:g} s; {command.kind.value} waits"
                )
                cands.append(Candidate("anti-flap", layer, prev, "held", why))
                reason = f"held: {why}"
                command = prev

    if soc_unknown:
        notes.append(f"SOC reading is {state.soc_pct!r}: decided as if at {soc:g} %")
    if force and active_guards:
        names = ", ".join(g.label for g in active_guards)
        notes.append(f"forced through guards ({names}); device limits still apply")
    final, hits = model.narrower.narrow(command, soc, active_guards, guards_key, force)
    if final.kind is CommandKind.CHARGE and model.base_ctx.demand_charge_per_kw > 0 and not force:
        final, hits = cap_charge_at_month_peak(
            final, hits, month_peak_import_w=state.month_peak_import_w,
            net_w=state.load_w - state.pv_w,
        )
    # Positional: measurably cheaper than keywords on every tick.
    return Decision(final, winner, layer, reason, tuple(cands), hits, tuple(notes))


_NO_DISCHARGE = frozenset({CommandKind.CHARGE, CommandKind.HOLD, CommandKind.IDLE})
_NO_CHARGE = frozenset({CommandKind.DISCHARGE, CommandKind.IDLE})


def _guard_pressing(
    kept: CommandKind,
    new: CommandKind,
    state: SiteState,
    limits: DeviceLimits,
    guards: tuple[GuardLimit, ...],
) -> str:
    """The limit (``guard:<name>`` or ``device.max_import_w``) that the kept command leaves
    broken while the new one could help, or ``""``. Only the grid caps can be broken by standing
    still: the SOC limits are enforced by narrowing whatever command runs."""
    net_w = state.load_w - state.pv_w
    if kept in _NO_DISCHARGE and new not in _NO_DISCHARGE:
        caps = [(g.label, g.max_import_w) for g in guards if g.max_import_w is not None]
        if limits.max_import_w is not None:
            caps.append(("device.max_import_w", limits.max_import_w))
        for label, cap in caps:
            if net_w > cap:
                return label
    if kept in _NO_CHARGE and new not in _NO_CHARGE:
        caps = [(g.label, g.max_export_w) for g in guards if g.max_export_w is not None]
        if limits.max_export_w is not None:
            caps.append(("device.max_export_w", limits.max_export_w))
        for label, cap in caps:
            if -net_w > cap:
                return label
    return ""
