"""Walk-forward evaluation of a forecast on recorded data, as a backtest would see it.

At every issue time ``t`` (each recorded interval, or every ``every``-th) the provider has
observed the readings up to and including ``t`` and forecasts the next ``horizon`` slots; each
forecast is scored against what was then recorded. Errors are grouped by lead hour (how far
ahead the slot is), and compared with naive persistence: the same slot one day earlier, already
measured at ``t`` for leads up to a day. Skill is ``1 - MAE / MAE_persistence``: above 0 beats
persistence, 1 is perfect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from gridpilot.forecasts.providers import ForecastProvider

__all__ = ["Evaluation", "Scorer", "walk_forward"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Evaluation:
    lead_hour: IntArray
    """0 for slots starting within the first hour after the issue time, and so on."""
    mae_w: FloatArray
    rmse_w: FloatArray
    bias_w: FloatArray
    """Forecast minus recorded, mean: above 0 forecasts too much net load."""
    persistence_mae_w: FloatArray
    net_mae_w: float
    net_rmse_w: float
    net_bias_w: float
    persistence_net_mae_w: float
    skill_vs_persistence: float | None
    """``1 - MAE / MAE_persistence`` over the slots persistence could forecast."""
    load_mae_w: float | None
    """Only for a provider that forecasts PV apart (``pv_w``): the load = net + PV."""
    pv_mae_w: float | None
    issues: int

    def summary(self) -> dict[str, Any]:
        """The figures report.json and ``--json`` carry."""
        skill = self.skill_vs_persistence
        return {
            "load_mae_w": None if self.load_mae_w is None else round(self.load_mae_w, 1),
            "pv_mae_w": None if self.pv_mae_w is None else round(self.pv_mae_w, 1),
            "net_mae_w": round(self.net_mae_w, 1),
            "net_rmse_w": round(self.net_rmse_w, 1),
            "net_bias_w": round(self.net_bias_w, 1),
            "skill_vs_persistence": None if skill is None else round(skill, 4),
            "forecasts_scored": self.issues,
        }


class Scorer:
    """Accumulates scored forecasts; :func:`walk_forward` feeds it, and a backtest can too."""

    def __init__(self, start_s: IntArray, load_w: FloatArray, pv_w: FloatArray) -> None:
        self.start_s = np.asarray(start_s, dtype=np.int64)
        self.load_w = np.asarray(load_w, dtype=np.float64)
        self.pv_w = np.asarray(pv_w, dtype=np.float64)
        self.net_w = self.load_w - self.pv_w
        self._lead: list[IntArray] = []
        self._err: list[FloatArray] = []
        self._perr: list[FloatArray] = []
        self._load_err: list[FloatArray] = []
        self._pv_err: list[FloatArray] = []
        self.issues = 0

    def score(self, issued_s: int, slot_start_s: IntArray, net_w: FloatArray,
              pv_w: FloatArray | None = None) -> None:
        idx = np.searchsorted(self.start_s, slot_start_s)
        ok = (idx < len(self.start_s))
        ok[ok] &= self.start_s[idx[ok]] == slot_start_s[ok]
        if not ok.any():
            return
        i = idx[ok]
        truth = self.net_w[i]
        valid = np.isfinite(truth)
        i, truth = i[valid], truth[valid]
        fc = np.asarray(net_w, dtype=np.float64)[ok][valid]
        self._lead.append((slot_start_s[ok][valid] - issued_s - 1) // 3600)
        self._err.append(fc - truth)
        back = np.searchsorted(self.start_s, self.start_s[i] - _DAY_S)
        back = np.clip(back, 0, len(self.start_s) - 1)
        known = (self.start_s[back] == self.start_s[i] - _DAY_S) & (
            self.start_s[back] <= issued_s)
        self._perr.append(np.where(known, np.abs(self.net_w[back] - truth), np.nan))
        if pv_w is not None:
            pv_fc = np.asarray(pv_w, dtype=np.float64)[ok][valid]
            self._pv_err.append(pv_fc - self.pv_w[i])
            self._load_err.append(fc + pv_fc - self.load_w[i])
        self.issues += 1

    def result(self) -> Evaluation:
        lead = np.concatenate(self._lead) if self._lead else np.zeros(0, dtype=np.int64)
        err = np.concatenate(self._err) if self._err else np.zeros(0)
        perr = np.concatenate(self._perr) if self._perr else np.zeros(0)
        hours = np.unique(lead)
        mae = np.array([np.abs(err[lead == h]).mean() for h in hours])
        rmse = np.array([np.sqrt((err[lead == h] ** 2).mean()) for h in hours])
        bias = np.array([err[lead == h].mean() for h in hours])
        pmae = np.array([_nanmean(perr[lead == h]) for h in hours])
        both = np.isfinite(perr)
        p_mae = _nanmean(perr[both])
        own_mae = float(np.abs(err[both]).mean()) if both.any() else float("nan")
        skill = 1.0 - own_mae / p_mae if both.any() and p_mae > 0 else None
        return Evaluation(
            lead_hour=hours.astype(np.int64), mae_w=mae, rmse_w=rmse, bias_w=bias,
            persistence_mae_w=pmae,
            net_mae_w=float(np.abs(err).mean()) if err.size else float("nan"),
            net_rmse_w=float(np.sqrt((err**2).mean())) if err.size else float("nan"),
            net_bias_w=float(err.mean()) if err.size else float("nan"),
            persistence_net_mae_w=p_mae, skill_vs_persistence=skill,
            load_mae_w=(float(np.abs(np.concatenate(self._load_err)).mean())
                        if self._load_err else None),
            pv_mae_w=(float(np.abs(np.concatenate(self._pv_err)).mean())
                      if self._pv_err else None),
            issues=self.issues)


def _nanmean(values: FloatArray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def walk_forward(make: Callable[[], ForecastProvider], start_s: IntArray, load_w: FloatArray,
                 pv_w: FloatArray, *, horizon: int = 48, every: int = 1,
                 first: int = 0) -> Evaluation:
    """Observe the recording interval by interval; from interval ``first`` on, forecast the next
    ``horizon`` intervals after every ``every``-th and score them."""
    provider = make()
    step = int(start_s[1] - start_s[0]) if len(start_s) > 1 else 1800
    scorer = Scorer(start_s, load_w, pv_w)
    pv_of = getattr(provider, "pv_w", None)
    for k in range(len(start_s)):
        t_s = int(start_s[k])
        provider.observe(datetime.fromtimestamp(t_s, UTC), float(load_w[k]), float(pv_w[k]))
        if k < first or (k - first) % every:
            continue
        slots = t_s + step * np.arange(1, horizon + 1, dtype=np.int64)
        net = provider.forecast(slots)
        pv = np.asarray(pv_of(slots), dtype=np.float64) if callable(pv_of) else None
        scorer.score(t_s, slots, net, pv)
    return scorer.result()
