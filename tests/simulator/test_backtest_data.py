"""What a backtest says about its data: which prices it used (``--prices``), which dates it
simulated when the data did not cover the request, and implausible values. In-process calls of
the CLI on short slices of the bundled UK 2018 data."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from gridpilot.cli import main
from gridpilot.recorded import load_data
from gridpilot.recorded.resample import resample
from gridpilot.rules.loader import load_policy
from gridpilot.simulator.pricesource import with_data_prices

ROOT = Path(__file__).resolve().parents[2]
AGILE = ROOT / "examples/policies/agile-dynamic.yaml"
DATA = ROOT / "examples/data/uk-2018-halfhourly.csv"
WEEK = ["--from", "2018-03-01", "--to", "2018-03-04", "--step", "30m"]


def _scaled_prices(tmp_path: Path, factor: float) -> Path:
    """The bundled data with both price columns multiplied by ``factor`` (first 10 days)."""
    out = tmp_path / f"prices-x{factor:g}.csv"
    with DATA.open() as src, out.open("w", newline="") as dst:
        rows = csv.reader(src)
        w = csv.writer(dst)
        w.writerow(next(rows))
        for i, (t, load, pv, imp, exp) in enumerate(rows):
            if i >= 48 * 70:
                break
            w.writerow([t, load, pv, repr(float(imp) * factor), repr(float(exp) * factor)])
    return out


def _report(tmp_path: Path, name: str, *args: str) -> dict[str, object]:
    out = tmp_path / name
    assert main(["simulate", str(AGILE), *args, "--out", str(out), "--no-plots"]) == 0
    report: dict[str, object] = json.loads((out / "report.json").read_text())
    report["md"] = (out / "report.md").read_text()
    return report


def _bill(report: dict[str, object]) -> float:
    return float(report["results"]["policy"]["bill"])  # type: ignore[index]


def test_prices_data_bills_with_the_files_prices_and_policy_ignores_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = _scaled_prices(tmp_path, 1.0)
    x100 = _scaled_prices(tmp_path, 100.0)
    pol_plain = _report(tmp_path, "a", "--data", str(plain), *WEEK)
    pol_x100 = _report(tmp_path, "b", "--data", str(x100), *WEEK, "--prices", "policy")
    data_plain = _report(tmp_path, "c", "--data", str(plain), *WEEK, "--prices", "data")
    data_x100 = _report(tmp_path, "d", "--data", str(x100), *WEEK, "--prices", "data")
    # The default is the policy's tariff: the data's prices change nothing...
    assert _bill(pol_x100) == _bill(pol_plain)
    assert pol_plain["prices"]["source"] == "policy"  # type: ignore[index]
    assert "columns are not used" in pol_plain["prices"]["note"]  # type: ignore[index]
    # ...with --prices data they decide and bill. The Agile example's tariff is this very
    # series, so unscaled the bill is the policy's to the penny; scaled, it is not.
    assert data_plain["prices"]["source"] == "data"  # type: ignore[index]
    assert str(plain) in data_plain["prices"]["note"]  # type: ignore[index]
    assert _bill(data_plain) == pytest.approx(_bill(pol_plain), abs=1e-9)
    energy = [float(r["results"]["no_battery"]["energy_cost"])  # type: ignore[index]
              for r in (data_plain, data_x100)]
    assert energy[1] == pytest.approx(100 * energy[0])
    assert abs(_bill(data_x100) - _bill(data_plain)) > 10 * abs(_bill(data_plain))
    for report in (pol_plain, data_x100):
        assert f"Prices: {report['prices']['note']}" in report["md"]  # type: ignore[index]
    capsys.readouterr()
    assert main(["simulate", str(AGILE), "--data", str(x100), *WEEK, "--prices", "data"]) == 0
    out = capsys.readouterr().out
    assert "Prices: the data's import_price and export_price columns (--prices data" in out


def test_prices_data_without_price_columns_names_the_file_and_the_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = DATA.read_text().splitlines()[:49]
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join(",".join(r.split(",")[:3]) for r in lines) + "\n")
    half = tmp_path / "half.csv"
    half.write_text("\n".join(",".join(r.split(",")[:4]) for r in lines) + "\n")
    args = ["--step", "30m", "--prices", "data"]
    assert main(["simulate", str(AGILE), "--data", str(bare), *args]) == 1
    err = capsys.readouterr().err
    assert f"{bare}: --prices data needs the columns import_price and export_price" in err
    assert "no 'import_price' and no 'export_price' column" in err
    assert "--prices policy" in err and "Traceback" not in err
    assert main(["simulate", str(AGILE), "--data", str(half), *args]) == 1
    err = capsys.readouterr().err
    assert "no 'export_price' column (it has: import_price, load_w, pv_w)" in err
    # Billing by the policy needs no price columns.
    assert main(["simulate", str(AGILE), "--data", str(bare), "--step", "30m", "--json"]) == 0


def test_sweep_takes_the_price_source_too(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    x100 = _scaled_prices(tmp_path, 100.0)
    bills = {}
    for source in ("policy", "data"):
        out = tmp_path / f"{source}.csv"
        assert main(["sweep", str(AGILE), "--data", str(x100), *WEEK, "--prices", source,
                     "--set", "strategies.arbitrage.min_spread_per_kwh=0,0.01", "--jobs", "1",
                     "--csv", str(out)]) == 0
        assert f"priced by the {'data file' if source == 'data' else 'policy'}" in (
            capsys.readouterr().out)
        bills[source] = {row["strategies.arbitrage.min_spread_per_kwh"]: float(row["bill"])
                         for row in csv.DictReader(out.open())}
    for spread, bill in bills["policy"].items():
        assert abs(bills["data"][spread] - bill) > 10 * abs(bill)


def test_data_prices_keep_the_slot_length_of_the_file() -> None:
    # Half-hourly prices simulated at 5 minutes: the strategies plan 48 slots a day, not 288.
    policy = load_policy(AGILE)
    start = 1_519_862_400  # 2018-03-01T00:00Z
    series = resample(load_data(DATA).slice_time(start, start + 2 * 86400), 300)
    priced = with_data_prices(policy, series)
    assert priced.tariff.slot_s == 1800
    assert priced.tariff.currency == policy.tariff.currency
    assert priced.tariff.standing_charge_per_day == policy.tariff.standing_charge_per_day
    t = series.start_s[7]
    assert priced.tariff.import_prices(series.start_s[7:8])[0] == series.columns[
        "import_price"][7]
    assert math.isclose(float(priced.tariff.export_prices(series.start_s[7:8])[0]),
                        float(series.columns["export_price"][7]))
    assert int(t) % 1800 != 0


def test_a_period_partly_outside_the_data_is_said_and_the_dates_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--data", str(DATA), "--from", "2018-12-25", "--to", "2019-02-01", "--step", "1h"]
    report = _report(tmp_path, "late", *args)
    err = capsys.readouterr().err
    assert (f"warning: {DATA}: asked for 2018-12-25 00:00 to 2019-02-01 00:00 (38 days, "
            "Europe/London) but the data covers only 2018-01-01 00:00 to 2019-01-01 00:00: "
            "simulating 2018-12-25 00:00 to 2019-01-01 00:00 (7 days) only") in err
    period = report["period"]
    assert period == {  # type: ignore[comparison-overlap]
        "start": "2018-12-25T00:00:00Z", "end": "2019-01-01T00:00:00Z", "step_s": 3600,
        "ticks": 168, "timezone": "Europe/London",
        "start_local": "2018-12-25T00:00:00+00:00",
        "last_tick_local": "2018-12-31T23:00:00+00:00",
        "end_local": "2019-01-01T00:00:00+00:00",
        "requested_start": "2018-12-25T00:00:00+00:00",
        "requested_end": "2019-02-01T00:00:00+00:00",
        "shortened": True,
    }
    assert any("asked for 2018-12-25" in w
               for w in report["data"]["warnings"])  # type: ignore[index]
    assert "The data did not cover the requested period" in str(report["md"])
    assert main(["simulate", str(AGILE), *args]) == 0
    out = capsys.readouterr().out
    assert "Simulated: 2018-12-25 00:00 to 2019-01-01 00:00 (Europe/London" in out
    assert "Shortened" in out
    # A period the data covers: no warning, and the dates in site time (BST here).
    inside = _report(tmp_path, "summer", "--data", str(DATA), "--from", "2018-07-01",
                     "--to", "2018-07-03", "--step", "1h")
    assert "warning" not in capsys.readouterr().err
    assert inside["period"]["shortened"] is False  # type: ignore[index]
    assert inside["period"]["start_local"] == "2018-07-01T00:00:00+01:00"  # type: ignore[index]
    assert inside["period"]["start"] == "2018-06-30T23:00:00Z"  # type: ignore[index]


def test_every_run_reports_its_loss_making_discharge(tmp_path: Path) -> None:
    report = _report(tmp_path, "r", "--data", str(DATA), *WEEK)
    results = report["results"]
    for name in ("policy", "no_battery", "self_consumption"):
        value = results[name]["loss_making_cycles_kwh"]  # type: ignore[index]
        assert 0.0 <= value <= results[name]["battery_discharge_kwh"] + 1e-9  # type: ignore[index]
    assert results["no_battery"]["loss_making_cycles_kwh"] == 0.0  # type: ignore[index]
    assert "| Loss-making discharge [kWh] |" in str(report["md"])
def _one_day_with(tmp_path: Path, row: int, load: str) -> Path:
    lines = DATA.read_text().splitlines()[:49]
    cells = lines[row].split(",")
    cells[1] = load
    lines[row] = ",".join(cells)
    path = tmp_path / "day.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_simulate_refuses_a_terawatt_row_and_accepts_it_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = _one_day_with(tmp_path, 11, "1e12")
    args = ["simulate", str(AGILE), "--data", str(day), "--step", "30m", "--no-plots"]
    assert main([*args, "--out", str(tmp_path / "r1")]) == 1
    err = capsys.readouterr().err
    assert f"{day}: row 12, column 'load_w': 1 TW, beyond the 1 MW" in err
    assert "--accept-implausible" in err and "Traceback" not in err
    assert main([*args, "--out", str(tmp_path / "r2"), "--accept-implausible"]) == 0
    assert "warning: " in capsys.readouterr().err
    report = json.loads((tmp_path / "r2/report.json").read_text())
    assert any("row 12" in w and "accepted" in w for w in report["data"]["warnings"])
    assert "row 12" in (tmp_path / "r2/report.md").read_text()
    assert math.isfinite(report["results"]["policy"]["bill"])


