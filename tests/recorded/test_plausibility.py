"""Plausibility checks on loaded data: likely unit mistakes are warned about with their rows,
absurd values refused unless accepted, the same for every loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.errors import DataError
from gridpilot.recorded import (
    ColumnSpec,
    CsvMapping,
    TimeSeries,
    check_plausibility,
    load_data,
)
from gridpilot.recorded.csvfile import parse_rows
from gridpilot.recorded.plausibility import MAX_SITE_POWER_W, find_implausible
from gridpilot.recorded.xstorage import parse_xstorage_metrics

T0 = 1_514_764_800  # 2018-01-01T00:00Z


def _csv(loads: list[float], pvs: list[float] | None = None) -> str:
    pvs = pvs if pvs is not None else [0.0] * len(loads)
    lines = ["timestamp,load_w,pv_w"]
    for i, (ld, pv) in enumerate(zip(loads, pvs, strict=True)):
        lines.append(f"{T0 + i * 1800},{ld!r},{pv!r}")
    return "\n".join(lines) + "\n"


def _parse(text: str, unit: str = "W") -> TimeSeries:
    mapping = CsvMapping(
        columns={"load_w": ColumnSpec("load_w", unit), "pv_w": ColumnSpec("pv_w", "W")},
        timestamp_format="epoch_s",
    )
    return parse_rows(text, mapping, source="home.csv")


_plain = st.floats(min_value=100.0, max_value=20_000.0)
_huge = st.one_of(st.floats(min_value=MAX_SITE_POWER_W * 1.0001, max_value=1e15),
                  st.floats(min_value=-1e15, max_value=-MAX_SITE_POWER_W * 1.0001))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loads=st.lists(_plain, min_size=3, max_size=30), data=st.data())
def test_any_row_above_the_bound_is_refused_and_named(loads: list[float],
                                                      data: st.DataObject) -> None:
    bad = data.draw(st.sets(st.integers(0, len(loads) - 1), min_size=1, max_size=3))
    for i in bad:
        loads[i] = data.draw(_huge)
    series = _parse(_csv(loads))
    with pytest.raises(DataError) as err:
        check_plausibility(series)
    message = str(err.value)
    rows = sorted(i + 2 for i in bad)  # the header is row 1
    named = "rows " + ", ".join(map(str, rows)) if len(rows) > 1 else f"row {rows[0]}"
    assert f"home.csv: {named}, column 'load_w'" in message
    assert "1 MW" in message and "--accept-implausible" in message
    # Accepted, it is kept as a warning naming the same rows.
    accepted = check_plausibility(series, accept=True)
    assert any(named in w and "accepted" in w for w in accepted.report.warnings)


@settings(max_examples=40, deadline=None)
@given(loads=st.lists(_plain, min_size=2, max_size=30))
def test_plausible_homes_pass_without_a_word(loads: list[float]) -> None:
    series = _parse(_csv(loads, [0.0] * len(loads)))
    check_plausibility(series)
    assert series.report.warnings == []


def test_kilowatts_in_a_watt_column_are_warned_about() -> None:
    loads = [0.38, 0.32, 1.06, 0.9]  # a home's load in kW, declared as W
    series = check_plausibility(_parse(_csv(loads)))
    [warning] = series.report.warnings
    assert "column 'load_w'" in warning and "below 50 W" in warning
    assert "look like kW" in warning and "--map load_w=load_w:kW" in warning
    # Declared in kW the same numbers are a normal home.
    assert check_plausibility(_parse(_csv(loads), unit="kW")).report.warnings == []


def test_negative_loads_are_warned_about_with_their_rows() -> None:
    loads = [400.0, -250.0, 380.0, -90.0, 500.0]
    series = check_plausibility(_parse(_csv(loads)))
    [warning] = series.report.warnings
    assert "home.csv: rows 3, 5, column 'load_w'" in warning
    assert "2 negative value(s), the lowest -250 W at row 3" in warning
    assert "net load" in warning


def test_inverter_standby_is_not_negative_pv_but_a_reversed_sign_is() -> None:
    quiet = check_plausibility(_parse(_csv([400.0] * 3, [-4.0, 0.0, 800.0])))
    assert quiet.report.warnings == []
    reversed_pv = check_plausibility(_parse(_csv([400.0] * 3, [0.0, -900.0, -1500.0])))
    assert any("column 'pv_w'" in w and "sign" in w for w in reversed_pv.report.warnings)


def test_a_value_that_overflows_its_unit_is_refused() -> None:
    series = _parse(_csv([0.5, 1e306, 0.7]), unit="MW")  # 1e306 MW is infinite in W
    with pytest.raises(DataError, match=r"row 3, column 'load_w'.*declared in MW"):
        check_plausibility(series)


def test_soc_as_a_fraction_is_warned_about() -> None:
    text = "timestamp,load_w,pv_w,soc\n" + "".join(
        f"{T0 + i * 1800},400,0,{s}\n" for i, s in enumerate((0.2, 0.5, 0.9)))
    mapping = CsvMapping(columns={"load_w": ColumnSpec("load_w", "W"),
                                  "pv_w": ColumnSpec("pv_w", "W"),
                                  "soc_pct": ColumnSpec("soc", "pct")},
                         timestamp_format="epoch_s")
    series = check_plausibility(parse_rows(text, mapping, source="unit.csv"))
    assert any("column 'soc' (soc_pct)" in w and "fraction" in w
               for w in series.report.warnings)


def test_every_loader_goes_through_the_checks(tmp_path: Path) -> None:
    # A JSON export names records, not rows; load_data is what the simulated device and the
    # scenario tests' recorded data use.
    records = [{"time": (T0 + i * 300) * 1000, "totalHouseConsumption": 400,
                "photovoltaicProduction": 0, "totalGridInjection": 0} for i in range(5)]
    records[3]["totalHouseConsumption"] = 1e12
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(records))
    with pytest.raises(DataError, match=r"metrics.json: record 3, column "
                                        r"'totalHouseConsumption' \(load_w\): 1 TW"):
        load_data(path)
    assert load_data(path, accept_implausible=True).report.warnings
    series = parse_xstorage_metrics(records, source="metrics")
    assert [f.field for f in find_implausible(series)] == ["load_w"]
    csv_path = tmp_path / "home.csv"
    csv_path.write_text(_csv([400.0, 1e12, 380.0]).replace(str(T0), "2018-01-01T00:00:00Z", 1)
                        .replace(str(T0 + 1800), "2018-01-01T00:30:00Z")
                        .replace(str(T0 + 3600), "2018-01-01T01:00:00Z"))
    with pytest.raises(DataError, match=r"home\.csv: row 3, column 'load_w'"):
        load_data(csv_path)


def test_rows_survive_sorting_and_duplicates() -> None:
    # Out of order and a duplicate: the row named is the file's row of the kept value.
    text = ("timestamp,load_w,pv_w\n"
            f"{T0 + 1800},400,0\n{T0},2e9,0\n{T0},300,0\n{T0 + 3600},350,0\n")
    series = _parse(text)
    assert series.rows is not None
    assert np.asarray(series.rows).tolist() == [3, 2, 5]
    with pytest.raises(DataError, match=r"home\.csv: row 3, column 'load_w': 2 GW"):
        check_plausibility(series)
