"""PNG plots of a backtest (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gridpilot.simulator.backtest import Backtest

__all__ = ["plot_all", "plot_daily_peaks", "plot_monthly_bills", "plot_week"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_all(bt: Backtest, out: Path, week_start_s: int) -> list[str]:
    names = ["week.png", "monthly_bills.png", "daily_peaks.png"]
    plot_week(bt, out / names[0], week_start_s)
    plot_monthly_bills(bt, out / names[1])
    plot_daily_peaks(bt, out / names[2])
    return names


def plot_week(bt: Backtest, path: Path, week_start_s: int) -> None:
    """Load, PV, battery and grid power, SOC and import price over 7 days."""
    plt = _plt()
    rep = bt.replay
    lo = int(np.searchsorted(rep.start_s, week_start_s))
    hi = int(np.searchsorted(rep.start_s, week_start_s + 7 * 86400))
    t = (rep.start_s[lo:hi].astype("datetime64[s]")).astype(object)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    ax1.plot(t, rep.load_w[lo:hi] / 1000, label="load", lw=0.9)
    ax1.plot(t, rep.pv_w[lo:hi] / 1000, label="PV", lw=0.9)
    ax1.plot(t, rep.battery_w[lo:hi] / 1000, label="battery (+ discharge)", lw=0.9)
    ax1.plot(t, rep.grid_w[lo:hi] / 1000, label="grid (+ import)", lw=0.9)
    ax1.set_ylabel("power [kW]")
    ax1.legend(loc="upper left", ncol=4, fontsize=8)
    ax1.grid(alpha=0.3)
    ax2.plot(t, rep.soc_pct[lo:hi], color="tab:green", label="SOC")
    ax2.set_ylabel("SOC [%]")
    ax2.set_ylim(0, 100)
    ax3 = ax2.twinx()
    ax3.step(t, rep.import_price[lo:hi], where="post", color="tab:red", lw=0.8,
             label="import price")
    ax3.set_ylabel(f"import price [{bt.currency}/kWh]")
    ax2.grid(alpha=0.3)
    fig.suptitle(f"{bt.policy_name}: power flows, SOC and price (UTC)")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_monthly_bills(bt: Backtest, path: Path) -> None:
    plt = _plt()
    runs = [("policy", bt.policy), ("no battery", bt.no_battery),
            ("self-consumption", bt.self_consumption)]
    if bt.optimum is not None:
        runs.append(("optimum", bt.optimum))
    months = [m.month for m in bt.policy.months]
    x = np.arange(len(months))
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(12, 5))
    for i, (label, tot) in enumerate(runs):
        ax.bar(x + i * width, [m.bill for m in tot.months], width, label=label)
    ax.set_xticks(x + 0.4 - width / 2, months, rotation=45)
    ax.set_ylabel(f"bill [{bt.currency}]")
    ax.axhline(0, color="black", lw=0.6)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{bt.policy_name}: monthly bills")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_daily_peaks(bt: Backtest, path: Path) -> None:
    plt = _plt()
    rep = bt.replay
    day = (rep.start_s - rep.start_s[0]) // 86400
    nd = int(day[-1]) + 1
    peaks = np.zeros(nd)
    base = np.zeros(nd)
    np.maximum.at(peaks, day, np.maximum(rep.grid_w, 0.0))
    np.maximum.at(base, day, np.maximum(rep.load_w - rep.pv_w, 0.0))
    fig, ax = plt.subplots(figsize=(12, 4))
    ax.plot(np.arange(nd), base / 1000, lw=0.8, label="no battery")
    ax.plot(np.arange(nd), peaks / 1000, lw=0.8, label="policy")
    if bt.max_import_w is not None:
        ax.axhline(bt.max_import_w / 1000, color="tab:red", ls="--", label="import limit")
    ax.set_xlabel("day of the period")
    ax.set_ylabel("daily peak import [kW]")
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title(f"{bt.policy_name}: daily peak import")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
