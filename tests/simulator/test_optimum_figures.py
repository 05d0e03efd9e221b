"""A backtest handed its optimum's figures from an earlier run of the same inputs shows exactly
what solving it shows, without solving; figures of other inputs, or damaged ones, are never
used."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.recorded import load_uk_composite
from gridpilot.recorded.base import TimeSeries
from gridpilot.rules.loader import load_policy
from gridpilot.simulator.accounting import Totals
from gridpilot.simulator.backtest import Backtest, run_backtest
from gridpilot.simulator.optimum_figures import OptimumFigures
from gridpilot.simulator.report import report_dict
from tests.simulator.solves import count_solves, forget_optima

ROOT = Path(__file__).resolve().parents[2]
AGILE = ROOT / "examples/policies/agile-dynamic.yaml"


@pytest.fixture(scope="module")
def week() -> TimeSeries:
    year = load_uk_composite(ROOT / "examples/data/uk-2018-halfhourly.csv")
    return year.slice_time(int(year.start_s[0]), int(year.start_s[0]) + 4 * 86_400)


@pytest.fixture(scope="module")
def solved(week: TimeSeries) -> Backtest:
    return run_backtest(load_policy(AGILE), week, optimal=True)


@pytest.fixture
def solves(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The optima solved from here on, an item a case (none kept from before)."""
    forget_optima(monkeypatch)
    return count_solves(monkeypatch)


def _through_json(figures: OptimumFigures) -> OptimumFigures:
    """As a fleet's journal keeps them."""
    back = OptimumFigures.from_dict(json.loads(json.dumps(figures.as_dict(), allow_nan=False)))
    assert back is not None
    return back


def _report(bt: Backtest) -> dict[str, Any]:
    d = report_dict(bt)
    d.pop("replay")  # this machine's speed
    return d


def test_the_figures_survive_json_exactly(solved: Backtest) -> None:
    figures = solved.optimum_figures()
    assert figures is not None
    assert _through_json(figures) == figures
    assert figures.full_range != figures.optimum  # the example's reserve: two optima


def test_known_figures_give_the_solved_report_without_solving(
        solved: Backtest, week: TimeSeries, solves: list[int]) -> None:
    figures = solved.optimum_figures()
    assert figures is not None
    again = run_backtest(load_policy(AGILE), week, optimal=True,
                         known_optimum=_through_json(figures))
    assert solves == []
    assert again.optimum_result is None  # no schedules: only what a report shows
    assert _report(again) == _report(solved)
    assert again.optimum_figures() == figures


def test_figures_of_other_inputs_are_not_used(solved: Backtest, week: TimeSeries,
                                              solves: list[int]) -> None:
    figures = solved.optimum_figures()
    assert figures is not None
    other = load_policy(AGILE)
    other = replace(other, battery=replace(other.battery, capacity_kwh=7.0))
    got = run_backtest(other, week, optimal=True, known_optimum=figures)
    assert len(solves) == 2  # solved, with and without the reserve: another battery's
    assert got.optimum_key != figures.key
    assert got.optimum is not None and got.optimum.bill != figures.optimum.bill
    # and a shorter period, the same battery
    shorter = week.slice_time(None, int(week.start_s[0]) + 3 * 86_400)
    fresh = run_backtest(load_policy(AGILE), shorter, optimal=True, known_optimum=figures)
    assert len(solves) == 4
    assert fresh.optimum_result is not None


def test_without_the_optimum_no_figures_are_made_or_read(week: TimeSeries,
                                                         solved: Backtest) -> None:
    bt = run_backtest(load_policy(AGILE), week, optimal=False,
                      known_optimum=solved.optimum_figures())
    assert bt.optimum is None and bt.optimum_figures() is None


def _damaged(d: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(d))
    node: Any = out
    for k in path[:-1]:
        node = node[k]
    if value is _DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


_DROP = object()


def _paths(d: Any, prefix: list[str | int]) -> list[list[str | int]]:
    if isinstance(d, dict):
        return [p for k, v in d.items() for p in _paths(v, [*prefix, k])] + (
            [prefix] if prefix else [])
    if isinstance(d, list):
        return [p for i, v in enumerate(d) for p in _paths(v, [*prefix, i])] + [prefix]
    return [prefix]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_damaged_figures_are_refused_never_raised(solved: Backtest, data: st.DataObject) -> None:
    figures = solved.optimum_figures()
    assert figures is not None
    d = figures.as_dict()
    path = data.draw(st.sampled_from(_paths(d, [])))
    value = data.draw(st.sampled_from([_DROP, None, "x", [], {}, math.nan, math.inf]))
    if value is _DROP and isinstance(path[-1], int):
        value = None
    got = OptimumFigures.from_dict(_damaged(d, path, value))
    if got is not None:
        # Only text where text belongs reads: a month's label (shown as it is) or the key
        # (which then matches no backtest's inputs). Every figure must be a finite number.
        assert value == "x" and path[-1] in ("month", "key"), (path, value)
    wholes: tuple[object, ...] = (None, [], "figures", {"key": 3}, {"key": figures.key})
    for whole in wholes:
        assert OptimumFigures.from_dict(whole) is None


def test_totals_round_trip(solved: Backtest) -> None:
    for t in (solved.policy, solved.no_battery, solved.self_consumption):
        assert Totals.from_dict(json.loads(json.dumps(t.as_dict()))) == t
    with pytest.raises((TypeError, KeyError, ValueError)):
        Totals.from_dict({**solved.policy.as_dict(), "months": [{"month": 2018}]})
    assert np.isfinite(solved.policy.bill)
