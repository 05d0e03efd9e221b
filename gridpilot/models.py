"""The one strict pydantic base of every settings model and policy section.

Unknown keys are errors (a misspelt key must not be silently ignored), NaN and infinity are
refused (no limit or price may be undefined) and a validated value is frozen. A model that must
differ (a mutable state, an open section) says so in its own ``model_config``, which pydantic
merges over this one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """Base model: unknown keys are errors, NaN and infinity are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
