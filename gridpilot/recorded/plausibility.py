"""Plausibility checks on loaded data, the same for every loader.

A loader can only check that a cell holds a number; whether the number makes sense for a home
needs the whole column, its declared unit and the physics of a site. Everything that loads data
for gridpilot (``simulate``, ``sweep``, a scenario test's recorded data, the simulated device)
passes the loader's result through :func:`check_plausibility`:

- **refused** (absurd, unless the caller accepts it): a power above :data:`MAX_SITE_POWER_W`
  in size (a home or small site never draws or makes 1 MW; a 1 TW row billed millions), or a
  power that is not finite after unit conversion;
- **warned** (likely a mistake, named with its rows and the likely cause):

  - a ``load_w`` or ``pv_w`` column read as watts whose every value is below
    :data:`SMALL_POWER_W` (kW, or energy per interval, read as W);
  - a negative ``load_w`` (a net load or a reversed sign), or a ``pv_w`` below
    ``-SMALL_POWER_W`` (an inverter's standby draw is a few watts, not more);
  - a ``soc_pct`` outside 0..100, or one that never exceeds 1 (a fraction read as percent).

Missing values (``NaN``) are gaps, which the gap policy handles; they are not checked here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridpilot.errors import DataError
from gridpilot.recorded.base import TimeSeries

__all__ = [
    "MAX_SITE_POWER_W",
    "SMALL_POWER_W",
    "Finding",
    "check_plausibility",
    "find_implausible",
]

MAX_SITE_POWER_W = 1_000_000.0
"""The largest power [W] a home or small site plausibly draws or makes (1 MW)."""
SMALL_POWER_W = 50.0
"""A whole load or PV column below this [W] is more likely kW (or kWh) than W."""
_NAMED_ROWS = 5
_POWER_UNITS = ("w", "kw", "mw", "wh", "kwh", "mwh")


@dataclass(frozen=True)
class Finding:
    """One implausible column: ``absurd`` findings are refused unless accepted."""

    field: str
    message: str
    absurd: bool


def check_plausibility(
    series: TimeSeries, *, accept: bool = False, accept_hint: str = "--accept-implausible"
) -> TimeSeries:
    """Check ``series`` (see the module docstring) and return it.

    Warnings go into ``series.report.warnings``. Absurd values raise :class:`DataError` naming
    every such column and its rows, unless ``accept``: then they are kept as warnings too.
    ``accept_hint`` names the way the caller accepts them (a flag), for the error message.
    """
    found = find_implausible(series)
    absurd = [f.message for f in found if f.absurd]
    if absurd and not accept:
        how = f", or pass {accept_hint} to use the values as they are" if accept_hint else ""
        others = [f.message for f in found if not f.absurd]
        raise DataError(
            "implausible data:\n  " + "\n  ".join(absurd)
            + f"\nfix the file or the column's unit{how}"
            + "".join(f"\nwarning: {m}" for m in others)
        )
    for f in found:
        accepted = f" (accepted: {accept_hint})" if accept_hint else " (accepted)"
        note = f.message + accepted if f.absurd else f.message
        if note not in series.report.warnings:
            series.report.warnings.append(note)
    return series


def find_implausible(series: TimeSeries) -> list[Finding]:
    """Every implausible column of ``series``, in column order."""
    out: list[Finding] = []
    for name, values in series.columns.items():
        if name.endswith("_w"):
            out.extend(_power_findings(series, name, values))
        elif name == "soc_pct":
            out.extend(_soc_findings(series, name, values))
    return out


def _power_findings(
    series: TimeSeries, name: str, values: npt.NDArray[np.float64]
) -> list[Finding]:
    unit = _declared_unit(series, name)
    where = _column(series, name)
    known = ~np.isnan(values)
    found: list[Finding] = []
    with np.errstate(invalid="ignore"):
        huge = known & ~(np.abs(values) <= MAX_SITE_POWER_W)
    if huge.any():
        idx = np.flatnonzero(huge)
        worst = int(idx[int(np.argmax(np.where(np.isfinite(values[idx]),
                                               np.abs(values[idx]), np.inf)))])
        what = (_watts(float(values[worst])) if idx.shape[0] == 1 else
                f"{idx.shape[0]} values, the largest {_watts(float(values[worst]))} at "
                f"{series.row_of(worst)}")
        found.append(Finding(name, (
            f"{_where(series, idx)}, {where}: {what}, beyond the {_watts(MAX_SITE_POWER_W)} a "
            f"home or small site can draw or make; {_unit_hint(unit)}"
        ), absurd=True))
    finite = values[known & ~huge]
    if finite.shape[0] == 0:
        return found
    if name in ("load_w", "pv_w") and unit == "w":
        top = float(np.max(np.abs(finite)))
        if 0.0 < top < SMALL_POWER_W:
            column = series.report.columns.get(name, name)
            found.append(Finding(name, (
                f"{series.report.source}: {where}: every value is below "
                f"{SMALL_POWER_W:g} W (the largest is {_watts(top)}): these look like kW, or "
                "energy per interval, read as W; declare the column's unit (e.g. "
                f"--map {name}={column}:kW)"
            ), absurd=False))
    low = -SMALL_POWER_W if name == "pv_w" else 0.0
    negative = known & (values < low)
    if name in ("load_w", "pv_w") and negative.any():
        idx = np.flatnonzero(negative)
        lowest = int(idx[int(np.argmin(values[idx]))])
        cause = (
            "a house's consumption is never negative: is the column a net load (load minus "
            "PV, or the grid meter), or is its sign reversed?"
            if name == "load_w"
            else "PV only draws an inverter's few watts of standby: is its sign reversed?"
        )
        found.append(Finding(name, (
            f"{_where(series, idx)}, {where}: {idx.shape[0]} negative value(s), the lowest "
            f"{_watts(float(values[lowest]))} at {series.row_of(lowest)}; {cause}"
        ), absurd=False))
    return found


def _soc_findings(
    series: TimeSeries, name: str, values: npt.NDArray[np.float64]
) -> list[Finding]:
    where = _column(series, name)
    known = ~np.isnan(values)
    found: list[Finding] = []
    outside = known & ((values < 0.0) | (values > 100.0))
    if outside.any():
        idx = np.flatnonzero(outside)
        found.append(Finding(name, (
            f"{_where(series, idx)}, {where}: {idx.shape[0]} value(s) outside 0..100 %, e.g. "
            f"{float(values[idx[0]]):g} at {series.row_of(int(idx[0]))}; a state of charge is "
            "a percentage"
        ), absurd=False))
    good = values[known & ~outside]
    if good.shape[0] and 0.0 < float(good.max()) <= 1.0:
        found.append(Finding(name, (
            f"{series.report.source}: {where}: no value is above 1 %: this looks like a "
            "fraction (0..1) read as percent; declare the unit fraction (e.g. "
            "--map soc_pct=COLUMN:fraction)"
        ), absurd=False))
    return found


def _declared_unit(series: TimeSeries, name: str) -> str:
    """The unit the column was declared in, lower case (``w`` when the loader read watts)."""
    text = series.report.units.get(name, "W").strip().lower()
    first = text.split()[0] if text.split() else "w"
    return first if first in _POWER_UNITS else "w"


def _unit_hint(unit: str) -> str:
    if unit == "w":
        return ("is it a meter glitch, a cumulative meter reading rather than a value per "
                "interval, or a column in another unit?")
    return (f"the column is declared in {_UNIT_NAMES[unit]}: if it holds W (or Wh), declare "
            "that unit instead")


_UNIT_NAMES = {"kw": "kW", "mw": "MW", "wh": "Wh", "kwh": "kWh", "mwh": "MWh"}


def _column(series: TimeSeries, name: str) -> str:
    source = series.report.columns.get(name)
    return f"column {source!r} ({name})" if source and source != name else f"column {name!r}"


def _where(series: TimeSeries, idx: Sequence[int] | npt.NDArray[np.int64]) -> str:
    """``FILE: rows 7, 9 and 3 more``: the rows of the offending values, the first few named."""
    labels = [series.row_of(int(i)) for i in list(idx)[:_NAMED_ROWS]]
    label = series.report.row_label
    numbers = [x.split(" ", 1)[1] if x.startswith(label + " ") else x for x in labels]
    plural = f"{label}s" if len(idx) > 1 else label
    more = len(idx) - len(labels)
    listed = ", ".join(numbers) + (f" and {more} more" if more > 0 else "")
    return f"{series.report.source}: {plural} {listed}"


def _watts(value: float) -> str:
    if not np.isfinite(value):
        return f"{value} W (not finite)"
    for factor, unit in ((1e12, "TW"), (1e9, "GW"), (1e6, "MW"), (1e3, "kW")):
        if abs(value) >= factor:
            return f"{value / factor:,.4g} {unit}"
    return f"{value:,.4g} W"
