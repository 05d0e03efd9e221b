"""The ``state:``, ``prices:`` and ``overrides:`` of a scenario test.

The state is the shared :class:`~gridpilot.engine.partial_state.PartialState` (the same defaults as
the STATE.json of ``gridpilot decide``) with what only a test needs: site-local times, how long
the remembered command has run, the age of each reading and a flat forecast.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from gridpilot.engine.partial_state import PartialCommand, PartialDeviceMode, PartialState
from gridpilot.engine.state import ModeSource, ReadingAges
from gridpilot.models import StrictModel
from gridpilot.rules.scenario_base import Duration, TimeText
from gridpilot.rules.schema_rules import Action
from gridpilot.timeutil import parse_duration_s

__all__ = [
    "ActiveCommandSpec",
    "AgesSpec",
    "DeviceModeSpec",
    "OverrideSpec",
    "PricesSpec",
    "StateSpec",
]

# A key spelt like a Python keyword (``for``) may be given by its field name too.
class ActiveCommandSpec(PartialCommand, populate_by_name=True):
    """The command gridpilot sent last (what anti-flap and hysteresis compare against)."""

    layer: Literal["manual", "schedule", "default"] | None = None
    """The layer of the decision that produced it (a higher layer may skip the dwell time)."""
    since: TimeText | None = None
    """When its kind started; default: ``for`` before ``at``."""
    for_: Duration | None = Field(default=None, alias="for")
    """How long it has been running (``"10m"``); default ``1d``, i.e. well past any dwell time."""

    @model_validator(mode="after")
    def _one_time(self) -> ActiveCommandSpec:
        if self.since is not None and self.for_ is not None:
            raise ValueError("give either 'since' or 'for', not both")
        return self


class DeviceModeSpec(PartialDeviceMode):
    """The mode the device reports it runs (``source: person`` = set by hand on the device)."""

    # A test describes gridpilot's own site, so a mode is gridpilot's unless it says otherwise.
    source: ModeSource = ModeSource.GRIDPILOT


class AgesSpec(StrictModel):
    """Age of each reading [s] at ``at``; ``null`` = missing. Default 0 (fresh)."""

    soc_s: float | None = 0.0
    load_s: float | None = 0.0
    pv_s: float | None = 0.0
    grid_s: float | None = 0.0
    battery_s: float | None = 0.0

    def reading_ages(self) -> ReadingAges:
        return ReadingAges(
            soc_s=self.soc_s,
            load_s=self.load_s,
            pv_s=self.pv_s,
            grid_s=self.grid_s,
            battery_s=self.battery_s,
        )


class StateSpec(PartialState):
    """The site at ``at``. Everything is optional; the defaults describe a quiet site: SOC 50 %,
    no load, no PV, the battery idle, the grid balancing the rest."""

    # A test's load and PV are what a meter reads, never negative.
    load_w: Annotated[float, Field(ge=0)] = 0.0
    pv_w: Annotated[float, Field(ge=0)] = 0.0
    active_command: ActiveCommandSpec | None = None
    device_mode: DeviceModeSpec | None = None
    ages: AgesSpec = AgesSpec()
    forecast_net_load_w: float | list[float] | None = None  # type: ignore[assignment]
    """Expected ``load - pv`` [W] per price slot (a single number = flat); default none."""


# A key spelt like a Python keyword (``import``) may be given by its field name too.
class PricesSpec(StrictModel, populate_by_name=True):
    """Prices known at the tick, replacing the tariff's for this case: one price per ``slot``
    from ``start`` (default: the slot holding ``at``). A single number means the same price for
    ``hours``."""

    import_: float | list[float] = Field(alias="import")
    """[currency/kWh]"""
    export: float | list[float] = 0.0
    slot: Duration = "30m"
    start: TimeText | None = None
    hours: Annotated[float, Field(gt=0, le=24 * 14)] = 24.0
    """Horizon covered when ``import`` is a single number."""

    @field_validator("slot")
    @classmethod
    def _slot(cls, value: float | str) -> float | str:
        if parse_duration_s(value) < 60:
            raise ValueError("a price slot is at least one minute")
        return value

    @model_validator(mode="after")
    def _lengths(self) -> PricesSpec:
        if isinstance(self.import_, list) and not self.import_:
            raise ValueError("'import' needs at least one price")
        if (
            isinstance(self.import_, list)
            and isinstance(self.export, list)
            and len(self.export) != len(self.import_)
        ):
            raise ValueError(
                f"'export' has {len(self.export)} prices but 'import' has {len(self.import_)}"
            )
        return self


# A key spelt like a Python keyword (``for``) may be given by its field name too.
class OverrideSpec(StrictModel, populate_by_name=True):
    """A manual override active in this case (as ``gridpilot override set`` makes them)."""

    name: str = "test override"
    action: dict[str, Any]
    """An action as in a rule: ``{kind: charge, power_w: 3000, target_soc_pct: 90}``."""
    start: TimeText | None = None
    """Default: ``at``."""
    until: TimeText | None = None
    for_: Duration | None = Field(default=None, alias="for")
    """Default ``1h`` when ``until`` is not given."""
    force: bool = False

    @field_validator("action")
    @classmethod
    def _action(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            Action.model_validate(value)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            msg = str(first.get("msg", "invalid action")).removeprefix("Value error, ")
            raise ValueError(f"{where + ': ' if where else ''}{msg}") from None
        return value

    @model_validator(mode="after")
    def _one_end(self) -> OverrideSpec:
        if self.until is not None and self.for_ is not None:
            raise ValueError("give either 'until' or 'for', not both")
        return self
