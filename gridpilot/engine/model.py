"""The engine's view of a policy, built once per :class:`Policy` and reused on every tick.

Everything that does not depend on the state is prepared here: the rules in arbitration order
(manual, schedule, default; file order within a layer), their static commands, the trace entries
that do not change (``not_active``, ``outranked``), the guards in priority order and the strategy
context. ``decide()`` then only does comparisons and a few allocations per tick.

The model also remembers what recurs from tick to tick: the calendar of every rule and guard as
one code per minute (:class:`~gridpilot.calendar.table.CalendarTable`), the guard set and
reserve of each code (:class:`TickPattern`), narrowed commands
(:class:`~gridpilot.engine.narrowing.NarrowCache`) and the first price slot of the last outlook.
Each of these is a pure function of its key, so a decision never depends on what was remembered.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from gridpilot.calendar.table import CalendarTable
from gridpilot.calendar.window import Window
from gridpilot.engine.actions import command_from_action
from gridpilot.engine.commands import Command, CommandKind, DeviceLimits
from gridpilot.engine.decision import Candidate
from gridpilot.engine.guards import GuardLimit, effective_reserve
from gridpilot.engine.narrowing import NarrowCache
from gridpilot.engine.program import LAYER_RANK, CompiledRule, EnginePolicy, PriceSource
from gridpilot.engine.proposal import Strategy, StrategyContext

__all__ = ["EngineModel", "RuleEntry", "TickPattern", "engine_model"]


@dataclass(frozen=True, slots=True)
class RuleEntry:
    source: str
    layer: str
    rank: int
    window: Window | None
    """``None``: the rule always applies."""
    command: Command | None
    strategy: Strategy | None
    force: bool
    hysteresis_kind: CommandKind | None
    """The rule's action kind: its SOC conditions get hysteresis while that kind is active."""
    won: Candidate | None
    not_active: Candidate
    outranked: Candidate


@dataclass(frozen=True, slots=True)
class TickPattern:
    """What the calendar says in one minute, for every rule and guard of a policy."""

    entry_open: tuple[bool, ...]
    """Per entry (in :attr:`EngineModel.entries` order): its calendar is open (or it has none)."""
    guards: tuple[GuardLimit, ...]
    """The guards whose calendar is open, in priority order."""
    guards_fixed: bool
    """None of :attr:`guards` tests price or SOC: they are exactly the active guards."""
    guards_key: int
    """Bit ``i`` set for each guard ``i`` of :attr:`EngineModel.guards` in :attr:`guards`."""
    reserve_soc_pct: float
    """The effective reserve under :attr:`guards` (meaningful when :attr:`guards_fixed`)."""


@dataclass(slots=True)
class EngineModel:
    limits: DeviceLimits
    entries: tuple[RuleEntry, ...]
    guards: tuple[GuardLimit, ...]
    min_dwell_s: float
    hysteresis_pct: float
    needs_price: bool
    tariff: PriceSource
    base_ctx: StrategyContext
    calendar: CalendarTable
    entry_bits: tuple[int, ...]
    """Per entry, its bit in a :attr:`calendar` code (0: no calendar, always open)."""
    guard_bits: tuple[int, ...]
    narrower: NarrowCache
    outranked_after: tuple[tuple[Candidate, ...], ...]
    """``outranked_after[i]``: the ``outranked`` candidates of every entry after entry ``i``."""
    _ctx: dict[float, StrategyContext] = field(default_factory=dict)
    _patterns: dict[int, TickPattern] = field(default_factory=dict)
    _last: tuple[int, TickPattern] | None = None
    price_memo: tuple[object, float, float, float] | None = None
    """The last price outlook seen, with its first slot's start, end and import price."""

    def pattern_at(self, t_s: float) -> TickPattern:
        """The calendar of every rule and guard at ``t_s`` [UNIX s]."""
        code = self.calendar.code_at(t_s)
        last = self._last
        if last is not None and last[0] == code:
            return last[1]
        pattern = self._patterns.get(code)
        if pattern is None:
            pattern = self._pattern(code)
            self._patterns[code] = pattern
        self._last = (code, pattern)
        return pattern

    def _pattern(self, code: int) -> TickPattern:
        open_guards = []
        key = 0
        for i, (g, bit) in enumerate(zip(self.guards, self.guard_bits, strict=True)):
            if bit == 0 or code & bit:
                open_guards.append(g)
                key |= 1 << i
        fixed = all(g.window is None or not g.window.has_conditions for g in open_guards)
        return TickPattern(
            entry_open=tuple(bit == 0 or bool(code & bit) for bit in self.entry_bits),
            guards=tuple(open_guards),
            guards_fixed=fixed,
            guards_key=key,
            reserve_soc_pct=effective_reserve(self.limits, open_guards),
        )

    def ctx_for(self, reserve_soc_pct: float) -> StrategyContext:
        ctx = self._ctx.get(reserve_soc_pct)
        if ctx is None:
            if len(self._ctx) > 256:
                self._ctx.clear()
            ctx = self.base_ctx.with_reserve(reserve_soc_pct)
            self._ctx[reserve_soc_pct] = ctx
        return ctx


def _describe_when(rule: CompiledRule) -> str:
    if rule.window is None:
        return "always applies"
    parts = rule.window.parts()
    return "when " + ", ".join(f"{k}={v}" for k, v in parts.items())


def _entry(rule: CompiledRule, limits: DeviceLimits) -> RuleEntry:
    layer = rule.layer.value
    source = "default" if rule.index < 0 else f"rule:{rule.name}"
    window = rule.window
    if window is not None and window.always:
        window = None
    command = None if rule.action is None else command_from_action(rule.action, limits)
    when = _describe_when(rule)
    won = None
    if command is not None:
        won = Candidate(source, layer, command, "won", f"{when}: {command.describe()}")
    return RuleEntry(
        source=source,
        layer=layer,
        rank=LAYER_RANK[layer],
        window=window,
        command=command,
        strategy=rule.strategy,
        force=rule.force,
        hysteresis_kind=None if command is None else command.kind,
        won=won,
        not_active=Candidate(source, layer, None, "not_active", f"not {when}"),
        outranked=Candidate(
            source, layer, None, "outranked", "an earlier rule or a higher layer won"
        ),
    )


def _build(policy: EnginePolicy) -> EngineModel:
    limits = policy.limits
    ordered = sorted(policy.rules, key=lambda r: (-LAYER_RANK[r.layer.value], r.index))
    entries = tuple(_entry(r, limits) for r in (*ordered, policy.default))
    guards = tuple(sorted(policy.guards, key=lambda g: g.priority))
    windows = [e.window for e in entries] + [g.window for g in guards]
    needs_price = any(
        w is not None and (w.price_below is not None or w.price_above is not None)
        for w in windows
    )
    tuning = policy.tuning
    base_ctx = StrategyContext(
        limits=limits,
        reserve_soc_pct=limits.min_soc_pct,
        battery=policy.battery,
        demand_charge_per_kw=tuning.demand_charge_per_kw,
        hysteresis_w=tuning.hysteresis_w,
        hysteresis_pct=tuning.hysteresis_pct,
        tz=policy.tz,
    )
    table_windows: list[Window] = []

    def bit_of(window: Window | None) -> int:
        if window is None or window.always_calendar:
            return 0
        table_windows.append(window)
        return 1 << (len(table_windows) - 1)

    entry_bits = tuple(bit_of(e.window) for e in entries)
    guard_bits = tuple(bit_of(g.window) for g in guards)
    return EngineModel(
        limits=limits,
        entries=entries,
        guards=guards,
        min_dwell_s=tuning.min_dwell_s,
        hysteresis_pct=tuning.hysteresis_pct,
        needs_price=needs_price,
        tariff=policy.tariff,
        base_ctx=base_ctx,
        calendar=CalendarTable(table_windows),
        entry_bits=entry_bits,
        guard_bits=guard_bits,
        narrower=NarrowCache(limits),
        outranked_after=tuple(
            tuple(e.outranked for e in entries[i + 1:]) for i in range(len(entries))
        ),
    )


_models: dict[int, tuple[Callable[[], EnginePolicy | None], EngineModel]] = {}
_strong: dict[int, tuple[EnginePolicy, EngineModel]] = {}


def engine_model(policy: EnginePolicy) -> EngineModel:
    """The engine model of ``policy``, built on first use and kept while the policy lives."""
    key = id(policy)
    hit = _models.get(key)
    if hit is not None and hit[0]() is policy:
        return hit[1]
    model = _build(policy)

    def _forget(_ref: weakref.ref[EnginePolicy], k: int = key) -> None:
        _models.pop(k, None)

    ref: Callable[[], EnginePolicy | None]
    try:
        ref = weakref.ref(policy, _forget)
    except TypeError:  # a policy type without weak references: keep a few alive instead
        if len(_strong) >= 16:
            _strong.pop(next(iter(_strong)))
        _strong[key] = (policy, model)

        def ref() -> EnginePolicy | None:
            entry = _strong.get(key)
            return entry[0] if entry is not None else None

    _models[key] = (ref, model)
    return model
