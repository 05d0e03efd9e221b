"""Policy guards: limits laid over whatever the rules decide."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gridpilot.calendar.when import When
from gridpilot.models import Pct, PowerW, StrictModel

__all__ = [
    "ExportCapGuard",
    "Guard",
    "GuardBase",
    "ImportCapGuard",
    "PowerCapGuard",
    "ReserveGuard",
    "SocCeilingGuard",
]


class GuardBase(StrictModel):
    name: str = ""
    when: When | None = None
    """When the guard applies; omitted = always."""


class ReserveGuard(GuardBase):
    kind: Literal["backup_reserve"]
    min_soc_pct: Pct
    """Never discharge below this SOC [%] (kept for outages)."""


class ImportCapGuard(GuardBase):
    kind: Literal["import_cap"]
    max_import_w: PowerW
    """Keep grid import at or below this [W] where the battery can."""


class ExportCapGuard(GuardBase):
    kind: Literal["export_cap"]
    max_export_w: PowerW
    """Keep grid export at or below this [W] where the battery can."""


class PowerCapGuard(GuardBase):
    kind: Literal["power_cap"]
    max_charge_w: PowerW | None = None
    max_discharge_w: PowerW | None = None


class SocCeilingGuard(GuardBase):
    kind: Literal["soc_ceiling"]
    max_soc_pct: Pct


Guard = Annotated[
    ReserveGuard | ImportCapGuard | ExportCapGuard | PowerCapGuard | SocCeilingGuard,
    Field(discriminator="kind"),
]
