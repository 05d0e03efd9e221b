"""``decide(policy, state)``: one command per tick, with the trace that explains it.

Pure and deterministic: no clock, no I/O; the same policy and state always give the same decision.
The stages, each in its own module:

1. **Yield** (:mod:`~gridpilot.engine.yielding`): a person's mode on the device
   (``state.person_override``) counts as manual; the engine yields. The decision has
   ``yielded=True``, ``winner="device"`` and a command that only describes the device's mode;
   the scheduler sends nothing while it yields.
2. **Active guards** (:mod:`~gridpilot.engine.active_guards`): the guards whose window is open.
3. **Arbitrate** (:mod:`~gridpilot.engine.arbiter`): manual overrides, then the rules by layer
   (manual > schedule > default, file order within a layer), then a ``self_consumption``
   fallback.
4. **Anti-flap** (:mod:`~gridpilot.engine.antiflap`): a new kind waits for the minimum dwell
   unless a higher layer or a broken grid cap forces it.
5. **Narrow** (:mod:`~gridpilot.engine.narrow`): the device limits and the active guards narrow
   the command; under a demand charge a grid charge sets no new monthly peak.

Given a :class:`~gridpilot.engine.hold.Hold`, every stage also records over which states its
answer stays the same, so that a replay can reuse the decision until the hold no longer covers
the tick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gridpilot.engine.active_guards import active_guards
from gridpilot.engine.antiflap import hold_against_flap
from gridpilot.engine.arbiter import arbitrate
from gridpilot.engine.decision import Decision
from gridpilot.engine.hold import Hold
from gridpilot.engine.model import engine_model
from gridpilot.engine.narrow import narrow_outcome
from gridpilot.engine.price_now import price_now, price_slot_end_s
from gridpilot.engine.program import CompiledOverride, EnginePolicy
from gridpilot.engine.state import SiteState
from gridpilot.engine.yielding import yield_to_person

__all__ = ["decide"]


def decide(
    policy: EnginePolicy,
    state: SiteState,
    overrides: Sequence[CompiledOverride] = (),
    hold: Hold | None = None,
) -> Decision:
    """Decide the command for ``state`` under ``policy`` (see the module text). ``hold``, if
    given, is narrowed to the states that are certain to get the same decision."""
    model = engine_model(policy)
    if state.person_override:
        if hold is not None:
            hold.never()
        return yield_to_person(model, state)
    t_s = state.time.timestamp()
    soc = state.soc_pct
    if not math.isfinite(soc):
        # Nothing may discharge on a SOC nobody knows: read it as empty (at the device minimum).
        soc = model.limits.min_soc_pct
        if hold is not None:
            hold.never()
    price = None
    if model.needs_price:
        price = price_now(model, state, t_s)
        if hold is not None:
            hold.until(price_slot_end_s(model, state.prices, t_s))
    pattern = model.pattern_at(t_s)
    active = active_guards(model, pattern, soc, price, hold)
    ordered = (*policy.overrides, *overrides) if policy.overrides or overrides else ()
    outcome = arbitrate(model, state, ordered, pattern, soc, price, active.reserve_soc_pct, hold)
    hold_against_flap(model, state, outcome, active.guards, hold)
    return narrow_outcome(model, state, outcome, soc, active, hold)
