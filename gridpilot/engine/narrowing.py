"""Narrowing: the device's hard limits and the active guards narrow whatever command won.

The device's hard limits come first, then the policy's guards in file order (the first guard has
the highest priority). Each limit can only tighten a field (a lower power, a higher floor, a lower
ceiling, a lower grid cap), so a lower-priority limit never loosens a higher one. Where two SOC
limits contradict each other (a reserve above a ceiling), the higher-priority one stands, the
lower one is clamped to it and the conflict is reported. The SOC limits bound the command's own
floor and target; where the command's own values do not fit, the limits win. Every field a limit
changed is a :class:`LimitHit`.

A ``power_cap`` guard caps ``power_w``: for ``charge`` its ``max_charge_w``, for ``discharge`` its
``max_discharge_w``, and for the other kinds (which may move power either way) the lower of the two.

After narrowing, a discharge at or below its floor becomes ``hold`` (the battery must not go below
the reserve), and a charge or discharge narrowed to zero power becomes ``hold``.

A manual rule with ``force: true`` skips the policy's guards, never the device's hard limits.

Under a demand charge, :func:`cap_charge_at_month_peak` runs after narrowing: a grid charge never
lifts the import above the month's peak so far. Every other kind imports no more than the house
draws, so with it no policy can bill a higher peak than the same site without a battery.
"""

from __future__ import annotations

from collections.abc import Sequence

from gridpilot.engine.commands import Command, CommandKind, DeviceLimits
from gridpilot.engine.decision import LimitHit
from gridpilot.engine.guards import GuardLimit

__all__ = [
    "DEMAND_CHARGE",
    "DEVICE",
    "NarrowCache",
    "cap_charge_at_month_peak",
    "narrow",
]

DEVICE = "device"
DEMAND_CHARGE = "tariff.demand_charge_per_kw"
"""The limit name in the trace when the demand charge caps a grid charge."""
_INF = float("inf")
_K = CommandKind


def _hit(hits: list[LimitHit], limit: str, field: str, before: float | None,
         after: float | None, note: str = "") -> None:
    hits.append(LimitHit(limit, field, before, after, note))


def _held(hits: list[LimitHit], limit: str, field: str, value: float | None, cap: float, *,
          unset_hits: bool = False) -> float:
    """``value`` held to the device's ``cap``; an unset value takes the cap (recorded as a hit
    when ``unset_hits``: an unlimited grid flow is narrowed, an unset power only filled in)."""
    if value is None:
        if unset_hits:
            _hit(hits, limit, field, value, cap)
        return cap
    if value > cap:
        _hit(hits, limit, field, value, cap)
        return cap
    return value


def _envelope(kind: CommandKind, floor: float, target: float, lo: float,
              hi: float) -> tuple[float, float]:
    """The command's own floor and target clamped into the SOC bounds ``lo..hi``. Where the
    command contradicts itself (its floor above its target), the field its kind uses wins."""
    f = lo if floor < lo else hi if floor > hi else floor
    t = lo if target < lo else hi if target > hi else target
    if f > t:
        if kind is _K.CHARGE:
            f = t
        else:
            t = f
    return f, t


def narrow(
    command: Command,
    soc_pct: float,
    limits: DeviceLimits,
    guards: Sequence[GuardLimit],
    *,
    force: bool = False,
) -> tuple[Command, tuple[LimitHit, ...]]:
    """Narrow ``command`` into the device limits and the active ``guards`` (in priority order).

    The SOC limits are kept as bounds (``lo`` from reserves, ``hi`` from ceilings) apart from the
    command's own floor and target, which are clamped into them after every limit; a limit that
    moved a field is reported as the limit that changed it. With ``force`` the guards are skipped
    (the caller reports it); the device's limits still apply.
    """
    return _narrowed(command, limits, guards, force).result(command, soc_pct)


def _narrowed(
    command: Command, limits: DeviceLimits, guards: Sequence[GuardLimit], force: bool
) -> _Narrowed:
    """Everything :func:`narrow` does that does not depend on the SOC."""
    hits: list[LimitHit] = []
    kind = command.kind
    power = command.power_w
    lo, hi = limits.min_soc_pct, limits.max_soc_pct
    own_floor, own_target = command.floor_soc_pct, command.target_soc_pct
    floor, target = _envelope(kind, own_floor, own_target, lo, hi)
    # 0 and 100 are the Command defaults and mean "the battery's range": no hit for those.
    if floor != own_floor and own_floor != 0.0:
        _hit(hits, "device.min_soc_pct" if own_floor < lo else "device.max_soc_pct",
             "floor_soc_pct", own_floor, floor)
    if target != own_target and own_target != 100.0:
        _hit(hits, "device.max_soc_pct" if own_target > hi else "device.min_soc_pct",
             "target_soc_pct", own_target, target)
    if kind is _K.CHARGE:
        power = _held(hits, "device.max_charge_w", "power_w", power, limits.max_charge_w)
    elif kind is _K.DISCHARGE:
        power = _held(hits, "device.max_discharge_w", "power_w", power, limits.max_discharge_w)
    imp = command.max_import_w
    if limits.max_import_w is not None:
        imp = _held(hits, "device.max_import_w", "max_import_w", imp, limits.max_import_w,
                    unset_hits=True)
    exp = command.max_export_w
    if limits.max_export_w is not None:
        exp = _held(hits, "device.max_export_w", "max_export_w", exp, limits.max_export_w,
                    unset_hits=True)

    floor_src = "command" if floor == own_floor and own_floor > limits.min_soc_pct else DEVICE
    field_label = DEVICE
    if not force:
        lo_src, hi_src = "device.min_soc_pct", "device.max_soc_pct"
        for g in guards:
            label = g.label
            note = ""
            bound_moved = False
            if g.min_soc_pct is not None and g.min_soc_pct > lo:
                new = g.min_soc_pct
                if new > hi:
                    new = hi
                    note = f"conflicts with {hi_src} (higher priority); clamped to it"
                if new > lo:
                    lo, bound_moved = new, True
                    field_label = f"{label}.min_soc_pct"
            if g.max_soc_pct is not None and g.max_soc_pct < hi:
                new = g.max_soc_pct
                if new < lo:
                    new = lo
                    note = f"conflicts with {lo_src} (higher priority); clamped to it"
                if new < hi:
                    hi, bound_moved = new, True
                    field_label = f"{label}.max_soc_pct"
            if bound_moved:
                if g.min_soc_pct is not None:
                    lo_src = label
                if g.max_soc_pct is not None:
                    hi_src = label
                f2, t2 = _envelope(kind, own_floor, own_target, lo, hi)
                if f2 != floor:
                    _hit(hits, field_label, "floor_soc_pct", floor, f2, note)
                    floor = f2
                    floor_src = label
                if t2 != target:
                    _hit(hits, field_label, "target_soc_pct", target, t2, note)
                    target = t2
            elif note:
                _hit(hits, f"{label}", "floor_soc_pct", floor, floor, note)
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

    if (kind is _K.CHARGE or kind is _K.DISCHARGE) and (power is None or power <= 0.0):
        _hit(hits, "power_cap", "kind", None, None, f"{kind.value} at 0 W becomes hold")
        zero_kind: CommandKind = _K.HOLD
    else:
        zero_kind = kind
    return _Narrowed(kind, power, target, floor, imp, exp, hits, floor_src, zero_kind)


class _Narrowed:
    """A command narrowed by everything but the SOC; :meth:`result` finishes it for a SOC.

    The two possible outcomes (above the floor, or a discharge at or below it) are built once
    and kept, so a cached instance answers later ticks without new objects.
    """

    __slots__ = ("_above", "_below", "exp", "floor", "floor_src", "hits", "imp", "kind",
                 "power", "target", "zero_kind")

    def __init__(self, kind: CommandKind, power: float | None, target: float, floor: float,
                 imp: float | None, exp: float | None, hits: list[LimitHit], floor_src: str,
                 zero_kind: CommandKind) -> None:
        self.kind = kind
        self.power = power
        self.target = target
        self.floor = floor
        self.imp = imp
        self.exp = exp
        self.hits = hits
        self.floor_src = floor_src
        self.zero_kind = zero_kind
        self._above: tuple[Command | None, tuple[LimitHit, ...]] | None = None
        self._below: tuple[Command | None, tuple[LimitHit, ...]] | None = None

    def result(self, command: Command, soc_pct: float) -> tuple[Command, tuple[LimitHit, ...]]:
        """The narrowed ``command`` (which must equal the one this was built from) at
        ``soc_pct``."""
        below = self.kind is _K.DISCHARGE and soc_pct <= self.floor
        done = self._below if below else self._above
        if done is None:
            done = self._finish(command, below)
            if below:
                self._below = done
            else:
                self._above = done
        out, hits = done
        return (command if out is None else out), hits

    def _finish(self, command: Command,
                below: bool) -> tuple[Command | None, tuple[LimitHit, ...]]:
        kind, power, floor, imp, exp = self.kind, self.power, self.floor, self.imp, self.exp
        target = self.target
        hits = list(self.hits)
        if below:
            # The zero-power hit (if any) is replaced by the floor hit: the floor is tested first.
            if self.zero_kind is not kind:
                hits.pop()
            src = (
                "command.floor_soc_pct"
                if self.floor_src == "command"
                else f"{self.floor_src}.min_soc_pct"
            )
            _hit(hits, src, "kind", None, None,
                 f"discharge at or below the floor {floor:g} % becomes hold")
            kind, power = _K.HOLD, None
        elif self.zero_kind is not kind:
            kind, power = self.zero_kind, None
        if kind is _K.PEAK_SHAVE and imp is None:
            imp = 0.0
        if kind is _K.LIMIT_EXPORT and exp is None:
            exp = 0.0
        out = None
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


class NarrowCache:
    """:func:`narrow` for one device, remembering its answers.

    Narrowing depends on the command's fields, the active guards and ``force``; the SOC only
    decides whether a discharge sits at or below its floor. The answer for equal inputs is
    therefore kept and reused: the same commands and guard sets recur on almost every tick.
    ``guards_key`` must identify ``guards`` (the same key always for the same guards).
    """

    __slots__ = ("_last", "_memo", "limits")

    _MAX = 4096

    def __init__(self, limits: DeviceLimits) -> None:
        self.limits = limits
        self._memo: dict[tuple[object, ...], _Narrowed] = {}
        self._last: tuple[Command, object, bool, _Narrowed] | None = None

    def narrow(self, command: Command, soc_pct: float, guards: Sequence[GuardLimit],
               guards_key: object, force: bool) -> tuple[Command, tuple[LimitHit, ...]]:
        last = self._last
        # The same command object as the last tick (a static rule, a strategy repeating its
        # proposal): a command is immutable, so no key needs building.
        if (last is not None and last[0] is command and last[1] == guards_key
                and last[2] is force):
            return last[3].result(command, soc_pct)
        key = (command.kind._value_, command.power_w, command.target_soc_pct,
               command.floor_soc_pct, command.max_import_w, command.max_export_w,
               guards_key, force)
        memo = self._memo
        found = memo.get(key)
        if found is None:
            found = _narrowed(command, self.limits, guards, force)
            if len(memo) >= self._MAX:
                memo.clear()
            memo[key] = found
        self._last = (command, guards_key, force, found)
        return found.result(command, soc_pct)

    def discharge_floor(self) -> float | None:
        """The SOC at or below which the last narrowed command becomes ``hold`` [%]; ``None``
        when the SOC does not change its narrowing (any kind but ``discharge``)."""
        last = self._last
        if last is None or last[3].kind is not _K.DISCHARGE:
            return None
        return last[3].floor


def cap_charge_at_month_peak(
    command: Command,
    hits: tuple[LimitHit, ...],
    *,
    month_peak_import_w: float,
    net_w: float,
) -> tuple[Command, tuple[LimitHit, ...]]:
    """Cap a ``charge`` so that the grid import stays at or below the month's peak so far.

    Under a demand charge a refill that sets a new monthly peak costs more than it can save at
    the energy price, so the peak the month has already paid for is the ceiling (at the start of
    a month nothing is paid for yet: only PV surplus charges). Both the grid cap
    (``max_import_w``, which the battery model and capable devices follow within the tick) and the
    power (from the net load ``net_w`` [W] of this tick, for devices that only take a setpoint)
    are capped; a charge left with no power becomes ``hold``, as any charge narrowed to zero.
    """
    if command.kind is not _K.CHARGE:
        return command, hits
    peak = max(month_peak_import_w, 0.0)
    out = list(hits)
    imp = command.max_import_w
    if imp is None or imp > peak:
        _hit(out, DEMAND_CHARGE, "max_import_w", imp, peak,
             "a grid charge must not set a new monthly peak")
        imp = peak
    room = max(imp - net_w, 0.0)
    power = command.power_w
    if power is None or power > room:
        _hit(out, DEMAND_CHARGE, "power_w", power, room,
             f"the import may rise only to the month's peak so far ({peak:.0f} W)")
        power = room
    if power <= 0.0:
        _hit(out, DEMAND_CHARGE, "kind", None, None, "charge at 0 W becomes hold")
        return Command(_K.HOLD, None, command.target_soc_pct, command.floor_soc_pct, imp,
                       command.max_export_w), tuple(out)
    if imp == command.max_import_w and power == command.power_w:
        return command, hits
    return Command(_K.CHARGE, power, command.target_soc_pct, command.floor_soc_pct, imp,
                   command.max_export_w), tuple(out)
