"""The ``/healthz`` answer of a running scheduler."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from gridpilot.scheduler.metrics import Metrics

__all__ = ["health_report"]

STALLED_AFTER_INTERVALS = 3
"""A tick this many intervals late means the loop is stuck, not merely slow."""


def health_report(metrics: Metrics, now: datetime, *, ticks: int, interval_s: float,
                  failsafe: bool, person_mode: bool, dry_run: bool) -> tuple[bool, dict[str, Any]]:
    """Healthy while ticks come on time and the state is fresh; the details for the answer."""
    since_tick_s = now.timestamp() - metrics.last_tick_unix_s if ticks else None
    if failsafe:
        status = "failsafe"
    elif since_tick_s is None:
        status = "starting"
    elif since_tick_s > STALLED_AFTER_INTERVALS * interval_s:
        status = "stalled"
    else:
        status = "ok"
    age = metrics.state_age_s
    return status == "ok", {
        "status": status,
        "ticks": ticks,
        "seconds_since_tick": since_tick_s,
        "state_age_s": None if math.isnan(age) else age,
        "person_mode": person_mode,
        "dry_run": dry_run,
        "current_command": metrics.current_kind,
    }
