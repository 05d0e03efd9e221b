"""The last stage of a tick: the device's limits and the active guards narrow the winning command
(see :mod:`gridpilot.engine.narrowing`), and under a demand charge a grid charge is capped so that
it sets no new monthly peak. A forced manual intent skips the guards, never the device limits,
and the trace names the guards it broke through."""

from __future__ import annotations

import math

from gridpilot.engine.active_guards import ActiveGuards
from gridpilot.engine.arbiter import Outcome
from gridpilot.engine.commands import CommandKind
from gridpilot.engine.decision import Decision
from gridpilot.engine.hold import Hold
from gridpilot.engine.model import EngineModel
from gridpilot.engine.narrowing import cap_charge_at_month_peak
from gridpilot.engine.state import SiteState

__all__ = ["narrow_outcome"]


def narrow_outcome(model: EngineModel, state: SiteState, outcome: Outcome, soc_pct: float,
                   active: ActiveGuards, hold: Hold | None = None) -> Decision:
    """The decision: ``outcome``'s command narrowed at ``soc_pct`` [%], with its trace."""
    notes = outcome.notes
    force = outcome.force
    guards = active.guards
    if not math.isfinite(state.soc_pct):
        notes.append(f"SOC reading is {state.soc_pct!r}: decided as if at {soc_pct:g} %")
    if force and guards:
        names = ", ".join(g.label for g in guards)
        notes.append(f"forced through guards ({names}); device limits still apply")
    final, hits = model.narrower.narrow(outcome.command, soc_pct, guards, active.key, force)
    if hold is not None:
        floor = model.narrower.discharge_floor()
        if floor is not None:
            hold.soc_le(soc_pct, floor)
    if final.kind is CommandKind.CHARGE and model.base_ctx.demand_charge_per_kw > 0 and not force:
        if hold is not None:
            # The cap is computed from both: the same command needs the same values.
            hold.pin_net(state.load_w - state.pv_w)
            hold.pin_peak(state.month_peak_import_w)
        final, hits = cap_charge_at_month_peak(
            final, hits, month_peak_import_w=state.month_peak_import_w,
            net_w=state.load_w - state.pv_w,
        )
    # Positional: measurably cheaper than keywords on every tick.
    return Decision(final, outcome.winner, outcome.layer, outcome.reason,
                    tuple(outcome.candidates), hits, tuple(notes))
