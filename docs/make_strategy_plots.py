"""Plot a real day under each built-in strategy, for docs/strategies.md.

    python docs/make_strategy_plots.py            # writes docs/img/strategy-*.png

Each day is replayed tick by tick through ``decide()`` and the simulator's battery model (the
sequence runner of the scenario tests), on the recorded data in ``examples/data/`` and
``../shared/data/``. The policies are the small ones below; the figures print as they are made.
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from gridpilot.rules.loader import load_policy
from gridpilot.rules.scenario import ScenarioCase
from gridpilot.simulator.plots import COLOURS
from gridpilot.testing.runner import run_case

ROOT = Path(__file__).resolve().parents[1]
UK = ROOT / "examples" / "data" / "uk-2018-halfhourly.csv"
UCI = ROOT.parent / "shared" / "data" / "uci-household" / "household_power_consumption_2006-12.txt"
OUT = ROOT / "docs" / "img"

BATTERY = """\
  battery:
    capacity_kwh: 9.5
    max_charge_w: 3300
    max_discharge_w: 3300
    min_soc_pct: 5
"""

AGILE_TARIFF = f"""\
tariff:
  import:
    default: 0.25
    dynamic: {{file: {UK}, column: import_price}}
  export:
    default: 0.0
    dynamic: {{file: {UK}, column: export_price}}
"""

FLAT_TARIFF = """\
tariff:
  import: {default: 0.28}
  export: {default: 0.05}
"""


@dataclass(frozen=True)
class Day:
    strategy: str
    title: str
    policy: str
    at: str
    until: str
    step: str
    data: Path
    data_format: str = "auto"
    soc_pct: float = 50.0


def _policy(tz: str, tariff: str, strategies: str, rules: str, guards: str = "") -> str:
    return (
        f"version: 1\nsite:\n  name: plot\n  timezone: {tz}\n{BATTERY}{tariff}"
        f"guards:\n  - {{kind: backup_reserve, name: reserve, min_soc_pct: 10}}\n{guards}"
        f"strategies:\n{textwrap.indent(strategies, '  ')}"
        f"default:\n  strategy: {rules}\n"
    )


DAYS = [
    Day(
        "self_consumption",
        "self_consumption: a sunny June day (Oxford, 4 kWp PV)",
        _policy("Europe/London", FLAT_TARIFF, "self_consumption: {}\n", "self_consumption"),
        "2018-06-21 00:00", "2018-06-22 00:00", "30m", UK, soc_pct=20,
    ),
    Day(
        "tariff_arbitrage",
        "tariff_arbitrage: a January weekday on Agile prices",
        _policy("Europe/London", AGILE_TARIFF, "tariff_arbitrage: {default_net_load_w: 600}\n",
                "tariff_arbitrage"),
        "2018-01-17 00:00", "2018-01-18 00:00", "30m", UK, soc_pct=20,
    ),
    Day(
        "peak_shaving",
        "peak_shaving: a real household's minute data, import kept under 3 kW",
        _policy("Europe/Paris", FLAT_TARIFF, "peak_shaving: {max_import_w: 3000}\n",
                "peak_shaving", "  - {kind: import_cap, name: fuse, max_import_w: 3000}\n")
        # Minute-by-minute spikes: a dwell time would hold a recharge through a spike.
        + "control: {min_dwell_s: 0}\n",
        "2006-12-17 00:00", "2006-12-18 00:00", "1m", UCI, "uci", soc_pct=80,
    ),
    Day(
        "backup_reserve",
        "backup_reserve: 90 % by a storm warning at 18:00 (Agile prices)",
        _policy(
            "Europe/London", AGILE_TARIFF,
            "backup_reserve:\n  reserve_soc_pct: 30\n  risk_windows:\n"
            "    - {time: '18:00-22:00', target_soc_pct: 90}\n",
            "backup_reserve",
        ),
        "2018-01-17 00:00", "2018-01-18 00:00", "30m", UK, soc_pct=35,
    ),
]


def plot_day(day: Day, folder: Path) -> Path:
    policy_path = folder / f"{day.strategy}.yaml"
    policy_path.write_text(day.policy, encoding="utf-8")
    policy = load_policy(policy_path)
    case = ScenarioCase.model_validate({
        "name": day.title, "at": day.at, "until": day.until, "step": day.step,
        "state": {"soc_pct": day.soc_pct},
        "data": {"file": str(day.data), "format": day.data_format},
        "checks": [{"during": "all", "soc_pct": ">= 0"}],
    })
    result = run_case(policy, case, file=str(policy_path))
    if not result.ticks:
        raise SystemExit(f"{day.strategy}: {result.outcome}: {result.message}")
    tz = policy.tz
    times = [t.time.astimezone(tz) for t in result.ticks]
    prices = [policy.tariff.import_price_at(t.time) for t in result.ticks]

    fig, (ax_p, ax_s) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                     gridspec_kw={"height_ratios": [3, 2]})
    # The backtest's colours, so that a quantity looks the same in every plot of the project.
    for label, values, lw in (
        ("load", [t.load_w for t in result.ticks], 1.0),
        ("PV", [t.pv_w for t in result.ticks], 1.0),
        ("grid (+ import)", [t.grid_w for t in result.ticks], 1.2),
        ("battery (+ discharge)", [t.battery_w for t in result.ticks], 1.2),
    ):
        ax_p.step(times, [v / 1000 for v in values], where="post", label=label,
                  color=COLOURS[label], lw=lw)
    ax_p.axhline(0, color="0.8", lw=0.8)
    ax_p.set_ylabel("power [kW]")
    ax_p.legend(loc="upper left", fontsize=8, ncols=4)
    ax_p.set_title(day.title)
    ax_s.plot(times, [t.soc_pct for t in result.ticks], color=COLOURS["SOC"], label="SOC")
    ax_s.set_ylim(0, 100)
    ax_s.set_ylabel("SOC [%]")
    ax_price = ax_s.twinx()
    ax_price.step(times, prices, where="post", color=COLOURS["import price"], lw=0.8,
                  label="import price")
    ax_price.set_ylabel(f"import price [{policy.tariff.currency}/kWh]")
    handles = ax_s.get_legend_handles_labels()[0] + ax_price.get_legend_handles_labels()[0]
    ax_price.legend(handles=handles, loc="lower left", fontsize=8, ncols=2)
    ax_s.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
    ax_s.set_xlabel(f"site time, {tz.key}")
    fig.tight_layout()
    out = OUT / f"strategy-{day.strategy}.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    import_kwh = sum(max(t.grid_w, 0) * t.dt_s for t in result.ticks) / 3.6e6
    peak_w = max(t.grid_w for t in result.ticks)
    print(f"{out.relative_to(ROOT)}: {len(result.ticks)} ticks, grid import {import_kwh:.2f} kWh, "
          f"peak import {peak_w:.0f} W, SOC {result.ticks[0].soc_pct:.0f} -> "
          f"{result.ticks[-1].soc_after_pct:.0f} %")
    return out


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for day in DAYS:
            plot_day(day, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
