"""Anti-flap: a new command kind waits until the previous one has run the minimum dwell.

If the winning kind differs from ``state.active_command``'s and that kind has run for less than
``control.min_dwell_s`` (since ``state.active_since``), the previous command is kept, unless the
winner is manual or from a higher layer than ``state.active_layer``, or a grid cap is being broken
that the kept command cannot help with (the house draws more than an import cap while the kept
command cannot discharge, or the PV surplus exceeds an export cap while it cannot charge): then
the guard forces the change. Guards narrow the kept command like any other.
"""

from __future__ import annotations

from gridpilot.engine.arbiter import Outcome
from gridpilot.engine.commands import CommandKind, DeviceLimits
from gridpilot.engine.decision import Candidate
from gridpilot.engine.guards import GuardLimit
from gridpilot.engine.hold import Hold
from gridpilot.engine.model import EngineModel
from gridpilot.engine.program import LAYER_RANK
from gridpilot.engine.state import SiteState

__all__ = ["hold_against_flap"]

_NO_DISCHARGE = frozenset({CommandKind.CHARGE, CommandKind.HOLD, CommandKind.IDLE})
_NO_CHARGE = frozenset({CommandKind.DISCHARGE, CommandKind.IDLE})


def hold_against_flap(model: EngineModel, state: SiteState, outcome: Outcome,
                      guards: tuple[GuardLimit, ...], hold: Hold | None = None) -> None:
    """Keep the previous command in ``outcome`` while the minimum dwell says so."""
    prev = state.active_command
    command = outcome.command
    if (
        prev is None
        or prev.kind is command.kind
        or state.active_since is None
        or outcome.rank >= 2
        or model.min_dwell_s <= 0
    ):
        return
    prev_layer = state.active_layer
    if prev_layer is not None and outcome.rank > LAYER_RANK.get(prev_layer, 0):
        return
    since_s = state.active_since.timestamp()
    elapsed_s = state.time.timestamp() - since_s
    pressing = _guard_pressing(prev.kind, command.kind, state, model.limits, guards, hold)
    if hold is not None and not pressing and elapsed_s < model.min_dwell_s:
        # Time only moves on: the answer changes where the dwell starts or ends.
        hold.until(since_s if elapsed_s < 0 else since_s + model.min_dwell_s)
    if pressing:
        outcome.notes.append(f"{pressing} forces the change before the minimum dwell")
    elif 0 <= elapsed_s < model.min_dwell_s:
        why = (
            f"{prev.kind.value} has run {elapsed_s:.0f} s of the minimum "
            f"{model.min_dwell_s:g} s; {command.kind.value} waits"
        )
        outcome.candidates.append(Candidate("anti-flap", outcome.layer, prev, "held", why))
        outcome.reason = f"held: {why}"
        outcome.command = prev


def _guard_pressing(
    kept: CommandKind,
    new: CommandKind,
    state: SiteState,
    limits: DeviceLimits,
    guards: tuple[GuardLimit, ...],
    hold: Hold | None = None,
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
            if (net_w > cap) if hold is None else hold.net_gt(net_w, cap):
                return label
    if kept in _NO_CHARGE and new not in _NO_CHARGE:
        caps = [(g.label, g.max_export_w) for g in guards if g.max_export_w is not None]
        if limits.max_export_w is not None:
            caps.append(("device.max_export_w", limits.max_export_w))
        for label, cap in caps:
            # -net > cap exactly when net < -cap: negating a float is exact.
            if (-net_w > cap) if hold is None else hold.net_lt(net_w, -cap):
                return label
    return ""
