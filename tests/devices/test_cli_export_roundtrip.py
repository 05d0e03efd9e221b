"""Round trips as a user runs them: emulator -> ``gridpilot device export`` -> ``gridpilot
simulate``, each through the command line. The simulator must read what the device wrote, and
its energy totals must be what the emulator served (average watts per 5-minute interval, not
energy)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli.runner import run_cli
from tests.emulators import XStorageEmulator
from tests.emulators.xbattery import XBatteryEmulator

REPO = Path(__file__).resolve().parents[2]
COMPOSITE = REPO / "examples" / "data" / "uk-2018-halfhourly.csv"

SITE = """\
version: 1
site:
  name: test house
  timezone: Europe/London
  battery: {capacity_kwh: 4.2, max_charge_w: 3600, max_discharge_w: 3600}
tariff:
  import: {default: 0.25}
"""
XSTORAGE = """\
device:
  type: xstorage
  name: garage
  host: 127.0.0.1:{port}
  password: ${{XS_PASSWORD}}
  tls_fingerprint_sha256: {pin}
  timeout_s: 2
"""
XBATTERY = """\
device:
  type: xbattery
  name: pack
  base_url: {url}
  api_key: ${{XB_KEY}}
  device_id: {device_id}
  ca_file: {ca}
  timeout_s: 2
"""
# 1 July 2026 in London (BST) is 23:00 UTC the day before to 23:00 UTC.
DAY_FROM, DAY_TO = "2026-07-01", "2026-07-02"
FROM_MS = int(datetime(2026, 6, 30, 23, 0, tzinfo=UTC).timestamp() * 1000)
TO_MS = int(datetime(2026, 7, 1, 23, 0, tzinfo=UTC).timestamp() * 1000)


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=REPO, env=env)


def simulate(policy: Path, data: Path, *extra: str) -> dict[str, Any]:
    # The same policy file as the export, so its ${XS_PASSWORD} must resolve here too.
    proc = run("simulate", str(policy), "--data", str(data), "--json", "--no-plots", *extra,
               XS_PASSWORD="unused")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def served_kwh(records: list[dict[str, Any]], key: str) -> float:
    return sum(float(r[key]) for r in records) * 300 / 3600 / 1000


@pytest.fixture(scope="module")
def xstorage_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One emulator session: the CSV and the metrics JSON of the same day, and what it served."""
    tmp = tmp_path_factory.mktemp("xstorage")
    with XStorageEmulator() as emu:
        policy = tmp / "site.yaml"
        policy.write_text(SITE + XSTORAGE.format(port=emu.port, pin=emu.fingerprint_sha256))
        procs = {}
        for name in ("export.csv", "metrics.json"):
            procs[name] = run("device", "export", str(policy), "--from", DAY_FROM, "--to",
                              DAY_TO, "--out", str(tmp / name), XS_PASSWORD=emu.password)
        served = emu.metric_records(FROM_MS, TO_MS)
    for name, proc in procs.items():
        assert proc.returncode == 0, f"{name}: {proc.stderr}"
        assert "wrote 288 records" in proc.stdout
    return {"policy": policy, "dir": tmp, "served": served}


def test_served_day_is_not_trivial(xstorage_exports: dict[str, Any]) -> None:
    # The comparisons below only mean something if load and PV vary and PV is not all zero.
    served = xstorage_exports["served"]
    assert len(served) == 288
    assert len({r["totalHouseConsumption"] for r in served}) > 50
    assert served_kwh(served, "photovoltaicProduction") > 1.0


@pytest.mark.parametrize("name", ["export.csv", "metrics.json"])
def test_export_simulates_with_the_energy_the_device_served(
    xstorage_exports: dict[str, Any], name: str
) -> None:
    served = xstorage_exports["served"]
    report = simulate(xstorage_exports["policy"], xstorage_exports["dir"] / name)
    no_battery = report["results"]["no_battery"]
    load_kwh = served_kwh(served, "totalHouseConsumption")
    pv_kwh = served_kwh(served, "photovoltaicProduction")
    assert no_battery["load_kwh"] == pytest.approx(load_kwh, rel=1e-9)
    assert no_battery["pv_kwh"] == pytest.approx(pv_kwh, rel=1e-9)
    # Without a battery the grid takes exactly the difference, interval by interval.
    net = [r["totalHouseConsumption"] - r["photovoltaicProduction"] for r in served]
    assert no_battery["import_kwh"] == pytest.approx(
        sum(max(n, 0.0) for n in net) * 300 / 3.6e6, rel=1e-9)
    assert no_battery["export_kwh"] == pytest.approx(
        sum(max(-n, 0.0) for n in net) * 300 / 3.6e6, rel=1e-9)
    assert report["data"]["rows"] == 288
    assert report["data"]["gaps"] == []
    policy = report["results"]["policy"]
    assert policy["load_kwh"] == pytest.approx(load_kwh, rel=1e-9)


def test_csv_export_is_detected_and_read_by_its_header(xstorage_exports: dict[str, Any]) -> None:
    from gridpilot.recorded import detect_format, load_data

    path = xstorage_exports["dir"] / "export.csv"
    header = path.read_text().splitlines()[0]
    assert header.startswith("Date,Total House Consumption")
    assert detect_format(path) == "xstorage-csv"
    series = load_data(path)
    served = xstorage_exports["served"]
    assert series.start_s[0] == FROM_MS // 1000
    assert series.columns["load_w"].tolist() == [r["totalHouseConsumption"] for r in served]
    assert series.columns["pv_w"].tolist() == [r["photovoltaicProduction"] for r in served]
    assert series.columns["soc_pct"].tolist() == [r["batteryStateOfCharge"] for r in served]
    # an explicit --format reads it the same way
    forced = run("simulate", str(xstorage_exports["policy"]), "--data", str(path), "--json",
                 "--no-plots", "--format", "xstorage-csv", XS_PASSWORD="unused")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["results"]["no_battery"]["load_kwh"] == pytest.approx(
        served_kwh(served, "totalHouseConsumption"), rel=1e-9)


def test_xbattery_export_round_trip(tmp_path: Path) -> None:
    with XBatteryEmulator() as emu:
        emu.state.pack_current_a = -12.5
        emu.state.bms_state = "CHARGING"
        emu.state.last_ts = datetime(2026, 7, 2, 12, 0, tzinfo=UTC).timestamp()
        policy = tmp_path / "site.yaml"
        policy.write_text(SITE + XBATTERY.format(url=emu.url, device_id=emu.device_id,
                                                      ca=emu.ca_path))
        out = tmp_path / "telemetry.json"
        proc = run("device", "export", str(policy), "--from", DAY_FROM, "--to", DAY_TO,
                   "--out", str(out), XB_KEY=emu.api_key)
        served = [emu.record(t, i) for i, t in enumerate(range(FROM_MS // 1000,
                                                               TO_MS // 1000 + 1, 60))]
    assert proc.returncode == 0, proc.stderr
    from gridpilot.recorded import detect_format, load_data

    assert detect_format(out) == "xbattery"
    series = load_data(out)
    assert series.interval_s == 60
    written = json.loads(out.read_text())
    by_ts = {r["_ts"]: r for r in served}
    assert written and all(by_ts[r["_ts"]]["pack_current"] == r["pack_current"] for r in written)
    expected_wh = -sum(r["pack_voltage"] * 12.5 for r in written) / 60
    assert float(series.columns["battery_w"].sum()) / 60 == pytest.approx(expected_wh, rel=1e-9)
    # Telemetry has no load or PV: simulate says so plainly instead of failing inside.
    sim = run("simulate", str(policy), "--data", str(out), "--json", "--no-plots",
              XB_KEY="unused")
    assert sim.returncode != 0
    assert "Traceback" not in sim.stderr
    assert "no 'load_w' column" in sim.stderr


def test_csv_export_with_a_mapping_override(xstorage_exports: dict[str, Any]) -> None:
    path = xstorage_exports["dir"] / "export.csv"
    # A wrong explicit time format is refused with the format to use instead.
    args = ("simulate", str(xstorage_exports["policy"]), "--data", str(path), "--json",
            "--no-plots", "--format", "xstorage-csv", "--map", "load_w=total-house-consumption",
            "--time-format", "iso")
    hint = run(*args, XS_PASSWORD="unused")
    assert hint.returncode == 1 and "Traceback" not in hint.stderr
    assert "give --time-format '%d/%m/%Y %H:%M' (or auto)" in hint.stderr
    # By default an xStorage export's times are recognised whatever their format.
    report = simulate(xstorage_exports["policy"], path, "--format", "xstorage-csv", "--map",
                      "load_w=total-house-consumption")
    assert report["results"]["no_battery"]["load_kwh"] == pytest.approx(
        served_kwh(xstorage_exports["served"], "totalHouseConsumption"), rel=1e-9)


def test_simulated_device_export_round_trip(tmp_path: Path) -> None:
    from gridpilot.recorded import load_uk_composite

    policy = tmp_path / "site.yaml"
    policy.write_text(SITE + f"device:\n  type: simulated\n  data_file: {COMPOSITE}\n")
    out = tmp_path / "week.csv"
    proc = run("device", "export", str(policy), "--from", "2018-03-20", "--to", "2018-03-27",
               "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    # The week holds the spring clock change (25 March): site dates run from 00:00 GMT to
    # 00:00 BST, 23:00 UTC, an hour short of 7 days.
    assert "wrote 334 records" in proc.stdout
    source = load_uk_composite(COMPOSITE).slice_time(
        int(datetime(2018, 3, 20, 0, 0, tzinfo=UTC).timestamp()),
        int(datetime(2018, 3, 26, 23, 0, tzinfo=UTC).timestamp()))
    report = simulate(policy, out, "--step", "30m")
    nb = report["results"]["no_battery"]
    # The export writes 6 significant digits: totals agree to that.
    assert nb["load_kwh"] == pytest.approx(source.columns["load_w"].sum() / 2000, rel=1e-5)
    assert nb["pv_kwh"] == pytest.approx(source.columns["pv_w"].sum() / 2000, rel=1e-5)
    assert report["period"]["ticks"] == 334
