"""The engine's view of a policy, built once per :class:`Policy` and reused on every tick.

Everything that does not depend on the state is prepared here: the rules in arbitration order
(manual, schedule, default; file order within a layer), their static commands, the trace entries
that do not change (``not_active``, ``outranked``), window probes, compiled guards and the strategy
context. ``decide()`` then only does comparisons and a few allocations per tick.

The model also remembers what recurs from tick to tick: the calendar of every rule and guard as
one code per minute (:class:`~gridpilot.engine.conditions.CalendarTable`), the guard set and
reserve of each code (:class:`TickPattern`), narrowed commands
(:class:`~gridpilot.engine.guards.NarrowCache`) and the first price slot of the last outlook.
Each of these is a pure function of its key, so a decision never depends on what was remembered.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gridpilot.engine.actions import command_from_action
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.conditions import CalendarTable, WindowProbe
from gridpilot.engine.decision import Candidate
from gridpilot.engine.guards import GuardLimit, NarrowCache, effective_reserve
from gridpilot.strategies.base import StrategyContext

if TYPE_CHECKING:
    from gridpilot.engine.commands import DeviceLimits
    from gridpilot.rules.policy import CompiledRule, Policy
    from gridpilot.rules.tariff import Tariff
    from gridpilot.strategies.base import Strategy

__all__ = ["EngineModel", "RuleEntry", "TickPattern", "engine_model"]

LAYER_RANK = {"manual": 2, "schedule": 1, "default": 0}


@dataclass(frozen=True, slots=True)
class RuleEntry:
    source: str
    layer: str
    rank: int
    probe: WindowProbe | None
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
    tariff: Tariff
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
        fixed = all(g.probe is None or not g.probe.has_conditions for g in open_guards)
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
    parts = rule.window.spec.model_dump(exclude_none=True, by_alias=True)
    return "when " + ", ".join(f"{k}={v}" for k, v in parts.items())


def _entry(rule: CompiledRule, limits: DeviceLimits) -> RuleEntry:
    layer = rule.layer.value
    source = "default" if rule.index < 0 else f"rule:{rule.name}"
    window = rule.window
    probe = None
    if window is not None and not getattr(window, "always", False):
        probe = WindowProbe(window)
    command = None if rule.action is None else command_from_action(rule.action, limits)
    when = _describe_when(rule)
    won = None
    if command is not None:
        won = Candidate(source, layer, command, "won", f"{when}: {command.describe()}")
    return RuleEntry(
        source=source,
        layer=layer,
        rank=LAYER_RANK[layer],
        probe=probe,
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


def _build(policy: Policy) -> EngineModel:
    limits = policy.limits
    ordered = sorted(policy.rules, key=lambda r: (-LAYER_RANK[r.layer.value], r.index))
    entries = tuple(_entry(r, limits) for r in (*ordered, policy.default))
    guards = tuple(
        GuardLimit(
            label=f"guard:{g.name}",
            kind=g.kind,
            priority=g.priority,
            probe=None
            if g.window is None or getattr(g.window, "always", False)
            else WindowProbe(g.window),
            min_soc_pct=g.min_soc_pct,
            max_soc_pct=g.max_soc_pct,
            max_import_w=g.max_import_w,
            max_export_w=g.max_export_w,
            max_charge_w=g.max_charge_w,
            max_discharge_w=g.max_discharge_w,
        )
        for g in sorted(policy.guards, key=lambda g: g.priority)
    )
    probes = [e.probe for e in entries] + [g.probe for g in guards]
    needs_price = any(
        p is not None and (p.price_below is not None or p.price_above is not None) for p in probes
    )
    battery = policy.doc.site.battery
    control = policy.doc.control
    base_ctx = StrategyContext(
        limits=limits,
        reserve_soc_pct=limits.min_soc_pct,
        charge_efficiency=battery.charge_efficiency,
        discharge_efficiency=battery.discharge_efficiency,
        cycle_cost_per_kwh=battery.cycle_cost_per_kwh,
        demand_charge_per_kw=policy.doc.tariff.demand_charge_per_kw,
        hysteresis_w=control.hysteresis_w,
        hysteresis_pct=control.hysteresis_pct,
        tz=policy.tz,
    )
    table_probes: list[WindowProbe] = []

    def bit_of(probe: WindowProbe | None) -> int:
        if probe is None or probe.always_calendar:
            return 0
        table_probes.append(probe)
        return 1 << (len(table_probes) - 1)

    entry_bits = tuple(bit_of(e.probe) for e in entries)
    guard_bits = tuple(bit_of(g.probe) for g in guards)
    return EngineModel(
        limits=limits,
        entries=entries,
        guards=guards,
        min_dwell_s=control.min_dwell_s,
        hysteresis_pct=control.hysteresis_pct,
        needs_price=needs_price,
        tariff=policy.tariff,
        base_ctx=base_ctx,
        calendar=CalendarTable(table_probes),
        entry_bits=entry_bits,
        guard_bits=guard_bits,
        narrower=NarrowCache(limits),
        outranked_after=tuple(
            tuple(e.outranked for e in entries[i + 1:]) for i in range(len(entries))
        ),
    )


_models: dict[int, tuple[Callable[[], Policy | None], EngineModel]] = {}
_strong: dict[int, tuple[Policy, EngineModel]] = {}


def engine_model(policy: Policy) -> EngineModel:
    """The engine model of ``policy``, built on first use and kept while the policy lives."""
    key = id(policy)
    hit = _models.get(key)
    if hit is not None and hit[0]() is policy:
        return hit[1]
    model = _build(policy)

    def _forget(_ref: weakref.ref[Policy], k: int = key) -> None:
        _models.pop(k, None)

    ref: Callable[[], Policy | None]
    try:
        ref = weakref.ref(policy, _forget)
    except TypeError:  # a policy type without weak references: keep a few alive instead
        if len(_strong) >= 16:
            _strong.pop(next(iter(_strong)))
        _strong[key] = (policy, model)

        def ref() -> Policy | None:
            entry = _strong.get(key)
            return entry[0] if entry is not None else None

    _models[key] = (ref, model)
    return model
