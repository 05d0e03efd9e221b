"""Device-neutral commands to model 124 register values, and the running mode read back.
Pure functions.

Model 124 sets a power window: with ``StorCtl_Mod`` bit 0 (CHARGE) the charge power is capped
at ``InWRte`` % of ``WChaMax``, with bit 1 (DISCHARGE) the discharge power at ``OutWRte`` %.
A negative limit turns into a minimum of the other direction (``OutWRte = -50`` forces a charge
of at least 50 %), which is how Fronius documents it and how evcc drives it. Both limits are
percent of ``WChaMax`` (the standard defines no discharge maximum in this model).
``InOutWRte_RvrtTms`` makes the device drop the window by itself after that many seconds, so a
command lapses when gridpilot stops. ``MinRsvPct`` is the reserve the device keeps;
``ChaGriSet`` allows charging from the grid.

=================  ===========  =======  ========  =========
kind               StorCtl_Mod  InWRte   OutWRte   ChaGriSet
=================  ===========  =======  ========  =========
charge P           3            +P %     -P %      GRID
discharge P        3            -P %     +P %      PV
hold               2            (100 %)  0 %       PV
idle               3            0 %      0 %       PV
self_consumption   3            cap %    cap %     PV
=================  ===========  =======  ========  =========

``peak_shave`` and ``limit_export`` need a grid-power target, which model 124 does not have:
they are refused. Powers are rounded down to the register's step (never more than asked);
the reserve is rounded up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.state import DeviceMode, ModeSource
from gridpilot.errors import CommandError

__all__ = ["KINDS", "ControlPlan", "OwnWindow", "mode_of", "plan_command", "revert_s"]

CHARGE_BIT = 1
DISCHARGE_BIT = 2
GRID = 1
PV = 0
RATE_LIMIT_PCT = 100.0
REVERT_MAX_S = 0xFFFE

KINDS: Mapping[CommandKind, str] = {
    CommandKind.CHARGE: "StorCtl_Mod=3 InWRte=+P OutWRte=-P ChaGriSet=GRID",
    CommandKind.DISCHARGE: "StorCtl_Mod=3 InWRte=-P OutWRte=+P",
    CommandKind.HOLD: "StorCtl_Mod=2 OutWRte=0",
    CommandKind.IDLE: "StorCtl_Mod=3 InWRte=0 OutWRte=0",
    CommandKind.SELF_CONSUMPTION: "StorCtl_Mod=3 InWRte=OutWRte=cap",
}
"""What each kind the adapter carries out becomes (the capabilities' ``native``)."""


@dataclass(frozen=True, slots=True)
class ControlPlan:
    """The model 124 values for one command, scaled (percent and seconds).

    ``registers(sf)`` gives the raw register values, in the order they are written: the
    revert timer and the settings first, the mode last, so a window is never active without
    its timer.
    """

    storctl_mod: int
    in_pct: float
    out_pct: float
    grid_charging: int
    reserve_pct: float
    revert_s: int
    effective_power_w: float | None = None
    notes: tuple[str, ...] = ()

    def registers(self, rate_sf: int, reserve_sf: int | None) -> dict[str, int]:
        regs: dict[str, int] = {"InOutWRte_RvrtTms": self.revert_s}
        if reserve_sf is not None:
            regs["MinRsvPct"] = _raw(self.reserve_pct, reserve_sf, up=True)
        regs["ChaGriSet"] = self.grid_charging
        regs["OutWRte"] = _raw(self.out_pct, rate_sf)
        regs["InWRte"] = _raw(self.in_pct, rate_sf)
        regs["StorCtl_Mod"] = self.storctl_mod
        for name in ("OutWRte", "InWRte", "MinRsvPct"):
            if name in regs and not -0x7FFF <= regs[name] <= 0x7FFF:
                # A small scale factor leaves a 16-bit register too narrow for 100 %.
                raise CommandError(
                    f"{name} {regs[name]} does not fit its 16-bit register at the device's "
                    f"scale factor; the device cannot hold this value")
        return regs


def _raw(value: float, sf: int, *, up: bool = False) -> int:
    """The register value for ``value`` at scale factor ``sf``: magnitudes rounded down (a
    reserve up), so the device never does more than asked."""
    exact = value / 10.0 ** sf
    if up:
        return math.ceil(exact - 1e-9)
    return int(math.copysign(math.floor(abs(exact) + 1e-9), exact))


def step_pct(pct: float, sf: int) -> float:
    """``pct`` as the register will hold it."""
    return _raw(pct, sf) * 10.0 ** sf


def revert_s(valid_for_s: float, lead_s: float, max_s: int) -> int:
    """The revert timer for a command that must run ``valid_for_s`` (60 s .. ``max_s``)."""
    if not math.isfinite(valid_for_s) or valid_for_s < 0:
        raise CommandError(f"valid_for_s must be a finite number >= 0, got {valid_for_s!r}")
    return int(max(60, min(max_s, REVERT_MAX_S, math.ceil(valid_for_s + lead_s))))


def _power_pct(command: Command, power_w: float, max_w: float, sf: int
               ) -> tuple[float, list[str]]:
    exact = power_w / max_w * 100.0
    if exact - 1e-9 > RATE_LIMIT_PCT:
        raise CommandError(
            f"{command.kind.value} power_w {power_w:g} W is above the device's WChaMax "
            f"{max_w:g} W; lower power_w (or site.battery.max_charge_w/max_discharge_w)")
    pct = step_pct(min(exact, RATE_LIMIT_PCT), sf)
    notes: list[str] = []
    sent_w = pct / 100.0 * max_w
    if abs(sent_w - power_w) >= 0.5:
        notes.append(f"power_w {power_w:g} W sent as {pct:g} % of WChaMax {max_w:g} W = "
                     f"{sent_w:g} W")
    return pct, notes


def plan_command(command: Command, *, max_w: float, rate_sf: int, revert: int,
                 grid_charging: bool) -> ControlPlan:
    """The model 124 values for ``command``; :class:`CommandError` if model 124 cannot
    express it (the message says what to use instead)."""
    kind = command.kind
    if kind not in KINDS:
        raise CommandError(
            f"{kind.value} needs a grid-power target, which SunSpec model 124 does not have; "
            "the sunspec device can charge, discharge, hold, idle and self_consumption "
            "(use a discharge rule for the hours you want to shave)")
    if not math.isfinite(max_w) or max_w <= 0:
        raise CommandError(f"the device's WChaMax {max_w!r} W is not usable; it cannot be "
                           "commanded")
    reserve = command.floor_soc_pct
    if kind in (CommandKind.CHARGE, CommandKind.DISCHARGE):
        if command.power_w is None:
            raise CommandError(f"{kind.value} needs power_w")
        pct, notes = _power_pct(command, command.power_w, max_w, rate_sf)
        effective = pct / 100.0 * max_w
        if kind is CommandKind.CHARGE:
            notes.append(f"the device has no charge target: gridpilot stops the charge at "
                         f"{command.target_soc_pct:g} % on a later tick")
            if not grid_charging:
                notes.append("grid_charging is off: the charge runs from PV only")
            return ControlPlan(CHARGE_BIT | DISCHARGE_BIT, pct, -pct,
                               GRID if grid_charging else PV, reserve, revert, effective,
                               tuple(notes))
        return ControlPlan(CHARGE_BIT | DISCHARGE_BIT, -pct, pct, PV, reserve, revert,
                           effective, tuple(notes))
    if kind is CommandKind.HOLD:
        return ControlPlan(DISCHARGE_BIT, RATE_LIMIT_PCT, 0.0, PV, reserve, revert)
    if kind is CommandKind.IDLE:
        return ControlPlan(CHARGE_BIT | DISCHARGE_BIT, 0.0, 0.0, PV, reserve, revert)
    cap, notes = RATE_LIMIT_PCT, []
    if command.power_w is not None:
        cap, notes = _power_pct(command, command.power_w, max_w, rate_sf)
    return ControlPlan(CHARGE_BIT | DISCHARGE_BIT, cap, cap, PV, reserve, revert,
                       notes=tuple(notes))


@dataclass(frozen=True, slots=True)
class OwnWindow:
    """The window gridpilot last wrote and saw confirmed."""

    storctl_mod: int
    in_pct: float
    out_pct: float
    written_at: datetime
    revert_s: int

    @property
    def expires(self) -> datetime:
        return self.written_at + timedelta(seconds=self.revert_s)

    def as_dict(self) -> dict[str, Any]:
        return {"storctl_mod": self.storctl_mod, "in_pct": self.in_pct,
                "out_pct": self.out_pct, "written_at": self.written_at.isoformat(),
                "revert_s": self.revert_s}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OwnWindow:
        return cls(int(data["storctl_mod"]), float(data["in_pct"]), float(data["out_pct"]),
                   datetime.fromisoformat(str(data["written_at"])), int(data["revert_s"]))


def _kind(mod: int, in_lim: float, out_lim: float) -> CommandKind:
    if in_lim == 0 and out_lim == 0:
        return CommandKind.IDLE
    if out_lim < 0 < in_lim:
        return CommandKind.CHARGE
    if in_lim < 0 < out_lim:
        return CommandKind.DISCHARGE
    if out_lim == 0 and mod & DISCHARGE_BIT:
        return CommandKind.HOLD
    return CommandKind.SELF_CONSUMPTION


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=1e-6)


def mode_of(storage: Mapping[str, Any], own: OwnWindow | None, now: datetime) -> DeviceMode:
    """Who runs the device, from model 124 (fails closed).

    ``StorCtl_Mod = 0`` is the device's own control (its default). An active window is
    gridpilot's only while it is the one gridpilot wrote and its revert time has not passed;
    any other active window was written by someone else (another Modbus master, a person)
    and is a person's. A value that is missing or has bits the standard does not define is
    unknown: nothing is sent over it.
    """
    mod, in_w, out_w = storage.get("StorCtl_Mod"), storage.get("InWRte"), storage.get("OutWRte")
    params = {k: storage.get(k) for k in ("StorCtl_Mod", "InWRte", "OutWRte", "MinRsvPct",
                                          "ChaGriSet", "InOutWRte_RvrtTms")}
    if not isinstance(mod, int) or mod & ~(CHARGE_BIT | DISCHARGE_BIT):
        return DeviceMode(kind=None, source=ModeSource.UNKNOWN, native=f"StorCtl_Mod={mod!r}",
                          parameters=params)
    if mod == 0:
        return DeviceMode(kind=CommandKind.SELF_CONSUMPTION, source=ModeSource.DEFAULT,
                          native="StorCtl_Mod=0", parameters=params)
    in_lim = in_w if mod & CHARGE_BIT else RATE_LIMIT_PCT
    out_lim = out_w if mod & DISCHARGE_BIT else RATE_LIMIT_PCT
    if not isinstance(in_lim, int | float) or not isinstance(out_lim, int | float):
        return DeviceMode(kind=None, source=ModeSource.UNKNOWN,
                          native=f"StorCtl_Mod={mod} without its rates", parameters=params)
    native = f"StorCtl_Mod={mod} InWRte={in_lim:g}% OutWRte={out_lim:g}%"
    kind = _kind(mod, float(in_lim), float(out_lim))
    if own is not None and own.storctl_mod == mod and _same(own.in_pct, float(in_lim) if mod
            & CHARGE_BIT else own.in_pct) and _same(own.out_pct, float(out_lim) if mod
            & DISCHARGE_BIT else own.out_pct):
        if now < own.expires:
            return DeviceMode(kind=kind, source=ModeSource.GRIDPILOT, native=native,
                              expires=own.expires, parameters=params)
        # Ours, but past its revert time: the device did not revert as it should. Fail closed.
        return DeviceMode(kind=None, source=ModeSource.UNKNOWN,
                          native=f"{native} (past its revert time)", parameters=params)
    return DeviceMode(kind=kind, source=ModeSource.PERSON, native=native, parameters=params)
