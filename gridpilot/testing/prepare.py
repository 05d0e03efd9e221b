"""Setting a scenario case up: everything the runner needs before its first decision.

``gridpilot test`` runs a case from what :func:`prepare_case` returns, and the loader
(:mod:`gridpilot.testing.suite`, which ``gridpilot check`` reads too) calls it for every case as it
loads them. So a case that cannot run (a time the spring clock change skips, ``until`` before
``at``, a data file that does not cover the sequence, a check outside the sequence) is one error
at the key that causes it, reported alike by ``check`` and ``test``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TypeVar

import numpy as np

from gridpilot.engine.commands import Command
from gridpilot.engine.program import CompiledOverride
from gridpilot.errors import GridpilotError
from gridpilot.rules.policy import Policy
from gridpilot.rules.scenario import ProfilePoint, ScenarioCase
from gridpilot.rules.scenario_times import resolve_time
from gridpilot.rules.yamlsource import NodePath
from gridpilot.testing.build_state import (
    PriceSource,
    active_from_spec,
    build_overrides,
    build_state,
    price_source,
)
from gridpilot.testing.case_data import Recorded, load_recorded

__all__ = ["MAX_TICKS", "CaseSetupError", "PreparedCase", "prepare_case"]

MAX_TICKS = 50_000
_T = TypeVar("_T")


class CaseSetupError(ValueError):
    """A case cannot run; ``path`` is the key inside the case that causes it."""

    def __init__(self, path: NodePath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class PreparedCase:
    start: datetime
    until: datetime | None
    """End of a sequence case (exclusive); ``None`` for a single case."""
    prices: PriceSource
    overrides: tuple[CompiledOverride, ...]
    active: Command | None
    active_since: datetime | None
    profile: list[tuple[datetime, ProfilePoint]]
    recorded: Recorded | None
    n_ticks: int


def _at(path: NodePath, fn: Callable[..., _T], *args: object, **kwargs: object) -> _T:
    try:
        return fn(*args, **kwargs)
    except CaseSetupError:
        raise
    except (ValueError, GridpilotError) as exc:
        raise CaseSetupError(path, str(exc)) from None


def prepare_case(policy: Policy, case: ScenarioCase, base_dir: Path) -> PreparedCase:
    """Resolve every time of ``case``, build its prices, overrides, remembered command, profile
    and recorded data, and its first state. Raises :class:`CaseSetupError` for the first part
    that cannot be set up. ``base_dir`` resolves a sequence case's ``data`` file."""
    tz = policy.tz
    start = _at(("at",), resolve_time, case.at, tz)
    until = None
    n_ticks = 1
    if case.until is not None:
        until = _at(("until",), resolve_time, case.until, tz, after=start)
        if until <= start:
            raise CaseSetupError(("until",), "'until' must be after 'at'")
        n_ticks = int(-(-(until - start).total_seconds() // case.step_s))
        if n_ticks > MAX_TICKS:
            raise CaseSetupError(("until",), f"{n_ticks} ticks from 'at' to 'until'; at most "
                                 f"{MAX_TICKS} (use a longer 'step')")
    prices = _at(("prices",), price_source, policy, case, start)
    overrides = _at(("overrides",), build_overrides, case.overrides, start, tz)
    active, since = _at(("state", "active_command"), active_from_spec,
                        case.state.active_command, start, tz)
    profile: list[tuple[datetime, ProfilePoint]] = []
    after = start
    for i, point in enumerate(case.profile):
        t = _at(("profile", i, "at"), resolve_time, point.at, tz, after=after)
        profile.append((t, point))
        after = t
    recorded = None
    if case.data is not None and until is not None:
        recorded = _at(("data", "file"), load_recorded, base_dir / case.data.file,
                       case.data.format)
        _covers(recorded, start, case.step_s, n_ticks)
    if until is not None:
        _check_times(case, start, until, tz)
    spec = case.state
    _at(("state",), build_state, case, start, prices=prices, soc_pct=spec.soc_pct,
        load_w=spec.load_w, pv_w=spec.pv_w, battery_w=spec.battery_w, grid_w=spec.grid_w,
        active=active, active_since=since, month_peak_import_w=spec.month_peak_import_w,
        active_layer=None if spec.active_command is None else spec.active_command.layer)
    return PreparedCase(start, until, prices, overrides, active, since, profile, recorded,
                        n_ticks)


def _covers(recorded: Recorded, start: datetime, step_s: float, n_ticks: int) -> None:
    """Every tick must fall inside an interval of the recorded data."""
    ticks = int(start.timestamp()) + (np.arange(n_ticks) * step_s).astype(np.int64)
    i = np.searchsorted(recorded.start_s, ticks, side="right") - 1
    inside = (i >= 0) & (ticks < recorded.start_s[np.maximum(i, 0)] + recorded.interval_s)
    if not inside.all():
        first = start + timedelta(seconds=float(np.argmin(inside)) * step_s)
        raise CaseSetupError(("data", "file"), f"{recorded.source}: no data at "
                             f"{first.isoformat()} (the sequence runs from 'at' to 'until')")


def _check_times(case: ScenarioCase, start: datetime, until: datetime, tz: tzinfo) -> None:
    for j, check in enumerate(case.checks):
        if check.at is not None:
            when = _at(("checks", j, "at"), resolve_time, check.at, tz, after=start)
            if when >= until:
                raise CaseSetupError(("checks", j, "at"), f"{_local(when, tz)} is not before "
                                     "'until', so no tick of the sequence is there")
        if check.by is not None:
            when = _at(("checks", j, "by"), resolve_time, check.by, tz, after=start)
            if when > until:
                raise CaseSetupError(("checks", j, "by"), f"{_local(when, tz)} is after 'until'")


def _local(t: datetime, tz: tzinfo) -> str:
    return f"{t.astimezone(tz):%Y-%m-%d %H:%M %Z}"
