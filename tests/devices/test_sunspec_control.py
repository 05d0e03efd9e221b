"""Commands to model 124 values, and the running mode read back (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.devices.sunspec.codec import encode
from gridpilot.devices.sunspec.control import OwnWindow, mode_of, plan_command, revert_s
from gridpilot.devices.sunspec.modeldefs import model_def
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.state import ModeSource
from gridpilot.errors import CommandError

NOW = datetime(2026, 6, 1, tzinfo=UTC)
M124 = model_def(124)
KINDS = [CommandKind.CHARGE, CommandKind.DISCHARGE, CommandKind.HOLD, CommandKind.IDLE,
         CommandKind.SELF_CONSUMPTION]


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(KINDS), max_w=st.floats(500, 30_000),
       share=st.floats(0.0, 1.0), rate_sf=st.integers(-3, 0),
       reserve_sf=st.integers(-2, 0), floor=st.floats(0, 100),
       valid=st.floats(0, 20_000), grid=st.booleans())
def test_every_register_write_is_within_the_models_range(
        kind: CommandKind, max_w: float, share: float, rate_sf: int, reserve_sf: int,
        floor: float, valid: float, grid: bool) -> None:
    power = None if kind in (CommandKind.HOLD, CommandKind.IDLE) else share * max_w
    command = Command(kind, power_w=power, floor_soc_pct=floor)
    plan = plan_command(command, max_w=max_w, rate_sf=rate_sf,
                        revert=revert_s(valid, 600, 3600), grid_charging=grid)
    try:
        regs = plan.registers(rate_sf, reserve_sf)
    except CommandError as exc:
        assert "does not fit its 16-bit register" in str(exc)
        assert rate_sf == -3
        return
    assert M124 is not None
    for name, raw in regs.items():
        point = M124.point(name)
        encode(point.type, raw, point.size)  # fits its type, never the "not implemented" value
    assert regs["StorCtl_Mod"] in (2, 3)
    assert regs["ChaGriSet"] in (0, 1)
    for name in ("InWRte", "OutWRte"):
        assert -100 <= regs[name] * 10.0 ** rate_sf <= 100
    assert 0 <= regs["MinRsvPct"] * 10.0 ** reserve_sf <= 100 + 10.0 ** reserve_sf
    assert regs["MinRsvPct"] * 10.0 ** reserve_sf >= floor - 1e-6  # the reserve is never lowered
    assert 60 <= regs["InOutWRte_RvrtTms"] <= 3600
    if power is not None and plan.effective_power_w is not None:
        assert plan.effective_power_w <= power + 1e-6  # never more than asked
    assert list(regs)[-1] == "StorCtl_Mod" and next(iter(regs)) == "InOutWRte_RvrtTms"


def test_the_mapping_table() -> None:
    plan = plan_command(Command(CommandKind.CHARGE, power_w=2500), max_w=5000, rate_sf=-2,
                        revert=900, grid_charging=True)
    assert plan.registers(-2, -2) == {"InOutWRte_RvrtTms": 900, "MinRsvPct": 0,
                                      "ChaGriSet": 1, "OutWRte": -5000, "InWRte": 5000,
                                      "StorCtl_Mod": 3}
    d = plan_command(Command(CommandKind.DISCHARGE, power_w=1000, floor_soc_pct=20.004),
                     max_w=5000, rate_sf=0, revert=900, grid_charging=True)
    assert d.registers(0, -2) == {"InOutWRte_RvrtTms": 900, "MinRsvPct": 2001, "ChaGriSet": 0,
                                  "OutWRte": 20, "InWRte": -20, "StorCtl_Mod": 3}
    hold = plan_command(Command(CommandKind.HOLD), max_w=5000, rate_sf=0, revert=900,
                        grid_charging=True)
    assert (hold.storctl_mod, hold.out_pct) == (2, 0.0)


@pytest.mark.parametrize("kind", [CommandKind.PEAK_SHAVE, CommandKind.LIMIT_EXPORT])
def test_kinds_model_124_cannot_express_are_refused(kind: CommandKind) -> None:
    command = Command(kind, max_import_w=2000, max_export_w=0)
    with pytest.raises(CommandError, match="grid-power target"):
        plan_command(command, max_w=5000, rate_sf=0, revert=900, grid_charging=True)


def test_power_above_wchamax_is_refused_and_odd_powers_round_down() -> None:
    with pytest.raises(CommandError, match="above the device's WChaMax 5000 W"):
        plan_command(Command(CommandKind.CHARGE, power_w=6000), max_w=5000, rate_sf=0,
                     revert=900, grid_charging=True)
    plan = plan_command(Command(CommandKind.CHARGE, power_w=1234), max_w=5000, rate_sf=0,
                        revert=900, grid_charging=True)
    assert plan.in_pct == 24 and plan.effective_power_w == 1200
    assert "sent as 24 %" in plan.notes[0]


def storage(mod: object, in_pct: object = 100.0, out_pct: object = 100.0) -> dict[str, object]:
    return {"StorCtl_Mod": mod, "InWRte": in_pct, "OutWRte": out_pct}


def test_mode_fails_closed() -> None:
    own = OwnWindow(3, 40.0, -40.0, NOW, 900)
    assert mode_of(storage(0), own, NOW).source is ModeSource.DEFAULT
    mine = mode_of(storage(3, 40.0, -40.0), own, NOW)
    assert (mine.source, mine.kind) == (ModeSource.GRIDPILOT, CommandKind.CHARGE)
    assert mine.expires == NOW + timedelta(seconds=900)
    other = mode_of(storage(3, 40.0, -60.0), own, NOW)  # another master changed a rate
    assert (other.source, other.kind) == (ModeSource.PERSON, CommandKind.CHARGE)
    assert mode_of(storage(3, 40.0, -40.0), None, NOW).source is ModeSource.PERSON
    assert mode_of(storage(None), own, NOW).source is ModeSource.UNKNOWN
    assert mode_of(storage(7), own, NOW).source is ModeSource.UNKNOWN
    assert mode_of(storage(3, None, 5.0), own, NOW).source is ModeSource.UNKNOWN
    late = NOW + timedelta(seconds=901)
    assert mode_of(storage(3, 40.0, -40.0), own, late).source is ModeSource.UNKNOWN
    assert mode_of(storage(3, 0.0, 0.0), None, NOW).kind is CommandKind.IDLE
    assert mode_of(storage(2, 100.0, 0.0), None, NOW).kind is CommandKind.HOLD
    assert mode_of(storage(3, -20.0, 20.0), None, NOW).kind is CommandKind.DISCHARGE
