"""Guards are limits, not intents: they narrow whatever command won.

The device's hard limits come first, then the policy's guards in file order (the first guard has
the highest priority). Each limit can only tighten a field (a lower power, a higher floor, a lower
ceiling, a lower grid cap), so a lower-priority limit never loosens a higher one. Where two SOC
limits contradict each other (a reserve above a ceiling), the higher-priority one stands, the
lower one is clamped to it and the conflict is reported. Every field a limit changed is a
:class:`LimitHit`.

A ``power_cap`` guard caps ``power_w``: for ``charge`` its ``max_charge_w``, for ``discharge`` its
``max_discharge_w``, and for the other kinds (which may move power either way) the lower of the two.

After narrowing, a discharge at or below its floor becomes ``hold`` (the battery must not go below
the reserve), and a charge or discharge narrowed to zero power becomes ``hold``.

A manual rule with ``force: true`` skips the policy's guards, never the device's hard limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gridpilot.engine.commands import Command, CommandKind, DeviceLimits
from gridpilot.engine.conditions import WindowProbe
from gridpilot.engine.decision import LimitHit

__all__ = ["DEVICE", "GuardLimit", "effective_reserve", "narrow"]

DEVICE = "device"
_INF = float("inf")
_K = CommandKind


@dataclass(frozen=True, slots=True)
class GuardLimit:
    """A compiled guard: its trace name (``guard:<name>``), priority and bounds."""

    label: str
    kind: str
    priority: int
    probe: WindowProbe | None
    min_soc_pct: float | None = None
    max_soc_pct: float | None = None
    max_import_w: float | None = None
    max_export_w: float | None = None
    max_charge_w: float | None = None
    max_discharge_w: float | None = None


def effective_reserve(limits: DeviceLimits, active: Sequence[GuardLimit]) -> float:
    """The SOC no unforced command may discharge below: the device minimum raised by every active
    reserve guard, unless a higher-priority ceiling caps it."""
    floor = limits.min_soc_pct
    ceiling = limits.max_soc_pct
    for g in active:
        if g.max_soc_pct is not None:
            ceiling = max(floor, min(ceiling, g.max_soc_pct))
        if g.min_soc_pct is not None:
            floor = min(max(floor, g.min_soc_pct), ceiling)
    return floor


def _hit(hits: list[LimitHit], limit: str, field: str, before: float | None,
         after: float | None, note: str = "") -> None:
    hits.append(LimitHit(limit, field, before, after, note))


def narrow(
    command: Command,
    soc_pct: float,
    limits: DeviceLimits,
    guards: Sequence[GuardLimit],
    *,
    force: bool = False,
) -> tuple[Command, tuple[LimitHit, ...]]:
    """Narrow ``command`` into the device limits and the active ``guards`` (in priority order).

    With ``force`` the guards are skipped (the caller reports it); the device's limits still
    apply. Returns the narrowed command and the limit hits.
    """
    hits: list[LimitHit] = []
    kind = command.kind
    power = command.power_w
    lo, hi = limits.min_soc_pct, limits.max_soc_pct
    # 0 and 100 are the Command defaults and mean "the battery's range": no hit for those.
    floor = command.floor_soc_pct
    if floor < lo:
        if floor != 0.0:
            _hit(hits, "device.min_soc_pct", "floor_soc_pct", floor, lo)
        floor = lo
    elif floor > hi:
        _hit(hits, "device.max_soc_pct", "floor_soc_pct", floor, hi)
        floor = hi
    target = command.target_soc_pct
    if target > hi:
        if target != 100.0:
            _hit(hits, "device.max_soc_pct", "target_soc_pct", target, hi)
        target = hi
    elif target < lo:
        _hit(hits, "device.min_soc_pct", "target_soc_pct", target, lo)
        target = lo
    if target < floor:
        _hit(hits, "device", "target_soc_pct", target, floor, "raised to the floor")
        target = floor
    floor_src = DEVICE
    target_src, target_prio = DEVICE, -1
    if kind is _K.CHARGE:
        cap = limits.max_charge_w
        if power is None:
            power = cap
        elif power > cap:
            _hit(hits, "device.max_charge_w", "power_w", power, cap)
            power = cap
    elif kind is _K.DISCHARGE:
        cap = limits.max_discharge_w
        if power is None:
            power = cap
        elif power > cap:
            _hit(hits, "device.max_discharge_w", "power_w", power, cap)
            power = cap
    imp = command.max_import_w
    if limits.max_import_w is not None and (imp is None or imp > limits.max_import_w):
        _hit(hits, "device.max_import_w", "max_import_w", imp, limits.max_import_w)
        imp = limits.max_import_w
    exp = command.max_export_w
    if limits.max_export_w is not None and (exp is None or exp > limits.max_export_w):
        _hit(hits, "device.max_export_w", "max_export_w", exp, limits.max_export_w)
        exp = limits.max_export_w

    if not force:
        for g in guards:
            label = g.label
            if g.min_soc_pct is not None and g.min_soc_pct > floor:
                new = g.min_soc_pct
                note = ""
                if new > target and target_prio < g.priority and target_src != DEVICE:
                    new = target
                    note = f"conflicts with {target_src} (higher priority); clamped to it"
                elif new > hi:
                    new = hi
                if new > floor:
                    _hit(hits, f"{label}.min_soc_pct", "floor_soc_pct", floor, new, note)
                    floor, floor_src = new, label
                if target < floor:
                    _hit(hits, f"{label}.min_soc_pct", "target_soc_pct", target, floor)
                    target = floor
            if g.max_soc_pct is not None and g.max_soc_pct < target:
                new = g.max_soc_pct
                note = ""
                if new < floor:
                    new = floor
                    note = f"conflicts with {floor_src} (higher priority); clamped to it"
                if new < target:
                    _hit(hits, f"{label}.max_soc_pct", "target_soc_pct", target, new, note)
                    target, target_src, target_prio = new, label, g.priority
            if g.max_import_w is not None and (imp is None or g.max_import_w < imp):
                _hit(hits, f"{label}.max_import_w", "max_import_w", imp, g.max_import_w)
                imp = g.max_import_w
            if g.max_export_w is not None and (exp is None or g.max_export_w < exp):
                _hit(hits, f"{label}.max_export_w", "max_export_w", exp, g.max_export_w)
                exp = g.max_export_w
            if g.max_charge_w is not None or g.max_discharge_w is not None:
                if kind is _K.CHARGE:
                    cap = g.max_charge_w if g.max_charge_w is not None else _INF
                elif kind is _K.DISCHARGE:
                    cap = g.max_discharge_w if g.max_discharge_w is not None else _INF
                else:
                    cap = min(
                        g.max_charge_w if g.max_charge_w is not None else _INF,
                        g.max_discharge_w if g.max_discharge_w is not None else _INF,
                    )
                if power is None or cap < power:
                    field_name = "max_charge_w" if kind is _K.CHARGE else "max_discharge_w"
                    _hit(hits, f"{label}.{field_name}", "power_w", power, cap)
                    power = cap

    if kind is _K.DISCHARGE and soc_pct <= floor:
        _hit(hits, f"{floor_src}.min_soc_pct", "kind", None, None,
             f"discharge at or below the floor {floor:g} % becomes hold")
        kind, power = _K.HOLD, None
    elif (kind is _K.CHARGE or kind is _K.DISCHARGE) and (power is None or power <= 0.0):
        _hit(hits, "power_cap", "kind", None, None, f"{kind.value} at 0 W becomes hold")
        kind, power = _K.HOLD, None
    if kind is _K.PEAK_SHAVE and imp is None:
        imp = 0.0
    if kind is _K.LIMIT_EXPORT and exp is None:
        exp = 0.0
    out = command
    if (
        kind is not command.kind
        or power != command.power_w
        or target != command.target_soc_pct
        or floor != command.floor_soc_pct
        or imp != command.max_import_w
        or exp != command.max_export_w
    ):
        out = Command(kind, power, target, floor, imp, exp)
    return out, tuple(hits)
