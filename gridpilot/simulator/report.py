"""Backtest reports: ``report.json``, ``report.md`` and PNG plots.

``report.json`` (schema ``gridpilot.report/1``)::

    {
      "schema": "gridpilot.report/1",
      "policy": str,                 # site name
      "currency": str,
      "period": {"start": ISO UTC, "end": ISO UTC, "step_s": int, "ticks": int,
                 "timezone": IANA name, "start_local", "last_tick_local", "end_local": ISO
                 site time (first step's start, last step's start, last step's end),
                 "requested_start", "requested_end": ISO site time or null (--from, --to),
                 "shortened": bool},    # the data did not cover the requested period
      "prices": {"source": "policy" | "data", "note": str},   # which prices decided and billed
      "battery": {capacity_kwh, max_charge_w, max_discharge_w, charge_efficiency,
                  discharge_efficiency, min_soc_pct, max_soc_pct, cycle_cost_per_kwh},
      "initial_soc_pct": float,
      "data": {source, rows, units, duplicates, gaps, missing_values, repairs,
               missing_cells,         # missing_cells: empty/'nan' cells (rows named in repairs)
               warnings},             # implausible values, a shortened period
      "results": {                   # one Totals object per run; "optimum" is null without it
        "policy" | "no_battery" | "self_consumption" | "optimum" | "optimum_full_range": {
          import_kwh, export_kwh, load_kwh, pv_kwh, energy_cost, export_revenue,
          standing_charge, demand_charge, bill, peak_import_w, self_consumption (0..1),
          self_sufficiency (0..1), grid_to_load_kwh, grid_to_battery_kwh, pv_to_battery_kwh,
          battery_pv_to_load_kwh, battery_charge_kwh, battery_discharge_kwh,
          equivalent_full_cycles, wear_cost,
          loss_making_cycles_kwh,     # AC kWh discharged for less than it cost to store
          months: [{month "YYYY-MM", import_kwh, export_kwh, energy_cost, export_revenue,
                    standing_charge, demand_charge, bill, peak_import_w}]
        }
      },
      "savings": {
        "vs_no_battery": float, "vs_self_consumption": float,
        # shares in cost (bill + wear) on every side: (no_battery - policy) / (no_battery - opt.)
        "savings_captured": float | null,           # headline: against "optimum" (keeps reserve)
        "savings_captured_basis": str,              # says so in words
        "savings_captured_full_range": float | null,  # against "optimum_full_range"
        "optimum_floor_soc_pct": float | null,      # the headline optimum's floor (the reserve)
        "optimal_cost_bound": float | null,         # solver's lower bound on bill + wear
        "optimum_gap": float | null,                # optimum's cost minus that bound [currency]
        "savings_captured_vs_bound": float | null   # the headline against the bound
      },
      "replay": {"elapsed_s", "ticks_per_s", "command_changes",
                 "command_share": {kind: fraction of ticks}, "winners": {source: ticks}},
      "forecast": {load_mae_w, pv_mae_w, net_mae_w, net_rmse_w, net_bias_w,
                   skill_vs_persistence, forecasts_scored} | null,  # the forecast planned on
      "plots": [file names]
    }

Money is in ``currency``; energy in kWh; power in W.

``self_sufficiency = 1 - grid_origin_to_load / load_kwh``: the share of the load the house did
not take from the grid, directly (``grid_to_load_kwh``) or through the battery. Battery energy
counts only by its PV-origin share, tracked step by step (``battery_pv_to_load_kwh`` is the
self-supplied part of the battery's discharge to the load), so grid energy stored at night and
discharged by day is not self-supplied. ``self_consumption = 1 - pv_exported / pv_kwh``: the
share of PV used on site, directly or through the battery (PV the battery later exports counts
as exported). Energy in the battery at the start counts as grid energy. Details:
:mod:`gridpilot.simulator.selfsupply`.

``loss_making_cycles_kwh`` is the AC energy discharged in steps that earned less than the
energy's stored cost (average cost of the stored energy, charging and discharging losses
included; PV stored at the export price it would have fetched): see
:mod:`gridpilot.simulator.storedcost`. It is 0 for ``no_battery``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from gridpilot.recorded.base import LoadReport, iso_utc
from gridpilot.simulator.backtest import Backtest
from gridpilot.simulator.replay import KINDS
from gridpilot.simulator.report_html import write_html

__all__ = [
    "SCHEMA",
    "busiest_week_start",
    "markdown",
    "report_dict",
    "simulated_period",
    "write_report",
]

SCHEMA = "gridpilot.report/1"
SAVINGS_BASIS = (
    "cost = bill + battery wear on every side, against the optimum that keeps the policy's "
    "always-on reserve"
)


def _local(bt: Backtest, unix_s: int | None) -> str | None:
    if unix_s is None:
        return None
    return datetime.fromtimestamp(unix_s, UTC).astimezone(bt.tz).isoformat()


def simulated_period(
    bt: Backtest, requested: tuple[int | None, int | None] = (None, None)
) -> dict[str, Any]:
    """The ``period`` object: the simulated span in UTC and in site time, and what was asked
    for (``requested``: the ``--from``/``--to`` instants [UNIX s], ``None`` for open ends)."""
    rep = bt.replay
    first = int(rep.start_s[0])
    last = int(rep.start_s[-1])
    end = last + rep.step_s
    want_start, want_end = requested
    return {
        "start": iso_utc(first),
        "end": iso_utc(end),
        "step_s": rep.step_s,
        "ticks": len(rep),
        "timezone": bt.tz.key,
        "start_local": _local(bt, first),
        "last_tick_local": _local(bt, last),
        "end_local": _local(bt, end),
        "requested_start": _local(bt, want_start),
        "requested_end": _local(bt, want_end),
        "shortened": (want_start is not None and first > want_start)
        or (want_end is not None and end < want_end),
    }


def report_dict(
    bt: Backtest,
    data: LoadReport | None = None,
    *,
    requested: tuple[int | None, int | None] = (None, None),
) -> dict[str, Any]:
    rep = bt.replay
    n = len(rep)
    counts = np.bincount(rep.kind_code, minlength=len(KINDS))
    wcounts = np.bincount(rep.winner_code, minlength=len(rep.winners))
    results: dict[str, Any] = {
        "policy": bt.policy.as_dict(),
        "no_battery": bt.no_battery.as_dict(),
        "self_consumption": bt.self_consumption.as_dict(),
        "optimum": bt.optimum.as_dict() if bt.optimum is not None else None,
        "optimum_full_range": (
            bt.optimum_full_range.as_dict() if bt.optimum_full_range is not None else None
        ),
    }
    for name, run in results.items():
        if run is not None:
            run["loss_making_cycles_kwh"] = bt.loss_making_cycles_kwh.get(name, 0.0)
    return {
        "schema": SCHEMA,
        "policy": bt.policy_name,
        "currency": bt.currency,
        "period": simulated_period(bt, requested),
        "prices": {"source": bt.prices, "note": bt.prices_note},
        "battery": asdict(bt.params),
        "initial_soc_pct": bt.initial_soc_pct,
        "data": data.as_dict() if data is not None else None,
        "results": results,
        "savings": {
            "vs_no_battery": bt.no_battery.bill - bt.policy.bill,
            "vs_self_consumption": bt.self_consumption.bill - bt.policy.bill,
            "savings_captured": bt.savings_captured,
            "savings_captured_basis": SAVINGS_BASIS,
            "savings_captured_full_range": bt.savings_captured_full_range,
            "optimum_floor_soc_pct": bt.optimum_floor_soc_pct,
            "optimal_cost_bound": bt.optimal_cost_bound,
            "optimum_gap": bt.optimum_gap,
            "savings_captured_vs_bound": bt.savings_captured_vs_bound,
        },
        "replay": {
            "elapsed_s": rep.elapsed_s,
            "ticks_per_s": n / rep.elapsed_s if rep.elapsed_s > 0 else None,
            "command_changes": rep.command_changes(),
            "command_share": {
                k.value: float(counts[i]) / n for i, k in enumerate(KINDS) if counts[i]
            },
            "winners": {w: int(wcounts[i]) for i, w in enumerate(rep.winners)},
        },
        # How good the forecast the strategies planned on was (null: no strategy read one);
        # load_mae_w and pv_mae_w only for a forecast that predicts PV apart.
        "forecast": rep.forecast,
        "plots": [],
    }


def _site_time(iso: str | None) -> str | None:
    """``2018-01-01T00:00:00+00:00`` -> ``2018-01-01 00:00`` (the zone is named beside it)."""
    return None if iso is None else iso[:16].replace("T", " ")


def _money(v: float | None, cur: str) -> str:
    return "n/a" if v is None else f"{v:,.2f} {cur}"


def markdown(d: dict[str, Any]) -> str:
    cur = d["currency"]
    res = d["results"]
    cols = [("policy", "Policy"), ("no_battery", "No battery"),
            ("self_consumption", "Self-consumption"), ("optimum", "Optimum"),
            ("optimum_full_range", "Optimum (full range)")]
    present = [(k, t) for k, t in cols if res[k] is not None]
    per = d["period"]
    lines = [
        f"# Backtest: {d['policy']}",
        "",
        f"Simulated {_site_time(per['start_local'])} to {_site_time(per['end_local'])} "
        f"({per['timezone']}; last step starts {_site_time(per['last_tick_local'])}), step "
        f"{per['step_s']} s, {per['ticks']} ticks; in UTC {per['start']} to {per['end']}.",
        "",
    ]
    if per.get("shortened"):
        lines += [
            f"**The data did not cover the requested period** "
            f"({_site_time(per['requested_start']) or 'its start'} to "
            f"{_site_time(per['requested_end']) or 'its end'}): only the dates above were "
            "simulated.",
            "",
        ]
    prices = d.get("prices")
    if prices:
        lines += [f"Prices: {prices['note']}.", ""]
    data = d.get("data") or {}
    if data.get("warnings"):
        lines += ["Warnings about the data:", ""]
        lines += [f"- {w}" for w in data["warnings"]]
        lines.append("")
    lines += [
        "| | " + " | ".join(t for _, t in present) + " |",
        "|---|" + "---:|" * len(present),
    ]
    rows = [
        ("Bill", "bill", ",.2f"),
        ("Energy cost", "energy_cost", ",.2f"),
        ("Export revenue", "export_revenue", ",.2f"),
        ("Standing charge", "standing_charge", ",.2f"),
        ("Demand charge", "demand_charge", ",.2f"),
        ("Import [kWh]", "import_kwh", ",.0f"),
        ("Export [kWh]", "export_kwh", ",.0f"),
        ("Peak import [W]", "peak_import_w", ",.0f"),
        ("Self-consumption", "self_consumption", ".1%"),
        ("Self-sufficiency", "self_sufficiency", ".1%"),
        ("Grid to battery [kWh]", "grid_to_battery_kwh", ",.0f"),
        ("Full cycles", "equivalent_full_cycles", ",.1f"),
        ("Loss-making discharge [kWh]", "loss_making_cycles_kwh", ",.1f"),
    ]
    for label, key, spec in rows:
        lines.append(
            f"| {label} | " + " | ".join(format(res[k][key], spec) for k, _ in present) + " |"
        )
    s = d["savings"]
    lines += [
        "",
        f"Bills in {cur}. Saving against no battery: {_money(s['vs_no_battery'], cur)}; "
        f"against plain self-consumption: {_money(s['vs_self_consumption'], cur)}.",
        "Self-sufficiency counts battery energy only by its share charged from PV: grid energy "
        "stored and used later is not self-supplied.",
        "Loss-making discharge: energy the battery delivered in steps that earned less than "
        "it cost to store (average cost of the stored energy, losses included).",
    ]
    if s["savings_captured"] is not None:
        lines.append(
            f"Savings captured: **{s['savings_captured']:.1%}** of what perfect foresight "
            f"saves ({s['savings_captured_basis']}; against the solver's lower bound "
            f"{s['optimal_cost_bound']:,.2f}, {s['optimum_gap']:,.2f} below the optimum: "
            f"{s['savings_captured_vs_bound']:.1%})."
        )
    if s["savings_captured_full_range"] is not None:
        lines.append(
            f"Against the optimum free to use the battery down to its minimum SOC (the reserve "
            f"traded too): {s['savings_captured_full_range']:.1%}."
        )
    r = d["replay"]
    lines += [
        "",
        f"Replay: {r['elapsed_s']:.2f} s, {r['command_changes']} command changes.",
        "",
    ]
    lines += [f"![{p}]({p})" for p in d["plots"]]
    return "\n".join(lines) + "\n"


def busiest_week_start(bt: Backtest) -> int:
    """Start [UNIX s] of the 7 days with the most battery throughput (the week worth a look)."""
    rep = bt.replay
    per_day = 86400 // rep.step_s
    week = 7 * per_day
    if len(rep) <= week:
        return int(rep.start_s[0])
    through = np.abs(rep.battery_w)
    csum = np.concatenate(([0.0], np.cumsum(through)))
    starts = np.arange(0, len(rep) - week + 1, per_day)
    sums = csum[starts + week] - csum[starts]
    return int(rep.start_s[int(starts[int(np.argmax(sums))])])


def write_report(
    bt: Backtest,
    out_dir: str | Path,
    *,
    data: LoadReport | None = None,
    week_start_s: int | None = None,
    plots: bool = True,
    requested: tuple[int | None, int | None] = (None, None),
) -> dict[str, Any]:
    """Write ``report.json``, ``report.md``, ``report.html`` and (with ``plots``) the PNGs into
    ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    d = report_dict(bt, data, requested=requested)
    if plots:
        from gridpilot.simulator.plots import plot_all

        ws = busiest_week_start(bt) if week_start_s is None else week_start_s
        d["plots"] = plot_all(bt, out, ws)
    (out / "report.json").write_text(json.dumps(d, indent=2, allow_nan=False) + "\n")
    (out / "report.md").write_text(markdown(d))
    write_html(bt, d, out, busiest_week_start(bt) if week_start_s is None else week_start_s)
    return d

