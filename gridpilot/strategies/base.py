"""The base of every strategy's settings model.

The protocol a strategy instance follows (``Strategy``, ``StrategyContext``, ``Proposal``) is the
engine's: :mod:`gridpilot.engine.proposal`.
"""

from __future__ import annotations

from gridpilot.models import StrictModel

__all__ = ["StrategySettings"]


class StrategySettings(StrictModel):
    """Base of every strategy's settings model: unknown keys are errors, values are frozen."""
