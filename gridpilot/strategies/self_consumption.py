"""``self_consumption``: cover the house from the battery and charge it from PV surplus.

Settings:
    max_export_w: if set, keep grid export at or below this by charging the battery with the
        surplus first (a ``limit_export`` command), e.g. ``0`` for a zero-export site.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar

from pydantic import Field

from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.hold import ALWAYS
from gridpilot.engine.proposal import Proposal, StrategyContext
from gridpilot.strategies.base import StrategySettings

if TYPE_CHECKING:
    from gridpilot.engine.state import SiteState

__all__ = ["SelfConsumption", "SelfConsumptionSettings"]


class SelfConsumptionSettings(StrategySettings):
    max_export_w: Annotated[float, Field(ge=0, le=10_000_000)] | None = None


class SelfConsumption:
    type_name: ClassVar[str] = "self_consumption"
    settings_model: ClassVar[type[StrategySettings]] = SelfConsumptionSettings

    __slots__ = ("_proposal", "name", "settings")

    def __init__(self, name: str, settings: SelfConsumptionSettings) -> None:
        self.name = name
        self.settings = settings
        if settings.max_export_w is None:
            command = Command(CommandKind.SELF_CONSUMPTION)
            reason = "cover the load from the battery, charge from PV surplus"
        else:
            command = Command(CommandKind.LIMIT_EXPORT, max_export_w=settings.max_export_w)
            reason = f"self-consumption, export kept at or below {settings.max_export_w:g} W"
        # The same answer whatever the state.
        self._proposal = Proposal(command, reason, ALWAYS)

    def propose(self, state: SiteState, ctx: StrategyContext) -> Proposal:
        return self._proposal

    def __repr__(self) -> str:
        return f"SelfConsumption({self.name!r})"
