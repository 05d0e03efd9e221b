"""A backtest's optimum as numbers, without its schedules: what a report shows of it.

A fleet's row is a backtest that may have solved its optimum (seconds of CPU for a site-year).
The best and worst sites' own reports are those backtests again, and need only these figures of
the optimum, not its per-step schedules: the fleet keeps them with each row (a few kB as JSON),
and a report that is handed them does not solve the optimum again. They carry the digest of every
input the optimum depends on (:func:`gridpilot.simulator.baselines.optima_key`), and are used
only by a backtest whose own inputs give the same digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridpilot.jsontext import finite
from gridpilot.simulator.accounting import Totals

__all__ = ["OptimumFigures"]


@dataclass(frozen=True)
class OptimumFigures:
    key: str
    """:func:`~gridpilot.simulator.baselines.optima_key` of the optimum's inputs."""
    floor_soc_pct: float
    """The lowest SOC the headline optimum used (the battery's minimum or the reserve)."""
    optimum: Totals
    full_range: Totals
    cost_bound: float
    """The solver's lower bound on ``bill + wear``, standing charge included."""
    gap: float
    loss_making_kwh: float
    """The headline optimum's discharge in steps that earned less than the stored energy cost."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "floor_soc_pct": self.floor_soc_pct,
            "optimum": self.optimum.as_dict(),
            "full_range": self.full_range.as_dict(),
            "cost_bound": self.cost_bound,
            "gap": self.gap,
            "loss_making_kwh": self.loss_making_kwh,
        }

    @classmethod
    def from_dict(cls, d: object) -> OptimumFigures | None:
        """The figures :meth:`as_dict` wrote, or ``None`` for anything else (a row of an older
        version, or a damaged one: the optimum is then solved again, never trusted)."""
        if not isinstance(d, dict) or not isinstance(d.get("key"), str):
            return None
        try:
            return cls(
                key=d["key"],
                floor_soc_pct=finite(d["floor_soc_pct"], "floor_soc_pct"),
                optimum=Totals.from_dict(d["optimum"]),
                full_range=Totals.from_dict(d["full_range"]),
                cost_bound=finite(d["cost_bound"], "cost_bound"),
                gap=finite(d["gap"], "gap"),
                loss_making_kwh=finite(d["loss_making_kwh"], "loss_making_kwh"),
            )
        except (TypeError, KeyError, ValueError, AttributeError):
            return None
