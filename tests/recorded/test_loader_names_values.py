"""Header and key names matched loosely, and values that are not readings named by row and column.

The values are a real slice of the UK 2018 composite written in the device formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.errors import DataError
from gridpilot.recorded import (
    ColumnSpec,
    CsvMapping,
    detect_format,
    load_csv,
    load_data,
    load_uk_composite,
    load_xbattery_telemetry,
    load_xstorage_csv,
    load_xstorage_metrics,
)
from gridpilot.recorded.base import iso_utc, normalise_name
from gridpilot.recorded.resample import GapPolicy, fill_gaps

ROOT = Path(__file__).resolve().parents[2]
COMPOSITE = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"
FIELDS = ["DATE", "TOTAL_HOUSE_CONSUMPTION", "PHOTOVOLTAIC_PRODUCTION_AGG",
          "BATTERY_STATE_OF_CHARGE", "GRID_INJECTION"]


@pytest.fixture(scope="module")
def real() -> dict[str, np.ndarray]:
    s = load_uk_composite(COMPOSITE).slice_time(1530403200, 1530403200 + 86400)  # 1 July 2018
    return {"start_s": s.start_s, "load_w": s.columns["load_w"], "pv_w": s.columns["pv_w"]}


def _rows(real: dict[str, np.ndarray]) -> list[list[str]]:
    rows = []
    for i, t in enumerate(real["start_s"].tolist()):
        stamp = iso_utc(t)
        rows.append([f"{stamp[8:10]}/{stamp[5:7]}/{stamp[:4]} {stamp[11:16]}",
                     repr(float(real["load_w"][i])), repr(float(real["pv_w"][i])),
                     str(20 + i), "0"])
    return rows


def _write(path: Path, header: list[str], rows: list[list[str]], sep: str = ",") -> Path:
    path.write_text("\n".join(sep.join(r) for r in [header, *rows]) + "\n")
    return path


def _variant(name: str, draw_case: list[bool], sep: str) -> str:
    spaced = name.replace("_", sep)
    return "".join(c.upper() if up else c.lower() for c, up in zip(spaced, draw_case, strict=False))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cases=st.lists(st.lists(st.booleans(), min_size=60, max_size=60), min_size=5, max_size=5),
    seps=st.lists(st.sampled_from(["_", " ", "-", "", " _ "]), min_size=5, max_size=5),
)
def test_any_spelling_of_the_field_names_reads_the_same(
    tmp_path: Path, real: dict[str, np.ndarray], cases: list[list[bool]], seps: list[str]
) -> None:
    header = [_variant(f, c, s) for f, c, s in zip(FIELDS, cases, seps, strict=True)]
    path = _write(tmp_path / "export.csv", header, _rows(real))
    assert detect_format(path) == "xstorage-csv"
    s = load_data(path)
    assert s.start_s.tolist() == real["start_s"].tolist()
    assert np.array_equal(s.columns["load_w"], real["load_w"])
    assert np.array_equal(s.columns["pv_w"], real["pv_w"])
    assert s.columns["soc_pct"][3] == 23.0


def test_pv_meters_are_summed_without_a_total(tmp_path: Path, real: dict[str, np.ndarray]) -> None:
    rows = [[r[0], r[1], repr(float(real["pv_w"][i]) * 0.25), repr(float(real["pv_w"][i]) * 0.75)]
            for i, r in enumerate(_rows(real))]
    header = ["Date", "Total House Consumption", "Photovoltaic Production Meter 1",
              "Photovoltaic Production Meter 2"]
    s = load_xstorage_csv(_write(tmp_path / "m.csv", header, rows))
    assert np.allclose(s.columns["pv_w"], real["pv_w"])
    assert float(s.columns["pv_w"].max()) > 1000  # summer PV: the check is not of zeros
    assert any("meter columns" in r for r in s.report.repairs)
    # With the total present as well, the meters are not added on top of it.
    both = [[r[0], r[1], repr(float(real["pv_w"][i])), r[2], r[3]] for i, r in enumerate(rows)]
    s = load_xstorage_csv(_write(tmp_path / "b.csv", [*header[:2], "Photovoltaic Production",
                                                      *header[2:]], both))
    assert np.array_equal(s.columns["pv_w"], real["pv_w"])


def test_mapping_can_be_overridden_and_missing_columns_are_named(
    tmp_path: Path, real: dict[str, np.ndarray]
) -> None:
    rows = [[r[0], repr(float(real["load_w"][i]) / 1000), r[2]] for i, r in enumerate(_rows(real))]
    path = _write(tmp_path / "o.csv", ["When", "House kW", "Solar"], rows)
    s = load_xstorage_csv(path, timestamp_column="when",
                          columns={"load_w": ColumnSpec("house-kw", "kW"),
                                   "pv_w": ColumnSpec("SOLAR", "W")})
    assert np.allclose(s.columns["load_w"], real["load_w"])
    assert np.array_equal(s.columns["pv_w"], real["pv_w"])
    with pytest.raises(DataError, match=r"o\.csv: row 1: no column matches "
                       r"'TOTAL_HOUSE_CONSUMPTION' \(for load_w\).*--map load_w=COLUMN"):
        load_xstorage_csv(path, timestamp_column="When")
    with pytest.raises(DataError, match=r"no column matches 'Heat pump' \(for load_w\)"):
        load_xstorage_csv(path, timestamp_column="When",
                          columns={"load_w": ColumnSpec("Heat pump", "W")})


def test_semicolon_export_is_detected_and_read(tmp_path: Path, real: dict[str, np.ndarray]) -> None:
    path = _write(tmp_path / "semi.csv", FIELDS, _rows(real), sep=";")
    assert detect_format(path) == "xstorage-csv"
    assert np.array_equal(load_data(path).columns["load_w"], real["load_w"])


def test_normalise_name() -> None:
    assert normalise_name(" Total House-Consumption (W) ") == "totalhouseconsumption"
    assert normalise_name("totalHouseConsumption") == normalise_name("TOTAL_HOUSE_CONSUMPTION")
    assert normalise_name("PV_1") != normalise_name("PV_2")


@pytest.mark.parametrize("bad", ["1e400", "inf", "-inf", "Infinity", "-1E999"])
def test_non_finite_value_is_named_by_row_and_column(
    tmp_path: Path, real: dict[str, np.ndarray], bad: str
) -> None:
    rows = _rows(real)
    rows[6][2] = bad  # file row 8 (the header is row 1)
    path = _write(tmp_path / "bad.csv", FIELDS, rows)
    with pytest.raises(DataError) as err:
        load_data(path)
    msg = str(err.value)
    assert f"bad.csv: row 8, column 'PHOTOVOLTAIC_PRODUCTION_AGG': {bad!r} is not a finite" in msg
    assert "missing" not in msg
    generic = tmp_path / "generic.csv"
    generic.write_text(f"timestamp,load_w,pv_w\n2018-07-01T00:00,300,0\n2018-07-01T00:30,{bad},0\n")
    with pytest.raises(DataError, match=r"row 3, column 'load_w': .* is not a finite number"):
        load_data(generic)


def test_nan_is_a_gap_that_names_its_row(tmp_path: Path, real: dict[str, np.ndarray]) -> None:
    rows = _rows(real)
    rows[10][1] = "nan"
    path = _write(tmp_path / "gap.csv", FIELDS, rows)
    s = load_data(path)
    assert np.isnan(s.columns["load_w"][10]) and np.isnan(s.columns["load_w"]).sum() == 1
    assert any("row 12, column 'TOTAL_HOUSE_CONSUMPTION'" in r for r in s.report.repairs)
    with pytest.raises(DataError, match=r"column 'load_w' has 1 missing interval\(s\), the first "
                       r"at 2018-07-01T05:00:00Z \(empty in the file at row 12, column "
                       r"'TOTAL_HOUSE_CONSUMPTION' \('nan'\)\); choose a gap policy"):
        fill_gaps(s, GapPolicy("fail"))
    held = fill_gaps(s, GapPolicy("hold"))
    assert held.columns["load_w"][10] == real["load_w"][9]


def test_non_finite_value_through_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "site.csv"
    data.write_text("timestamp,load_w,pv_w\n2018-07-01T00:00,300,0\n2018-07-01T00:30,310,1e400\n"
                    "2018-07-01T01:00,320,0\n")
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot", "simulate", str(ROOT / "examples" / "policies" /
                                                            "economy7.yaml"),
         "--data", str(data), "--step", "30m"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "row 3, column 'pv_w': '1e400' is not a finite number" in proc.stderr


def test_metrics_json_keys_match_loosely_and_reject_infinity(tmp_path: Path,
                                                             real: dict[str, np.ndarray]) -> None:
    records = [{"TIME": int(t) * 1000, "total_house_consumption": float(real["load_w"][i]),
                "Photovoltaic-Production": float(real["pv_w"][i]), "battery state of charge": 50}
               for i, t in enumerate(real["start_s"].tolist())]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(records))
    assert detect_format(path) == "xstorage-metrics"
    s = load_data(path)
    assert np.array_equal(s.columns["load_w"], real["load_w"])
    assert np.array_equal(s.columns["pv_w"], real["pv_w"])
    path.write_text(json.dumps(records).replace(repr(float(real["load_w"][4])), "1e400", 1))
    with pytest.raises(DataError, match=r"record 4, field 'total_house_consumption': inf is not "
                       "a finite number"):
        load_xstorage_metrics(path)
    path.write_text(json.dumps([{k: v for k, v in r.items() if "Photo" not in k}
                                for r in records]))
    with pytest.raises(DataError, match="no record has a 'photovoltaicProduction' field"):
        load_xstorage_metrics(path)


def test_xbattery_keys_match_loosely(tmp_path: Path) -> None:
    records = [{"_ts": 1736784000 + 60 * i, "packVoltage": 41.0, "PackCurrent": -10.0,
                "SOC": 20 + i, "bmsState": "CHARGING"} for i in range(5)]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(records))  # a bare list, as `device export` writes it
    assert detect_format(path) == "xbattery"
    path.write_text(json.dumps({"data": records}))
    assert detect_format(path) == "xbattery"
    s = load_xbattery_telemetry(path)
    assert s.columns["battery_w"].tolist() == [-410.0] * 5
    assert s.columns["soc_pct"].tolist() == [20.0, 21.0, 22.0, 23.0, 24.0]
    path.write_text(json.dumps({"data": records}).replace("-10.0", "-Infinity", 1))
    with pytest.raises(DataError, match=r"record 0, field 'PackCurrent': -inf is not a finite"):
        load_xbattery_telemetry(path)


def test_generic_csv_mapping_still_checks_field_names(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("timestamp,x\n2018-07-01T00:00,1\n2018-07-01T00:30,2\n")
    with pytest.raises(DataError, match="unknown field 'lod_w'"):
        load_csv(path, CsvMapping(columns={"lod_w": ColumnSpec("x", "W")}))


ELEXON = ROOT.parent / "shared" / "data" / "uk-2018" / "sources" / "sspsbpniv.csv"


@pytest.mark.skipif(not ELEXON.exists(), reason="../shared/data is not present")
@pytest.mark.parametrize("bad", ["1e400", "nan", "-inf"])
def test_elexon_non_finite_price_is_named(tmp_path: Path, bad: str) -> None:
    with ELEXON.open(encoding="utf-8-sig") as f:
        lines = [next(f) for _ in range(49)]  # the header and the first real day
    cells = lines[5].rstrip("\n").split(",")
    cells[3] = bad
    lines[5] = ",".join(cells) + "\n"
    path = tmp_path / "elexon.csv"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataError, match=rf"row 6, column 'System Buy Price\(£/MWh\)': '{bad}' is "
                       "not a finite number"):
        load_data(path, "elexon")
    lines[5] = ",".join([*cells[:3], "", *cells[4:]]) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    assert np.isnan(load_data(path, "elexon").columns["system_buy_price"]).sum() == 1
