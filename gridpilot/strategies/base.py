"""The base of every strategy's settings model.

The protocol a strategy instance follows (``Strategy``, ``StrategyContext``, ``Proposal``) is the
engine's: :mod:`gridpilot.engine.proposal`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrategySettings"]


class StrategySettings(BaseModel):
    """Base of every strategy's settings model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
