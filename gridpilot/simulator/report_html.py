"""``report.html``: the backtest in a browser, beside ``report.md``.

One file that works offline: the numbers of ``report.json``, the busiest week step by step
(prices, battery power, load, PV, SOC) and the bill day by day against no battery, drawn by the
dashboard's own SVG chart script (``gridpilot/web/charts.js``), all inline.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from gridpilot.simulator.backtest import Backtest

__all__ = ["html_report", "write_html"]

WEEK_S = 7 * 86400

RENDER = """
"use strict";
(function () {
  const d = JSON.parse(document.getElementById("data").textContent);
  const ms = (s) => s * 1000;
  const w = d.week, t = w.start_s.map(ms), end = ms(w.end_s);
  const pts = (values) => values.map((v, i) => [t[i], v]);
  gpChart(document.getElementById("chart-week-prices"), {x0: t[0], x1: end,
    left: d.currency + "/kWh", series: [
      {name: "import", color: "#c62828", kind: "step", end, points: pts(w.import_per_kwh)},
      {name: "export", color: "#1565c0", kind: "step", end, points: pts(w.export_per_kwh)}]});
  gpChart(document.getElementById("chart-week-power"), {x0: t[0], x1: end, left: "W",
    right: "SOC %", series: [
      {name: "battery", color: "#6a1b9a", kind: "bar", end, points: pts(w.battery_w)},
      {name: "load", color: "#ef6c00", kind: "step", end, points: pts(w.load_w)},
      {name: "PV", color: "#f9a825", kind: "step", end, points: pts(w.pv_w)},
      {name: "SOC", color: "#1a7f37", kind: "line", axis: "right", points: pts(w.soc_pct)}]});
  const days = d.days.start_s.map(ms), dend = ms(d.days.end_s);
  gpChart(document.getElementById("chart-days"), {x0: days[0], x1: dend,
    left: d.currency + " per day", series: [
      {name: "policy", color: "#6a1b9a", kind: "step", end: dend,
       points: d.days.cost.map((v, i) => [days[i], v])},
      {name: "no battery", color: "#455a64", kind: "step", end: dend,
       points: d.days.cost_without_battery.map((v, i) => [days[i], v])}]});
})();
"""

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em auto; max-width: 1000px; color: #1d2330; }
table { border-collapse: collapse; } th, td { padding: .2em .6em; border-bottom: 1px solid #ddd; }
td { text-align: right; font-variant-numeric: tabular-nums; } th { text-align: left; }
.chart { width: 100%; height: auto; } .chart text { font-size: 11px; fill: #556; }
.chart .grid line { stroke: #e4e6ea; } .chart .vgrid { stroke: #eef0f3; }
.chart .axis-label { font-weight: 600; }
"""

ROWS = [("Bill", "bill", ",.2f"), ("Energy cost", "energy_cost", ",.2f"),
        ("Export revenue", "export_revenue", ",.2f"), ("Import [kWh]", "import_kwh", ",.0f"),
        ("Export [kWh]", "export_kwh", ",.0f"), ("Peak import [W]", "peak_import_w", ",.0f"),
        ("Full cycles", "equivalent_full_cycles", ",.1f")]


def _step_cost(grid_w: np.ndarray, imp: np.ndarray, exp: np.ndarray, step_s: int) -> np.ndarray:
    kwh = grid_w * step_s / 3.6e6
    cost: np.ndarray = np.where(grid_w >= 0, kwh * imp, kwh * exp)
    return cost


def chart_data(bt: Backtest, week_start_s: int) -> dict[str, Any]:
    """The series the page draws: the week from ``week_start_s`` and the cost per site day."""
    rep = bt.replay
    start = np.asarray(rep.start_s)
    week = (start >= week_start_s) & (start < week_start_s + WEEK_S)
    idx = np.flatnonzero(week)
    if not len(idx):
        idx = np.arange(min(len(rep), WEEK_S // rep.step_s))

    def cut(values: Any) -> list[float]:
        return [round(float(v), 4) for v in np.asarray(values)[idx]]

    cost = _step_cost(rep.grid_w, rep.import_price, rep.export_price, rep.step_s)
    without = _step_cost(rep.load_w - rep.pv_w, rep.import_price, rep.export_price, rep.step_s)
    day_keys = [datetime.fromtimestamp(int(s), UTC).astimezone(bt.tz).date() for s in start]
    day_start: list[int] = []
    per_day: list[float] = []
    per_day_without: list[float] = []
    for i, key in enumerate(day_keys):
        if i == 0 or key != day_keys[i - 1]:
            day_start.append(int(start[i]))
            per_day.append(0.0)
            per_day_without.append(0.0)
        per_day[-1] += float(cost[i])
        per_day_without[-1] += float(without[i])
    end_s = int(start[-1]) + rep.step_s if len(start) else 0
    return {
        "currency": bt.currency,
        "week": {"start_s": [int(s) for s in start[idx]],
                 "end_s": int(start[idx[-1]]) + rep.step_s if len(idx) else end_s,
                 "import_per_kwh": cut(rep.import_price), "export_per_kwh": cut(rep.export_price),
                 "battery_w": cut(rep.battery_w), "load_w": cut(rep.load_w),
                 "pv_w": cut(rep.pv_w), "soc_pct": cut(rep.soc_pct)},
        "days": {"start_s": day_start, "end_s": end_s,
                 "cost": [round(v, 4) for v in per_day],
                 "cost_without_battery": [round(v, 4) for v in per_day_without]},
    }


def _table(d: dict[str, Any]) -> str:
    results = d.get("results", {})
    runs = [k for k in ("no_battery", "self_consumption", "policy", "optimum")
            if isinstance(results.get(k), dict)]
    head = "".join(f"<th>{html.escape(k.replace('_', ' '))}</th>" for k in runs)
    rows = []
    def cell(value: Any, spec: str) -> str:
        return f"<td>{format(value, spec) if isinstance(value, int | float) else '–'}</td>"

    for label, key, spec in ROWS:
        cells = "".join(cell(results[k].get(key), spec) for k in runs)
        rows.append(f"<tr><th>{html.escape(label)}</th>{cells}</tr>")
    return f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def html_report(bt: Backtest, d: dict[str, Any], week_start_s: int) -> str:
    """The whole page: the report's numbers and its charts, data and script inline."""
    charts = resources.files("gridpilot").joinpath("web", "charts.js").read_text("utf-8")
    data = json.dumps(chart_data(bt, week_start_s), allow_nan=False, separators=(",", ":"))
    title = html.escape(f"Backtest: {bt.policy_name}")
    week = datetime.fromtimestamp(week_start_s, UTC).astimezone(bt.tz).strftime("%Y-%m-%d")
    note = html.escape(bt.prices_note)
    # "</" ends a script element wherever it appears: escaped so the data cannot close it.
    inline = data.replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>{note}</p>
{_table(d)}
<h2>The busiest week from {week}: prices</h2>
<svg id="chart-week-prices" class="chart"></svg>
<h2>The busiest week: battery (+ discharging), load, PV and SOC</h2>
<svg id="chart-week-power" class="chart"></svg>
<h2>Cost per day: the policy against no battery</h2>
<svg id="chart-days" class="chart"></svg>
<p>Chart hours are in this browser's time zone; days are the site's ({html.escape(str(bt.tz))}).
</p>
<script type="application/json" id="data">{inline}</script>
<script>{charts}</script>
<script>{RENDER}</script>
</body></html>
"""


def write_html(bt: Backtest, d: dict[str, Any], out_dir: Path, week_start_s: int) -> str:
    """Write ``report.html`` into ``out_dir``; its file name."""
    (Path(out_dir) / "report.html").write_text(html_report(bt, d, week_start_s), "utf-8")
    return "report.html"
