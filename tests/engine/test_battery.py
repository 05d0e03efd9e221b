"""The battery model: a hand-computed case, each command kind, and invariants under hypothesis."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.engine.battery import BatteryParams, step
from gridpilot.engine.commands import Command, CommandKind

P = BatteryParams(
    capacity_kwh=10.0,
    max_charge_w=3000.0,
    max_discharge_w=4000.0,
    charge_efficiency=0.9,
    discharge_efficiency=0.8,
    min_soc_pct=10.0,
    max_soc_pct=95.0,
)


def test_hand_computed_charge_and_discharge() -> None:
    # 3000 W for 30 min = 1.5 kWh AC; 0.9 of it stored = 1.35 kWh = 13.5 % of 10 kWh.
    r = step(Command(CommandKind.CHARGE, power_w=3000.0, target_soc_pct=95.0), 50.0, 500.0, 0.0,
             1800.0, P)
    assert r.battery_w == -3000.0
    assert r.grid_w == pytest.approx(3500.0)
    assert r.soc_pct == pytest.approx(63.5)
    # 2000 W for 15 min = 0.5 kWh AC drawn as 0.5 / 0.8 = 0.625 kWh = 6.25 %.
    r = step(Command(CommandKind.DISCHARGE, power_w=2000.0, floor_soc_pct=10.0), 50.0, 500.0,
             0.0, 900.0, P)
    assert r.battery_w == 2000.0
    assert r.grid_w == pytest.approx(-1500.0)
    assert r.soc_pct == pytest.approx(43.75)


def test_charge_stops_at_its_target() -> None:
    # 1 % of room = 0.1 kWh stored needs 0.1 / 0.9 kWh AC; in 1 h that is 111.1 W.
    r = step(Command(CommandKind.CHARGE, power_w=3000.0, target_soc_pct=61.0), 60.0, 0.0, 0.0,
             3600.0, P)
    assert r.battery_w == pytest.approx(-100.0 / 0.9)
    assert r.soc_pct == pytest.approx(61.0)
    above = step(Command(CommandKind.CHARGE, power_w=3000.0, target_soc_pct=50.0), 60.0, 0.0,
                 0.0, 300.0, P)
    assert above.battery_w == 0.0 and above.soc_pct == 60.0


def test_discharge_stops_at_the_floor_and_the_unit_minimum() -> None:
    r = step(Command(CommandKind.DISCHARGE, power_w=4000.0, floor_soc_pct=0.0), 12.0, 0.0, 0.0,
             3600.0, P)
    # 2 % above the unit's 10 % = 0.2 kWh stored, 0.16 kWh AC in one hour.
    assert r.battery_w == pytest.approx(160.0)
    assert r.soc_pct == pytest.approx(10.0)


def test_self_consumption_covers_the_net_load_and_stores_surplus() -> None:
    sc = Command(CommandKind.SELF_CONSUMPTION)
    r = step(sc, 50.0, 1500.0, 300.0, 300.0, P)
    assert r.battery_w == pytest.approx(1200.0) and r.grid_w == pytest.approx(0.0)
    r = step(sc, 50.0, 300.0, 2300.0, 300.0, P)
    assert r.battery_w == pytest.approx(-2000.0) and r.grid_w == pytest.approx(0.0)
    r = step(sc, 50.0, 6000.0, 0.0, 300.0, P)
    assert r.battery_w == 4000.0 and r.grid_w == 2000.0


def test_peak_shave_discharges_only_above_the_threshold() -> None:
    ps = Command(CommandKind.PEAK_SHAVE, max_import_w=2000.0)
    below = step(ps, 50.0, 1500.0, 0.0, 300.0, P)
    assert below.battery_w == 0.0 and below.grid_w == 1500.0
    above = step(ps, 50.0, 3500.0, 0.0, 300.0, P)
    assert above.battery_w == pytest.approx(1500.0) and above.grid_w == pytest.approx(2000.0)
    surplus = step(ps, 50.0, 200.0, 1200.0, 300.0, P)
    assert surplus.battery_w == pytest.approx(-1000.0)


def test_hold_takes_pv_surplus_but_never_discharges() -> None:
    hold = Command(CommandKind.HOLD)
    assert step(hold, 50.0, 2000.0, 0.0, 300.0, P).battery_w == 0.0
    assert step(hold, 50.0, 200.0, 1000.0, 300.0, P).battery_w == pytest.approx(-800.0)


def test_idle_does_nothing() -> None:
    r = step(Command(CommandKind.IDLE), 50.0, 800.0, 2000.0, 300.0, P)
    assert r.battery_w == 0.0 and r.soc_pct == 50.0 and r.grid_w == -1200.0


def test_command_caps_are_honoured() -> None:
    # An import cap on a charge command slows the charge; an export cap on a discharge slows it.
    r = step(Command(CommandKind.CHARGE, power_w=3000.0, max_import_w=2000.0), 50.0, 500.0, 0.0,
             300.0, P)
    assert r.grid_w == pytest.approx(2000.0) and r.battery_w == pytest.approx(-1500.0)
    r = step(Command(CommandKind.DISCHARGE, power_w=4000.0, max_export_w=1000.0), 50.0, 500.0,
             0.0, 300.0, P)
    assert r.grid_w == pytest.approx(-1000.0) and r.battery_w == pytest.approx(1500.0)
    # limit_export charges so that export stays under the cap where it can.
    r = step(Command(CommandKind.LIMIT_EXPORT, max_export_w=500.0), 50.0, 0.0, 5000.0, 300.0, P)
    assert r.battery_w == -3000.0 and r.grid_w == -2000.0
    # power_w on a self-consumption command limits the battery power.
    r = step(Command(CommandKind.SELF_CONSUMPTION, power_w=700.0), 50.0, 2000.0, 0.0, 300.0, P)
    assert r.battery_w == 700.0


kinds = st.sampled_from(list(CommandKind))
power = st.floats(0.0, 20_000.0, allow_nan=False)
pct = st.floats(0.0, 100.0, allow_nan=False)


@st.composite
def commands(draw: st.DrawFn) -> Command:
    kind = draw(kinds)
    lo, hi = sorted((draw(pct), draw(pct)))
    return Command(
        kind,
        power_w=draw(st.none() | st.floats(1.0, 8000.0)),
        target_soc_pct=hi,
        floor_soc_pct=lo,
        max_import_w=draw(st.none() | power),
        max_export_w=draw(st.none() | power),
    )


@settings(max_examples=400, deadline=None)
@given(cmd=commands(), soc=st.floats(10.0, 95.0), load=power, pv=power,
       dt=st.sampled_from([60.0, 300.0, 900.0, 1800.0, 3600.0]))
def test_invariants(cmd: Command, soc: float, load: float, pv: float, dt: float) -> None:
    r = step(cmd, soc, load, pv, dt, P)
    # energy balance: load = pv + grid + battery
    assert math.isclose(load, pv + r.grid_w + r.battery_w, abs_tol=1e-6)
    # SOC bounds of the unit
    assert P.min_soc_pct - 1e-9 <= r.soc_pct <= P.max_soc_pct + 1e-9
    # power limits of the unit
    assert -P.max_charge_w - 1e-9 <= r.battery_w <= P.max_discharge_w + 1e-9
    # stored energy matches the power and efficiency
    stored_kwh = (r.soc_pct - soc) / 100.0 * P.capacity_kwh
    ac_kwh = -r.battery_w * dt / 3.6e6
    expected = ac_kwh * P.charge_efficiency if ac_kwh > 0 else ac_kwh / P.discharge_efficiency
    assert math.isclose(stored_kwh, expected, abs_tol=1e-9)
    # the command is respected
    if r.battery_w > 1e-9:
        assert cmd.kind not in (CommandKind.HOLD, CommandKind.IDLE, CommandKind.CHARGE)
        assert r.soc_pct >= max(cmd.floor_soc_pct, P.min_soc_pct) - 1e-9
    if r.battery_w < -1e-9:
        assert cmd.kind not in (CommandKind.IDLE, CommandKind.DISCHARGE)
        assert r.soc_pct <= min(cmd.target_soc_pct, P.max_soc_pct) + 1e-9
    if cmd.kind in (CommandKind.CHARGE, CommandKind.DISCHARGE) and cmd.power_w is not None:
        # the setpoint holds, except that a grid cap may make the battery do more: an export
        # cap takes more PV surplus into a charge, an import cap discharges more
        cap = cmd.max_export_w if cmd.kind is CommandKind.CHARGE else cmd.max_import_w
        if cap is None:
            assert abs(r.battery_w) <= cmd.power_w + 1e-9
        else:
            net = pv - load if cmd.kind is CommandKind.CHARGE else load - pv
            assert abs(r.battery_w) <= max(cmd.power_w, net - cap) + 1e-6
    if cmd.kind is CommandKind.PEAK_SHAVE and r.battery_w > 1e-9:
        assert r.grid_w >= (cmd.max_import_w or 0.0) - 1e-6
    if cmd.kind is CommandKind.HOLD or cmd.kind is CommandKind.SELF_CONSUMPTION:
        # never charges from the grid
        assert r.battery_w >= -max(pv - load, 0.0) - 1e-6


def test_the_policy_holds_its_battery_section() -> None:
    from pathlib import Path

    from gridpilot.rules.loader import load_policy

    root = Path(__file__).resolve().parents[2]
    params = load_policy(root / "examples/policies/agile-dynamic.yaml").battery
    assert params.capacity_kwh == 9.5
    assert params.max_charge_w == 3300
    assert params.min_soc_pct == 5
