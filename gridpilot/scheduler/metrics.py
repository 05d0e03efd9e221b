"""The scheduler's counters and gauges, rendered in the Prometheus text format (version 0.0.4)."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gridpilot.engine.commands import CommandKind

__all__ = ["Metrics"]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


@dataclass
class Metrics:
    ticks_total: int = 0
    last_tick_duration_s: float = 0.0
    tick_duration_sum_s: float = 0.0
    last_tick_unix_s: float = 0.0
    last_state_unix_s: float = math.nan
    """When the last fresh state was read (UNIX s); NaN before the first."""
    state_age_s: float = math.nan
    commands_sent: int = 0
    commands_failed: int = 0
    current_kind: str | None = None
    soc_pct: float | None = None
    """The last SOC read; ``None`` while unknown (never read, or the reading was rejected): the
    sample is then left out, as Prometheus expects of a value nobody knows."""
    failsafe_active: bool = False
    person_mode_active: bool = False
    mode_unknown_active: bool = False
    policy_reloads: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    sections: list[Callable[[], list[str]]] = field(default_factory=list)
    """More metrics rendered by their owners (the price refresher), appended in order."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] += 1

    def tick_done(self, at: datetime, duration_s: float, *, failsafe: bool,
                  person_mode: bool) -> None:
        """Count a finished tick that started ``at``."""
        self.ticks_total += 1
        self.last_tick_duration_s = duration_s
        self.tick_duration_sum_s += duration_s
        self.last_tick_unix_s = at.timestamp()
        self.failsafe_active = failsafe
        self.person_mode_active = person_mode

    def state_seen(self, age_s: float | None, last_fresh: datetime | None) -> None:
        """The age of the last fresh state (``None``: there never was one)."""
        self.state_age_s = math.nan if age_s is None else age_s
        self.last_state_unix_s = math.nan if last_fresh is None else last_fresh.timestamp()

    def render(self) -> str:
        with self._lock:
            lines: list[str] = []

            def metric(name: str, kind: str, help_: str, samples: list[tuple[str, float]]) -> None:
                lines.append(f"# HELP {name} {help_}")
                lines.append(f"# TYPE {name} {kind}")
                for labels, value in samples:
                    lines.append(f"{name}{labels} {_num(value)}")

            metric("gridpilot_ticks_total", "counter", "Ticks run.", [("", self.ticks_total)])
            metric("gridpilot_tick_duration_seconds", "gauge",
                   "Wall time of the last tick.", [("", self.last_tick_duration_s)])
            metric("gridpilot_tick_duration_seconds_sum", "counter",
                   "Wall time of all ticks.", [("", self.tick_duration_sum_s)])
            metric("gridpilot_last_tick_timestamp_seconds", "gauge",
                   "Clock time of the last tick (UNIX s).", [("", self.last_tick_unix_s)])
            metric("gridpilot_state_age_seconds", "gauge",
                   "Age of the last fresh device state at the last tick.", [("", self.state_age_s)])
            metric("gridpilot_commands_sent_total", "counter",
                   "Commands the device accepted.", [("", self.commands_sent)])
            metric("gridpilot_commands_failed_total", "counter",
                   "Command attempts that failed or were not confirmed.",
                   [("", self.commands_failed)])
            metric("gridpilot_current_command", "gauge",
                   "1 for the kind of the command gridpilot runs now.",
                   [(f'{{kind="{k.value}"}}', 1.0 if k.value == self.current_kind else 0.0)
                    for k in CommandKind])
            soc = self.soc_pct
            metric("gridpilot_soc_percent", "gauge",
                   "Battery state of charge (no sample while it is unknown).",
                   [] if soc is None or math.isnan(soc) else [("", soc)])
            metric("gridpilot_failsafe_active", "gauge",
                   "1 while state is stale and the safe action holds.",
                   [("", float(self.failsafe_active))])
            metric("gridpilot_person_mode_active", "gauge",
                   "1 while a person's manual mode on the device is respected.",
                   [("", float(self.person_mode_active))])
            metric("gridpilot_mode_unknown_active", "gauge",
                   "1 while the device runs a mode gridpilot cannot place (nothing is sent).",
                   [("", float(self.mode_unknown_active))])
            metric("gridpilot_policy_reloads_total", "counter",
                   "Policy files swapped in at run time.", [("", self.policy_reloads)])
            metric("gridpilot_errors_total", "counter", "Errors by kind.",
                   [(f'{{kind="{_escape(k)}"}}', float(v)) for k, v in sorted(self.errors.items())])
            for section in self.sections:
                lines.extend(section())
            return "\n".join(lines) + "\n"
