"""The one strict pydantic base of every settings model and policy section, and the numbers
they share.

Unknown keys are errors (a misspelt key must not be silently ignored), NaN and infinity are
refused (no limit or price may be undefined) and a validated value is frozen. A model that must
differ (an open section, a key spelt like a Python keyword) says so in its class keywords
(``class X(StrictModel, extra="allow")``), which pydantic merges over this configuration.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

__all__ = ["Pct", "PowerW", "Price", "StrictModel"]

# Numbers are Strict: pydantic would otherwise read true/false as 1/0 and "10" as 10.
Pct = Annotated[float, Strict(), Field(ge=0, le=100)]
PowerW = Annotated[float, Strict(), Field(ge=0, le=10_000_000)]
Price = Annotated[float, Strict(), Field(ge=-1000, le=1000)]


class StrictModel(BaseModel):
    """Base model: unknown keys are errors, NaN and infinity are refused, values are frozen."""

    # defer_build: a model's validator is built when it first validates, not when its module is
    # imported, so a process pays only for the sections and plugins it reads (check of a
    # policy imports many models it never validates on their own).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
