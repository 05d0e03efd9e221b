"""What ``decide()`` returns: one command and the trace that explains it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gridpilot.engine.commands import Command

__all__ = ["Candidate", "Decision", "LimitHit"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One rule, override or strategy the engine considered.

    ``outcome`` is one of ``won``, ``outranked`` (a higher layer or earlier rule won),
    ``not_active`` (its window or conditions did not match), ``no_proposal`` (a strategy had
    nothing to say), ``held`` (anti-flap kept the previous command).
    """

    source: str
    """``rule:<name>``, ``override:<name>``, ``default``, ``device``."""
    layer: str
    proposal: Command | None
    outcome: str
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "layer": self.layer,
            "proposal": None if self.proposal is None else self.proposal.as_dict(),
            "outcome": self.outcome,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class LimitHit:
    """A limit that changed the winning command: which field, from what, to what."""

    limit: str
    """``device.max_charge_w``, ``guard:<name>.min_soc_pct``, ..."""
    field: str
    before: float | None
    after: float | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer for one tick."""

    command: Command
    winner: str
    """The source of the winning intent (see :attr:`Candidate.source`)."""
    layer: str
    reason: str
    candidates: tuple[Candidate, ...] = ()
    limits: tuple[LimitHit, ...] = ()
    notes: tuple[str, ...] = field(default=())
    """Anything else worth telling (yielding to a person's mode, forced through a guard, ...)."""
    yielded: bool = False
    """True when a person set the device's mode by hand: gridpilot yields and sends nothing.
    ``command`` then only describes the device's current mode (``winner`` is ``device``)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command.as_dict(),
            "winner": self.winner,
            "layer": self.layer,
            "reason": self.reason,
            "candidates": [c.as_dict() for c in self.candidates],
            "limits": [h.as_dict() for h in self.limits],
            "notes": list(self.notes),
            "yielded": self.yielded,
        }
