"""Running scenario cases against a policy.

The engine is injected (:class:`Engine`): the real one is ``decide()`` and the simulator's battery
model, the same code the live scheduler and the backtester run. A single case asks for one
decision; a sequence case ticks from ``at`` to ``until``, feeding each decision through the
battery model and the previous command back in as the anti-flap memory.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

from gridpilot.engine.battery import BatteryParams, step
from gridpilot.engine.commands import Command
from gridpilot.engine.decide import decide
from gridpilot.engine.decision import Decision
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import SiteState
from gridpilot.errors import GridpilotError
from gridpilot.rules.policy import Policy
from gridpilot.rules.scenario import ScenarioCase
from gridpilot.testing.build_state import build_state
from gridpilot.testing.compare import Failure, check_decision
from gridpilot.testing.prepare import MAX_TICKS, prepare_case
from gridpilot.testing.sequence_checks import Tick, evaluate_check

__all__ = [
    "MAX_TICKS",
    "CaseResult",
    "Engine",
    "Failure",
    "Outcome",
    "default_engine",
    "run_case",
]

Outcome = Literal["passed", "failed", "error", "skipped"]


class StepResultLike(Protocol):
    @property
    def battery_w(self) -> float: ...
    @property
    def grid_w(self) -> float: ...
    @property
    def soc_pct(self) -> float: ...


DecideFn = Callable[[Policy, SiteState, Sequence[CompiledOverride]], Decision]
StepFn = Callable[[Command, float, float, float, float, BatteryParams], StepResultLike]


@dataclass(frozen=True)
class Engine:
    """The decision function and the battery model a case runs through."""

    decide: DecideFn
    step: StepFn
    battery_params: Callable[[Policy], BatteryParams]


def default_engine() -> Engine:
    """The real ``decide()`` and the simulator's battery model."""

    def _decide(
        policy: Policy, state: SiteState, overrides: Sequence[CompiledOverride]
    ) -> Decision:
        return decide(policy, state, overrides)

    def _battery(policy: Policy) -> BatteryParams:
        return policy.battery

    return Engine(decide=_decide, step=step, battery_params=_battery)


@dataclass
class CaseResult:
    name: str
    file: str
    line: int
    outcome: Outcome
    failures: list[Failure] = field(default_factory=list)
    decision: Decision | None = None
    """The (first) decision, for a single case."""
    ticks: list[Tick] = field(default_factory=list)
    """Every tick of a sequence case."""
    message: str = ""
    """For ``error`` and ``skipped``: what went wrong, or why it was skipped."""
    at: datetime | None = None
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


def run_case(
    policy: Policy,
    case: ScenarioCase,
    *,
    file: str = "",
    line: int = 0,
    check_lines: Sequence[int] = (),
    expect_lines: tuple[int, int] = (0, 0),
    engine: Engine | None = None,
    base_dir: Path | None = None,
) -> CaseResult:
    """Run one case; never raises for a problem in the case or the policy (that is an ``error``
    result naming it). ``base_dir`` resolves a sequence case's ``data`` file (default: the
    directory of ``file``)."""
    result = CaseResult(case.name, file, line, "passed")
    if case.skip is not None:
        result.outcome = "skipped"
        result.message = case.skip
        return result
    started = _time.perf_counter()
    try:
        eng = engine or default_engine()
        folder = base_dir if base_dir is not None else Path(file or ".").parent
        if case.is_sequence:
            _run_sequence(policy, case, eng, result, list(check_lines), folder)
        else:
            _run_single(policy, case, eng, result, expect_lines, folder)
    except (ValueError, GridpilotError) as exc:
        result.outcome = "error"
        result.message = str(exc)
    except Exception as exc:  # a bug in a strategy or the engine: report it, keep running
        result.outcome = "error"
        result.message = f"{type(exc).__name__}: {exc}"
    result.duration_s = _time.perf_counter() - started
    if result.outcome == "passed" and result.failures:
        result.outcome = "failed"
    return result


def _run_single(
    policy: Policy,
    case: ScenarioCase,
    eng: Engine,
    result: CaseResult,
    expect_lines: tuple[int, int],
    base_dir: Path,
) -> None:
    ready = prepare_case(policy, case, base_dir)
    at = ready.start
    result.at = at
    state = build_state(
        case,
        at,
        prices=ready.prices,
        soc_pct=case.state.soc_pct,
        load_w=case.state.load_w,
        pv_w=case.state.pv_w,
        battery_w=case.state.battery_w,
        grid_w=case.state.grid_w,
        active=ready.active,
        active_since=ready.active_since,
        month_peak_import_w=case.state.month_peak_import_w,
        active_layer=_active_layer(case),
    )
    decision = eng.decide(policy, state, ready.overrides)
    result.decision = decision
    line_expect = expect_lines[0] or result.line
    line_not = expect_lines[1] or result.line
    result.failures.extend(check_decision(case.expect, [], decision, "expect", line_expect, at))
    result.failures.extend(
        check_decision(None, case.expect_nots, decision, "expect_not", line_not, at)
    )


def _active_layer(case: ScenarioCase) -> str | None:
    spec = case.state.active_command
    return None if spec is None else spec.layer


def _run_sequence(
    policy: Policy,
    case: ScenarioCase,
    eng: Engine,
    result: CaseResult,
    check_lines: list[int],
    base_dir: Path,
) -> None:
    tz = policy.tz
    ready = prepare_case(policy, case, base_dir)
    start, until = ready.start, ready.until
    assert until is not None
    result.at = start
    step_s = case.step_s
    params = eng.battery_params(policy)
    prices, overrides, profile, recorded = (
        ready.prices, ready.overrides, ready.profile, ready.recorded
    )
    active, since = ready.active, ready.active_since
    initial_active = (active, since)
    layer = _active_layer(case)
    spec = case.state
    soc, load, pv = spec.soc_pct, spec.load_w, spec.pv_w
    battery_w, grid_w = spec.battery_w, spec.grid_w
    peak = spec.month_peak_import_w
    ticks: list[Tick] = []
    for i in range(ready.n_ticks):
        t = start + timedelta(seconds=i * step_s)
        for when, point in profile:
            if when <= t:
                load = point.load_w if point.load_w is not None else load
                pv = point.pv_w if point.pv_w is not None else pv
        if recorded is not None:
            load, pv = recorded.at(t, load, pv)
        state = build_state(
            case, t, prices=prices, soc_pct=soc, load_w=load, pv_w=pv,
            battery_w=battery_w, grid_w=grid_w, active=active, active_since=since,
            month_peak_import_w=peak, active_layer=layer,
        )
        decision = eng.decide(policy, state, overrides)
        dt_s = min(step_s, (until - t).total_seconds())
        out = eng.step(decision.command, soc, load, pv, dt_s, params)
        ticks.append(Tick(t, dt_s, soc, load, pv, decision, out.battery_w, out.grid_w, out.soc_pct))
        if active is None or decision.command.kind is not active.kind:
            since = t
        active, layer = decision.command, decision.layer
        soc, battery_w, grid_w = out.soc_pct, out.battery_w, out.grid_w
        peak = max(peak, grid_w)
    result.ticks = ticks
    result.decision = ticks[0].decision if ticks else None
    for j, check in enumerate(case.checks):
        line = check_lines[j] if j < len(check_lines) else result.line
        result.failures.extend(
            evaluate_check(
                tz, check, ticks, start, until, initial_active, index=j, line=line
            )
        )

