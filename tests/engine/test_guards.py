"""narrow(): limits only tighten, and a lower-priority limit never loosens a higher one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.engine.commands import Command, CommandKind, DeviceLimits, validate_command
from gridpilot.engine.guards import GuardLimit, effective_reserve
from gridpilot.engine.narrowing import narrow

K = CommandKind
LIMITS = DeviceLimits(capacity_kwh=10, max_charge_w=3000, max_discharge_w=4000, min_soc_pct=5,
                      max_soc_pct=95, max_import_w=15000, max_export_w=5000)
pct = st.floats(0, 100)
power = st.floats(0, 10_000)


@st.composite
def guard_lists(draw: st.DrawFn) -> list[GuardLimit]:
    out = []
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["reserve", "ceiling", "import", "export", "power"]))
        label = f"g{i}"
        if kind == "reserve":
            out.append(GuardLimit(label, "backup_reserve", i, None, min_soc_pct=draw(pct)))
        elif kind == "ceiling":
            out.append(GuardLimit(label, "soc_ceiling", i, None, max_soc_pct=draw(pct)))
        elif kind == "import":
            out.append(GuardLimit(label, "import_cap", i, None, max_import_w=draw(power)))
        elif kind == "export":
            out.append(GuardLimit(label, "export_cap", i, None, max_export_w=draw(power)))
        else:
            out.append(GuardLimit(label, "power_cap", i, None,
                                  max_charge_w=draw(st.none() | power),
                                  max_discharge_w=draw(st.none() | power)))
    return out


@st.composite
def commands(draw: st.DrawFn) -> Command:
    kind = draw(st.sampled_from(list(K)))
    return Command(
        kind,
        power_w=draw(st.none() | st.floats(1, 10_000)),
        target_soc_pct=draw(pct),
        floor_soc_pct=draw(pct),
        max_import_w=draw(st.none() | power),
        max_export_w=draw(st.none() | power),
    )


@settings(max_examples=400, deadline=None)
@given(cmd=commands(), guards=guard_lists(), soc=pct)
def test_narrowing_respects_every_limit_by_priority(cmd: Command, guards: list[GuardLimit],
                                                    soc: float) -> None:
    out, hits = narrow(cmd, soc, LIMITS, guards)
    validate_command(out, LIMITS)
    lo, hi = LIMITS.min_soc_pct, LIMITS.max_soc_pct
    # Replay the SOC bounds in priority order: each guard binds within what the ones above left.
    floor_bound, ceil_bound = lo, hi
    for g in guards:
        if g.min_soc_pct is not None:
            floor_bound = max(floor_bound, min(g.min_soc_pct, ceil_bound))
            assert out.floor_soc_pct >= floor_bound - 1e-9
        if g.max_soc_pct is not None:
            ceil_bound = min(ceil_bound, max(g.max_soc_pct, floor_bound))
        if g.max_import_w is not None:
            assert out.max_import_w is not None and out.max_import_w <= g.max_import_w
        if g.max_export_w is not None:
            assert out.max_export_w is not None and out.max_export_w <= g.max_export_w
        if out.power_w is not None:
            if out.kind is K.CHARGE and g.max_charge_w is not None:
                assert out.power_w <= g.max_charge_w
            if out.kind is K.DISCHARGE and g.max_discharge_w is not None:
                assert out.power_w <= g.max_discharge_w
    assert floor_bound - 1e-9 <= out.floor_soc_pct <= max(cmd.floor_soc_pct, floor_bound) + 1e-9
    assert out.target_soc_pct <= ceil_bound + 1e-9
    assert effective_reserve(LIMITS, guards) == floor_bound
    if out.kind is K.DISCHARGE:
        assert soc > out.floor_soc_pct
    # Every changed field is reported.
    changed = {f for f in ("power_w", "target_soc_pct", "floor_soc_pct", "max_import_w",
                           "max_export_w") if getattr(out, f) != getattr(cmd, f)}
    changed -= {"floor_soc_pct"} if cmd.floor_soc_pct == 0.0 else set()
    changed -= {"target_soc_pct"} if cmd.target_soc_pct == 100.0 else set()
    if out.kind is not cmd.kind:
        changed.discard("power_w")
        assert any(h.field == "kind" for h in hits)
    if cmd.power_w is None and out.kind in (K.CHARGE, K.DISCHARGE):
        changed.discard("power_w")  # "max" filled in, not narrowed
    assert changed <= {h.field for h in hits}


@settings(max_examples=200, deadline=None)
@given(cmd=commands(), guards=guard_lists(), extra=guard_lists(), soc=pct)
def test_appending_guards_never_loosens(cmd: Command, guards: list[GuardLimit],
                                        extra: list[GuardLimit], soc: float) -> None:
    base, _ = narrow(cmd, soc, LIMITS, guards)
    more = guards + [GuardLimit(g.name + "x", g.kind, len(guards) + i, None, g.min_soc_pct,
                                g.max_soc_pct, g.max_import_w, g.max_export_w, g.max_charge_w,
                                g.max_discharge_w) for i, g in enumerate(extra)]
    out, _ = narrow(cmd, soc, LIMITS, more)
    # The reserve the higher-priority guards set still holds (a ceiling may lower a command's
    # own floor, never a limit's).
    assert out.floor_soc_pct >= effective_reserve(LIMITS, guards) - 1e-9
    assert effective_reserve(LIMITS, more) >= effective_reserve(LIMITS, guards) - 1e-9
    inf = float("inf")
    assert (out.max_import_w if out.max_import_w is not None else inf) <= (
        base.max_import_w if base.max_import_w is not None else inf)
    assert (out.max_export_w if out.max_export_w is not None else inf) <= (
        base.max_export_w if base.max_export_w is not None else inf)
    if out.kind is base.kind and out.power_w is not None and base.power_w is not None:
        assert out.power_w <= base.power_w
    if base.kind is K.HOLD and out.kind is not K.HOLD:
        # The one way a guard may turn a hold into a discharge: a ceiling below the discharge's
        # own floor lowers that floor (the ceiling asks for the SOC to come down), never below
        # the reserve, and the battery then discharges only down to the ceiling.
        ceilings = [g.max_soc_pct for g in extra if g.max_soc_pct is not None]
        assert cmd.kind is K.DISCHARGE and out.kind is K.DISCHARGE
        assert out.floor_soc_pct < cmd.floor_soc_pct
        assert any(abs(out.floor_soc_pct - max(c, effective_reserve(LIMITS, more))) < 1e-9
                   for c in ceilings)
        assert soc > out.floor_soc_pct


def test_force_keeps_device_limits_only() -> None:
    cmd = Command(K.DISCHARGE, power_w=9000, floor_soc_pct=0.0)
    guards = [GuardLimit("r", "backup_reserve", 0, None, min_soc_pct=60)]
    out, hits = narrow(cmd, 30.0, LIMITS, guards, force=True)
    assert out.kind is K.DISCHARGE and out.power_w == 4000 and out.floor_soc_pct == 5
    assert [h.limit for h in hits if h.field == "power_w"] == ["device.max_discharge_w"]
