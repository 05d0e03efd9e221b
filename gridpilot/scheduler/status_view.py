"""The documents the status API serves (``/api/*``), built from a running scheduler.

``gridpilot status --json`` prints :meth:`StatusView.status` as it is; the dashboard draws the
others. Every number carries its unit in its name; times are ISO 8601 with their offset.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from gridpilot.engine.program import CompiledOverride
from gridpilot.scheduler.audit import audit_files
from gridpilot.scheduler.audit_query import (
    actuals,
    last_error,
    recent_records,
    search_decisions,
)
from gridpilot.scheduler.cost_today import cost_today
from gridpilot.scheduler.plan_ahead import PlanSlot, project_plan

if TYPE_CHECKING:
    from gridpilot.scheduler.loop import Scheduler

__all__ = ["StatusView"]

log = logging.getLogger("gridpilot.status")


def _slot(prices: Any, i: int) -> dict[str, Any]:
    ends = prices.slot_end_s
    return {
        "start": datetime.fromtimestamp(int(prices.start_s[i]), UTC).isoformat(),
        "end": datetime.fromtimestamp(int(ends[i]), UTC).isoformat(),
        "import_per_kwh": float(prices.import_per_kwh[i]),
        "export_per_kwh": float(prices.export_per_kwh[i]),
    }


class StatusView:
    """Reads a :class:`~gridpilot.scheduler.loop.Scheduler` for the status API. The plan is
    projected at most once per tick (and again after an override changes)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.s = scheduler
        self._plan_key: tuple[int, int] | None = None
        self._plan: list[PlanSlot] = []
        self.overrides_changed = 0
        self.plan_error: str | None = None
        """Why the last projection of the plan failed, if it did."""
        self._records_key: tuple[tuple[str, int, int], ...] | None = None
        self._records_cache: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"StatusView(ticks={self.s.tick_count})"

    # -- pieces ------------------------------------------------------------------------------
    def _records(self) -> list[dict[str, Any]]:
        """The newest audit records, parsed again only when an audit file changed: the page
        asks for several documents at each refresh, and each reads the same log."""
        key = []
        for path in audit_files(self.s.state_dir):
            try:
                st = path.stat()
            except OSError:
                continue
            key.append((str(path), st.st_size, st.st_mtime_ns))
        if tuple(key) != self._records_key:
            self._records_cache = recent_records(self.s.state_dir)
            self._records_key = tuple(key)
        return self._records_cache

    def mode(self) -> str:
        """``running``, ``failsafe``, ``yielding`` (to a person's mode), ``starting``,
        ``stalled`` or ``error`` (the last tick failed)."""
        ok, health = self.s.health()
        if self.s.failsafe_active:
            return "failsafe"
        if self.s.person_mode:
            return "yielding"
        report = self.s.last_report
        if report is not None and report.status == "error":
            return "error"
        return "running" if ok else str(health.get("status", "stalled"))

    def _overrides_at(self, at: datetime) -> list[CompiledOverride]:
        # Not OverrideStore.active(at): that drops (and deletes from disk) every override
        # that ends before ``at``, and the plan asks about times hours ahead.
        return [o.compiled() for o in self.s.overrides.all() if o.start <= at < o.until]

    def plan(self, hours: float = 48.0) -> list[PlanSlot]:
        state = self.s.last_state
        if state is None:
            return []
        key = (self.s.tick_count, self.overrides_changed)
        if key != self._plan_key:
            try:
                self._plan = project_plan(self.s.policy, state, self._overrides_at,
                                          decide_fn=self.s.decide_fn, hours=48.0)
                self.plan_error = None
            except Exception as exc:
                # The plan is a view: a strategy failing on a projected state must not take
                # the rest of the status (or the MQTT publication) with it.
                log.warning("projecting the plan failed: %s: %s", type(exc).__name__, exc)
                self._plan, self.plan_error = [], f"{type(exc).__name__}: {exc}"
            self._plan_key = key
        horizon = state.time.timestamp() + hours * 3600.0
        return [p for p in self._plan if p.start.timestamp() < horizon]

    def prices(self) -> dict[str, Any]:
        now = self.s.clock.now()
        tariff = self.s.policy.tariff
        out: dict[str, Any] = {"currency": tariff.currency, "slots": [], "now": None,
                               "next_cheap": None, "next_dear": None}
        try:
            prices = tariff.outlook(now)
        except Exception as exc:  # a price source's failure is shown, never a 500
            out["error"] = f"{type(exc).__name__}: {exc}"
            return out
        n = len(prices)
        out["slots"] = [_slot(prices, i) for i in range(n)]
        if n:
            out["now"] = out["slots"][0]
        if n > 1:
            ahead = prices.import_per_kwh[1:]
            out["next_cheap"] = out["slots"][1 + int(np.argmin(ahead))]
            out["next_dear"] = out["slots"][1 + int(np.argmax(ahead))]
        return out

    def _price_at(self, at: datetime) -> tuple[float, float] | None:
        try:
            prices = self.s.policy.tariff.outlook(at, 0.0)
        except Exception:
            return None
        if not len(prices):
            return None
        return float(prices.import_per_kwh[0]), float(prices.export_per_kwh[0])

    def decision(self) -> dict[str, Any] | None:
        report = self.s.last_report
        if report is None or report.decision is None:
            return None
        d = report.decision
        return {
            "time": report.time.isoformat(),
            "command": None if d.yielded else d.command.as_dict(),
            "describe": d.command.describe(), "winner": d.winner, "layer": d.layer,
            "reason": d.reason, "yielded": d.yielded,
            "limits": [h.as_dict() for h in d.limits], "notes": list(d.notes),
        }

    def readings(self) -> dict[str, Any] | None:
        report = self.s.last_report
        if report is None or report.snapshot is None:
            return None
        return report.snapshot.as_dict()

    # -- documents ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        ok, doc = self.s.health()
        records = self._records()
        prices = self.s.prices
        forecasts = self.s.forecasts
        return {
            **doc, "healthy": ok, "failsafe": self.s.failsafe_active,
            "last_error": last_error(records),
            "last_device_error": last_error(records, device_only=True),
            "prices": prices.trace() if prices is not None else None,
            "forecast": (forecasts.trace().get("forecast", {"source": forecasts.source})
                         if forecasts is not None else None),
        }

    def trace(self) -> dict[str, Any]:
        report = self.s.last_report
        if report is None:
            return {"tick": None}
        out: dict[str, Any] = {
            "tick": report.tick, "time": report.time.isoformat(), "status": report.status,
            "message": report.message,
            "state": None if report.snapshot is None else report.snapshot.as_dict(),
            "decision": None if report.decision is None
            else {**report.decision.as_dict(), "describe": report.decision.command.describe()},
            "dispatch": (None if report.outcome is None
                         else {"status": report.outcome.status, "detail": report.outcome.detail}),
        }
        return out

    def cost(self) -> dict[str, Any]:
        records = self._records()
        return {"currency": self.s.policy.tariff.currency,
                **cost_today(records, self.s.clock.now(), tz=self.s.policy.tz,
                             interval_s=self.s.interval_s, price_at=self._price_at)}

    def decisions(self, query: str = "", limit: int = 50) -> dict[str, Any]:
        records = self._records()
        return {"query": query, "decisions": search_decisions(records, query, limit=limit)}

    def actuals(self, hours: float = 24.0) -> dict[str, Any]:
        records = self._records()
        return {"hours": hours, "ticks": actuals(records, self.s.clock.now(), hours=hours)}

    def status(self) -> dict[str, Any]:
        report = self.s.last_report
        now = self.s.clock.now()
        return {
            "time": now.isoformat(),
            "site": self.s.policy.name,
            "timezone": str(self.s.policy.tz),
            "mode": self.mode(),
            "dry_run": self.s.dry_run,
            "tick": self.s.tick_count,
            "last_tick": None if report is None else report.time.isoformat(),
            "decision": self.decision(),
            "dispatch": (None if report is None or report.outcome is None
                         else {"status": report.outcome.status, "detail": report.outcome.detail}),
            "readings": self.readings(),
            "prices": {k: v for k, v in self.prices().items() if k != "slots"},
            "plan": [p.as_dict() for p in self.plan(hours=24.0)],
            "plan_error": self.plan_error,
            "overrides": [o.as_dict() for o in self.s.overrides.active(now)],
            "cost_today": self.cost(),
            "health": self.health(),
        }
