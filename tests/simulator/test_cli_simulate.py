"""``gridpilot simulate`` as a user runs it: in a subprocess, on a short real slice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.runner import run_cli

ROOT = Path(__file__).resolve().parents[2]
AGILE = ROOT / "examples/policies/agile-dynamic.yaml"
DATA = ROOT / "examples/data/uk-2018-halfhourly.csv"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=ROOT)


def test_simulate_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    proc = _run("simulate", str(AGILE), "--data", str(DATA), "--from", "2018-03-24",
                "--to", "2018-03-31", "--step", "15m", "--optimal", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Bill" in proc.stdout and "Savings captured" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "gridpilot.report/1"
    # 7 local days with the spring clock change: 167 hours of 15-minute steps
    assert report["period"]["ticks"] == 167 * 4
    assert report["period"]["start"] == "2018-03-24T00:00:00Z"
    res = report["results"]
    assert res["optimum"]["bill"] <= res["policy"]["bill"]
    assert res["policy"]["bill"] < res["no_battery"]["bill"]
    for name in report["plots"]:
        assert (out / name).stat().st_size > 10_000
    assert set(report["plots"]) == {"week.png", "monthly_bills.png", "daily_peaks.png"}
    md = (out / "report.md").read_text()
    assert "Savings captured" in md and "week.png" in md
    pol, none = res["policy"], res["no_battery"]
    # The Agile policy charges from the grid at cheap times; only PV-charged energy can lift
    # self-sufficiency above the figure without a battery.
    assert pol["grid_to_battery_kwh"] > 1.0
    bat = report["battery"]
    round_trip = bat["charge_efficiency"] * bat["discharge_efficiency"]
    assert (pol["self_sufficiency"] - none["self_sufficiency"]) * pol["load_kwh"] <= (
        pol["pv_to_battery_kwh"] * round_trip + 1e-9)
    assert f"| Grid to battery [kWh] | {pol['grid_to_battery_kwh']:,.0f} |" in md


def test_simulate_json_to_stdout() -> None:
    proc = _run("simulate", str(AGILE), "--data", str(DATA), "--from", "2018-10-28",
                "--to", "2018-10-29", "--step", "30m", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["period"]["ticks"] == 50  # the 25-hour day
    assert report["results"]["optimum"] is None


def test_bad_input_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,load_w,pv_w\n2018-01-01T00:00:00Z,1,oops\n")
    proc = _run("simulate", str(AGILE), "--data", str(bad))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "row 2" in proc.stderr
    proc = _run("simulate", str(AGILE), "--data", str(DATA), "--step", "7m")
    assert proc.returncode == 2 and "1m, 5m, 15m, 30m or 1h" in proc.stderr
    proc = _run("simulate", str(AGILE), "--data", str(DATA), "--from", "2030-01-01")
    assert proc.returncode == 1 and "no data" in proc.stderr


def test_simulate_an_xstorage_export_with_a_column_mapping(tmp_path: Path) -> None:
    # One day of 5-minute xStorage-style records, built from the real UK composite's first day
    # (a 30-minute value held for its six 5-minute records), with headers the unit might write.
    rows = DATA.read_text().splitlines()[1:49]
    lines = ["Date;House consumption (kWh);PV (W);GRID_INJECTION;BATTERY_STATE_OF_CHARGE"]
    t0_ms = 1_514_764_800_000  # 2018-01-01T00:00Z
    for i, row in enumerate(rows):
        _, load_w, pv_w, *_ = row.split(",")
        for k in range(6):
            t_ms = t0_ms + (i * 6 + k) * 300_000
            load_kwh = float(load_w) / 1000.0 / 12.0  # energy in five minutes
            lines.append(f"{t_ms};{load_kwh:.6f};{pv_w};0;50")
    export = tmp_path / "xstorage.csv"
    export.write_text("\n".join(lines) + "\n")
    proc = _run("simulate", str(AGILE), "--data", str(export), "--format", "xstorage-csv",
                "--map", "load_w=House consumption (kWh):kWh", "--map", "pv_w=PV (W)",
                "--time-column", "Date", "--time-format", "epoch_ms", "--delimiter", ";",
                "--step", "30m", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["period"]["ticks"] == 48
    # kWh per 5 minutes read back as average watts: the day's load energy is the composite's
    expected_kwh = sum(float(r.split(",")[1]) for r in rows) * 0.5 / 1000.0
    got = report["results"]["no_battery"]["load_kwh"]
    assert abs(got - expected_kwh) < 1e-3


def test_progress_bar_on_a_terminal() -> None:
    import os

    master, slave = os.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "gridpilot", "simulate", str(AGILE), "--data", str(DATA),
             "--from", "2018-01-01", "--to", "2018-02-15", "--step", "5m"],
            stdout=subprocess.PIPE, stderr=slave, text=True, check=False, cwd=ROOT, timeout=120,
            env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    assert proc.returncode == 0
    shown = b"".join(chunks).decode(errors="replace")
    assert "replaying" in shown and "ticks" in shown
    assert "Bill" in proc.stdout


def test_naive_export_times_are_read_in_the_site_timezone(tmp_path: Path) -> None:
    # An xStorage CSV export with wall-clock times and no offset, as the unit writes it, for a
    # BST day: the first interval starts at 00:00 London time, which is 23:00 UTC the day before.
    rows = ["Date,Total House Consumption,Photovoltaic Production Agg"]
    for i in range(24 * 12):
        rows.append(f"15/07/2018 {i // 12:02d}:{i % 12 * 5:02d},400,0")
    data = tmp_path / "export.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    proc = _run("simulate", str(AGILE), "--data", str(data), "--json")
    assert proc.returncode == 0, proc.stderr
    period = json.loads(proc.stdout)["period"]
    assert period["start"].startswith("2018-07-14T23:00"), period
    proc = _run("simulate", str(AGILE), "--data", str(data), "--json", "--timezone", "UTC")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["period"]["start"].startswith("2018-07-15T00:00")
