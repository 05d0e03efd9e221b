"""The UK 2018 files: the half-hourly composite and the raw Elexon and Agile Outgoing files.

Both raw files count UK local time. Elexon numbers settlement periods from local midnight: a day
has 48 periods, 46 on the spring clock-change day and 50 on the autumn one, so period ``k`` starts
``(k - 1) * 30`` minutes of elapsed time after local midnight. The Agile Outgoing file uses
wall-clock stamps: the spring day lacks 01:00 and 01:30, the autumn day repeats them.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.errors import DataError
from gridpilot.recorded.base import LoadReport, TimeSeries, read_text, regularise
from gridpilot.recorded.csvfile import ColumnSpec, CsvMapping, load_csv, parse_number

__all__ = [
    "UK_COMPOSITE_MAPPING",
    "load_agile_outgoing",
    "load_elexon_settlement",
    "load_simple_csv",
    "load_uk_composite",
    "periods_in_day",
]

UK = ZoneInfo("Europe/London")

UK_COMPOSITE_MAPPING = CsvMapping(
    columns={
        "load_w": ColumnSpec("load_w", "W"),
        "pv_w": ColumnSpec("pv_w", "W"),
        "import_price": ColumnSpec("import_price", "per_kwh"),
        "export_price": ColumnSpec("export_price", "per_kwh"),
    },
    timestamp_columns=("timestamp",),
    interval_s=1800,
)


def load_uk_composite(path: str | Path) -> TimeSeries:
    """``uk-2018-halfhourly.csv``: UTC interval starts, ``load_w``/``pv_w`` average W, prices in
    GBP/kWh."""
    return load_csv(path, UK_COMPOSITE_MAPPING)


def load_simple_csv(path: str | Path, *, delimiter: str = ",") -> TimeSeries:
    """The plain format: ``timestamp`` (ISO 8601 interval starts; without an offset read as
    UTC), ``load_w`` and ``pv_w`` [W average], and optionally ``import_price`` and
    ``export_price`` [currency/kWh]; columns split at ``delimiter``."""
    text = read_text(path)
    header = [h.strip() for h in text.splitlines()[0].split(delimiter)] if text else []
    cols = {name: ColumnSpec(name, "W") for name in ("load_w", "pv_w")}
    for name in ("import_price", "export_price"):
        if name in header:
            cols[name] = ColumnSpec(name, "per_kwh")
    return load_csv(path, CsvMapping(columns=cols, delimiter=delimiter))


def periods_in_day(day: date, tz: ZoneInfo = UK) -> int:
    """Half-hour settlement periods in the local ``day``: 48, or 46/50 on clock-change days."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)
    return int((end - start).total_seconds() // 1800)


def load_elexon_settlement(path: str | Path) -> TimeSeries:
    """Elexon ``sspsbpniv.csv``: columns ``system_sell_price`` and ``system_buy_price`` in GBP/kWh
    (the file is in GBP/MWh), ``net_imbalance_mwh``."""
    source = str(path)
    text = read_text(path)
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    wanted = {
        "date": "Settlement Date",
        "period": "Settlement Period",
        "ssp": "System Sell Price(£/MWh)",
        "sbp": "System Buy Price(£/MWh)",
        "niv": "Net Imbalance Volume(MWh)",
    }
    idx: dict[str, int] = {}
    for key, name in wanted.items():
        if name not in header:
            raise DataError(f"{source}: row 1: missing column {name!r}; is this an Elexon file?")
        idx[key] = header.index(name)
    report = LoadReport(source=source, units={
        "system_sell_price": "GBP/MWh", "system_buy_price": "GBP/MWh", "net_imbalance_mwh": "MWh"
    })
    day_start: dict[date, int] = {}
    day_len: dict[date, int] = {}
    times: list[int] = []
    rownos: list[int] = []
    cols: dict[str, list[float]] = {"system_sell_price": [], "system_buy_price": [],
                                    "net_imbalance_mwh": []}
    for rowno, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            d = datetime.strptime(row[idx["date"]].strip(), "%d/%m/%Y").date()
        except (ValueError, IndexError):
            raise DataError(
                f"{source}: row {rowno}, column 'Settlement Date': expected dd/mm/yyyy"
            ) from None
        if d not in day_start:
            day_start[d] = int(datetime(d.year, d.month, d.day, tzinfo=UK).timestamp())
            day_len[d] = periods_in_day(d)
        try:
            period = int(row[idx["period"]])
        except ValueError:
            raise DataError(
                f"{source}: row {rowno}, column 'Settlement Period': {row[idx['period']]!r} "
                "is not a whole number"
            ) from None
        if not 1 <= period <= day_len[d]:
            raise DataError(
                f"{source}: row {rowno}, column 'Settlement Period': period {period} on "
                f"{d.isoformat()}, which has {day_len[d]} periods"
            )
        times.append(day_start[d] + (period - 1) * 1800)
        rownos.append(rowno)
        for key, name in (("ssp", "system_sell_price"), ("sbp", "system_buy_price"),
                          ("niv", "net_imbalance_mwh")):
            cell = row[idx[key]].strip()
            cols[name].append(parse_number(cell, rowno, wanted[key], source) if cell else np.nan)
    report.rows = len(times)
    short = sum(1 for n in day_len.values() if n == 46)
    long_ = sum(1 for n in day_len.values() if n == 50)
    if short or long_:
        report.repairs.append(
            f"settlement periods counted from local midnight: {short} day(s) of 46 periods, "
            f"{long_} day(s) of 50"
        )
    values = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
    report.columns.update({"system_sell_price": wanted["ssp"], "system_buy_price": wanted["sbp"],
                           "net_imbalance_mwh": wanted["niv"]})
    series = regularise(np.asarray(times, dtype=np.int64), values, report, interval_s=1800,
                        rows=np.asarray(rownos, dtype=np.int64))
    series.columns["system_sell_price"] = series.columns["system_sell_price"] / 1000.0
    series.columns["system_buy_price"] = series.columns["system_buy_price"] / 1000.0
    return series


def load_agile_outgoing(path: str | Path) -> TimeSeries:
    """Octopus Agile Outgoing export rates (p/kWh, UK wall-clock stamps) as ``export_price`` in
    GBP/kWh."""
    mapping = CsvMapping(
        columns={"export_price": ColumnSpec("Outgoing Agile Rate (p/kWh)", "per_100_kwh")},
        timestamp_columns=("Date_Time",),
        timestamp_format="%Y-%m-%d %H:%M:%S",
        timezone="Europe/London",
        interval_s=1800,
    )
    return load_csv(path, mapping)
