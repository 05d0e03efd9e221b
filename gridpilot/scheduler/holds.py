"""Who decided a tick's command, as the tick line and ``gridpilot log`` show it.

When anti-flap keeps the previous command, ``Decision.winner`` still names the rule whose new
intent won the layers: that rule only *wanted* a change, and showing it next to the kept command
reads as if it had chosen that command. The hold is said instead, with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["winner_label"]


def _field(candidate: Any, name: str) -> Any:
    if isinstance(candidate, Mapping):
        return candidate.get(name)
    return getattr(candidate, name, None)


def winner_label(winner: Any, candidates: Any) -> str:
    """``winner``, or ``held by anti-flap: <why>; wanted by <winner>`` when a candidate (a
    :class:`~gridpilot.engine.decision.Candidate` or its audit summary) says anti-flap held the
    previous command."""
    if isinstance(candidates, Iterable) and not isinstance(candidates, str | bytes | Mapping):
        for candidate in candidates:
            if _field(candidate, "outcome") == "held":
                reason = _field(candidate, "reason") or "the minimum dwell has not passed"
                return f"held by anti-flap: {reason}; wanted by {winner}"
    return str(winner)
