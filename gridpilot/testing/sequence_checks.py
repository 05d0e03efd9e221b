"""The checks of a sequence case, evaluated over its recorded ticks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from gridpilot.engine.commands import Command
from gridpilot.engine.decision import Decision
from gridpilot.rules.scenario import Check, parse_hhmm_window
from gridpilot.rules.scenario_times import resolve_time
from gridpilot.testing.compare import DiffRow, Failure, check_decision
from gridpilot.timeutil import parse_duration_s

__all__ = ["Tick", "evaluate_check", "kind_changes"]


@dataclass(frozen=True, slots=True)
class Tick:
    """One tick of a sequence case: the state going in, the decision, and the battery model's
    answer over the following ``dt_s`` seconds."""

    time: datetime
    dt_s: float
    soc_pct: float
    load_w: float
    pv_w: float
    decision: Decision
    battery_w: float
    grid_w: float
    soc_after_pct: float


def _local(t: datetime, tz: tzinfo) -> str:
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def kind_changes(
    ticks: list[Tick], initial: Command | None
) -> list[tuple[datetime, str, str]]:
    """``(time, from kind, to kind)`` for every change of command kind."""
    out = []
    previous = initial.kind.value if initial is not None else None
    for tick in ticks:
        kind = tick.decision.command.kind.value
        if previous is not None and kind != previous:
            out.append((tick.time, previous, kind))
        previous = kind
    return out


def _label(check: Check) -> str:
    if check.name:
        return check.name
    if check.at is not None:
        return f"at {check.at}"
    if check.by is not None:
        return f"by {check.by}"
    if check.during is not None:
        return f"during {check.during}"
    if check.min_dwell is not None:
        return f"min_dwell {check.min_dwell}"
    return f"max_changes {check.max_changes}"


def _in_window(t: datetime, tz: tzinfo, window: str) -> bool:
    if window.strip() == "all":
        return True
    start, end = parse_hhmm_window(window)
    local = t.astimezone(tz)
    minute = local.hour * 60 + local.minute
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end


def evaluate_check(
    tz: tzinfo,
    check: Check,
    ticks: list[Tick],
    start: datetime,
    until: datetime,
    initial: tuple[Command | None, datetime | None],
    *,
    index: int = 0,
    line: int = 0,
) -> list[Failure]:
    """The failures of ``check`` (empty when it holds)."""
    title = f"check {index + 1} ({_label(check)})"
    if check.at is not None:
        when = resolve_time(check.at, tz, after=start)
        tick = next((t for t in ticks if t.time >= when), None)
        if tick is None or when >= until:
            return [Failure(title, line, message=f"no tick at or after {_local(when, tz)}")]
        return check_decision(
            check.expect, check.expect_nots, tick.decision, title, line, tick.time
        )
    if check.by is not None:
        assert check.soc_pct is not None
        when = resolve_time(check.by, tz, after=start)
        if when > until:
            return [Failure(title, line, message=f"{_local(when, tz)} is after 'until'")]
        soc = ticks[0].soc_pct if ticks else 0.0
        for tick in ticks:
            if tick.time.timestamp() + tick.dt_s <= when.timestamp() + 1e-6:
                soc = tick.soc_after_pct
        row = DiffRow(f"soc_pct at {_local(when, tz)}", check.soc_pct.describe(), f"{soc:.4g}",
                      check.soc_pct.matches(soc))
        return [] if row.ok else [Failure(title, line, (row,), None, when)]
    if check.during is not None:
        inside = [t for t in ticks if _in_window(t.time, tz, check.during)]
        if not inside:
            return [Failure(title, line, message=f"no tick falls in {check.during}")]
        failing: list[Failure] = []
        for tick in inside:
            found = check_decision(
                check.expect, check.expect_nots, tick.decision, title, line, tick.time
            )
            for name, want, actual in (
                ("soc_pct", check.soc_pct, tick.soc_pct),
                ("grid_w", check.grid_w, tick.grid_w),
                ("battery_w", check.battery_w, tick.battery_w),
            ):
                if want is not None and not want.matches(actual):
                    row = DiffRow(f"{name} at {_local(tick.time, tz)}", want.describe(),
                                  f"{actual:.6g}", False)
                    found.append(Failure(title, line, (row,), tick.decision, tick.time))
            if found:
                failing.append(found[0])
        if not failing:
            return []
        first = failing[0]
        note = (
            f"{len(failing)} of {len(inside)} ticks in the window fail; "
            f"the first at {_local(first.at or start, tz)}"
        )
        return [Failure(first.title, line, first.rows, first.decision, first.at, note)]
    changes = kind_changes(ticks, initial[0])
    if check.max_changes is not None:
        if len(changes) <= check.max_changes:
            return []
        listing = ", ".join(f"{_local(t, tz)} {a}→{b}" for t, a, b in changes[:10])
        row = DiffRow("kind changes", f"<= {check.max_changes}", str(len(changes)), False)
        return [Failure(title, line, (row,), message=f"changes: {listing}")]
    assert check.min_dwell is not None
    dwell_s = parse_duration_s(check.min_dwell)
    previous_change = initial[1] if initial[0] is not None else None
    for t, a, b in changes:
        if previous_change is not None and (t - previous_change).total_seconds() < dwell_s - 1e-6:
            gap_s = (t - previous_change).total_seconds()
            row = DiffRow("dwell before change", f">= {dwell_s:g} s", f"{gap_s:g} s", False)
            return [
                Failure(
                    title, line, (row,), None, t,
                    f"changed {a}→{b} at {_local(t, tz)}, {gap_s / 60:g} min after the previous "
                    f"change at {_local(previous_change, tz)}",
                )
            ]
        previous_change = t
    return []
