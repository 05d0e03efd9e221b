"""The backtest's plots: site-local time axes that say so, a legend on every panel, dates on the
daily-peaks axis, and one colour per quantity across every figure."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from matplotlib import colors as mcolors
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gridpilot.recorded import load_uk_composite
from gridpilot.rules.loader import load_policy
from gridpilot.simulator.backtest import Backtest, run_backtest
from gridpilot.simulator.plots import (
    COLOURS,
    daily_peaks_figure,
    local_days,
    monthly_bills_figure,
    plot_all,
    week_figure,
)

ROOT = Path(__file__).resolve().parents[2]
# Ahead of UTC, so that the site's midnight falls on the UTC day before and a UTC axis cannot
# show the same dates by chance; the week holds Sydney's autumn clock change (2018-04-01, 25 h).
SITE = ZoneInfo("Australia/Sydney")
START = datetime(2018, 3, 22, tzinfo=SITE)
END = datetime(2018, 4, 8, tzinfo=SITE)
WEEK = datetime(2018, 3, 29, 13, 0, tzinfo=SITE)  # mid-day: the plot starts at its midnight
SPIKE = datetime(2018, 3, 27, 15, 0, tzinfo=UTC)  # 2018-03-28 02:00 in Sydney
SPIKE_W = 20_000.0


@pytest.fixture(scope="module")
def bt(tmp_path_factory: pytest.TempPathFactory) -> Backtest:
    text = (ROOT / "examples/policies/economy7.yaml").read_text(encoding="utf-8")
    assert "timezone: Europe/London" in text
    path = tmp_path_factory.mktemp("plots") / "ny.yaml"
    path.write_text(text.replace("timezone: Europe/London", "timezone: Australia/Sydney"),
                    encoding="utf-8")
    series = load_uk_composite(ROOT / "examples/data/uk-2018-halfhourly.csv").slice_time(
        int(START.timestamp()), int(END.timestamp()))
    load = series.column("load_w").copy()
    load[int(np.searchsorted(series.start_s, SPIKE.timestamp()))] = SPIKE_W
    series = dataclasses.replace(series, columns={**series.columns, "load_w": load})
    return run_backtest(load_policy(path), series)


@pytest.fixture(scope="module")
def figures(bt: Backtest) -> dict[str, Figure]:
    figs = {
        "week": week_figure(bt, int(WEEK.timestamp())),
        "monthly_bills": monthly_bills_figure(bt),
        "daily_peaks": daily_peaks_figure(bt),
    }
    for fig in figs.values():
        fig.draw_without_rendering()  # tick labels are made at draw time
    return figs


def _tick_labels(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]


def test_the_week_axis_shows_site_local_dates_and_names_the_zone(
    bt: Backtest, figures: dict[str, Figure]
) -> None:
    fig = figures["week"]
    bottom = fig.axes[1]
    ticks = bottom.get_xticks()
    local = [mdates.num2date(x, SITE) for x in ticks]
    # One tick per site-local midnight, also on both sides of the 23-hour day.
    assert [d.date() for d in local] == [*(date(2018, 3, d) for d in range(29, 32)),
                                     *(date(2018, 4, d) for d in range(1, 6))]
    assert all((d.hour, d.minute) == (0, 0) for d in local)
    assert _tick_labels(bottom) == [d.strftime("%a %Y-%m-%d") for d in local]
    assert "Australia/Sydney" in bottom.get_xlabel()
    suptitle = fig.get_suptitle()
    assert "Australia/Sydney" in suptitle and "UTC" not in suptitle
    # The plotted week starts at the site's midnight of the requested day.
    first_line = fig.axes[0].get_lines()[0]
    x0 = mdates.num2date(first_line.get_xdata(orig=False)[0], SITE)
    assert x0 == datetime(2018, 3, 29, tzinfo=SITE)


def test_daily_peaks_are_site_local_dates_not_day_counts(
    bt: Backtest, figures: dict[str, Figure]
) -> None:
    ax = figures["daily_peaks"].axes[0]
    labels = _tick_labels(ax)
    assert labels and all(date.fromisoformat(t) for t in labels)
    assert "Australia/Sydney" in ax.get_xlabel()
    no_battery = next(ln for ln in ax.get_lines() if ln.get_label() == "no battery")
    days = [mdates.num2date(x).date() for x in no_battery.get_xdata(orig=False)]
    peaks_kw = dict(zip(days, no_battery.get_ydata(orig=False), strict=True))
    assert days[0] == START.date() and days[-1] == date(2018, 4, 7)
    # The spike at 15:00 UTC falls on the site's next morning, not on the UTC date.
    assert peaks_kw[date(2018, 3, 28)] > SPIKE_W / 1000 * 0.9  # less the PV at that hour
    assert peaks_kw[date(2018, 3, 27)] < SPIKE_W / 1000 / 2


def test_local_days_split_at_site_midnight_across_dst() -> None:
    start = [datetime(2018, 3, 31, 23, 30, tzinfo=SITE),
             datetime(2018, 4, 1, 0, 0, tzinfo=SITE),
             datetime(2018, 4, 1, 23, 59, tzinfo=SITE),
             datetime(2018, 4, 2, 0, 0, tzinfo=SITE)]
    idx, days = local_days(np.array([int(d.timestamp()) for d in start]), SITE)
    assert idx.tolist() == [0, 1, 1, 2]
    assert days == [date(2018, 3, 31), date(2018, 4, 1), date(2018, 4, 2)]
    empty_idx, empty_days = local_days(np.zeros(0, dtype=np.int64), SITE)
    assert empty_idx.shape == (0,) and empty_days == []


def _data_artists(ax: Axes) -> list[tuple[str, str]]:
    """(label, colour) of every labelled line and bar series of ``ax``."""
    out = [(str(ln.get_label()), mcolors.to_hex(ln.get_color()))
           for ln in ax.get_lines() if not str(ln.get_label()).startswith("_")]
    out += [(str(c.get_label()), mcolors.to_hex(c.patches[0].get_facecolor()))
            for c in ax.containers if not str(c.get_label()).startswith("_")]
    return out


def test_every_panel_with_data_has_a_legend_naming_all_of_it(
    figures: dict[str, Figure]
) -> None:
    for name, fig in figures.items():
        # Twin axes share a panel: group the axes by where they sit.
        panels: dict[tuple[float, ...], list[Axes]] = {}
        for ax in fig.axes:
            panels.setdefault(tuple(np.round(ax.get_position().bounds, 6)), []).append(ax)
        assert len(panels) == (2 if name == "week" else 1)
        for axes in panels.values():
            labels = {label for ax in axes for label, _ in _data_artists(ax)}
            assert labels, f"{name}: a panel without data"
            legends = [ax.get_legend() for ax in axes if ax.get_legend() is not None]
            assert legends, f"{name}: a panel without a legend"
            shown = {t.get_text() for lg in legends for t in lg.get_texts()}
            assert labels <= shown, f"{name}: not in the legend: {labels - shown}"


def test_each_quantity_has_one_colour_and_each_colour_one_quantity(
    figures: dict[str, Figure]
) -> None:
    seen: dict[str, str] = {}
    for name, fig in figures.items():
        for ax in fig.axes:
            for label, colour in _data_artists(ax):
                assert label in COLOURS, f"{name}: {label!r} has no colour of its own"
                assert seen.setdefault(label, colour) == colour, f"{name}: {label!r}"
                assert colour == mcolors.to_hex(COLOURS[label])
    # every quantity of the plots, the import limit and the optimum included
    assert {"load", "PV", "SOC", "import price", "policy", "no battery"} <= seen.keys()
    hexes = [mcolors.to_hex(c) for c in COLOURS.values()]
    assert len(set(hexes)) == len(hexes), "two quantities share a colour"


def test_plot_all_writes_the_three_pngs(bt: Backtest, tmp_path: Path) -> None:
    names = plot_all(bt, tmp_path, int(WEEK.timestamp()))
    assert names == ["week.png", "monthly_bills.png", "daily_peaks.png"]
    for n in names:
        assert (tmp_path / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_strategy_plots_in_the_docs_use_the_same_colours() -> None:
    import re

    script = (ROOT / "docs/make_strategy_plots.py").read_text(encoding="utf-8")
    assert "from gridpilot.simulator.plots import COLOURS" in script
    colours = re.findall(r"color=([^,)]+)", script)
    assert colours and all(c.startswith("COLOURS[") or c == '"0.8"' for c in colours), colours
    assert "site time" in script  # the axis names the zone there too
