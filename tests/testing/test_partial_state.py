"""One partial-state model: STATE.json of ``gridpilot decide`` and a scenario's ``state:`` give the
same SiteState for the same fields, and each keeps what only it documents."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.cli.decide import load_state
from gridpilot.engine.partial_state import (
    PartialCommand,
    PartialDeviceMode,
    PartialState,
    balance_grid_w,
    forecast_array,
)
from gridpilot.engine.state import ModeSource, SiteState
from gridpilot.errors import DataError
from gridpilot.rules import scenario_state
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.rules.scenario import ScenarioCase
from gridpilot.testing.build_state import active_from_spec, build_state, price_source
from tests.testing.conftest import BASE_POLICY

AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
PRICES = [0.1, 0.2, 0.3, 0.4]


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("partial") / "policy.yaml"
    path.write_text(BASE_POLICY, encoding="utf-8")
    return load_policy(path)


def via_state_json(policy: Policy, fields: dict[str, Any], tmp: Path) -> SiteState:
    doc = dict(fields)
    if "active_command" in doc:
        doc["active_since"] = "2026-01-14T12:00:00+00:00"
    doc["time"] = AT.isoformat()
    doc["prices"] = {
        "start": [f"2026-01-15T{12 + i // 2:02d}:{30 * (i % 2):02d}:00Z" for i in range(4)],
        "end": "2026-01-15T14:00:00Z",
        "import_per_kwh": PRICES,
    }
    path = tmp / "state.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return load_state(path, None, policy)


def via_scenario(policy: Policy, fields: dict[str, Any]) -> SiteState:
    case = ScenarioCase.model_validate({
        "name": "c", "at": "2026-01-15T12:00:00Z", "state": fields,
        "prices": {"import": PRICES, "slot": "30m"}, "expect": "hold",
    })
    spec = case.state
    active, since = active_from_spec(spec.active_command, AT, policy.tz)
    return build_state(
        case, AT, prices=price_source(policy, case, AT), soc_pct=spec.soc_pct,
        load_w=spec.load_w, pv_w=spec.pv_w, battery_w=spec.battery_w, grid_w=spec.grid_w,
        active=active, active_since=since, month_peak_import_w=spec.month_peak_import_w,
    )


def test_the_empty_state_is_the_same_quiet_site_both_ways(policy: Policy, tmp_path: Path) -> None:
    a = via_state_json(policy, {}, tmp_path)
    b = via_scenario(policy, {})
    for s in (a, b):
        assert (s.soc_pct, s.load_w, s.pv_w, s.battery_w, s.grid_w) == (50.0, 0.0, 0.0, 0.0, 0.0)
        assert s.month_peak_import_w == 0.0
        assert s.device_mode is None and s.active_command is None and s.active_layer is None
        assert s.forecast_net_load_w is None
    np.testing.assert_array_equal(a.prices.start_s, b.prices.start_s)
    np.testing.assert_array_equal(a.prices.import_per_kwh, b.prices.import_per_kwh)
    assert a.prices.end_s == b.prices.end_s


finite = st.floats(min_value=0, max_value=20_000, allow_nan=False)
signed = st.floats(min_value=-20_000, max_value=20_000, allow_nan=False)
shared_fields = st.fixed_dictionaries(
    {},
    optional={
        "soc_pct": st.floats(min_value=0, max_value=100),
        "load_w": finite,
        "pv_w": finite,
        "battery_w": signed,
        "grid_w": signed,
        "month_peak_import_w": finite,
        "device_mode": st.fixed_dictionaries({
            "kind": st.sampled_from(["charge", "hold", "self_consumption"]),
            "source": st.sampled_from(["person", "gridpilot", "schedule", "unknown"]),
        }),
        "active_command": st.fixed_dictionaries(
            {"kind": st.sampled_from(["charge", "discharge", "hold"])},
            optional={"power_w": finite, "floor_soc_pct": st.floats(0, 50)},
        ),
        "forecast_net_load_w": st.lists(signed, min_size=4, max_size=4),
    },
)


@settings(max_examples=40, deadline=None)
@given(fields=shared_fields)
def test_the_shared_fields_mean_the_same_both_ways(policy: Policy, fields: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        a = via_state_json(policy, fields, Path(tmp))
    b = via_scenario(policy, fields)
    assert (a.soc_pct, a.load_w, a.pv_w, a.battery_w, a.grid_w, a.month_peak_import_w) == (
        b.soc_pct, b.load_w, b.pv_w, b.battery_w, b.grid_w, b.month_peak_import_w)
    if "grid_w" not in fields:
        assert a.grid_w == balance_grid_w(a.load_w, a.pv_w, a.battery_w)
    assert a.device_mode == b.device_mode
    assert a.active_command == b.active_command
    if "active_command" in fields:
        # Both remember it as running for a day.
        assert a.active_since == b.active_since == datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
    if a.forecast_net_load_w is None:
        assert b.forecast_net_load_w is None
    else:
        assert b.forecast_net_load_w is not None
        np.testing.assert_array_equal(a.forecast_net_load_w, b.forecast_net_load_w)


def test_both_inputs_are_the_shared_model() -> None:
    from gridpilot.cli.decide import _StateFile

    assert issubclass(_StateFile, PartialState)
    assert issubclass(scenario_state.StateSpec, PartialState)
    assert issubclass(scenario_state.ActiveCommandSpec, PartialCommand)
    assert issubclass(scenario_state.DeviceModeSpec, PartialDeviceMode)


def test_each_keeps_its_own_documented_differences(policy: Policy, tmp_path: Path) -> None:
    # A device mode without a source: unknown in STATE.json, gridpilot's own in a test.
    a = via_state_json(policy, {"device_mode": {"kind": "hold"}}, tmp_path)
    b = via_scenario(policy, {"device_mode": {"kind": "hold"}})
    assert a.device_mode is not None and a.device_mode.source is ModeSource.UNKNOWN
    assert b.device_mode is not None and b.device_mode.source is ModeSource.GRIDPILOT
    # A scenario's load is a meter reading and never negative; STATE.json takes it as given.
    assert via_state_json(policy, {"load_w": -100}, tmp_path).grid_w == -100
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        scenario_state.StateSpec.model_validate({"load_w": -100})
    # A flat forecast is a scenario shorthand; STATE.json wants one value per slot.
    assert via_scenario(policy, {"forecast_net_load_w": 300}).forecast_net_load_w is not None
    with pytest.raises(DataError, match="forecast_net_load_w"):
        via_state_json(policy, {"forecast_net_load_w": 300}, tmp_path)
    # Scenario-only keys are not STATE.json fields.
    with pytest.raises(DataError, match="ages"):
        via_state_json(policy, {"ages": {"soc_s": 30}}, tmp_path)


def test_state_json_times_need_an_offset(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"time": "2026-01-15T12:00:00"}), encoding="utf-8")
    with pytest.raises(DataError, match="needs a UTC offset"):
        load_state(path, None, policy)


def test_a_forecast_list_must_fit_the_prices() -> None:
    np.testing.assert_array_equal(forecast_array([1, 2, 3], 2, offset=1), [2.0, 3.0])
    np.testing.assert_array_equal(forecast_array(5.0, 3), [5.0, 5.0, 5.0])
    assert forecast_array(None, 3) is None
    with pytest.raises(ValueError, match="has 2 values but the prices have 3 slots"):
        forecast_array([1, 2], 3)
