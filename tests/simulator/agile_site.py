"""Days of the bundled UK year on the Agile example's tariff and battery, as the optimum's
tests solve them."""

from __future__ import annotations

from pathlib import Path

from gridpilot.engine.battery import BatteryParams
from gridpilot.recorded import load_data
from gridpilot.recorded.resample import parse_step, resample
from gridpilot.rules.loader import load_policy
from gridpilot.simulator.accounting import BillInputs, SiteSeries

ROOT = Path(__file__).resolve().parents[2]


def agile_days(first_day: int, days: float, *, step: str = "30m",
               demand_charge_per_kw: float = 0.0) -> tuple[SiteSeries, BatteryParams]:
    """``days`` days of 2018 from day ``first_day`` (0: 1 January), at ``step``."""
    policy = load_policy(ROOT / "examples/policies/agile-dynamic.yaml")
    year = resample(load_data(ROOT / "examples/data/uk-2018-halfhourly.csv"), parse_step(step))
    first = int(year.start_s[0]) + first_day * 86_400
    part = year.slice_time(first, first + round(days * 86_400))
    tariff = policy.tariff
    site = SiteSeries(start_s=part.start_s, step_s=part.interval_s,
                      load_w=part.columns["load_w"], pv_w=part.columns["pv_w"],
                      import_price=tariff.import_prices(part.start_s),
                      export_price=tariff.export_prices(part.start_s), tz=policy.tz,
                      bill=BillInputs(demand_charge_per_kw=demand_charge_per_kw))
    return site, policy.battery
