"""Tariffs: fixed schedules (last match wins, gaps), dynamic series, horizons, and the scalar and
vectorised lookups against a brute-force reference."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.rules.prices import PriceFileError
from gridpilot.rules.schema import PriceSchedule, TariffSpec
from gridpilot.rules.tariff import PriceSide, Tariff

from .conftest import BASE, errors_of, write

LONDON = ZoneInfo("Europe/London")
DATA = Path(__file__).resolve().parents[2] / "examples" / "data" / "uk-2018-halfhourly.csv"


def tariff(import_: dict[str, Any], export: dict[str, Any] | None = None,
           base_dir: Path = Path(".")) -> Tariff:
    spec = TariffSpec.model_validate({"import": import_, "export": export or {"default": 0.0}})
    return Tariff.from_spec(spec, LONDON, base_dir)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def test_last_matching_period_wins() -> None:
    t = tariff({"default": 0.30, "periods": [
        {"price": 0.10, "time": "00:00-07:00"},
        {"price": 0.05, "time": "02:00-04:00", "days": "sun"},
    ]})
    assert t.import_price_at(at(2026, 1, 4, 3)) == 0.05  # Sunday: the later period wins
    assert t.import_price_at(at(2026, 1, 5, 3)) == 0.10  # Monday: only the first applies
    assert t.import_price_at(at(2026, 1, 5, 12)) == 0.30
    reordered = tariff({"default": 0.30, "periods": [
        {"price": 0.05, "time": "02:00-04:00", "days": "sun"},
        {"price": 0.10, "time": "00:00-07:00"},
    ]})
    assert reordered.import_price_at(at(2026, 1, 4, 3)) == 0.10


def test_gap_without_default_is_a_located_error(tmp_path: Path) -> None:
    text = BASE.replace(
        "  import:\n    default: 0.25\n",
        "  import:\n    periods:\n      - price: 0.3\n        time: \"07:00-23:00\"\n",
    )
    errors = errors_of(write(tmp_path, text))
    assert len(errors) == 1
    assert "policy.yaml:12:3: tariff.import: no price for fri 2027-01-01 00:00" in errors[0]
    assert "00:00" in errors[0] and "add 'default: <price>'" in errors[0]


def test_full_coverage_without_default_loads(tmp_path: Path) -> None:
    t = tariff({"periods": [
        {"price": 0.3, "time": "07:30-00:30"},
        {"price": 0.1, "time": "00:30-07:30"},
    ]})
    assert t.import_price_at(at(2026, 6, 1, 0, 30)) == 0.1
    assert t.import_price_at(at(2026, 6, 1, 0, 29)) == 0.3


def _csv(tmp_path: Path, rows: list[tuple[str, float]], name: str = "p.csv") -> Path:
    path = tmp_path / name
    path.write_text("timestamp,price\n" + "".join(f"{ts},{p}\n" for ts, p in rows))
    return path


@pytest.mark.parametrize("minutes", [5, 15, 30, 60])
def test_dynamic_csv_resolutions_and_gap_fallback(tmp_path: Path, minutes: int) -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    rows = [((start + timedelta(minutes=minutes * i)).isoformat(), -0.01 * i) for i in range(4)]
    rows += [((start + timedelta(minutes=minutes * 6)).isoformat(), 0.5)]  # a 2-slot gap
    _csv(tmp_path, rows)
    t = tariff({"default": 0.25, "dynamic": {"file": "p.csv"}}, base_dir=tmp_path)
    step = timedelta(minutes=minutes)
    assert t.import_side.series is not None and t.import_side.series.resolution_s == minutes * 60
    assert t.import_price_at(start) == 0.0
    assert t.import_price_at(start + 3 * step + step / 2) == pytest.approx(-0.03)  # negative ok
    assert t.import_price_at(start + 4 * step) == 0.25  # in the gap: the fixed schedule
    assert t.import_price_at(start + 6 * step) == 0.5
    assert t.import_price_at(start + 7 * step) == 0.25  # after the series
    assert t.import_price_at(start - step) == 0.25  # before it


def test_octopus_json(tmp_path: Path) -> None:
    results = [
        {"value_exc_vat": 10.0, "value_inc_vat": 10.5,
         "valid_from": "2026-01-05T00:30:00Z", "valid_to": "2026-01-05T01:00:00Z"},
        {"value_exc_vat": 20.0, "value_inc_vat": -2.1,
         "valid_from": "2026-01-05T00:00:00Z", "valid_to": "2026-01-05T00:30:00Z"},
    ]  # the API lists newest first
    (tmp_path / "agile.json").write_text(json.dumps({"count": 2, "results": results}))
    t = tariff({"default": 0.3, "dynamic": {"file": "agile.json", "format": "octopus"}},
               base_dir=tmp_path)
    assert t.import_price_at(datetime(2026, 1, 5, 0, 10, tzinfo=UTC)) == pytest.approx(-0.021)
    assert t.import_price_at(datetime(2026, 1, 5, 0, 40, tzinfo=UTC)) == pytest.approx(0.105)
    assert t.import_price_at(datetime(2026, 1, 5, 1, 0, tzinfo=UTC)) == 0.3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("timestamp,price\n2026-01-05T00:00:00Z,0.1\n2026-01-05 00:30,0.2\n",
         "p.csv: row 3: timestamp '2026-01-05 00:30' has no UTC offset"),
        ("timestamp,price\n2026-01-05T00:00:00Z,0.1\n2026-01-05T00:30:00Z,abc\n",
         "p.csv: row 3: price 'abc' is not a number"),
        ("timestamp,price\n2026-01-05T00:00:00Z,0.1\n2026-01-05T00:30:00Z,nan\n",
         "p.csv: row 3: price 'nan' is not a finite number"),
        ("time,price\n2026-01-05T00:00:00Z,0.1\n", "p.csv: row 1: no column 'timestamp'"),
        ("timestamp,price\n2026-01-05T00:00:00Z,0.1\n2026-01-05T00:20:00Z,0.1\n"
         "2026-01-05T00:40:00Z,0.1\n", "slots are 1200 s long"),
        ("timestamp,price\n2026-01-05T00:00:00Z,0.1\n2026-01-05T00:30:00Z,0.1\n"
         "2026-01-05T00:30:00Z,0.2\n", "overlaps the slot before it"),
        ("timestamp,price\n2026-01-05T00:00:00Z,0.1\n2026-01-05T00:30:00Z,0.1\n"
         "2026-01-05T01:00:00Z,0.1\n2026-01-05T01:15:00Z,0.2\n",
         "row 5: does not fit the series' 30-minute slots"),
    ],
)
def test_bad_price_files_name_the_row(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "p.csv").write_text(content)
    with pytest.raises(PriceFileError) as info:
        tariff({"default": 0.3, "dynamic": {"file": "p.csv"}}, base_dir=tmp_path)
    assert message in str(info.value)


def test_bad_price_file_is_located_in_the_policy(tmp_path: Path) -> None:
    text = BASE.replace("    default: 0.25\n", "    default: 0.25\n    dynamic:\n"
                        "      file: missing.csv\n")
    errors = errors_of(write(tmp_path, text))
    assert errors == [
        f"{tmp_path / 'policy.yaml'}:15:7: tariff.import.dynamic.file: missing.csv: price file "
        "not found (hint: fix the price file, or check 'format', 'column' and "
        "'timestamp_column')"
    ]


def test_known_until_follows_day_ahead_publication() -> None:
    t = tariff({"default": 0.25, "dynamic": {"file": str(DATA), "column": "import_price"}})
    # Before 16:00 local, prices run until 23:00 local today (published yesterday).
    assert t.known_until(at(2018, 6, 1, 15, 59)) == at(2018, 6, 1, 23, 0)
    assert t.known_until(at(2018, 6, 1, 16, 0)) == at(2018, 6, 2, 23, 0)
    # Never past the end of the file (2018-12-31 23:30 UTC + 30 min).
    assert t.known_until(at(2018, 12, 31, 17, 0)) == datetime(2019, 1, 1, tzinfo=UTC)
    assert tariff({"default": 0.25}).known_until(at(2018, 6, 1)) is None


def test_outlook_holds_only_known_prices() -> None:
    t = tariff({"default": 0.25, "dynamic": {"file": str(DATA), "column": "import_price"}},
               {"default": 0.0, "dynamic": {"file": str(DATA), "column": "export_price"}})
    now = at(2018, 6, 1, 15, 10)  # BST: 14:10 UTC
    o = t.outlook(now)
    assert o.start_s[0] == int(datetime(2018, 6, 1, 14, 0, tzinfo=UTC).timestamp())
    assert o.end_s == int(at(2018, 6, 1, 23, 0).timestamp())
    assert len(o) == 16  # 14:00-22:00 UTC
    assert o.import_per_kwh.tolist() == t.import_prices(o.start_s).tolist()
    assert o.export_per_kwh[0] == t.export_price_at(now)
    short = t.outlook(now, horizon_s=3600)
    assert len(short) == 3  # 14:00, 14:30 and the slot holding now + 1 h


def test_vector_lookup_accepts_datetime64() -> None:
    t = tariff({"default": 0.25, "periods": [{"price": 0.1, "time": "00:30-07:30"}]})
    idx = np.array(["2026-07-01T23:30:00", "2026-07-01T23:29:00"], dtype="datetime64[s]")
    assert t.import_prices(idx).tolist() == [0.1, 0.25]  # 00:30 BST and 00:29 BST


# --- property: scalar == vectorised == brute-force reference ----------------------------------

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _ref_in_time(text: str, minute: int) -> tuple[bool, bool]:
    """(matches, on the previous day's part) by plain reading of HH:MM-HH:MM."""
    a, b = text.split("-")
    s = int(a[:2]) * 60 + int(a[3:])
    e = int(b[:2]) * 60 + int(b[3:])
    if s == e:
        return False, False
    if s < e:
        return s <= minute < e, False
    if minute >= s:
        return True, False
    return minute < e, minute < e


def reference_price(periods: list[dict[str, Any]], default: float, t: datetime,
                    tz: ZoneInfo) -> float:
    """Walk the periods from last to first on the local wall clock."""
    loc = t.astimezone(tz)
    minute = loc.hour * 60 + loc.minute
    for p in reversed(periods):
        day = loc.date()
        if "time" in p:
            ok, previous = _ref_in_time(p["time"], minute)
            if not ok:
                continue
            if previous:
                day = day - timedelta(days=1)
        if "days" in p and _DAYS[day.weekday()] not in p["days"]:
            continue
        if "months" in p and day.month not in p["months"]:
            continue
        if "dates" in p:
            lo, hi = (date.fromisoformat(x) for x in p["dates"].split(".."))
            if not lo <= day <= hi:
                continue
        return float(p["price"])
    return default


_hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15,
                  30, 45, 59]))
_period = st.fixed_dictionaries(
    {"price": st.floats(-0.5, 1.0, allow_nan=False).map(lambda x: round(x, 4))},
    optional={
        "time": st.builds(lambda a, b: f"{a}-{b}", _hhmm, _hhmm),
        "days": st.lists(st.sampled_from(_DAYS), min_size=1, max_size=7, unique=True),
        "months": st.lists(st.integers(1, 12), min_size=1, max_size=12, unique=True),
        "dates": st.sampled_from(["2026-03-28..2026-03-29", "2026-10-24..2026-10-26",
                                  "2026-01-01..2026-12-31"]),
    },
)
SPRING_DAY = datetime(2026, 3, 29, tzinfo=UTC)
AUTUMN_DAY = datetime(2026, 10, 25, tzinfo=UTC)
_instant = st.one_of(
    st.integers(-86_400, 2 * 86_400).map(lambda s: SPRING_DAY + timedelta(seconds=s)),
    st.integers(-86_400, 2 * 86_400).map(lambda s: AUTUMN_DAY + timedelta(seconds=s)),
    st.integers(0, 3 * 365 * 86_400).map(
        lambda s: datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=s)),
)


@settings(max_examples=200, deadline=None)
@given(periods=st.lists(_period, max_size=5), default=st.floats(0, 1, allow_nan=False),
       instants=st.lists(_instant, min_size=1, max_size=25))
def test_price_lookups_agree_with_brute_force(
    periods: list[dict[str, Any]], default: float, instants: list[datetime]
) -> None:
    side = PriceSide.from_spec(
        PriceSchedule.model_validate({"default": default, "periods": periods}), LONDON, Path(".")
    )
    expected = [reference_price(periods, default, t, LONDON) for t in instants]
    assert [side.price_at(t) for t in instants] == expected
    seconds = np.asarray([int(t.timestamp()) for t in instants], dtype=np.int64)
    assert side.prices_s(seconds).tolist() == expected


@settings(max_examples=50, deadline=None)
@given(offsets=st.lists(st.integers(0, 365 * 86_400), min_size=1, max_size=40))
def test_dynamic_lookups_agree_on_real_prices(offsets: list[int]) -> None:
    t = tariff({"default": 0.25, "periods": [{"price": 0.1, "time": "00:30-07:30"}],
                "dynamic": {"file": str(DATA), "column": "import_price"}})
    base = datetime(2018, 1, 1, tzinfo=UTC) - timedelta(days=2)
    instants = [base + timedelta(seconds=o) for o in offsets]
    seconds = np.asarray([int(x.timestamp()) for x in instants], dtype=np.int64)
    assert t.import_prices(seconds).tolist() == [t.import_price_at(x) for x in instants]


def test_outlook_slots_follow_local_edges_in_a_quarter_hour_zone() -> None:
    kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+05:45
    spec = TariffSpec.model_validate({"import": {"default": 0.3, "periods": [
        {"price": 0.1, "time": "22:00-06:00"}]}, "export": {"default": 0.0}})
    t = Tariff.from_spec(spec, kathmandu, Path("."))
    now = datetime(2026, 1, 5, 21, 0, tzinfo=kathmandu)
    o = t.outlook(now, horizon_s=12 * 3600)
    assert o.slot_end_s[0] - o.start_s[0] == 900
    # Every slot's price is the price over its whole span: check both ends of each slot.
    for start, end, price in zip(o.start_s, o.slot_end_s, o.import_per_kwh, strict=True):
        first = datetime.fromtimestamp(int(start), UTC)
        last = datetime.fromtimestamp(int(end) - 1, UTC)
        assert t.import_price_at(first) == t.import_price_at(last) == price
    assert set(o.import_per_kwh.tolist()) == {0.1, 0.3}


@settings(max_examples=60, deadline=None)
@given(offset_s=st.integers(0, 364 * 86_400), later_s=st.integers(0, 3 * 86_400),
       horizon_s=st.integers(1800, 4 * 86_400))
def test_outlook_never_shows_unpublished_prices(offset_s: int, later_s: int,
                                                 horizon_s: int) -> None:
    t = tariff({"default": 0.25, "dynamic": {"file": str(DATA), "column": "import_price"}})
    now = datetime(2018, 1, 1, tzinfo=UTC) + timedelta(seconds=offset_s)
    known = t.known_until(now)
    assert known is not None
    o = t.outlook(now, horizon_s=horizon_s)
    assert o.start_s[0] <= now.timestamp() < o.slot_end_s[0]  # the current slot is always there
    assert len(o) == 1 or o.end_s <= known.timestamp()
    assert o.end_s <= now.timestamp() + horizon_s + 1800
    later = t.known_until(now + timedelta(seconds=later_s))
    assert later is not None and later >= known  # what is known never shrinks
