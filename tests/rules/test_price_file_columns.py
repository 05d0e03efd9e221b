"""A CSV price file with nothing to report is read a column at a time; every file reads as the
row loop reads it: the same slots and prices, or the same first problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridpilot.rules.prices as prices
from gridpilot.rules.prices import PriceFileError
from gridpilot.rules.schema import DynamicPrices

_clean_prices = st.one_of(st.floats(-1e6, 1e6, allow_nan=False).map(repr),
                         st.integers(-500, 500).map(str))
_odd_prices = st.sampled_from(["", " 0.25 ", "nan", "inf", "2e6", "-1000001", "x", "1_0"])
_odd_steps = st.sampled_from([3600, 0, -1800, 600, 2700, 5400])
_odd_times = st.sampled_from(["{}+00:00", "{}+01:00", "{}", "not a time", " {}Z "])


def _write(path: Path, steps: list[int], row_prices: list[str], shapes: list[str],
           blank: bool = False) -> Path:
    t_s = 1514764800  # 2018-01-01T00:00:00Z
    lines = ["timestamp,price,other"]
    for step, price, shape in zip(steps, row_prices, shapes, strict=True):
        t_s += step
        stamp = np.datetime_as_string(np.datetime64(t_s, "s"))
        lines.append(f"{shape.format(stamp)},{price},1")
    if blank:
        lines.insert(2, ",,")
    path.write_text("\n".join(lines) + "\n")
    return path


def _read(path: Path, spec: DynamicPrices, *, whole: bool) -> object:
    saved = prices._clean_csv
    if not whole:
        prices._clean_csv = lambda *a, **k: None
    prices._TABLE.clear()
    try:
        series = prices._parse_price_file(spec, path, "p.csv", ("p.csv",))
    except PriceFileError as exc:
        return str(exc)
    finally:
        prices._clean_csv = saved
    return (series.start_s.tolist(), series.end_s.tolist(), series.price_per_kwh.tobytes(),
            series.resolution_s, series.source, [a.flags.writeable for a in
                                                 (series.start_s, series.end_s,
                                                  series.price_per_kwh)])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(_clean_prices, min_size=1, max_size=8),
    st.sampled_from(["per_kwh", "per_100_kwh"]),
    st.one_of(st.none(), st.tuples(st.integers(0, 7), st.sampled_from(["price", "step", "time"]),
                                   st.data())),
    st.booleans(),
)
def test_columns_read_as_the_row_loop_reads(
    tmp_path_factory: pytest.TempPathFactory, row_prices: list[str], unit: str,
    defect: tuple[int, str, st.DataObject] | None, blank: bool,
) -> None:
    # A clean file, or one with a single thing wrong in one row.
    steps = [1800] * len(row_prices)
    shapes = ["{}Z"] * len(row_prices)
    if defect is not None:
        i, kind, data = defect
        i %= len(row_prices)
        if kind == "price":
            row_prices[i] = data.draw(_odd_prices)
        elif kind == "step":
            steps[i] = data.draw(_odd_steps)
        else:
            shapes[i] = data.draw(_odd_times)
    path = _write(tmp_path_factory.mktemp("prices") / "p.csv", steps, row_prices, shapes, blank)
    spec = DynamicPrices(file="p.csv", column="price", unit=unit)
    assert _read(path, spec, whole=True) == _read(path, spec, whole=False)


@pytest.mark.parametrize(("kind", "value"), [
    *[("price", v) for v in ["", " 0.25 ", "nan", "inf", "2e6", "-1000001", "x", "1_0"]],
    *[("step", v) for v in [3600, 0, -1800, 600, 2700, 5400]],
    *[("time", v) for v in ["{}+00:00", "{}+01:00", "{}", "not a time", " {}Z "]],
])
def test_one_defect_reads_as_the_row_loop_reads(tmp_path: Path, kind: str,
                                                value: str | int) -> None:
    steps, row_prices, shapes = [1800] * 5, ["0.1", "0.2", "-0.3", "4", "5e-2"], ["{}Z"] * 5
    if kind == "price":
        row_prices[3] = str(value)
    elif kind == "step":
        steps[3] = int(value)
    else:
        shapes[3] = str(value)
    path = _write(tmp_path / "p.csv", steps, row_prices, shapes)
    spec = DynamicPrices(file="p.csv", column="price")
    assert _read(path, spec, whole=True) == _read(path, spec, whole=False)


def test_both_sides_of_one_file_read_it_once(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.csv"
    path.write_text("timestamp,import,export\n2018-01-01T00:00:00Z,0.2,0.05\n"
                    "2018-01-01T00:30:00Z,0.3,0.04\n")
    prices._PARSED.clear()
    prices._TABLE.clear()
    reads: list[Path] = []
    real = prices._read_text

    def counted(p: Path, shown: str) -> str:
        reads.append(p)
        return real(p, shown)

    monkeypatch.setattr(prices, "_read_text", counted)
    a = prices.load_price_file(DynamicPrices(file="p.csv", column="import"), tmp_path)
    b = prices.load_price_file(DynamicPrices(file="p.csv", column="export"), tmp_path)
    assert reads == [path]
    assert a.price_per_kwh.tolist() == [0.2, 0.3]
    assert b.price_per_kwh.tolist() == [0.05, 0.04]
