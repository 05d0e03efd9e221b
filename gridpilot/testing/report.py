"""Human-readable results: one line per case, and for a failure the expected-versus-actual table,
the decision's trace and, for a sequence case, the ticks around the failure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from gridpilot.engine.decision import Decision
from gridpilot.errors import PolicyError
from gridpilot.testing.compare import DiffRow, Failure
from gridpilot.testing.runner import CaseResult
from gridpilot.testing.sequence_checks import Tick
from gridpilot.testing.suite import Suite

__all__ = [
    "format_decision_trace",
    "format_failure",
    "format_load_error",
    "format_status_line",
    "format_summary",
]

_STATUS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}
_TIMELINE_BEFORE = 3
_TIMELINE_AFTER = 2


def _where(result: CaseResult) -> str:
    return f"{result.file}:{result.line}" if result.line else result.file


def format_status_line(result: CaseResult) -> str:
    """``PASS  examples/policies/agile.yaml:120  evening peak discharges``"""
    line = f"{_STATUS[result.outcome]:<5} {_where(result)}  {result.name}"
    if result.outcome == "skipped" and result.message:
        line += f"  (skipped: {result.message})"
    return line


def format_summary(passed: int, failed: int) -> str:
    """The last line of a run, exactly ``N passed, N failed``."""
    return f"{passed} passed, {failed} failed"


def _table(rows: Sequence[DiffRow], indent: str) -> list[str]:
    width_f = max([len("field"), *(len(r.field) for r in rows)])
    width_e = max([len("expected"), *(len(r.expected) for r in rows)])
    out = [f"{indent}  {'field':<{width_f}}  {'expected':<{width_e}}  actual"]
    for r in rows:
        mark = " " if r.ok else "!"
        out.append(f"{indent}{mark} {r.field:<{width_f}}  {r.expected:<{width_e}}  {r.actual}")
    return out


def format_decision_trace(decision: Decision, indent: str = "    ") -> list[str]:
    """The decision's trace: winner and reason, every candidate, the limits that bound it."""
    out = [
        f"{indent}decided: {decision.command.describe()}  "
        f"(winner {decision.winner}, layer {decision.layer})",
    ]
    if decision.reason:
        out.append(f"{indent}reason: {decision.reason}")
    if decision.candidates:
        out.append(f"{indent}candidates:")
        width = max(len(c.source) for c in decision.candidates)
        for c in decision.candidates:
            proposal = c.proposal.describe() if c.proposal is not None else "-"
            text = f"{indent}  {c.source:<{width}}  {c.layer:<8}  {c.outcome:<11}  {proposal}"
            if c.reason:
                text += f"  ({c.reason})"
            out.append(text)
    if decision.limits:
        out.append(f"{indent}limits applied:")
        for h in decision.limits:
            before = "unset" if h.before is None else f"{h.before:g}"
            after = "unset" if h.after is None else f"{h.after:g}"
            text = f"{indent}  {h.limit}: {h.field} {before} -> {after}"
            if h.note:
                text += f"  ({h.note})"
            out.append(text)
    else:
        out.append(f"{indent}limits applied: none")
    for note in decision.notes:
        out.append(f"{indent}note: {note}")
    return out


def _local(t: datetime, tz: tzinfo | None) -> str:
    local = t.astimezone(tz) if tz is not None else t
    return local.strftime("%Y-%m-%d %H:%M %Z").strip()


def _timeline(ticks: list[Tick], at: datetime, tz: tzinfo | None, indent: str) -> list[str]:
    idx = next((i for i, t in enumerate(ticks) if t.time >= at), len(ticks) - 1)
    lo, hi = max(0, idx - _TIMELINE_BEFORE), min(len(ticks), idx + _TIMELINE_AFTER + 1)
    out = [f"{indent}ticks around it (time, SOC going in, command, winner, battery, grid):"]
    for i in range(lo, hi):
        t = ticks[i]
        mark = ">" if i == idx else " "
        local = t.time.astimezone(tz) if tz is not None else t.time
        out.append(
            f"{indent}{mark} {local:%m-%d %H:%M}  {t.soc_pct:6.2f} %  "
            f"{t.decision.command.describe():<34}  {t.decision.winner:<24}  "
            f"battery {t.battery_w:+.0f} W  grid {t.grid_w:+.0f} W"
        )
    return out


def format_failure(
    result: CaseResult, *, tz: tzinfo | None = None, with_trace: bool = True
) -> str:
    """The full report of a failed or erroring case, pointing at its file and line."""
    head = f"{_where(result)}: {result.name}"
    if result.at is not None:
        head += f"  (at {_local(result.at, tz)})"
    lines = [head]
    if result.outcome == "error":
        first, *rest = result.message.splitlines() or [""]
        lines.append(f"  error: {first}")
        lines.extend(f"         {more}" for more in rest)
        return "\n".join(lines)
    for failure in result.failures:
        lines.extend(_format_one(result, failure, tz, with_trace))
    return "\n".join(lines)


def _format_one(
    result: CaseResult, failure: Failure, tz: tzinfo | None, with_trace: bool
) -> list[str]:
    where = f"{result.file}:{failure.line}" if failure.line else result.file
    title = f"  {where}: {failure.title}"
    if failure.at is not None and result.ticks:
        title += f" at {_local(failure.at, tz)}"
    lines = [title]
    if failure.message:
        lines.append(f"    {failure.message}")
    if failure.rows:
        lines.extend(_table(failure.rows, "    "))
    if with_trace and failure.decision is not None:
        lines.append("    trace:")
        lines.extend(format_decision_trace(failure.decision, "      "))
    if result.ticks and failure.at is not None:
        lines.extend(_timeline(result.ticks, failure.at, tz, "    "))
    return lines


def format_load_error(suite: Suite) -> str:
    """Why a test file (or the policy it names) could not be loaded."""
    err = suite.error
    lines = [f"{suite.file}: cannot load scenario tests"]
    if isinstance(err, PolicyError):
        lines.extend(f"  {issue.format()}" for issue in err.issues)
    elif err is not None:
        lines.append(f"  {err}")
    return "\n".join(lines)
