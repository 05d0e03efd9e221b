"""The relaxation with directions fixed, solved from the kept relaxation's basis (bounds
changed in place), is the same programme as the one built afresh for those directions."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.engine.battery import BatteryParams
from gridpilot.errors import GridpilotError
from gridpilot.simulator.accounting import SiteSeries
from gridpilot.simulator.optimum_model import OptimumModel

P = BatteryParams(capacity_kwh=2.0, max_charge_w=2500.0, max_discharge_w=2500.0,
                  charge_efficiency=0.9, discharge_efficiency=0.9, min_soc_pct=20.0)
N = 8


def _model(load: list[float], pv: list[float], imp: list[float], exp: list[float],
           soc0: float) -> OptimumModel:
    start = 1514764800 + 60 * np.arange(len(load), dtype=np.int64)
    # a load of its own on every step, so that no two steps merge into a run
    site = SiteSeries(start_s=start, step_s=60, load_w=np.array(load) + 0.5 * np.arange(len(load)),
                      pv_w=np.array(pv),
                      import_price=np.array(imp), export_price=np.array(exp),
                      tz=ZoneInfo("Europe/London"))
    return OptimumModel(site, P, soc0, month_idx=None, max_export_w=3680.0)


def _solve(m: OptimumModel, fz: np.ndarray, fy: np.ndarray) -> float | None:
    none = np.zeros(m.n, dtype=bool)
    try:
        x, value, _ = m.solve(none, none, 10.0, fix_z=fz, fix_y=fy)
    except GridpilotError:
        return None
    sol = m.lp.columns(x)
    # the fixed directions hold in the schedule itself
    assert (sol.discharge_w[fz == 1] <= 1e-7).all() and (sol.charge_w[fz == 0] <= 1e-7).all()
    assert (sol.export_w[fy == 1] <= 1e-7).all() and (sol.import_w[fy == 0] <= 1e-7).all()
    assert m.value(x) == pytest.approx(value, abs=1e-7)
    return value


watts = st.lists(st.floats(0, 3000), min_size=N, max_size=N)
prices = st.lists(st.floats(-0.2, 0.4, allow_nan=False), min_size=N, max_size=N)
directions = st.lists(st.integers(-1, 1), min_size=N, max_size=N)


@settings(max_examples=40, deadline=None)
@given(load=watts, pv=watts, imp=prices, exp=prices, soc0=st.floats(20, 100),
       fixes=st.lists(st.tuples(directions, directions), min_size=1, max_size=3))
def test_fixed_directions_from_the_kept_basis_cost_what_a_new_model_costs(
    load: list[float], pv: list[float], imp: list[float], exp: list[float], soc0: float,
    fixes: list[tuple[list[int], list[int]]],
) -> None:
    warm = _model(load, pv, imp, exp, soc0)
    none = np.zeros(N, dtype=bool)
    warm.solve(none, none, 10.0)
    # one fixing after another on the same kept model: a later one may free what an earlier
    # one fixed, so bounds must come back as well as go
    for fz_list, fy_list in fixes:
        fz, fy = np.array(fz_list, dtype=np.int8), np.array(fy_list, dtype=np.int8)
        got = _solve(warm, fz, fy)
        # every step has data of its own (no runs), so the kept model is always reused
        assert warm._warm is not None
        cold = _model(load, pv, imp, exp, soc0)
        want = _solve(cold, fz, fy)
        assert cold._warm is None
        if want is None:
            assert got is None
        else:
            assert got == pytest.approx(want, abs=1e-7)
