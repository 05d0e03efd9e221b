"""Policy sections that decide what the battery does: actions, rules, the default and manual
overrides (their time windows are :class:`gridpilot.calendar.when.When`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, Strict, model_validator

from gridpilot.calendar.when import When
from gridpilot.engine.commands import CommandKind
from gridpilot.engine.program import Layer
from gridpilot.models import Pct, PowerW, StrictModel

__all__ = ["Action", "DefaultSpec", "Layer", "ManualOverride", "Rule"]


_ACTION_FIELDS = ("power_w", "target_soc_pct", "floor_soc_pct", "max_import_w", "max_export_w")


class Action(StrictModel):
    """A direct command in a rule. Omitted powers mean the battery's maximum; omitted SOC targets
    mean the battery's SOC range."""

    kind: CommandKind
    power_w: Annotated[float, Strict(), Field(gt=0, le=10_000_000)] | None = None
    target_soc_pct: Pct | None = None
    floor_soc_pct: Pct | None = None
    max_import_w: PowerW | None = None
    max_export_w: PowerW | None = None

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> Action:
        allowed: dict[CommandKind, set[str]] = {
            CommandKind.CHARGE: {"power_w", "target_soc_pct"},
            CommandKind.DISCHARGE: {"power_w", "floor_soc_pct"},
            CommandKind.PEAK_SHAVE: {"max_import_w"},
            CommandKind.LIMIT_EXPORT: {"max_export_w"},
        }
        given = {
            name
            for name in _ACTION_FIELDS
            if getattr(self, name) is not None
        }
        extra = given - allowed.get(self.kind, set())
        if extra:
            raise ValueError(
                f"{', '.join(sorted(extra))} does not apply to a {self.kind.value} action"
            )
        if self.kind is CommandKind.PEAK_SHAVE and self.max_import_w is None:
            raise ValueError("a peak_shave action needs max_import_w")
        if self.kind is CommandKind.LIMIT_EXPORT and self.max_export_w is None:
            raise ValueError("a limit_export action needs max_export_w")
        return self


class Rule(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    layer: Layer
    when: When | None = None
    """When the rule applies; omitted = always."""
    action: Action | None = None
    strategy: str | None = None
    """The name of an entry under ``strategies`` (or a built-in strategy type with defaults)."""
    force: bool = False
    """Manual rules only: may break through guards (never through the device's hard limits)."""
    enabled: bool = True

    @model_validator(mode="after")
    def _one_of(self) -> Rule:
        if (self.action is None) == (self.strategy is None):
            raise ValueError("a rule needs exactly one of 'action' or 'strategy'")
        if self.force and self.layer is not Layer.MANUAL:
            raise ValueError("'force: true' is only allowed on manual rules")
        return self


class DefaultSpec(StrictModel):
    action: Action | None = None
    strategy: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> DefaultSpec:
        if (self.action is None) == (self.strategy is None):
            raise ValueError("'default' needs exactly one of 'action' or 'strategy'")
        return self


class ManualOverride(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    action: Action
    start: datetime
    """When the override starts (ISO 8601; without an offset it is read in the site's timezone)."""
    until: datetime
    """When it expires (exclusive)."""
    force: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> ManualOverride:
        # With one time naive and one not, the order is checked once both are in the site's zone.
        if (self.start.tzinfo is None) != (self.until.tzinfo is None):
            return self
        if self.until <= self.start:
            raise ValueError("'until' must be after 'start'")
        return self
