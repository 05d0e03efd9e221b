"""Which prices a backtest decides and bills with: the policy's tariff or the data file's.

``policy`` (the default) uses the policy's ``tariff`` section, exactly as the live engine would:
the data's ``import_price``/``export_price`` columns, if any, are not used. ``data`` uses those
two columns instead, for deciding and for billing alike; the rest of the tariff (currency,
standing and demand charges) stays the policy's.

Data prices are treated like a dynamic price file: published day-ahead at the policy's
``dynamic.published_at`` for up to ``dynamic.covers_until`` the next day (16:00 and 23:00 site
time unless the policy's own dynamic prices say otherwise), so a strategy sees only what would
have been published by each tick. Their slot length is the longest of 1 h, 30, 15, 5 and 1
minutes (and at least the simulation step) over which every price stays the same.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Literal

import numpy as np

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.errors import DataError
from gridpilot.recorded.base import TimeSeries
from gridpilot.rules.prices import PriceSeries
from gridpilot.rules.tariff import PriceSide, Tariff

if TYPE_CHECKING:
    from gridpilot.rules.policy import Policy

__all__ = [
    "DEFAULT_PRICE_SOURCE",
    "PRICE_COLUMNS",
    "PRICE_SOURCES",
    "PriceSource",
    "describe_prices",
    "require_price_columns",
    "with_data_prices",
]

PriceSource = Literal["policy", "data"]
PRICE_SOURCES: tuple[PriceSource, ...] = ("policy", "data")
DEFAULT_PRICE_SOURCE: PriceSource = "policy"
PRICE_COLUMNS = ("import_price", "export_price")
_SLOTS_S = (3600, 1800, 900, 300, 60)


def require_price_columns(series: TimeSeries) -> None:
    """A :class:`DataError` naming the file and the missing column(s) unless ``series`` has
    both price columns."""
    missing = [c for c in PRICE_COLUMNS if c not in series.columns]
    if missing:
        have = ", ".join(sorted(series.columns)) or "none"
        raise DataError(
            f"{series.report.source}: --prices data needs the columns "
            f"{' and '.join(PRICE_COLUMNS)}, but the data has no "
            f"{' and no '.join(repr(c) for c in missing)} column (it has: {have}); add "
            "the column, map it with --map FIELD=COLUMN[:UNIT], or bill with --prices policy"
        )


def describe_prices(source: PriceSource, data_source: str, has_data_prices: bool) -> str:
    """One line for the summary and the report: which prices were used, and what was not."""
    if source == "data":
        return (f"the data's import_price and export_price columns (--prices data, "
                f"{data_source}); standing and demand charges from the policy")
    if has_data_prices:
        return ("the policy's tariff (--prices policy); the data's import_price and "
                "export_price columns are not used (--prices data would use them)")
    return "the policy's tariff (--prices policy)"


def with_data_prices(policy: Policy, series: TimeSeries) -> Policy:
    """``policy`` with its import and export prices replaced by the data's price columns."""
    require_price_columns(series)
    old = policy.tariff
    imp, exp = series.complete_columns(
        "import_price", "export_price",
        fix="choose a gap policy (--fill hold|linear|zero) or repair the file",
    )
    slot_s = _slot_s(series.start_s, series.interval_s, (imp, exp))
    tariff = Tariff(
        old.tz,
        _side(old.import_side, series, imp, slot_s),
        _side(old.export_side, series, exp, slot_s),
        currency=old.currency,
        standing_charge_per_day=old.standing_charge_per_day,
        demand_charge_per_kw=old.demand_charge_per_kw,
    )
    return dataclasses.replace(policy, tariff=tariff)


def _slot_s(t_s: IntArray, step_s: int, columns: tuple[FloatArray, ...]) -> int:
    """The longest slot (a multiple of the step, aligned to UTC) within which no price
    changes: a day-ahead outlook of half-hourly prices then plans 48 slots a day, not 288."""
    for slot in _SLOTS_S:
        if slot < step_s or slot % step_s:
            continue
        block = t_s // slot
        same = block[1:] == block[:-1]
        if all(bool(np.all(c[1:][same] == c[:-1][same])) for c in columns):
            return slot
    return step_s


def _side(old: PriceSide, series: TimeSeries, prices: FloatArray, slot_s: int) -> PriceSide:
    t_s = series.start_s
    first = np.flatnonzero(np.concatenate(([True], t_s[1:] // slot_s != t_s[:-1] // slot_s)))
    starts = (t_s[first] // slot_s * slot_s).astype(np.int64)
    ends = np.append(starts[1:], series.end_s).astype(np.int64)
    ps = PriceSeries(starts, ends, prices[first].astype(np.float64), slot_s,
                     series.report.source)
    side = PriceSide(old.tz, old.default, old.periods, ps)
    # Published as the policy's own dynamic prices would be (its defaults otherwise).
    side.publication = old.publication
    return side
