"""``gridpilot prices show`` against each provider's emulator, and ``prices fetch`` of the
history Octopus, ENTSO-E and Energy-Charts serve, run in the test process."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gridpilot.cli import prices as prices_cli
from tests.cli.runner import run_cli
from tests.emulators._server import EmulatorBase
from tests.emulators.entsoe import EntsoeEmulator
from tests.emulators.nordpool import SEK_PER_EUR, NordpoolEmulator
from tests.emulators.octopus import AGILE, OUTGOING, OctopusEmulator, agile_p, outgoing_p
from tests.emulators.price_model import price_mwh
from tests.emulators.spot_json import AwattarEmulator, EnergyChartsEmulator
from tests.emulators.tibber import TibberEmulator, tibber_total
from tests.prices.live_support import client_for, write_live_policy
from tests.prices.providers_support import utc

ZONE = "10Y1001A1001A82H"


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, Any]]:
    made = {"octopus": OctopusEmulator(), "entsoe": EntsoeEmulator(),
            "nordpool": NordpoolEmulator(), "tibber": TibberEmulator(),
            "awattar": AwattarEmulator(), "energy_charts": EnergyChartsEmulator()}
    for emu in made.values():
        emu.start()
    yield made
    for emu in made.values():
        emu.stop()


@pytest.fixture
def reach(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``reach(emu, ...)``: the command's HTTP client trusts exactly these emulators."""
    def use(*emus: EmulatorBase) -> None:
        monkeypatch.setattr(prices_cli, "http_client", lambda: client_for(*emus))
    return use


def _show(policy: Path, at: str, *extra: str) -> dict[str, Any]:
    proc = run_cli("prices", "show", str(policy), "--json", "--at", at,
                   "--state-dir", str(policy.parent / "state"), *extra)
    assert proc.returncode == 0, proc.stderr
    view: dict[str, Any] = json.loads(proc.stdout)
    return view


def _ts(row: dict[str, Any]) -> int:
    from datetime import datetime
    return int(datetime.fromisoformat(row["start"]).timestamp())


# -- show, one provider each ------------------------------------------------------------------

def test_show_octopus_import_and_export_then_from_the_cache(
        tmp_path: Path, emulators: dict[str, Any], reach: Any) -> None:
    octo: OctopusEmulator = emulators["octopus"]
    reach(octo)
    policy = write_live_policy(
        tmp_path, {"provider": {"type": "octopus", "product": AGILE, "region": "C",
                                "base_url": octo.url}},
        export={"provider": {"type": "octopus", "product": OUTGOING, "region": "C",
                             "base_url": octo.url}},
        currency="GBP", timezone="Europe/London")
    octo.publish_until_s = int(utc(2025, 1, 14, 23).timestamp())  # tomorrow not out yet
    try:
        view = _show(policy, "2025-01-14T10:00:00+00:00")
    finally:
        octo.publish_until_s = 2**40
    # Before the 16:00 publication: known to 23:00 today (UK winter: local = UTC).
    assert view["sides"]["import"]["known_until"] == "2025-01-14T23:00:00+00:00"
    assert view["sides"]["import"]["next_refresh"] == "2025-01-14T16:00:00+00:00"
    assert len(view["slots"]) == 26
    first = view["slots"][0]
    assert first["import"] == {"price_per_kwh": pytest.approx(agile_p(_ts(first)) / 100),
                               "source": "octopus"}
    assert first["export"]["price_per_kwh"] == pytest.approx(outgoing_p(_ts(first)) / 100)
    # Again, later the same morning: everything from the cache, nothing fetched.
    before = len(octo.requests)
    again = _show(policy, "2025-01-14T11:00:00+00:00")
    assert len(octo.requests) == before
    assert {r["import"]["source"] for r in again["slots"]} == {"octopus (cache)"}
    # After the publication the next day is fetched and shown to 23:00 tomorrow.
    later = _show(policy, "2025-01-14T16:05:00+00:00")
    assert later["sides"]["import"]["known_until"] == "2025-01-15T23:00:00+00:00"
    sources = {r["import"]["source"] for r in later["slots"]}
    assert sources == {"octopus", "octopus (cache)"}


def test_show_text_names_sources_and_next_refresh(
        tmp_path: Path, emulators: dict[str, Any], reach: Any) -> None:
    octo: OctopusEmulator = emulators["octopus"]
    reach(octo)
    policy = write_live_policy(
        tmp_path, {"default": 0.3, "provider": {"type": "octopus", "product": AGILE,
                                                "region": "C", "base_url": octo.url}},
        currency="GBP", timezone="Europe/London")
    octo.publish_until_s = int(utc(2025, 1, 14, 20).timestamp())  # a publication that stops
    try:
        proc = run_cli("prices", "show", str(policy), "--at", "2025-01-14T18:00:00+00:00",
                       "--state-dir", str(tmp_path / "state"))
    finally:
        octo.publish_until_s = 2**40
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "import: octopus; known until 2025-01-14T20:00:00+00:00" in lines[1]
    assert "next refresh 2025-01-14T18:" in lines[1]  # retried after a backoff, not tomorrow
    assert lines[2].strip() == "octopus: GBP minor units/kWh / 100 = GBP/kWh"
    assert any(" 0.3000  fixed " in ln for ln in lines) is False  # nothing past what is known
    assert sum(" octopus " in ln for ln in lines) == 4  # 18:00-20:00 in half-hours
    assert "fixed" in lines[-1]  # export: the fixed schedule


def test_show_entsoe_hourly_with_token(tmp_path: Path, emulators: dict[str, Any],
                                       reach: Any) -> None:
    emu: EntsoeEmulator = emulators["entsoe"]
    reach(emu)
    policy = write_live_policy(tmp_path, {"provider": {
        "type": "entsoe", "zone": ZONE, "token": "${ENTSOE_TOKEN}", "base_url": emu.url}})
    proc = run_cli("prices", "show", str(policy), "--json", "--at", "2025-03-10T14:00:00+01:00",
                   "--state-dir", str(tmp_path / "state"),
                   env={"ENTSOE_TOKEN": "entsoe-secret-token"})
    assert proc.returncode == 0, proc.stderr
    assert "entsoe-secret-token" not in proc.stdout + proc.stderr
    view = json.loads(proc.stdout)
    # After 13:00 Brussels: tomorrow is known, to its end.
    assert view["sides"]["import"]["known_until"] == "2025-03-12T00:00:00+01:00"
    row = view["slots"][0]
    assert row["import"]["price_per_kwh"] == pytest.approx(price_mwh(_ts(row)) / 1000)
    assert row["import"]["source"] == "entsoe"


def test_show_nordpool_in_sek(tmp_path: Path, emulators: dict[str, Any], reach: Any) -> None:
    emu: NordpoolEmulator = emulators["nordpool"]
    reach(emu)
    policy = write_live_policy(
        tmp_path, {"provider": {"type": "nordpool", "area": "SE3", "currency": "SEK",
                                "base_url": emu.url}},
        currency="SEK", timezone="Europe/Stockholm")
    view = _show(policy, "2025-11-03T09:00:00+01:00")
    assert view["sides"]["import"]["known_until"] == "2025-11-04T00:00:00+01:00"
    assert len(view["slots"]) == 15 * 4  # quarter-hours to midnight
    row = view["slots"][0]
    expected = round(price_mwh(_ts(row)) * SEK_PER_EUR, 2) / 1000
    assert row["import"] == {"price_per_kwh": pytest.approx(expected), "source": "nordpool"}


def test_show_with_a_failing_provider_states_the_error(
        tmp_path: Path, emulators: dict[str, Any], reach: Any) -> None:
    emu: NordpoolEmulator = emulators["nordpool"]
    reach(emu)
    policy = write_live_policy(
        tmp_path, {"provider": {"type": "nordpool", "area": "SE3", "currency": "SEK",
                                "base_url": emu.url}, "default": 1.5},
        currency="SEK", timezone="Europe/Stockholm")
    emu.faults.server_error(500, count=10)
    try:
        view = _show(policy, "2025-11-03T09:00:00+01:00")
    finally:
        emu.faults.clear()
    side = view["sides"]["import"]
    assert "HTTP 500" in side["last_error"] and side["stale"] is True
    assert side["next_refresh"] == "2025-11-03T09:01:00+01:00"  # retried after a backoff
    assert view["slots"][0]["import"] == {"price_per_kwh": 1.5, "source": "fixed"}


def test_fetch_tibber_has_no_history_and_says_where_to_look(
        tmp_path: Path, emulators: dict[str, Any], reach: Any) -> None:
    emu: TibberEmulator = emulators["tibber"]
    emu.now_s = int(utc(2025, 11, 10, 14).timestamp())
    reach(emu)
    policy = write_live_policy(tmp_path, {"provider": {
        "type": "tibber", "token": "tibber-secret-token", "base_url": emu.url}},
        currency="NOK", timezone="Europe/Oslo")
    proc = _fetch(policy, "2025-10-01", "2025-10-03", tmp_path / "t.csv")
    assert proc.returncode == 1 and "like tibber, has no history" in proc.stderr
    assert "tibber-secret-token" not in proc.stdout + proc.stderr


def test_show_tibber_total_in_nok(tmp_path: Path, emulators: dict[str, Any],
                                  reach: Any) -> None:
    emu: TibberEmulator = emulators["tibber"]
    emu.now_s = int(utc(2025, 11, 10, 14).timestamp())
    reach(emu)
    (tmp_path / "token").write_text("tibber-secret-token\n")
    policy = write_live_policy(
        tmp_path, {"provider": {"type": "tibber", "token_file": "token",
                                "resolution": "HOURLY", "base_url": emu.url}},
        currency="NOK", timezone="Europe/Oslo")
    view = _show(policy, "2025-11-10T15:00:00+01:00")
    assert view["sides"]["import"]["known_until"] == "2025-11-12T00:00:00+01:00"
    assert len(view["slots"]) == 66  # half-hours: the fixed export changes on them
    row = view["slots"][0]
    assert row["import"] == {"price_per_kwh": pytest.approx(tibber_total(_ts(row))),
                             "source": "tibber"}


def test_show_awattar_composed_and_energy_charts_failover(
        tmp_path: Path, emulators: dict[str, Any], reach: Any) -> None:
    aw: AwattarEmulator = emulators["awattar"]
    ec: EnergyChartsEmulator = emulators["energy_charts"]
    reach(aw, ec)
    policy = write_live_policy(tmp_path, {
        "providers": [{"type": "awattar", "base_url": aw.url},
                      {"type": "energy_charts", "base_url": ec.url}],
        "compose": {"add_per_kwh": 0.12, "vat_pct": 19},
    })
    aw.publish_until_s = int(utc(2025, 5, 5, 20).timestamp())  # aWATTar stops at 22:00 local
    try:
        view = _show(policy, "2025-05-05T15:00:00+02:00")
    finally:
        aw.publish_until_s = 2**40
    assert view["sides"]["import"]["known_until"] == "2025-05-07T00:00:00+02:00"
    by_source: dict[str, list[dict[str, Any]]] = {}
    for row in view["slots"]:
        by_source.setdefault(row["import"]["source"], []).append(row)
    assert set(by_source) == {"awattar", "energy_charts"}
    first = by_source["awattar"][0]
    assert first["import"]["price_per_kwh"] == pytest.approx(
        (price_mwh(_ts(first)) / 1000 + 0.12) * 1.19)
    assert _ts(by_source["energy_charts"][0]) == int(utc(2025, 5, 5, 20).timestamp())
    assert view["sides"]["import"]["conversion"]["awattar"] == (
        "EUR/MWh / 1000 + 0.12 + 19 % VAT = EUR/kWh")


def test_show_offline_without_cache_says_none(tmp_path: Path, emulators: dict[str, Any],
                                              reach: Any) -> None:
    emu: AwattarEmulator = emulators["awattar"]
    reach(emu)
    policy = write_live_policy(tmp_path, {"provider": {"type": "awattar", "base_url": emu.url}})
    before = len(emu.requests)
    view = _show(policy, "2025-05-05T15:00:00+02:00", "--offline")
    assert len(emu.requests) == before
    assert [r["import"] for r in view["slots"]] == [{"price_per_kwh": None, "source": "none"}]


# -- fetch: history ---------------------------------------------------------------------------

def _fetch(policy: Path, start: str, end: str, out: Path) -> Any:
    return run_cli("prices", "fetch", str(policy), "--from", start, "--to", end,
                   "--out", str(out))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_fetch_octopus_history_pages_into_a_csv(tmp_path: Path, emulators: dict[str, Any],
                                                reach: Any) -> None:
    octo: OctopusEmulator = emulators["octopus"]
    reach(octo)
    policy = write_live_policy(
        tmp_path, {"provider": {"type": "octopus", "product": AGILE, "region": "C",
                                "page_size": 100, "base_url": octo.url}},
        export={"provider": {"type": "octopus", "product": OUTGOING, "region": "C",
                             "base_url": octo.url}},
        currency="GBP", timezone="Europe/London")
    out = tmp_path / "hist" / "prices.csv"
    proc = _fetch(policy, "2025-03-29", "2025-04-01", out)  # across the spring clock change
    assert proc.returncode == 0, proc.stderr
    rows = _rows(out)
    assert len(rows) == 48 + 46 + 48
    assert "wrote 142 rows of 30-minute prices" in proc.stdout
    from datetime import datetime
    for row in rows[:5] + rows[-5:]:
        t = int(datetime.fromisoformat(row["timestamp"]).timestamp())
        assert float(row["import_price"]) == agile_p(t) / 100
        assert float(row["export_price"]) == outgoing_p(t) / 100
        assert row["import_source"] == "octopus" and row["export_source"] == "octopus"


def test_fetch_entsoe_and_energy_charts_history(tmp_path: Path, emulators: dict[str, Any],
                                                reach: Any) -> None:
    en: EntsoeEmulator = emulators["entsoe"]
    ec: EnergyChartsEmulator = emulators["energy_charts"]
    reach(en, ec)
    (tmp_path / "token").write_text("entsoe-secret-token")
    for kind, settings, rows_per_day in (
            ("entsoe", {"zone": ZONE, "token_file": "token", "base_url": en.url}, 24),
            ("energy_charts", {"bzn": "DE-LU", "base_url": ec.url}, 96)):
        policy = write_live_policy(tmp_path, {"provider": {"type": kind, **settings}})
        out = tmp_path / f"{kind}.csv"
        start, end = ("2025-02-01", "2025-03-10") if kind == "entsoe" else (
            "2025-10-25", "2025-10-27")
        proc = _fetch(policy, start, end, out)
        assert proc.returncode == 0, proc.stderr
        rows = _rows(out)
        days = 37 if kind == "entsoe" else 2
        assert len(rows) == days * rows_per_day + (4 if kind == "energy_charts" else 0)
        from datetime import datetime
        t = int(datetime.fromisoformat(rows[7]["timestamp"]).timestamp())
        assert float(rows[7]["import_price"]) == price_mwh(t) / 1000
        assert {r["export_source"] for r in rows} == {"fixed"}
    # Two requests for 37 days: a month at a time.
    assert sum(1 for r in en.requests if r.path == "/api") >= 2


def test_fetch_with_a_failing_provider_reports_the_gap(
        tmp_path: Path, emulators: dict[str, Any], reach: Any) -> None:
    ec: EnergyChartsEmulator = emulators["energy_charts"]
    reach(ec)
    policy = write_live_policy(tmp_path, {"provider": {"type": "energy_charts",
                                                       "base_url": ec.url}})
    out = tmp_path / "p.csv"
    ec.publish_until_s = int(utc(2025, 10, 25, 12).timestamp())
    try:
        proc = _fetch(policy, "2025-10-25", "2025-10-26", out)
    finally:
        ec.publish_until_s = 2**40
    assert proc.returncode == 1
    assert "warning: tariff.import: no price from 2025-10-25 14:00" in proc.stderr
    assert len(_rows(out)) == 14 * 4  # 00:00-14:00 local
    ec.faults.server_error(503, count=1)
    proc = _fetch(policy, "2025-10-25", "2025-10-26", tmp_path / "none.csv")
    assert proc.returncode == 1 and "HTTP 503" in proc.stderr
    assert "nothing written" in proc.stderr and not (tmp_path / "none.csv").exists()


def test_fetch_refuses_a_policy_without_providers(tmp_path: Path) -> None:
    policy = write_live_policy(tmp_path, {"default": 0.3})
    proc = _fetch(policy, "2025-01-01", "2025-01-02", tmp_path / "x.csv")
    assert proc.returncode == 1 and "nothing to fetch" in proc.stderr


def test_the_default_client_verifies_tls() -> None:
    with prices_cli.http_client() as client:
        assert isinstance(client, httpx.Client)
        transport = client._transport
        pool = getattr(transport, "_pool", None)
        ctx = getattr(pool, "_ssl_context", None)
        assert ctx is None or ctx.verify_mode.name == "CERT_REQUIRED"


def test_check_states_what_a_live_side_without_fallback_does(tmp_path: Path) -> None:
    policy = write_live_policy(tmp_path, {"provider": {"type": "awattar"}})
    proc = run_cli("check", str(policy))
    assert proc.returncode == 0, proc.stdout  # valid, offline, with a located warning
    warning = next(ln for ln in proc.stdout.splitlines() if "tariff.import.provider" in ln)
    assert warning.startswith(f"{policy}:") and "no fixed schedule behind the provider" in warning
    assert "a backtest refuses a gap" in warning and "default: <price>" in warning
    backed = write_live_policy(tmp_path, {"provider": {"type": "awattar"}, "default": 0.3})
    assert "warning" not in run_cli("check", str(backed)).stdout.lower()


def test_simulate_with_the_fetched_history_and_without_it(
        tmp_path: Path, emulators: dict[str, Any], reach: Any) -> None:
    octo: OctopusEmulator = emulators["octopus"]
    reach(octo)
    policy = write_live_policy(
        tmp_path, {"provider": {"type": "octopus", "product": AGILE, "region": "C",
                                "base_url": octo.url}},
        export={"provider": {"type": "octopus", "product": OUTGOING, "region": "C",
                             "base_url": octo.url}},
        currency="GBP", timezone="Europe/London", default={"strategy": "arbitrage"},
        extra={"strategies": {"arbitrage": {"type": "tariff_arbitrage"}}})
    history = tmp_path / "prices.csv"
    assert _fetch(policy, "2025-01-14", "2025-01-17", history).returncode == 0
    data = tmp_path / "data.csv"
    data.write_text("timestamp,load_w,pv_w\n" + "".join(
        f"2025-01-{d}T{h:02d}:{m:02d}:00Z,{400 + 300 * (17 <= h < 20)},0\n"
        for d in (14, 15) for h in range(24) for m in (0, 30)))
    args = ("simulate", str(policy), "--data", str(data), "--step", "30m", "--json")
    proc = run_cli(*args, "--price-history", str(history))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["results"]["policy"]["bill"] < report["results"]["no_battery"]["bill"]
    refused = run_cli(*args)
    assert refused.returncode == 1
    assert f"{policy}:" in refused.stderr and "tariff.import.provider" in refused.stderr
    assert "--price-history" in refused.stderr and "Traceback" not in refused.stderr
    broken = tmp_path / "broken.csv"
    broken.write_text("timestamp,import_price\n2025-01-14T00:00:00Z,0.1\n")
    proc = run_cli(*args, "--price-history", str(broken))
    assert proc.returncode == 1 and "--price-history" in proc.stderr
