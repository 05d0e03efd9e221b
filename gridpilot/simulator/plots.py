"""PNG plots of a backtest (matplotlib, headless).

Every time axis is in the site's timezone, as the policy is, and its label names the zone. Each
quantity has one colour in every plot (:data:`COLOURS`), so no colour means two things. The
``*_figure`` functions build the figures (for tests and callers that want to restyle them); the
``plot_*`` functions write them as PNG.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib import dates as _mdates
from matplotlib.figure import Figure

from gridpilot.simulator.backtest import Backtest

__all__ = [
    "COLOURS",
    "daily_peaks_figure",
    "local_days",
    "monthly_bills_figure",
    "plot_all",
    "plot_daily_peaks",
    "plot_monthly_bills",
    "plot_week",
    "week_figure",
]

COLOURS: dict[str, str] = {
    # power flows and battery state
    "load": "tab:blue",
    "PV": "tab:orange",
    "battery (+ discharge)": "tab:green",
    "grid (+ import)": "tab:red",
    "SOC": "tab:purple",
    "import price": "tab:brown",
    # the runs compared (their bills, their grid import)
    "policy": "tab:cyan",
    "no battery": "tab:gray",
    "self-consumption": "tab:olive",
    "optimum": "tab:pink",
    # limits
    "import limit": "black",
}
"""The colour of each plotted quantity, keyed by its legend label, the same in every figure."""

_DPI = 100
mdates: Any = _mdates  # its locators and formatters are not annotated
# A week's legends sit above their panel: inside, they would hide a day of data.
_ABOVE: dict[str, Any] = {"loc": "lower left", "bbox_to_anchor": (0.0, 1.0), "frameon": False,
                          "fontsize": 8}


def _site_time(tz: ZoneInfo) -> str:
    return f"site time, {tz.key}"


def _local_midnight(day: date, tz: ZoneInfo) -> int:
    """UNIX s of the start of ``day`` in ``tz`` (where midnight is skipped, the first instant)."""
    return int(datetime.combine(day, time(), tzinfo=tz).timestamp())


def local_days(start_s: np.ndarray, tz: ZoneInfo) -> tuple[np.ndarray, list[date]]:
    """For each step, the index of its calendar day in ``tz``, and those days."""
    if start_s.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), []
    first = datetime.fromtimestamp(int(start_s[0]), tz).date()
    last = datetime.fromtimestamp(int(start_s[-1]), tz).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    ends = np.asarray([_local_midnight(d + timedelta(days=1), tz) for d in days], dtype=np.int64)
    return np.searchsorted(ends, start_s, side="right").astype(np.int64), days


def plot_all(bt: Backtest, out: Path, week_start_s: int) -> list[str]:
    names = ["week.png", "monthly_bills.png", "daily_peaks.png"]
    plot_week(bt, out / names[0], week_start_s)
    plot_monthly_bills(bt, out / names[1])
    plot_daily_peaks(bt, out / names[2])
    return names


def plot_week(bt: Backtest, path: Path, week_start_s: int) -> None:
    week_figure(bt, week_start_s).savefig(path, dpi=_DPI)


def plot_monthly_bills(bt: Backtest, path: Path) -> None:
    monthly_bills_figure(bt).savefig(path, dpi=_DPI)


def plot_daily_peaks(bt: Backtest, path: Path) -> None:
    daily_peaks_figure(bt).savefig(path, dpi=_DPI)


def week_figure(bt: Backtest, week_start_s: int) -> Figure:
    """Load, PV, battery and grid power, SOC and import price over the 7 site-local days from
    the day that holds ``week_start_s``."""
    rep, tz = bt.replay, bt.tz
    # Whole site-local days, so the picture starts and ends on a day tick, also across DST.
    first = datetime.fromtimestamp(week_start_s, tz).date()
    lo = int(np.searchsorted(rep.start_s, _local_midnight(first, tz)))
    hi = int(np.searchsorted(rep.start_s, _local_midnight(first + timedelta(days=7), tz)))
    t = [datetime.fromtimestamp(int(s), tz) for s in rep.start_s[lo:hi]]
    # SOC is a level at an instant, the rest are means over a step: draw those as steps.
    t_soc, soc = list(t), rep.soc_start_pct[lo:hi]
    if hi > lo:
        t_soc.append(datetime.fromtimestamp(int(rep.start_s[hi - 1]) + rep.step_s, tz))
        soc = np.append(soc, rep.soc_pct[hi - 1])

    fig = Figure(figsize=(12, 7), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    for label, values in (
        ("load", rep.load_w),
        ("PV", rep.pv_w),
        ("battery (+ discharge)", rep.battery_w),
        ("grid (+ import)", rep.grid_w),
    ):
        ax1.plot(t, values[lo:hi] / 1000, label=label, color=COLOURS[label], lw=0.9,
                 drawstyle="steps-post")
    ax1.set_ylabel("power [kW]")
    ax1.legend(**_ABOVE, ncol=4)
    ax1.grid(alpha=0.3)

    ax2.plot(t_soc, soc, label="SOC", color=COLOURS["SOC"])
    ax2.set_ylabel("SOC [%]")
    ax2.set_ylim(0, 100)
    ax2.grid(alpha=0.3)
    ax3 = ax2.twinx()
    ax3.plot(t, rep.import_price[lo:hi], label="import price", color=COLOURS["import price"],
             lw=0.8, drawstyle="steps-post")
    ax3.set_ylabel(f"import price [{bt.currency}/kWh]")
    # One legend for both scales of the panel, on the twin so that its lines do not cover it.
    handles = ax2.get_legend_handles_labels()[0] + ax3.get_legend_handles_labels()[0]
    ax3.legend(handles=handles, **_ABOVE, ncol=2)

    ax2.xaxis.set_major_locator(mdates.DayLocator(tz=tz))
    ax2.xaxis.set_major_formatter(mdates.DateFormatter("%a %Y-%m-%d", tz=tz))
    ax2.xaxis.set_minor_locator(mdates.HourLocator(byhour=(6, 12, 18), tz=tz))
    ax2.set_xlabel(_site_time(tz))
    fig.suptitle(f"{bt.policy_name}: power flows, SOC and price ({_site_time(tz)})")
    return fig


def monthly_bills_figure(bt: Backtest) -> Figure:
    """The bill of each site-local month: the policy against the baselines and the optimum."""
    runs = [("policy", bt.policy), ("no battery", bt.no_battery),
            ("self-consumption", bt.self_consumption)]
    if bt.optimum is not None:
        runs.append(("optimum", bt.optimum))
    months = [m.month for m in bt.policy.months]
    x = np.arange(len(months))
    width = 0.8 / len(runs)
    fig = Figure(figsize=(12, 5), layout="constrained")
    ax = fig.subplots()
    for i, (label, tot) in enumerate(runs):
        ax.bar(x + i * width, [m.bill for m in tot.months], width, label=label,
               color=COLOURS[label])
    ax.set_xticks(x + 0.4 - width / 2, months, rotation=45)
    ax.set_xlabel(f"month ({_site_time(bt.tz)})")
    ax.set_ylabel(f"bill [{bt.currency}]")
    ax.axhline(0, color="black", lw=0.6)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{bt.policy_name}: monthly bills")
    return fig


def daily_peaks_figure(bt: Backtest) -> Figure:
    """The highest grid import of each site-local day, with and without the battery."""
    rep, tz = bt.replay, bt.tz
    day, days = local_days(rep.start_s, tz)
    peaks = np.zeros(len(days))
    base = np.zeros(len(days))
    np.maximum.at(peaks, day, np.maximum(rep.grid_w, 0.0))
    np.maximum.at(base, day, np.maximum(rep.load_w - rep.pv_w, 0.0))
    fig = Figure(figsize=(12, 4), layout="constrained")
    ax = fig.subplots()
    marker = "." if len(days) <= 62 else None
    x = mdates.date2num(days)
    ax.plot(x, base / 1000, lw=0.8, marker=marker, label="no battery",
            color=COLOURS["no battery"])
    ax.plot(x, peaks / 1000, lw=0.8, marker=marker, label="policy", color=COLOURS["policy"])
    if bt.max_import_w is not None:
        ax.axhline(bt.max_import_w / 1000, color=COLOURS["import limit"], ls="--",
                   label="import limit")
    # The days are calendar dates already (site-local); show them as they are, not shifted.
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=UTC))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d", tz=UTC))
    ax.set_xlabel(f"day ({_site_time(tz)})")
    ax.set_ylabel("daily peak import [kW]")
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title(f"{bt.policy_name}: daily peak import")
    return fig
