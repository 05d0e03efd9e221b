"""Device-neutral commands to xStorage ``POST /api/device/command`` payloads, and their checks.

Pure functions. The unit takes power as a whole percentage (5-100) of its inverter rating, SOC
targets as whole percent, and a duration of whole hours (1-12) after which the mode lapses and
the unit falls back to its schedule or default. Rounding to the unit's steps errs on the safe
side (a charge target down, a discharge floor up, a power and a grid cap down) and every value
that changed is named in the notes with what was sent. A value outside the unit's range is
refused with a :class:`CommandError` naming the field: sending the nearest value the unit takes
would do more than was asked (5 % for 100 W) or something else than the log says (3000 W for a
50 kW export cap).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gridpilot.engine.commands import Command, CommandKind
from gridpilot.errors import CommandError

__all__ = [
    "MODEL_RATINGS_W",
    "NATIVE_BY_KIND",
    "NativeCommand",
    "duration_hours",
    "map_command",
    "rating_w",
    "validate_payload",
]

POWER_PCT_MIN = 5
POWER_PCT_MAX = 100
DURATION_H_MIN = 1
DURATION_H_MAX = 12
GRID_INJECTION_MIN_W = -1000
GRID_INJECTION_MAX_W = 3000
PEAK_MAX_W = 100_000

MODEL_RATINGS_W = (3600.0, 4600.0, 6000.0)

NATIVE_BY_KIND: Mapping[CommandKind, str] = {
    CommandKind.CHARGE: "SET_CHARGE",
    CommandKind.DISCHARGE: "SET_DISCHARGE",
    CommandKind.HOLD: "SET_BASIC_MODE",
    CommandKind.IDLE: "SET_BASIC_MODE",
    CommandKind.SELF_CONSUMPTION: "SET_MAXIMIZE_AUTO_CONSUMPTION",
    CommandKind.PEAK_SHAVE: "SET_PEAK_SHAVING",
    CommandKind.LIMIT_EXPORT: "SET_VARIABLE_GRID_INJECTION",
}
NATIVE_ONLY = frozenset(
    {CommandKind.SELF_CONSUMPTION, CommandKind.PEAK_SHAVE, CommandKind.LIMIT_EXPORT}
)
KNOWN_COMMANDS = frozenset(
    {*NATIVE_BY_KIND.values(), "SET_FREQUENCY_REGULATION"}
)

_MODEL = re.compile(r"XSTH\dP(\d{3})")


@dataclass(frozen=True, slots=True)
class NativeCommand:
    command: str
    duration_h: int
    parameters: dict[str, Any] | None
    effective_power_w: float | None = None
    notes: tuple[str, ...] = ()

    def payload(self) -> dict[str, Any]:
        return {"command": self.command, "duration": self.duration_h, "parameters": self.parameters}


def rating_w(
    inverter_power_rating: Any, inverter_va_rating: Any, model_name: Any
) -> float | None:
    """The inverter rating [W]: ``inverterPowerRating`` only when > 0 (units report 0), else
    ``inverterVaRating``, else the model's rating read from its name (``XSTH1P036...`` = 3.6 kW)."""
    for value in (inverter_power_rating, inverter_va_rating):
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    if isinstance(model_name, str):
        m = _MODEL.search(model_name)
        if m:
            watts = int(m.group(1)) * 100.0
            if watts in MODEL_RATINGS_W:
                return watts
    return None


def duration_hours(valid_for_s: float, lead_s: float, max_duration_h: int) -> int:
    """Whole hours covering ``valid_for_s`` plus the refresh lead, within 1..``max_duration_h``."""
    if not math.isfinite(valid_for_s) or valid_for_s < 0:
        raise CommandError(f"valid_for_s must be a finite number >= 0, got {valid_for_s!r}")
    needed = math.ceil((valid_for_s + lead_s) / 3600.0)
    return max(DURATION_H_MIN, min(max_duration_h, DURATION_H_MAX, needed))


def _power_pct(command: Command, power_w: float, rating: float) -> tuple[int, list[str]]:
    kind = command.kind.value
    exact = power_w / rating * 100.0
    if exact + 1e-9 < POWER_PCT_MIN:
        least_w = POWER_PCT_MIN / 100.0 * rating
        raise CommandError(
            f"{kind} power_w {power_w:g} W is below the unit's smallest setting, "
            f"{POWER_PCT_MIN} % of its {rating:g} W rating = {least_w:g} W; give power_w of at "
            f"least {least_w:g} W, or idle to keep the battery still"
        )
    if exact - 1e-9 > POWER_PCT_MAX:
        raise CommandError(
            f"{kind} power_w {power_w:g} W is above the unit's {rating:g} W rating; lower "
            f"power_w (or site.battery.max_charge_w/max_discharge_w) to at most {rating:g} W, "
            "or set rating_w in the device settings if the rating is wrong"
        )
    pct = math.floor(exact + 1e-9)
    notes: list[str] = []
    sent_w = pct / 100.0 * rating
    if abs(sent_w - power_w) >= 0.5:
        notes.append(f"power_w {power_w:g} W sent as {pct} % of {rating:g} W = {sent_w:g} W")
    return pct, notes


def _whole_w(kind: str, field: str, value_w: float, lo: int, hi: int,
             notes: list[str]) -> int:
    """A grid cap in whole watts, rounded down (the stricter side); refused outside lo..hi."""
    if not lo <= value_w < hi + 1:
        raise CommandError(
            f"{kind} {field} {value_w:g} W is outside the unit's range {lo}..{hi} W; set "
            f"{field} within it"
        )
    whole = math.floor(value_w)
    if whole != value_w:
        notes.append(f"{field} {value_w:g} W sent as {whole} W")
    return whole


def map_command(
    command: Command, *, rating: float, duration_h: int, native_modes: bool = True
) -> NativeCommand:
    """The payload for ``command``; raises :class:`CommandError` if the unit cannot do it."""
    kind = command.kind
    if kind in NATIVE_ONLY and not native_modes:
        raise CommandError(
            f"{kind.value} needs the unit's native modes, which are turned off "
            "(native_modes: false)"
        )
    if not math.isfinite(rating) or rating <= 0:
        raise CommandError(f"inverter rating {rating!r} W is not usable")
    name = NATIVE_BY_KIND[kind]
    if kind in (CommandKind.CHARGE, CommandKind.DISCHARGE):
        if command.power_w is None:
            raise CommandError(f"{kind.value} needs power_w")
        pct, notes = _power_pct(command, command.power_w, rating)
        if kind is CommandKind.CHARGE:
            field, wanted = "target_soc_pct", command.target_soc_pct
            soc = math.floor(wanted + 1e-9)
            action = "ACTION_CHARGE"
        else:
            field, wanted = "floor_soc_pct", command.floor_soc_pct
            soc = math.ceil(wanted - 1e-9)
            action = "ACTION_DISCHARGE"
        if abs(soc - wanted) > 1e-9:
            notes.append(f"{field} {wanted:g} % sent as {soc} %")
        params: dict[str, Any] | None = {"power": pct, "soc": soc, "action": action}
        native = NativeCommand(name, duration_h, params, pct / 100.0 * rating, tuple(notes))
    elif kind is CommandKind.PEAK_SHAVE:
        if command.max_import_w is None:
            raise CommandError("peak_shave needs max_import_w")
        notes = ["the unit limits house consumption, not grid import"]
        peak = _whole_w(kind.value, "max_import_w", command.max_import_w, 0, PEAK_MAX_W, notes)
        native = NativeCommand(name, duration_h, {"maxHousePeakConsumption": peak},
                               notes=tuple(notes))
    elif kind is CommandKind.LIMIT_EXPORT:
        if command.max_export_w is None:
            raise CommandError("limit_export needs max_export_w")
        notes = []
        cap = _whole_w(kind.value, "max_export_w", command.max_export_w, GRID_INJECTION_MIN_W,
                       GRID_INJECTION_MAX_W, notes)
        native = NativeCommand(name, duration_h, {"maximumPower": cap}, notes=tuple(notes))
    elif kind is CommandKind.HOLD:
        native = NativeCommand(
            name,
            duration_h,
            None,
            notes=("hold runs as basic mode: no discharge, PV surplus is not stored",),
        )
    else:
        native = NativeCommand(name, duration_h, None)
    validate_payload(native.payload())
    return native


def _int_in(problems: list[str], params: Mapping[str, Any], key: str, lo: int, hi: int) -> None:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        problems.append(f"parameters.{key} must be a whole number in {lo}..{hi}, got {value!r}")


def validate_payload(payload: Mapping[str, Any]) -> None:
    """Refuse any payload outside the unit's documented ranges (the last check before sending)."""
    problems: list[str] = []
    name = payload.get("command")
    if name not in KNOWN_COMMANDS:
        problems.append(f"unknown command {name!r}")
    duration = payload.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int) or not (
        DURATION_H_MIN <= duration <= DURATION_H_MAX
    ):
        problems.append(f"duration must be whole hours 1..12, got {duration!r}")
    params = payload.get("parameters")
    if name in ("SET_CHARGE", "SET_DISCHARGE"):
        if not isinstance(params, Mapping):
            problems.append(f"{name} needs parameters")
        else:
            _int_in(problems, params, "power", POWER_PCT_MIN, POWER_PCT_MAX)
            _int_in(problems, params, "soc", 0, 100)
            want = "ACTION_CHARGE" if name == "SET_CHARGE" else "ACTION_DISCHARGE"
            if params.get("action") != want:
                problems.append(f"{name} needs action {want}")
    elif name == "SET_PEAK_SHAVING":
        if not isinstance(params, Mapping):
            problems.append(f"{name} needs parameters")
        else:
            _int_in(problems, params, "maxHousePeakConsumption", 0, PEAK_MAX_W)
    elif name == "SET_VARIABLE_GRID_INJECTION":
        if not isinstance(params, Mapping):
            problems.append(f"{name} needs parameters")
        else:
            _int_in(
                problems, params, "maximumPower", GRID_INJECTION_MIN_W, GRID_INJECTION_MAX_W
            )
    elif name == "SET_FREQUENCY_REGULATION":
        if not isinstance(params, Mapping):
            problems.append(f"{name} needs parameters")
        else:
            _int_in(problems, params, "powerAllocation", 0, PEAK_MAX_W)
            _int_in(problems, params, "optimalSoc", 0, 100)
    elif params not in (None, {}):
        problems.append(f"{name} takes no parameters")
    if problems:
        raise CommandError("xStorage payload refused before sending: " + "; ".join(problems))
