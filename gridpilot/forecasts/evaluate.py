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

from gridpilot.arrays import BoolArray, FloatArray, IntArray
from gridpilot.forecasts.providers import ForecastProvider

__all__ = ["Evaluation", "Scorer", "walk_forward"]


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


class _Pending:
    """Forecasts waiting to be scored, copied into arrays that grow: one copy per forecast
    (the caller may reuse its buffers), no array per forecast to allocate, join and free."""

    __slots__ = ("issued", "net", "pv", "sizes", "slots", "used")

    def __init__(self, with_pv: bool) -> None:
        self.issued: list[int] = []
        self.sizes: list[int] = []
        self.slots = np.empty(4096, dtype=np.int64)
        self.net = np.empty(4096, dtype=np.float64)
        self.pv = np.empty(4096, dtype=np.float64) if with_pv else None
        self.used = 0

    def add(self, issued_s: int, slots: IntArray, net_w: FloatArray,
            pv_w: FloatArray | None) -> int:
        n = len(slots)
        start, end = self.used, self.used + n
        if end > self.slots.shape[0]:
            size = max(2 * self.slots.shape[0], end)
            self.slots = _grown(self.slots, start, size)
            self.net = _grown(self.net, start, size)
            if self.pv is not None:
                self.pv = _grown(self.pv, start, size)
        self.slots[start:end] = slots
        self.net[start:end] = net_w
        if self.pv is not None:
            self.pv[start:end] = pv_w
        self.issued.append(int(issued_s))
        self.sizes.append(n)
        self.used = end
        return n

    def clear(self) -> None:
        self.issued.clear()
        self.sizes.clear()
        self.used = 0


def _grown(values: npt.NDArray[Any], used: int, size: int) -> npt.NDArray[Any]:
    out = np.empty(size, dtype=values.dtype)
    out[:used] = values[:used]
    return out


class Scorer:
    """Accumulates scored forecasts per lead hour (sums, not the errors themselves: a year's
    backtest scores ~17 000 forecasts); :func:`walk_forward` feeds it, and so does a backtest.

    Forecasts are kept as given and scored in batches: scoring each on arrival cost a dozen
    small numpy calls per forecast, a quarter of a 5-minute year's replay."""

    _BATCH_SLOTS = 500_000

    _HOURS = 72

    def __init__(self, start_s: IntArray, load_w: FloatArray, pv_w: FloatArray) -> None:
        self.start_s = np.asarray(start_s, dtype=np.int64)
        self.load_w = np.asarray(load_w, dtype=np.float64)
        self.pv_w = np.asarray(pv_w, dtype=np.float64)
        self.net_w = self.load_w - self.pv_w
        # A recording at a regular step (a replay's always is) finds a slot's interval by
        # arithmetic: a binary search per scored slot was most of the scoring's cost.
        steps = np.diff(self.start_s)
        regular = steps.shape[0] > 0 and steps[0] > 0 and bool((steps == steps[0]).all())
        self._step_s = int(steps[0]) if regular else 0
        self._finite = np.isfinite(self.net_w)
        z = self._HOURS
        self._n = np.zeros(z)
        self._abs = np.zeros(z)
        self._sum = np.zeros(z)
        self._sq = np.zeros(z)
        self._pn = np.zeros(z)
        self._pabs = np.zeros(z)
        self._own_on_p = 0.0  # |error| over the slots persistence could forecast
        self._load_abs = self._pv_abs = self._pv_n = 0.0
        self._issues = 0
        # Forecasts not scored yet, by whether they carry a PV part.
        self._pending = {False: _Pending(False), True: _Pending(True)}
        self._pending_slots = 0

    @property
    def issues(self) -> int:
        """How many forecasts had at least one recorded slot to be scored against."""
        self._flush()
        return self._issues

    def score(self, issued_s: int, slot_start_s: IntArray, net_w: FloatArray,
              pv_w: FloatArray | None = None) -> None:
        if len(net_w) != len(slot_start_s) or (pv_w is not None and len(pv_w) != len(net_w)):
            raise ValueError("a forecast needs one net load (and PV) per slot")
        self._pending_slots += self._pending[pv_w is not None].add(
            issued_s, slot_start_s, net_w, pv_w)
        if self._pending_slots >= self._BATCH_SLOTS:
            self._flush()

    def _flush(self) -> None:
        for batch in self._pending.values():
            if batch.sizes:
                self._score_batch(batch)
                batch.clear()
        self._pending_slots = 0

    def _score_batch(self, batch: _Pending) -> None:
        sizes = np.array(batch.sizes, dtype=np.int64)
        issued = np.repeat(np.array(batch.issued, dtype=np.int64), sizes)
        owner = np.repeat(np.arange(len(batch.sizes)), sizes)
        slots = batch.slots[:batch.used]
        net_w = batch.net[:batch.used]
        idx, recorded = self._intervals(slots)
        # The slots scored: a recorded interval whose net load is known. Each array is
        # compressed to them once (most of a batch's cost is passes over its slots).
        sel = recorded & self._finite[idx]
        if sel.all():
            i, owners, issued_s, fc_w, slot_s = idx, owner, issued, net_w, slots
        else:
            i, owners, issued_s, fc_w, slot_s = (
                idx[sel], owner[sel], issued[sel], net_w[sel], slots[sel])
        # Owners ascend (forecasts are concatenated in order): count where the owner changes.
        self._issues += int(np.count_nonzero(owners[1:] != owners[:-1])) + 1 if owners.size else 0
        if not owners.size:
            return
        truth = self.net_w[i]
        err = fc_w - truth
        z = self._HOURS
        # In place: each pass over the slots allocates nothing new.
        lead = slot_s - issued_s
        lead -= 1
        lead //= 3600
        np.clip(lead, 0, z - 1, out=lead)
        self._n += np.bincount(lead, minlength=z)
        self._abs += np.bincount(lead, np.abs(err), minlength=z)
        self._sum += np.bincount(lead, err, minlength=z)
        self._sq += np.bincount(lead, err * err, minlength=z)
        if self._step_s and _DAY_S % self._step_s == 0:
            # On a regular recording the interval a day earlier is a fixed number of intervals
            # back, recorded when the slot's own is at least that far in, and known at the
            # issue when its start (the slot's start a day earlier) is not after it.
            back = i - _DAY_S // self._step_s
            known = back >= 0
            known &= slot_s - issued_s <= _DAY_S
            np.maximum(back, 0, out=back)
            known &= self._finite[back]
        else:
            back = np.clip(np.searchsorted(self.start_s, self.start_s[i] - _DAY_S), 0,
                           len(self.start_s) - 1)
            known = (self.start_s[back] == self.start_s[i] - _DAY_S) & (
                self.start_s[back] <= issued_s) & self._finite[back]
        if known.any():
            self._pn += np.bincount(lead[known], minlength=z)
            self._pabs += np.bincount(lead[known], np.abs(self.net_w[back[known]]
                                                          - truth[known]), minlength=z)
            self._own_on_p += float(np.abs(err[known]).sum())
        if batch.pv is not None:
            pv_all = batch.pv[:batch.used]
            pv_fc = pv_all if sel.all() else pv_all[sel]
            self._pv_abs += float(np.abs(pv_fc - self.pv_w[i]).sum())
            self._load_abs += float(np.abs(err + truth + pv_fc - self.load_w[i]).sum())
            self._pv_n += float(i.shape[0])

    def _intervals(self, slots: IntArray) -> tuple[IntArray, BoolArray]:
        """The index of the recorded interval starting at each slot, and whether there is one
        (where not, the index is a valid one, of the nearest interval)."""
        last = self.start_s.shape[0] - 1
        if self._step_s:
            idx = slots - self.start_s[0]
            idx //= self._step_s
            np.clip(idx, 0, last, out=idx)
        else:
            idx = np.minimum(np.searchsorted(self.start_s, slots), last)
        found: BoolArray = self.start_s[idx] == slots
        return idx, found

    def result(self) -> Evaluation:
        self._flush()
        seen = self._n > 0
        n = self._n[seen]
        with np.errstate(invalid="ignore", divide="ignore"):
            pmae = np.where(self._pn[seen] > 0, self._pabs[seen] / self._pn[seen], np.nan)
        total = float(self._n.sum())
        p_total = float(self._pn.sum())
        p_mae = float(self._pabs.sum()) / p_total if p_total else float("nan")
        skill = (1.0 - (self._own_on_p / p_total) / p_mae) if p_total and p_mae > 0 else None
        nan = float("nan")
        return Evaluation(
            lead_hour=np.flatnonzero(seen).astype(np.int64),
            mae_w=self._abs[seen] / n, rmse_w=np.sqrt(self._sq[seen] / n),
            bias_w=self._sum[seen] / n, persistence_mae_w=pmae,
            net_mae_w=float(self._abs.sum()) / total if total else nan,
            net_rmse_w=float(np.sqrt(self._sq.sum() / total)) if total else nan,
            net_bias_w=float(self._sum.sum()) / total if total else nan,
            persistence_net_mae_w=p_mae, skill_vs_persistence=skill,
            load_mae_w=self._load_abs / self._pv_n if self._pv_n else None,
            pv_mae_w=self._pv_abs / self._pv_n if self._pv_n else None,
            issues=self.issues)


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
