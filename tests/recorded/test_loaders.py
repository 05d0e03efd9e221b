"""Loaders on the real files in ../shared/data (and small files written from their formats)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from gridpilot.errors import DataError
from gridpilot.recorded import (
    ColumnSpec,
    CsvMapping,
    detect_format,
    load_agile_outgoing,
    load_csv,
    load_data,
    load_elexon_settlement,
    load_uci_household,
    load_uk_composite,
    load_xbattery_telemetry,
    load_xstorage_csv,
    load_xstorage_metrics,
)
from gridpilot.recorded.uk import periods_in_day

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
UK = SHARED / "uk-2018"
COMPOSITE = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"
UCI = SHARED / "uci-household" / "household_power_consumption_2006-12.txt"
SEED_XBATTERY = ROOT.parent / "shared" / "seeds"

needs_shared = pytest.mark.skipif(not UK.exists(), reason="../shared/data is not present")


def _utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_uk_composite_is_a_full_utc_year() -> None:
    s = load_uk_composite(COMPOSITE)
    assert len(s) == 17520 and s.interval_s == 1800
    assert s.start_s[0] == _utc("2018-01-01T00:00")
    assert s.end_s == _utc("2019-01-01T00:00")
    assert s.report.gaps == [] and s.report.duplicates == 0
    assert s.columns["load_w"][0] == pytest.approx(380.1)
    assert s.columns["import_price"][0] == pytest.approx(0.12307)
    assert (s.columns["import_price"] < 0).any()  # negative prices survive
    assert detect_format(COMPOSITE) == "csv"
    plain = load_data(COMPOSITE)
    assert set(plain.columns) == set(s.columns)


@needs_shared
def test_elexon_clock_change_days_have_46_and_50_periods() -> None:
    s = load_elexon_settlement(UK / "sources" / "sspsbpniv.csv")
    assert s.report.gaps == [] and s.report.duplicates == 0
    assert s.interval_s == 1800
    # 2018-03-25 local midnight is 00:00 UTC; period 46 (the last) starts 22:30 UTC.
    day = (s.start_s >= _utc("2018-03-25T00:00")) & (s.start_s < _utc("2018-03-26T00:00") - 3600)
    assert int(day.sum()) == 46
    # 2018-10-28 local midnight is 23:00 UTC the day before: 50 periods to 2018-10-29 00:00 UTC.
    day = (s.start_s >= _utc("2018-10-27T23:00")) & (s.start_s < _utc("2018-10-29T00:00"))
    assert int(day.sum()) == 50
    # The first row: 06/06/2016 period 1 = 2016-06-05 23:00 UTC, SBP 27.90183 GBP/MWh.
    assert s.start_s[0] == _utc("2016-06-05T23:00")
    assert s.columns["system_buy_price"][0] == pytest.approx(0.02790183)
    assert periods_in_day(datetime(2018, 3, 25).date()) == 46
    assert periods_in_day(datetime(2018, 10, 28).date()) == 50


@needs_shared
def test_agile_outgoing_wall_clock_days() -> None:
    s = load_agile_outgoing(UK / "sources" / "octopus_outgoing_2018_SE.csv")
    assert s.report.gaps == [] and s.report.duplicates == 0
    assert any("autumn" in r for r in s.report.repairs)
    # Autumn 2018: 01:00 BST (00:00 UTC) 5.71 p, then 01:00 GMT (01:00 UTC) 6.25 p.
    i = int(np.searchsorted(s.start_s, _utc("2018-10-28T00:00")))
    assert s.columns["export_price"][i : i + 4] == pytest.approx([0.0571, 0.0637, 0.0625, 0.0604])
    # Spring 2018: 00:30 GMT then 02:00 BST (= 01:00 UTC): contiguous in UTC.
    j = int(np.searchsorted(s.start_s, _utc("2018-03-25T00:30")))
    assert s.start_s[j + 1] == _utc("2018-03-25T01:00")
    assert s.columns["export_price"][j + 1] == pytest.approx(0.0618)


@needs_shared
def test_agile_outgoing_matches_the_composite() -> None:
    out = load_agile_outgoing(UK / "sources" / "octopus_outgoing_2018_SE.csv")
    comp = load_uk_composite(COMPOSITE)
    i = int(np.searchsorted(out.start_s, comp.start_s[0]))
    np.testing.assert_allclose(out.columns["export_price"][i : i + 17520],
                               comp.columns["export_price"], atol=1e-9)


@needs_shared
def test_uci_minutes_with_missing_marks() -> None:
    s = load_uci_household(UCI)
    assert s.interval_s == 60
    # 16/12/2006 17:24 in Paris (UTC+1) is 16:24 UTC; 4.216 kW average.
    assert s.start_s[0] == _utc("2006-12-16T16:24")
    assert s.columns["load_w"][0] == pytest.approx(4216.0)
    assert float(np.nanmax(s.columns["load_w"])) > 9000.0
    assert s.report.gaps, "the two missing spans of the file are reported"
    assert int(np.isnan(s.columns["load_w"]).sum()) == s.report.missing_values


def test_bad_number_names_row_and_column(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("timestamp,load_w,pv_w\n2018-01-01T00:00:00Z,1,2\n2018-01-01T00:30:00Z,x,2\n")
    m = CsvMapping(columns={"load_w": ColumnSpec("load_w", "W"), "pv_w": ColumnSpec("pv_w", "W")})
    with pytest.raises(DataError, match=r"row 3, column 'load_w': 'x' is not a number"):
        load_csv(f, m)
    with pytest.raises(DataError, match="no column 'house'"):
        load_csv(f, CsvMapping(columns={"load_w": ColumnSpec("house", "W")}))


def test_energy_per_interval_is_converted_to_average_watts(tmp_path: Path) -> None:
    # 5-minute watt-hours: 100 Wh in 5 min is 1200 W on average, not 100 W.
    f = tmp_path / "wh.csv"
    f.write_text("t,e\n0,100\n300,50\n600,0\n")
    m = CsvMapping(columns={"load_w": ColumnSpec("e", "Wh")}, timestamp_columns=("t",),
                   timestamp_format="epoch_s")
    s = load_csv(f, m)
    assert s.columns["load_w"].tolist() == [1200.0, 600.0, 0.0]


def test_xstorage_csv_with_overridden_header(tmp_path: Path) -> None:
    f = tmp_path / "export.csv"
    f.write_text(
        "Date,House consumption,PV,GRID_INJECTION,BATTERY_STATE_OF_CHARGE\n"
        "1700000100000,500,0,0,50\n1700000400000,600,100,0,49\n1700001000000,700,0,0,48\n"
    )
    s = load_xstorage_csv(
        f,
        columns={"load_w": ColumnSpec("House consumption", "W"), "pv_w": ColumnSpec("PV", "W")},
        timestamp_column="Date",
        timestamp_format="epoch_ms",
    )
    assert s.interval_s == 300
    assert s.columns["load_w"][0] == 500.0 and np.isnan(s.columns["load_w"][2])
    assert s.report.gaps and "grid_w" in s.columns
    with pytest.raises(DataError, match="TOTAL_HOUSE_CONSUMPTION"):
        load_xstorage_csv(f, timestamp_column="Date", timestamp_format="epoch_ms")


def test_xstorage_metrics_envelope(tmp_path: Path) -> None:
    recs = [
        {"totalHouseConsumption": 400 + i, "totalGridInjection": 10, "photovoltaicProduction": 50,
         "batteryStateOfCharge": 60, "criticalLoads": 0, "nonCriticalLoads": 0,
         "selfConsumption": 1, "selfSufficiency": 1, "time": 1_700_000_100_000 + i * 300_000}
        for i in range(4)
    ]
    f = tmp_path / "metrics.json"
    f.write_text(json.dumps({"successful": True, "message": "Content Ready", "result": recs}))
    s = load_xstorage_metrics(f)
    assert detect_format(f) == "xstorage-metrics"
    assert s.interval_s == 300 and len(s) == 4
    assert s.columns["load_w"].tolist() == [400.0, 401.0, 402.0, 403.0]
    assert s.columns["grid_w"].tolist() == [-10.0] * 4
    f.write_text('{"result": [1, 2')
    with pytest.raises(DataError, match="bad JSON"):
        load_xstorage_metrics(f)


def test_xbattery_telemetry_seed_record(tmp_path: Path) -> None:
    # The record of the xBattery seed document, plus a charging one a minute later.
    rec = {"deviceId": "STM32H753ZI", "pack_voltage": 41.2708, "temperature": 27.315,
           "pack_current": 0, "soc": 21.02, "bms_state": "DISCHARGING", "_ts": 1736784740}
    rec2 = dict(rec, pack_current=-10.0, soc=21.1, bms_state="CHARGING", _ts=1736784800)
    f = tmp_path / "telemetry.json"
    f.write_text(json.dumps({"success": True, "data": [rec, rec2]}))
    s = load_xbattery_telemetry(f)
    assert detect_format(f) == "xbattery"
    assert s.interval_s == 60
    assert s.columns["soc_pct"].tolist() == [21.02, 21.1]
    assert s.columns["battery_w"][0] == 0.0
    assert s.columns["battery_w"][1] == pytest.approx(-412.708)


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="cannot tell the data format"):
        load_data(f)
    with pytest.raises(DataError, match="no such file"):
        load_data(tmp_path / "missing.csv", "uk-composite")


def test_a_time_in_the_spring_gap_names_its_row(tmp_path: Path) -> None:
    f = tmp_path / "local.csv"
    f.write_text("t,load\n2018-03-25 00:30,1\n2018-03-25 01:30,2\n2018-03-25 02:30,3\n")
    m = CsvMapping(columns={"load_w": ColumnSpec("load", "kW")}, timestamp_columns=("t",),
                   timestamp_format="%Y-%m-%d %H:%M", timezone="Europe/London")
    with pytest.raises(DataError, match=r"row 3: 2018-03-25 01:30:00 does not exist"):
        load_csv(f, m)
