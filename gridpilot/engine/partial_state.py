"""A site state given in part, and the one way its gaps are filled.

Two inputs describe a site by naming only what matters to them: the STATE.json of
``gridpilot decide`` and the ``state:`` of a scenario test. Both are subclasses of
:class:`PartialState` and both become a :class:`~gridpilot.engine.state.SiteState` through
:func:`build_site_state`, so the defaults (a quiet site: SOC 50 %, no load, no PV, the battery idle,
the grid balancing the rest, no forecast, no remembered command) are written down once. What
differs stays with each input: how times are written (STATE.json wants an explicit UTC offset, a
scenario may give site-local times) and the prices (a list of slots in STATE.json, a slot length
and values in a scenario).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import numpy as np
from pydantic import Field

from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.state import DeviceMode, ModeSource, PriceOutlook, ReadingAges, SiteState
from gridpilot.models import StrictModel

__all__ = [
    "DEFAULT_SOC_PCT",
    "PartialCommand",
    "PartialDeviceMode",
    "PartialState",
    "Readings",
    "balance_grid_w",
    "build_site_state",
    "forecast_array",
]

DEFAULT_SOC_PCT = 50.0


def balance_grid_w(load_w: float, pv_w: float, battery_w: float) -> float:
    """The grid power [W, + import] that balances the site: ``load_w - pv_w - battery_w``."""
    return load_w - pv_w - battery_w


class PartialCommand(StrictModel):
    """The command gridpilot sent last (what anti-flap and hysteresis compare against)."""

    kind: CommandKind
    power_w: float | None = None
    target_soc_pct: float = 100.0
    floor_soc_pct: float = 0.0
    max_import_w: float | None = None
    max_export_w: float | None = None

    def command(self) -> Command:
        return Command(
            kind=self.kind,
            power_w=self.power_w,
            target_soc_pct=self.target_soc_pct,
            floor_soc_pct=self.floor_soc_pct,
            max_import_w=self.max_import_w,
            max_export_w=self.max_export_w,
        )


class PartialDeviceMode(StrictModel):
    """The mode the device reports it runs (``source: person`` = set by hand on the device)."""

    kind: CommandKind | None = None
    source: ModeSource = ModeSource.UNKNOWN
    native: str = ""

    def mode(self) -> DeviceMode:
        return DeviceMode(kind=self.kind, source=self.source, native=self.native)


class PartialState(StrictModel):
    """The site at one instant. Everything is optional; the defaults describe a quiet site: SOC
    50 %, no load, no PV, the battery idle, the grid balancing the rest."""

    soc_pct: Annotated[float, Field(ge=0, le=100)] = DEFAULT_SOC_PCT
    load_w: float = 0.0
    pv_w: float = 0.0
    battery_w: float = 0.0
    """+ discharging, - charging."""
    grid_w: float | None = None
    """+ importing; default ``load_w - pv_w - battery_w`` (the energy balance)."""
    month_peak_import_w: Annotated[float, Field(ge=0)] = 0.0
    """The highest grid import so far this month [W] (for demand-charge peak shaving)."""
    active_command: PartialCommand | None = None
    device_mode: PartialDeviceMode | None = None
    forecast_net_load_w: list[float] | None = None
    """Expected ``load - pv`` [W] per price slot; default none."""

    def readings(self) -> Readings:
        return Readings(
            soc_pct=self.soc_pct,
            load_w=self.load_w,
            pv_w=self.pv_w,
            battery_w=self.battery_w,
            grid_w=self.grid_w,
            month_peak_import_w=self.month_peak_import_w,
        )


@dataclass(frozen=True, slots=True)
class Readings:
    """The measured part of a state, which a sequence of ticks moves on from the initial one."""

    soc_pct: float
    load_w: float
    pv_w: float
    battery_w: float
    grid_w: float | None
    """``None``: the energy balance."""
    month_peak_import_w: float


def forecast_array(
    value: float | Sequence[float] | None, n_slots: int, offset: int = 0
) -> np.ndarray | None:
    """A forecast per price slot: a single number is flat; a list gives one value per slot of
    the full price list, of which the slots from ``offset`` on are still ahead.

    Raises ValueError naming the lengths when a list does not fit the prices.
    """
    if value is None:
        return None
    if isinstance(value, int | float):
        return np.full(n_slots, float(value), dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)[offset:]
    if len(arr) != n_slots:
        raise ValueError(
            f"forecast_net_load_w has {len(value)} values but the prices have "
            f"{n_slots + offset} slots; give one value per price slot"
        )
    return arr


def build_site_state(
    spec: PartialState,
    time: datetime,
    prices: PriceOutlook,
    *,
    readings: Readings | None = None,
    forecast_net_load_w: np.ndarray | None = None,
    active_command: Command | None = None,
    active_since: datetime | None = None,
    active_layer: str | None = None,
    ages: ReadingAges | None = None,
) -> SiteState:
    """The :class:`SiteState` for ``spec`` at ``time``; ``readings`` replace the spec's own
    (a sequence moves them tick by tick). The remembered command comes in resolved because each
    input says differently when it started."""
    r = spec.readings() if readings is None else readings
    return SiteState(
        time=time,
        soc_pct=r.soc_pct,
        load_w=r.load_w,
        pv_w=r.pv_w,
        grid_w=balance_grid_w(r.load_w, r.pv_w, r.battery_w) if r.grid_w is None else r.grid_w,
        battery_w=r.battery_w,
        prices=prices,
        ages=ReadingAges() if ages is None else ages,
        device_mode=None if spec.device_mode is None else spec.device_mode.mode(),
        active_command=active_command,
        active_since=active_since,
        active_layer=active_layer,
        month_peak_import_w=r.month_peak_import_w,
        forecast_net_load_w=forecast_net_load_w,
    )
