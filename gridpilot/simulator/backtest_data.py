"""The data a backtest runs on: recorded data loaded (by format, a column mapping or an
xStorage export), checked, cut to a period and resampled to the simulation step; with
``prices: data``, the data's own prices to decide with, past the period's end as day-ahead
prices would be. ``gridpilot simulate`` and ``gridpilot sweep`` read their ``--data`` options
into :class:`DataOptions`; messages name those options."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from gridpilot.errors import DataError
from gridpilot.recorded import (
    ColumnSpec,
    CsvMapping,
    check_plausibility,
    detect_format,
    load_csv,
    load_data,
    load_simple_csv,
    load_xstorage_csv,
)
from gridpilot.recorded.base import LoadReport, TimeSeries
from gridpilot.recorded.resample import FillMethod, GapPolicy, resample
from gridpilot.simulator.pricesource import PRICE_COLUMNS, PriceSource, require_price_columns
from gridpilot.simulator.replay import DEFAULT_HORIZON_S

__all__ = [
    "BacktestData",
    "DataOptions",
    "local_minute",
    "parse_date",
    "prepare_backtest_data",
    "requested_period",
]


@dataclass(frozen=True)
class DataOptions:
    """Where the recorded data is and how to read, cut and resample it (the ``--data``
    options of ``simulate`` and ``sweep``)."""

    data: str
    format: str = "auto"
    start: str | None = None
    """First day or time (site time unless it has an offset)."""
    end: str | None = None
    """End, exclusive."""
    step_s: int = 300
    fill: FillMethod = "fail"
    """What to do with gaps: ``fail``, ``hold``, ``linear`` or ``zero``."""
    map: tuple[str, ...] = ()
    """``FIELD=COLUMN[:UNIT]`` column mappings."""
    time_column: str | None = None
    time_format: str | None = None
    timezone: str | None = None
    """How timestamps without an offset are read (default: the site's timezone)."""
    delimiter: str | None = None
    prices: PriceSource = "policy"
    accept_implausible: bool = False


def parse_date(text: str, tz: ZoneInfo, what: str) -> int:
    """UNIX seconds of ``text`` (a date or ISO time; naive values read in ``tz``)."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"{what} {text!r}: use YYYY-MM-DD or an ISO 8601 time") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return int(t.timestamp())


def local_minute(unix_s: int, tz: ZoneInfo) -> str:
    """``YYYY-MM-DD HH:MM`` in site time, as messages about the period show it."""
    return datetime.fromtimestamp(unix_s, tz).strftime("%Y-%m-%d %H:%M")


def requested_period(opts: DataOptions, tz: ZoneInfo) -> tuple[int | None, int | None]:
    """``--from`` and ``--to`` as UNIX seconds (``None`` where not given)."""
    start = parse_date(opts.start, tz, "--from") if opts.start else None
    end = parse_date(opts.end, tz, "--to") if opts.end else None
    return start, end


class BacktestData(NamedTuple):
    """The steps to simulate, and with ``--prices data`` the data's prices to decide with:
    those run up to two days past ``--to``, as the day-ahead prices published by the last
    steps would have."""

    series: TimeSeries
    prices: TimeSeries | None


def prepare_backtest_data(opts: DataOptions, tz: ZoneInfo) -> BacktestData:
    """Load ``--data``, check it, cut it to ``--from``/``--to`` and resample it to ``--step``.
    Every warning (implausible values, a period the data does not cover) is kept in the load
    report (``series.report.warnings``), for the caller to show."""
    step_s = opts.step_s
    loaded = _load(opts, tz)
    data_prices = opts.prices == "data"
    if data_prices:
        require_price_columns(loaded)
    available = (int(loaded.start_s[0]), loaded.end_s) if len(loaded) else (0, 0)
    start, end = requested_period(opts, tz)
    margin = loaded.interval_s
    series = loaded
    if start is not None or end is not None:
        series = loaded.slice_time(
            None if start is None else start - margin, None if end is None else end + margin
        )
    if len(series) == 0:
        raise DataError(f"{opts.data}: no data between --from and --to")
    series = resample(series, step_s, gaps=GapPolicy(opts.fill))
    series = series.slice_time(start, end)
    if len(series) == 0:
        raise DataError(f"{opts.data}: no whole {step_s} s step between --from and --to")
    _note_shortened(opts, series, available, (start, end), tz)
    prices: TimeSeries | None = None
    if data_prices:
        prices = series
        if end is not None:
            ahead = TimeSeries(loaded.start_s, loaded.interval_s,
                               {c: loaded.columns[c] for c in PRICE_COLUMNS},
                               LoadReport(source=loaded.report.source))
            ahead = ahead.slice_time(None if start is None else start - margin,
                                     end + DEFAULT_HORIZON_S + margin)
            try:
                ahead = resample(ahead, step_s, gaps=GapPolicy(opts.fill))
            except DataError:
                # A gap past --to that the gap policy refuses: decide with the prices of the
                # simulated period only, rather than fail over data outside it.
                ahead = prices
            prices = ahead.slice_time(start, end + DEFAULT_HORIZON_S)
    return BacktestData(series, prices)


def _note_shortened(
    opts: DataOptions,
    series: TimeSeries,
    available: tuple[int, int],
    requested: tuple[int | None, int | None],
    tz: ZoneInfo,
) -> None:
    """A warning when the simulated period is shorter than the one asked for: a bill over 7
    days must not pass for one over 38."""
    start, end = requested
    first, last_end = int(series.start_s[0]), series.end_s
    if not ((start is not None and first > start) or (end is not None and last_end < end)):
        return
    asked_from = local_minute(start if start is not None else available[0], tz)
    asked_to = local_minute(end if end is not None else available[1], tz)
    asked_days = ((end if end is not None else available[1])
                  - (start if start is not None else available[0])) / 86400
    outside = (start is not None and start < available[0]) or (
        end is not None and end > available[1])
    why = (f"the data covers only {local_minute(available[0], tz)} to "
           f"{local_minute(available[1], tz)}"
           if outside else f"only whole {series.interval_s} s steps are simulated")
    series.report.warnings.append(
        f"{opts.data}: asked for {asked_from} to {asked_to} ({asked_days:.4g} days, {tz.key}) "
        f"but {why}: simulating {local_minute(first, tz)} to {local_minute(last_end, tz)} "
        f"({(last_end - first) / 86400:.4g} days) only"
    )


_DEFAULT_UNITS = {"import_price": "per_kwh", "export_price": "per_kwh", "soc_pct": "pct"}


def _load(opts: DataOptions, tz: ZoneInfo) -> TimeSeries:
    """Load ``--data``. Timestamps without an offset are site time unless ``--timezone`` says
    otherwise: a unit's export and most hand-made CSVs are written in local time."""
    accept = opts.accept_implausible
    zone = opts.timezone or tz.key
    if opts.map:
        series = _load_mapped(opts, zone)
    else:
        fmt = _data_format(opts)
        if fmt == "csv" and opts.delimiter is not None:
            series = load_simple_csv(opts.data, delimiter=opts.delimiter)
        elif fmt != "xstorage-csv":
            return load_data(opts.data, fmt, accept_implausible=accept,
                             accept_hint="--accept-implausible")
        else:
            series = load_xstorage_csv(opts.data, timestamp_format=opts.time_format or "auto",
                                       timezone=zone, delimiter=opts.delimiter or "auto")
    # The same checks load_data makes, for the loaders called with options here.
    return check_plausibility(series, accept=accept, accept_hint="--accept-implausible")


def _data_format(opts: DataOptions) -> str:
    """The format of ``--data``: given, or detected from its header (split at ``--delimiter``
    when that is given). A ``--delimiter`` the format cannot use is an error, not ignored."""
    fmt: str = (detect_format(opts.data, delimiter=opts.delimiter) if opts.format == "auto"
                else opts.format)
    if opts.delimiter is not None and fmt not in _DELIMITED_FORMATS:
        raise DataError(
            f"--delimiter {opts.delimiter!r}: {opts.data} is read as {fmt}, whose layout is "
            f"fixed (--delimiter works with --format {' or '.join(_DELIMITED_FORMATS)}, "
            "or with --map)"
        )
    return fmt


_DELIMITED_FORMATS = ("csv", "xstorage-csv")


def _load_mapped(opts: DataOptions, zone: str) -> TimeSeries:
    columns: dict[str, ColumnSpec] = {}
    for item in opts.map:
        field, sep, rest = item.partition("=")
        if not sep or not field.strip() or not rest.strip():
            raise DataError(f"--map {item!r}: use FIELD=COLUMN or FIELD=COLUMN:UNIT")
        column, _, unit = rest.rpartition(":") if ":" in rest else (rest, "", "")
        field = field.strip()
        columns[field] = ColumnSpec(column.strip(), unit.strip() or _DEFAULT_UNITS.get(field, "W"))
    if opts.format == "xstorage-csv":
        return load_xstorage_csv(opts.data, columns=columns,
                                 timestamp_column=opts.time_column or "DATE",
                                 timestamp_format=opts.time_format or "auto", timezone=zone,
                                 delimiter=opts.delimiter or "auto")
    if opts.format not in ("auto", "csv"):
        raise DataError(f"--map works with --format csv or xstorage-csv, not {opts.format!r}")
    mapping = CsvMapping(columns=columns, timestamp_columns=(opts.time_column or "timestamp",),
                         timestamp_format=opts.time_format or "iso", timezone=zone,
                         delimiter=opts.delimiter or ",")
    return load_csv(opts.data, mapping)
