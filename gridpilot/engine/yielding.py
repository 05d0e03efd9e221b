"""The first stage of a tick: a person's mode on the device counts as manual, and the engine
yields to it. The decision only describes the device's mode; the scheduler sends nothing."""

from __future__ import annotations

from gridpilot.engine.actions import mirror_device_mode
from gridpilot.engine.decision import Candidate, Decision
from gridpilot.engine.model import EngineModel
from gridpilot.engine.state import SiteState

__all__ = ["yield_to_person"]

_MANUAL = "manual"


def yield_to_person(model: EngineModel, state: SiteState) -> Decision:
    """The decision that yields to the mode a person set on the device (``state.device_mode``)."""
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
