"""``loss_making_cycles_kwh``: discharges that earned less than the stored energy cost."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.engine.battery import BatteryParams
from gridpilot.simulator.accounting import SiteSeries
from gridpilot.simulator.storedcost import loss_making_discharge_kwh


def _loss(load: list[float], pv: list[float], bat: list[float], imp: list[float],
          exp: list[float], params: BatteryParams, soc0: float = 0.0) -> float:
    site = SiteSeries(
        start_s=3600 * np.arange(len(load), dtype=np.int64), step_s=3600,
        load_w=np.asarray(load, dtype=float), pv_w=np.asarray(pv, dtype=float),
        import_price=np.asarray(imp, dtype=float), export_price=np.asarray(exp, dtype=float),
        tz=ZoneInfo("UTC"),
    )
    return loss_making_discharge_kwh(site, np.asarray(bat, dtype=float), params, soc0)


PARAMS = BatteryParams(capacity_kwh=10.0, max_charge_w=5000.0, max_discharge_w=5000.0,
                       charge_efficiency=0.9, discharge_efficiency=0.9)


def test_a_case_worked_by_hand() -> None:
    # Hourly steps, so W are Wh. Efficiencies 0.9 each way, empty at the start.
    #  0: 1 kWh from the grid at 0.10        -> stored 0.9 kWh costing 0.10 (0.1111/kWh)
    #  1: 1 kWh of PV surplus, export 0.05    -> stored 1.8 kWh costing 0.15 (0.0833/kWh)
    #  2: 0.5 kWh to the load at import 0.06 -> earns 0.030; draws 0.5556 kWh costing 0.0463:
    #     a loss
    #  3: 0.5 kWh to the load at import 0.30 -> earns 0.150 against 0.0463: a gain
    #  4: 0.4 kWh exported at 0.10           -> earns 0.040 against 0.4444 * 0.0833 = 0.0370
    #  5: 0.2 kWh exported at 0.05           -> earns 0.010 against 0.2222 * 0.0833 = 0.0185:
    #     a loss
    load = [0, 0, 500, 500, 0, 0]
    pv = [0, 2000, 0, 0, 0, 0]
    bat = [-1000, -1000, 500, 500, 400, 200]
    imp = [0.10, 0.20, 0.06, 0.30, 0.30, 0.30]
    exp = [0.02, 0.05, 0.02, 0.02, 0.10, 0.05]
    assert _loss(load, pv, bat, imp, exp, PARAMS) == pytest.approx(0.5 + 0.2)


def test_the_content_at_the_start_counts_as_bought_in_the_first_step() -> None:
    # 1 kWh stored at the start, valued at 0.09 / 0.9 = 0.10 per stored kWh; delivering
    # 0.45 kWh draws 0.5 kWh (0.05): earning 0.045 at import 0.10 loses, 0.12 at 0.27 gains.
    assert _loss([0, 450], [0, 0], [0, 450], [0.09, 0.10], [0, 0], PARAMS,
                 soc0=10.0) == pytest.approx(0.45)
    assert _loss([0, 450], [0, 0], [0, 450], [0.09, 0.27], [0, 0], PARAMS, soc0=10.0) == 0.0


_powers = st.lists(st.floats(min_value=-3000, max_value=3000), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(bat=_powers, data=st.data())
def test_loss_making_energy_is_part_of_the_discharge(bat: list[float],
                                                     data: st.DataObject) -> None:
    n = len(bat)
    load = data.draw(st.lists(st.floats(0, 5000), min_size=n, max_size=n))
    pv = data.draw(st.lists(st.floats(0, 5000), min_size=n, max_size=n))
    imp = data.draw(st.lists(st.floats(-0.5, 1.0), min_size=n, max_size=n))
    exp = data.draw(st.lists(st.floats(-0.5, 1.0), min_size=n, max_size=n))
    lost = _loss(load, pv, bat, imp, exp, PARAMS, soc0=50.0)
    discharged = sum(max(b, 0.0) for b in bat) / 1000.0
    assert 0.0 <= lost <= discharged + 1e-9


@settings(max_examples=60, deadline=None)
@given(bat=_powers, price=st.floats(0.01, 1.0), eta=st.floats(0.5, 0.99))
def test_at_one_flat_price_every_discharge_loses_by_the_round_trip(
    bat: list[float], price: float, eta: float
) -> None:
    # One price for everything: a stored kWh costs price / eta, and delivering e draws
    # e / eta, so every discharge earns eta**2 of its cost. Without losses none loses.
    n = len(bat)
    lossy = BatteryParams(capacity_kwh=10.0, max_charge_w=5000.0, max_discharge_w=5000.0,
                          charge_efficiency=eta, discharge_efficiency=eta)
    lossless = BatteryParams(capacity_kwh=10.0, max_charge_w=5000.0, max_discharge_w=5000.0,
                             charge_efficiency=1.0, discharge_efficiency=1.0)
    flat = [price] * n
    discharged = sum(max(b, 0.0) for b in bat) / 1000.0
    load, pv = [1000.0] * n, [0.0] * n
    assert _loss(load, pv, bat, flat, flat, lossy, soc0=50.0) == pytest.approx(discharged)
    assert _loss(load, pv, bat, flat, flat, lossless, soc0=50.0) == 0.0
