"""Counting the optima a test makes gridpilot solve."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gridpilot.engine.battery import BatteryParams
from gridpilot.simulator import baselines as baselines_mod
from gridpilot.simulator.accounting import SiteSeries
from gridpilot.simulator.optimum import OptimumResult, solve_optima


def count_solves(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The optima solved behind :func:`gridpilot.simulator.baselines.optima` from here on, an
    item a case (a backtest with an always-on reserve solves two)."""
    calls: list[int] = []

    def counted(site: SiteSeries, cases: Sequence[tuple[BatteryParams, float]], *,
                max_export_w: float | None = None) -> list[OptimumResult]:
        calls.extend(1 for _ in cases)
        return solve_optima(site, cases, max_export_w=max_export_w)

    monkeypatch.setattr(baselines_mod, "solve_optima", counted)
    return calls


def forget_optima(monkeypatch: pytest.MonkeyPatch) -> None:
    """No optimum kept from before this point (a store of the test's own)."""
    monkeypatch.setattr(baselines_mod, "_optima", type(baselines_mod._optima)())
