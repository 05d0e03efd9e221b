"""Faults of every provider: a 500, a timeout, a malformed body and refused credentials each give a
PriceProviderError that names the provider and says what happens next, never an httpx or parsing
traceback; secrets stay out of reprs, messages and logs. And a property: a provider never returns
a slot outside the range it was asked for."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.errors import PriceProviderError, PriceProviderTypeError
from gridpilot.prices.base import PriceProvider
from gridpilot.prices.registry import PRICE_PROVIDERS
from tests.emulators._server import EmulatorBase
from tests.emulators.entsoe import EntsoeEmulator
from tests.emulators.nordpool import NordpoolEmulator
from tests.emulators.octopus import AGILE, OctopusEmulator
from tests.emulators.spot_json import AwattarEmulator, EnergyChartsEmulator
from tests.emulators.tibber import TibberEmulator
from tests.prices.providers_support import assert_well_formed, make_provider, utc

SECRETS = {"entsoe": "entsoe-secret-token", "tibber": "tibber-secret-token"}
CASES: dict[str, tuple[Callable[[], EmulatorBase], dict[str, Any]]] = {
    "octopus": (OctopusEmulator, {"product": AGILE, "region": "C"}),
    "entsoe": (EntsoeEmulator, {"zone": "10Y1001A1001A82H", "token": SECRETS["entsoe"]}),
    "nordpool": (NordpoolEmulator, {"area": "SE3"}),
    "tibber": (TibberEmulator, {"token": SECRETS["tibber"]}),
    "awattar": (AwattarEmulator, {}),
    "energy_charts": (EnergyChartsEmulator, {}),
}


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, EmulatorBase]]:
    started = {name: factory().start() for name, (factory, _) in CASES.items()}
    yield started
    for emu in started.values():
        emu.stop()


def provider(name: str, emulators: dict[str, EmulatorBase], **extra: Any) -> PriceProvider:
    emu = emulators[name]
    emu.faults.clear()
    return make_provider(name, emu, **{**CASES[name][1], **extra})


START, END = utc(2025, 11, 10), utc(2025, 11, 11)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize(("fault", "expected"), [
    ("server_error", "HTTP 503.*retried"),
    ("timeout", "no answer.*within 0.2 s"),
    ("malformed", "malformed"),
    ("reset", "cannot reach"),
])
def test_each_fault_is_a_named_provider_error(emulators: dict[str, EmulatorBase], name: str,
                                              fault: str, expected: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    prov = provider(name, emulators, timeout_s=0.2)
    faults = emulators[name].faults
    {"server_error": lambda: faults.server_error(count=5),
     "timeout": lambda: faults.timeout(delay_s=0.4, count=5),
     "malformed": lambda: faults.malformed_json(count=5),
     "reset": lambda: faults.reset(count=5)}[fault]()
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(PriceProviderError) as info:
            prov.fetch(START, END)
    finally:
        faults.clear()
    message = str(info.value)
    assert message.startswith(f"price provider {name!r}: ")
    # No chained httpx or parser exception: the message is the whole story.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__
    assert re.search(expected, message), message
    for secret in SECRETS.values():
        assert secret not in message and secret not in caplog.text and secret not in repr(prov)


@pytest.mark.parametrize("name", ["entsoe", "tibber"])
def test_a_refused_token_never_shows(emulators: dict[str, EmulatorBase], name: str,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    prov = provider(name, emulators, token="wrong-secret-value")
    with pytest.raises(PriceProviderError, match=f"{name}.*(credentials|token)"):
        prov.fetch(START, END)
    assert "wrong-secret-value" not in caplog.text
    assert "wrong-secret-value" not in repr(prov)


def test_a_missing_token_says_how_to_give_one(emulators: dict[str, EmulatorBase]) -> None:
    prov = make_provider("entsoe", emulators["entsoe"], zone="10Y1001A1001A82H")
    with pytest.raises(PriceProviderError, match=r"token_file"):
        prov.fetch(START, END)


def test_registry_names_the_built_ins_and_suggests() -> None:
    assert {"octopus", "entsoe", "nordpool", "tibber", "awattar",
            "energy_charts"} <= set(PRICE_PROVIDERS.names())
    with pytest.raises(PriceProviderTypeError, match="unknown price provider type") as info:
        PRICE_PROVIDERS.get("octopuss")
    assert info.value.hint == "did you mean 'octopus'?"


@pytest.mark.parametrize("name", ["octopus", "entsoe", "nordpool", "awattar", "energy_charts",
                                  "tibber"])
def test_never_a_slot_outside_the_requested_range(emulators: dict[str, EmulatorBase],
                                                  name: str) -> None:
    prov = provider(name, emulators)
    if name == "tibber":
        emulators["tibber"].now_s = int(utc(2025, 10, 25, 12).timestamp())  # type: ignore[attr-defined]

    @settings(max_examples=8, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(0, 3 * 96), st.integers(1, 2 * 96), st.integers(0, 899))
    def check(offset_q: int, length_q: int, jitter_s: int) -> None:
        start = utc(2025, 10, 24, 22) + timedelta(seconds=offset_q * 900 + jitter_s)
        end = start + timedelta(seconds=length_q * 900 - jitter_s // 2)
        assert_well_formed(prov.fetch(start, end), start, end)

    check()
