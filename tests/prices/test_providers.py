"""Each built-in price provider against its emulator: ranges, pagination and ordering, DST days
(23 and 25 hours), 15-minute slots, negative prices, late publication."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gridpilot.errors import PriceProviderError
from tests.emulators.entsoe import EntsoeEmulator
from tests.emulators.nordpool import SEK_PER_EUR, NordpoolEmulator
from tests.emulators.octopus import AGILE, FIXED, GO, OUTGOING, OctopusEmulator, agile_p, outgoing_p
from tests.emulators.price_model import price_mwh
from tests.emulators.spot_json import AwattarEmulator, EnergyChartsEmulator
from tests.emulators.tibber import TibberEmulator, tibber_total
from tests.prices.providers_support import assert_well_formed, make_provider, utc

ZONE = "10Y1001A1001A82H"


@pytest.fixture(scope="module")
def octopus() -> Iterator[OctopusEmulator]:
    with OctopusEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def entsoe() -> Iterator[EntsoeEmulator]:
    with EntsoeEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def nordpool() -> Iterator[NordpoolEmulator]:
    with NordpoolEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def tibber() -> Iterator[TibberEmulator]:
    with TibberEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def awattar() -> Iterator[AwattarEmulator]:
    with AwattarEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def energy_charts() -> Iterator[EnergyChartsEmulator]:
    with EnergyChartsEmulator() as emu:
        yield emu


# -- octopus ---------------------------------------------------------------------------------

def test_octopus_agile_pages_newest_first_into_ascending_slots(octopus: OctopusEmulator) -> None:
    provider = make_provider("octopus", octopus, product=AGILE, region="C", page_size=20)
    start, end = utc(2025, 1, 14), utc(2025, 1, 16)
    before = len(octopus.requests)
    slots = provider.fetch(start, end)
    assert len(octopus.requests) - before == 5  # 96 rates, 20 a page
    assert len(slots) == 96 and slots.unit == "minor_per_kwh" and slots.currency == "GBP"
    assert_well_formed(slots, start, end)
    assert slots.value.tolist() == [agile_p(int(s)) for s in slots.start_s]
    assert slots.value.min() < 0  # negative prices pass through
    assert "E-1R-AGILE-24-10-01-C" in slots.source


@pytest.mark.parametrize(("day", "count"), [((2025, 3, 30), 46), ((2025, 10, 26), 50)])
def test_octopus_uk_clock_change_days(octopus: OctopusEmulator, day: tuple[int, int, int],
                                      count: int) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    london = ZoneInfo("Europe/London")
    start = datetime(*day, tzinfo=london)
    nxt = start.date() + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=london)
    slots = make_provider("octopus", octopus, product=AGILE, region="C").fetch(start, end)
    assert len(slots) == count
    assert_well_formed(slots, start, end)


def test_octopus_region_from_postcode_and_export(octopus: OctopusEmulator) -> None:
    provider = make_provider("octopus", octopus, product=OUTGOING, postcode="SW1A 1AA")
    slots = provider.fetch(utc(2025, 6, 1), utc(2025, 6, 1, 3))
    assert "E-1R-AGILE-OUTGOING-19-05-13-C" in slots.source
    assert slots.value.tolist() == [outgoing_p(int(s)) for s in slots.start_s]
    lookups = octopus.requests_to("GET", "/v1/industry/grid-supply-points/")
    provider.fetch(utc(2025, 6, 1), utc(2025, 6, 1, 3))
    assert len(octopus.requests_to("GET", "/v1/industry/grid-supply-points/")) == len(lookups)


def test_octopus_unknown_postcode_says_what_to_do(octopus: OctopusEmulator) -> None:
    provider = make_provider("octopus", octopus, product=AGILE, postcode="ZZ9 9ZZ")
    with pytest.raises(PriceProviderError, match=r"octopus.*postcode.*region"):
        provider.fetch(utc(2025, 6, 1), utc(2025, 6, 2))


def test_octopus_go_two_rates_clipped_to_the_range(octopus: OctopusEmulator) -> None:
    start, end = utc(2025, 1, 10), utc(2025, 1, 11)  # UK winter: local = UTC
    slots = make_provider("octopus", octopus, product=GO, region="A").fetch(start, end)
    assert slots.start_s.tolist() == [int(start.timestamp()) + h for h in (0, 1800, 16200)]
    assert slots.end_s.tolist() == [int(start.timestamp()) + h for h in (1800, 16200, 86400)]
    assert slots.value.tolist() == [27.81, 8.5, 27.81]


def test_octopus_fixed_open_ended_rate_and_payment_method(octopus: OctopusEmulator) -> None:
    start, end = utc(2025, 2, 1), utc(2025, 2, 3)
    slots = make_provider("octopus", octopus, product=FIXED, region="B").fetch(start, end)
    assert slots.start_s.tolist() == [int(start.timestamp())]
    assert slots.end_s.tolist() == [int(end.timestamp())]
    assert slots.value.tolist() == [24.675]
    other = make_provider("octopus", octopus, product=FIXED, region="B",
                          payment_method="NON_DIRECT_DEBIT", include_vat=False)
    assert other.fetch(start, end).value.tolist() == [25.0]


def test_octopus_unknown_product_is_a_named_error(octopus: OctopusEmulator) -> None:
    provider = make_provider("octopus", octopus, product="NOPE-1", region="C")
    with pytest.raises(PriceProviderError, match=r"octopus.*HTTP 404.*product"):
        provider.fetch(utc(2025, 6, 1), utc(2025, 6, 2))


def test_octopus_late_publication_then_tomorrow_arrives(octopus: OctopusEmulator) -> None:
    provider = make_provider("octopus", octopus, product=AGILE, region="C")
    start, end = utc(2025, 1, 14), utc(2025, 1, 16)
    octopus.publish_until_s = int(utc(2025, 1, 15, 23).timestamp())
    try:
        assert int(provider.fetch(start, end).end_s[-1]) == octopus.publish_until_s
        octopus.publish_until_s = 2**40
        assert len(provider.fetch(start, end)) == 96
    finally:
        octopus.publish_until_s = 2**40


# -- entsoe ----------------------------------------------------------------------------------

def test_entsoe_hourly_dst_day_repeats_missing_positions(entsoe: EntsoeEmulator) -> None:
    # 2025-03-30 CET: 23 hours, before the 15-minute market.
    start, end = utc(2025, 3, 29, 23), utc(2025, 3, 30, 22)
    slots = make_provider("entsoe", entsoe, zone=ZONE, token="entsoe-secret-token").fetch(
        start, end)
    assert len(slots) == 23 and set((slots.end_s - slots.start_s).tolist()) == {3600}
    assert slots.value.tolist() == [price_mwh(int(s)) for s in slots.start_s]
    assert (slots.unit, slots.currency) == ("per_mwh", "EUR")


def test_entsoe_quarter_hours_on_the_25_hour_day(entsoe: EntsoeEmulator) -> None:
    start, end = utc(2025, 10, 25, 22), utc(2025, 10, 26, 23)
    provider = make_provider("entsoe", entsoe, zone=ZONE, token="entsoe-secret-token")
    slots = provider.fetch(start, end)
    assert len(slots) == 100 and set((slots.end_s - slots.start_s).tolist()) == {900}
    assert slots.value.tolist() == [price_mwh(int(s)) for s in slots.start_s]
    assert slots.value.min() < 0
    entsoe.both_resolutions = True
    try:
        assert provider.fetch(start, end).start_s.tolist() == slots.start_s.tolist()
    finally:
        entsoe.both_resolutions = False


def test_entsoe_nothing_published_is_no_slots_not_an_error(entsoe: EntsoeEmulator,
                                                           tmp_path: Path) -> None:
    (tmp_path / "token").write_text("entsoe-secret-token\n")
    provider = make_provider("entsoe", entsoe, base_dir=tmp_path, zone=ZONE, token_file="token")
    entsoe.publish_until_s = int(utc(2025, 11, 1).timestamp())
    try:
        assert len(provider.fetch(utc(2025, 11, 2), utc(2025, 11, 3))) == 0
    finally:
        entsoe.publish_until_s = 2**40


# -- nordpool --------------------------------------------------------------------------------

def test_nordpool_sek_quarter_hours_on_the_23_hour_day(nordpool: NordpoolEmulator) -> None:
    start, end = utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)
    slots = make_provider("nordpool", nordpool, area="SE3", currency="SEK").fetch(start, end)
    assert len(slots) == 92 and slots.currency == "SEK" and slots.unit == "per_mwh"
    expected = [round(price_mwh(int(s)) * SEK_PER_EUR, 2) for s in slots.start_s]
    assert slots.value.tolist() == expected
    assert_well_formed(slots, start, end)


def test_nordpool_unpublished_day_is_left_out(nordpool: NordpoolEmulator) -> None:
    provider = make_provider("nordpool", nordpool, area="NO1")
    nordpool.publish_until_s = int(utc(2025, 1, 14, 23).timestamp())
    try:
        slots = provider.fetch(utc(2025, 1, 14), utc(2025, 1, 16))
    finally:
        nordpool.publish_until_s = 2**40
    # The CET day of the 14th ends at 23:00 UTC; the range starts at 00:00 UTC.
    assert int(slots.end_s[-1]) == int(utc(2025, 1, 14, 23).timestamp())
    assert len(slots) == 23


# -- tibber ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("resolution", "per_day"), [("QUARTER_HOURLY", 96), ("HOURLY", 24)])
def test_tibber_today_and_tomorrow(tibber: TibberEmulator, resolution: str,
                                   per_day: int) -> None:
    tibber.now_s = int(utc(2025, 11, 10, 9).timestamp())
    provider = make_provider("tibber", tibber, token="tibber-secret-token",
                             resolution=resolution)
    start, end = utc(2025, 11, 9, 23), utc(2025, 11, 11, 23)
    slots = provider.fetch(start, end)
    assert len(slots) == 2 * per_day and (slots.unit, slots.currency) == ("per_kwh", "NOK")
    assert slots.value.tolist() == [tibber_total(int(s)) for s in slots.start_s]
    tibber.publish_until_s = int(utc(2025, 11, 10, 23).timestamp())
    try:
        assert len(provider.fetch(start, end)) == per_day  # tomorrow not yet published
    finally:
        tibber.publish_until_s = 2**40


def test_tibber_home_id_must_exist(tibber: TibberEmulator) -> None:
    provider = make_provider("tibber", tibber, token="tibber-secret-token", home_id="other")
    with pytest.raises(PriceProviderError, match=r"tibber.*home_id"):
        provider.fetch(utc(2025, 11, 10), utc(2025, 11, 11))


# -- awattar, energy_charts -------------------------------------------------------------------

def test_awattar_hours_clipped_and_negative(awattar: AwattarEmulator) -> None:
    start, end = utc(2025, 5, 5, 0, 30), utc(2025, 5, 6, 0, 30)
    slots = make_provider("awattar", awattar).fetch(start, end)
    assert len(slots) == 25 and int(slots.start_s[0]) == int(start.timestamp())
    assert_well_formed(slots, start, end)
    assert slots.value.tolist() == [price_mwh(int(s) - int(s) % 3600) for s in slots.start_s]
    assert slots.value.min() < 0


def test_energy_charts_quarter_hours_and_no_data(energy_charts: EnergyChartsEmulator) -> None:
    provider = make_provider("energy_charts", energy_charts, bzn="DE-LU")
    start, end = utc(2025, 10, 25, 22), utc(2025, 10, 26, 23)
    slots = provider.fetch(start, end)
    assert len(slots) == 100
    assert slots.value.tolist() == [price_mwh(int(s)) for s in slots.start_s]
    energy_charts.publish_until_s = 0
    try:
        assert len(provider.fetch(start, end)) == 0
    finally:
        energy_charts.publish_until_s = 2**40


def test_awattar_country_picks_the_host() -> None:
    from gridpilot.prices.providers.awattar import AwattarSettings
    assert AwattarSettings(country="at").base_url == "https://api.awattar.at"
    assert np.isclose(AwattarSettings().timeout_s, 20.0)
