"""Every example policy, replayed over the bundled UK 2018 data, bills less than the same site
without a battery (a policy that loses money against doing nothing is a broken example)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridpilot.recorded import load_uk_composite
from gridpilot.recorded.base import TimeSeries
from gridpilot.rules.loader import load_policy
from gridpilot.simulator.backtest import run_backtest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples/policies").glob("*.yaml"))
DATA_PRICES = {"octopus-agile-live"}
"""Examples whose prices come live from a provider. The bundled 2018 prices are an Agile-style
import and real Agile Outgoing rates, which is what the Octopus example's providers serve, so it
is billed on them (``--prices data``, published as Octopus publishes). The other live examples
price in EUR and SEK: a UK year in GBP cannot stand in for their history, so they are skipped
(their prices come from ``gridpilot prices fetch``)."""


@pytest.fixture(scope="module")
def winter_and_summer() -> list[TimeSeries]:
    year = load_uk_composite(ROOT / "examples/data/uk-2018-halfhourly.csv")

    def span(a: datetime, b: datetime) -> TimeSeries:
        return year.slice_time(int(a.timestamp()), int(b.timestamp()))

    # Two months each: a demand charge is billed per month, and the loss the demand-charge
    # example used to make showed within its first two months.
    return [span(datetime(2018, 1, 1, tzinfo=UTC), datetime(2018, 3, 1, tzinfo=UTC)),
            span(datetime(2018, 6, 1, tzinfo=UTC), datetime(2018, 8, 1, tzinfo=UTC))]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_bills_less_than_no_battery(
    path: Path, winter_and_summer: list[TimeSeries]
) -> None:
    policy = load_policy(path)
    live = policy.tariff.import_side.providers or policy.tariff.export_side.providers
    if live and path.stem not in DATA_PRICES:
        pytest.skip(f"{path.name}: prices come live in {policy.tariff.currency}; the bundled "
                    "data is a UK year in GBP, no history of this tariff")
    for series in winter_and_summer:
        bt = run_backtest(policy, series, prices="data" if live else "policy")
        assert bt.policy.bill < bt.no_battery.bill, (
            f"{path.name} bills {bt.policy.bill:.2f} {bt.currency} against "
            f"{bt.no_battery.bill:.2f} without a battery "
            f"(peak {bt.policy.peak_import_w:.0f} W against {bt.no_battery.peak_import_w:.0f} W)"
        )
        assert bt.policy.peak_import_w <= bt.no_battery.peak_import_w + 1e-6 or (
            policy.tariff.demand_charge_per_kw == 0
        )
