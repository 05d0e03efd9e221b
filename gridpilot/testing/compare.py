"""Comparing a decision with an expectation, field by field, so a failure can show a diff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gridpilot.engine.decision import Decision
from gridpilot.rules.scenario_expectations import COMMAND_FIELDS, Expectation

__all__ = [
    "DiffRow",
    "Failure",
    "check_decision",
    "compare",
    "limit_matches",
    "matches",
    "source_name",
]


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One checked field: what the test wanted, what the engine decided, and whether they agree."""

    field: str
    expected: str
    actual: str
    ok: bool


def _num(value: float | None) -> str:
    return "null" if value is None else f"{value:g}"


def source_name(text: str) -> str:
    """A bare rule name means ``rule:<name>``; sources with a prefix stay as written."""
    if text in ("default", "device") or ":" in text:
        return text
    return f"rule:{text}"


def limit_matches(expected: str, limit: str, field: str) -> bool:
    """``expected`` names the limit ``limit`` (changing ``field``): ``guard:reserve``,
    ``guard:reserve.floor_soc_pct``, ``reserve``, ``device.max_charge_w`` or ``device``."""
    full = {limit, f"{limit}.{field}"} if field else {limit}
    for name in (expected, f"guard:{expected}"):
        for candidate in full:
            # ``guard:backup_reserve`` also names the unnamed ``guard:backup_reserve[1]``.
            if candidate == name or candidate.startswith((name + ".", name + "[")):
                return True
    return False


def _names(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def compare(exp: Expectation, decision: Decision) -> list[DiffRow]:
    """One row per key given in ``exp``, in a fixed, readable order."""
    rows: list[DiffRow] = []
    cmd = decision.command
    if exp.kind is not None:
        kinds = exp.kind if isinstance(exp.kind, list) else [exp.kind]
        wanted = " or ".join(k.value for k in kinds)
        rows.append(DiffRow("kind", wanted, cmd.kind.value, cmd.kind in kinds))
    for name in COMMAND_FIELDS:
        num = getattr(exp, name)
        if num is not None:
            actual = getattr(cmd, name)
            rows.append(DiffRow(name, num.describe(), _num(actual), num.matches(actual)))
    if exp.winner is not None:
        wanted = source_name(exp.winner)
        rows.append(DiffRow("winner", wanted, decision.winner, decision.winner == wanted))
    if exp.layer is not None:
        rows.append(DiffRow("layer", exp.layer, decision.layer, decision.layer == exp.layer))
    hits = [(h.limit, h.field) for h in decision.limits]
    hit_text = ", ".join(dict.fromkeys(lim for lim, _ in hits)) or "(none)"
    for name in _names(exp.bound_by):
        ok = any(limit_matches(name, lim, fld) for lim, fld in hits)
        rows.append(DiffRow("bound_by", name, hit_text, ok))
    for name in _names(exp.not_bound_by):
        ok = not any(limit_matches(name, lim, fld) for lim, fld in hits)
        rows.append(DiffRow("not_bound_by", name, hit_text, ok))
    if exp.reason is not None:
        ok = exp.reason.lower() in decision.reason.lower()
        rows.append(DiffRow("reason", f"contains {exp.reason!r}", repr(decision.reason), ok))
    if exp.note is not None:
        ok = any(exp.note.lower() in n.lower() for n in decision.notes)
        actual = "; ".join(decision.notes) or "(no notes)"
        rows.append(DiffRow("note", f"contains {exp.note!r}", actual, ok))
    if exp.yielded is not None:
        rows.append(
            DiffRow("yielded", str(exp.yielded).lower(), str(decision.yielded).lower(),
                    decision.yielded is exp.yielded)
        )
    if exp.outcomes is not None:
        by_source = {c.source: c.outcome for c in decision.candidates}
        for source, outcome in exp.outcomes.items():
            name = source_name(source)
            actual = by_source.get(name, "(not in trace)")
            rows.append(DiffRow(f"outcome of {name}", outcome, actual, actual == outcome))
    return rows


def matches(exp: Expectation, decision: Decision) -> bool:
    return all(row.ok for row in compare(exp, decision))


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold."""

    title: str
    """What was checked, e.g. ``expect`` or ``check 2 (by 16:00)``."""
    line: int
    """Line of the expectation in its file."""
    rows: tuple[DiffRow, ...] = ()
    decision: Decision | None = None
    at: datetime | None = None
    message: str = ""


def check_decision(
    exp: Expectation | None,
    nots: list[Expectation],
    decision: Decision,
    title: str,
    line: int,
    at: datetime | None,
) -> list[Failure]:
    """Failures of ``decision`` against ``exp`` (all must hold) and ``nots`` (none may match)."""
    failures: list[Failure] = []
    if exp is not None:
        rows = compare(exp, decision)
        if not all(r.ok for r in rows):
            failures.append(Failure(title, line, tuple(rows), decision, at))
    for i, bad in enumerate(nots):
        rows = compare(bad, decision)
        if all(r.ok for r in rows):
            label = title
            if len(nots) > 1:
                label += f" [{i}]"
            failures.append(
                Failure(
                    label, line, tuple(rows), decision, at,
                    "the decision matches what expect_not rules out",
                )
            )
    return failures
