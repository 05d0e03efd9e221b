"""Arbitration: which intent wins the tick.

Active manual overrides (the policy's ``manual`` section, then the run-time ``overrides``, each
while ``start_s <= t < until_s``) come first, then the manual rules, the schedule rules and the
``default``, in that order; within a layer the first matching rule in file order wins. A strategy
rule that proposes nothing lets the next rule decide. If even the default has nothing to say, the
engine falls back to ``self_consumption`` and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from gridpilot.engine.actions import command_from_action
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.decision import Candidate
from gridpilot.engine.hold import Hold, conditions_hold
from gridpilot.engine.model import EngineModel, RuleEntry, TickPattern
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.proposal import StrategyContext
from gridpilot.engine.state import SiteState

__all__ = ["Outcome", "arbitrate"]

_MANUAL = "manual"
_FALLBACK = Command(CommandKind.SELF_CONSUMPTION)


class Outcome:
    """The winning intent and the trace so far; the later stages may replace the command."""

    __slots__ = ("candidates", "command", "force", "layer", "notes", "rank", "reason", "winner")

    def __init__(self, command: Command, winner: str, layer: str, reason: str, force: bool,
                 rank: int, candidates: list[Candidate], notes: list[str]) -> None:
        self.command = command
        self.winner = winner
        self.layer = layer
        self.reason = reason
        self.force = force
        self.rank = rank
        self.candidates = candidates
        self.notes = notes


def arbitrate(
    model: EngineModel,
    state: SiteState,
    overrides: Sequence[CompiledOverride],
    pattern: TickPattern,
    soc_pct: float,
    price: float | None,
    reserve_soc_pct: float,
    hold: Hold | None = None,
) -> Outcome:
    """The winner among ``overrides`` (already in order) and the model's rules at ``state``."""
    cands: list[Candidate] = []
    notes: list[str] = []
    won = None
    if overrides:
        t_s = state.time.timestamp()
        if hold is not None:
            for ov in overrides:
                # An override's answer changes only at its start and its end.
                for edge_s in (ov.start_s, ov.until_s):
                    if edge_s > t_s:
                        hold.until(edge_s)
        won = _override(model, overrides, t_s, cands)
    if won is not None:
        cands.extend(e.outranked for e in model.entries)
    else:
        won = _rule(model, state, pattern, soc_pct, price, reserve_soc_pct, cands, notes, hold)
    if won is None:
        reason = "no rule or strategy proposed anything: self_consumption"
        cands.append(Candidate("fallback", "default", _FALLBACK, "won", reason))
        notes.append(reason)
        return Outcome(_FALLBACK, "fallback", "default", reason, False, 0, cands, notes)
    won.candidates = cands
    won.notes = notes
    return won


def _override(model: EngineModel, overrides: Sequence[CompiledOverride], t_s: float,
              cands: list[Candidate]) -> Outcome | None:
    won: Outcome | None = None
    for ov in overrides:
        if not ov.start_s <= t_s < ov.until_s:
            continue
        src = f"override:{ov.name}"
        if won is not None:
            cands.append(Candidate(src, _MANUAL, None, "outranked", "an earlier override won"))
            continue
        command = command_from_action(ov.action, model.limits)
        until = datetime.fromtimestamp(ov.until_s, UTC).isoformat()
        reason = f"manual override until {until}: {command.describe()}"
        cands.append(Candidate(src, _MANUAL, command, "won", reason))
        won = Outcome(command, src, _MANUAL, reason, ov.force, 2, cands, [])
    return won


def _rule(model: EngineModel, state: SiteState, pattern: TickPattern, soc_pct: float,
          price: float | None, reserve_soc_pct: float, cands: list[Candidate],
          notes: list[str], hold: Hold | None) -> Outcome | None:
    prev = state.active_command
    prev_kind = None if prev is None else prev.kind
    hyst_pct = model.hysteresis_pct
    ctx: StrategyContext | None = None
    e: RuleEntry
    for i, (e, cal_open) in enumerate(zip(model.entries, pattern.entry_open, strict=True)):
        if not cal_open:
            cands.append(e.not_active)
            continue
        window = e.window
        if window is not None and window.has_conditions:
            kind = e.hysteresis_kind
            h = hyst_pct if kind is not None and kind is prev_kind else 0.0
            if not conditions_hold(window, soc_pct, price, h, hold):
                cands.append(e.not_active)
                continue
        if e.command is not None:
            command = e.command
            won = e.won
            assert won is not None
            cands.append(won)
            reason = won.reason
        else:
            strategy = e.strategy
            assert strategy is not None
            if ctx is None:
                ctx = model.ctx_for(reserve_soc_pct)
            try:
                proposal = strategy.propose(state, ctx)
            except Exception as exc:
                # A faulty plugin is reported and skipped; it must never stop the tick.
                msg = f"strategy {strategy.name!r} failed: {type(exc).__name__}: {exc}"
                cands.append(Candidate(e.source, e.layer, None, "no_proposal", msg))
                notes.append(msg)
                if hold is not None:
                    hold.never()
                continue
            if hold is not None:
                if proposal.hold is None:
                    hold.never()
                else:
                    hold.meet(proposal.hold)
            if proposal.command is None:
                cands.append(Candidate(e.source, e.layer, None, "no_proposal", proposal.reason))
                continue
            command = proposal.command
            reason = f"{strategy.name}: {proposal.reason}"
            cands.append(Candidate(e.source, e.layer, command, "won", reason))
        cands.extend(model.outranked_after[i])
        return Outcome(command, e.source, e.layer, reason, e.force, e.rank, cands, notes)
    return None
