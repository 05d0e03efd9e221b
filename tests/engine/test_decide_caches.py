"""The engine's per-policy memory never changes a decision.

``decide()`` keeps a calendar code per minute for every rule and guard, the guard sets and
narrowing results it has seen, and the first price slot of the last outlook. Each is checked here
against the direct computation: the windows' own ``matches``, the plain ``narrow()``, and a model
built afresh for every call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.calendar.table import CalendarTable
from gridpilot.calendar.window import Window
from gridpilot.engine import model as engine_model_module
from gridpilot.engine.commands import Command, CommandKind, DeviceLimits
from gridpilot.engine.decide import decide
from gridpilot.engine.decision import Decision
from gridpilot.engine.guards import GuardLimit
from gridpilot.engine.narrowing import NarrowCache, narrow
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import PriceOutlook, SiteState
from gridpilot.rules.policy import Policy
from gridpilot.rules.schema import Action, When
from tests.engine.support import make_policy, policy_doc

K = CommandKind
LONDON = ZoneInfo("Europe/London")
YEAR_START_S = int(datetime(2018, 1, 1, tzinfo=UTC).timestamp())
YEAR_MIN = 366 * 1440

CALENDAR_SPECS = [
    When(time="16:00-19:00", days="mon-fri"),
    When(time="22:00-06:00", days="fri"),
    When(time="01:30-04:00"),
    When(months="nov-feb", time="00:00-07:00"),
    When(cron="30 16 * * *", **{"for": "90m"}),
    When(dates="12-24..12-26"),
    When(time="00:00-01:30"),
]


@settings(max_examples=40, deadline=None)
@given(minutes=st.lists(st.integers(0, YEAR_MIN), min_size=1, max_size=25),
       seconds=st.integers(0, 59))
def test_calendar_table_bits_agree_with_window_matches(minutes: list[int], seconds: int) -> None:
    windows = [Window(spec, LONDON) for spec in CALENDAR_SPECS]
    table = CalendarTable(windows)
    for m in minutes:  # random order: jumps back and forth across the cached blocks
        t_s = YEAR_START_S + m * 60 + seconds
        code = table.code_at(t_s)
        t = datetime.fromtimestamp(t_s, UTC)
        for bit, w in enumerate(windows):
            assert bool(code >> bit & 1) == w.matches(t), (w, t)


def test_calendar_table_through_both_clock_changes() -> None:
    windows = [Window(spec, LONDON) for spec in CALENDAR_SPECS]
    table = CalendarTable(windows)
    for day in ("2018-03-25", "2018-10-28"):
        t0 = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) - 7200
        for m in range(0, 8 * 60):
            t_s = t0 + m * 60
            code = table.code_at(t_s)
            t = datetime.fromtimestamp(t_s, UTC)
            assert [bool(code >> b & 1) for b in range(len(windows))] == [
                w.matches(t) for w in windows
            ]


def test_calendar_table_past_62_windows_uses_wide_codes() -> None:
    windows = [Window(When(time=f"{h % 24:02d}:00-{(h % 24) + 1:02d}:00"), LONDON)
               for h in range(70)]
    table = CalendarTable(windows)
    for m in range(0, 2 * 1440, 37):
        t_s = YEAR_START_S + m * 60
        code = table.code_at(t_s)
        t = datetime.fromtimestamp(t_s, UTC)
        assert [bool(code >> b & 1) for b in range(70)] == [w.matches(t) for w in windows]


LIMITS = DeviceLimits(10.0, 3000.0, 3000.0, 5.0, 95.0, 15000.0, 4000.0)
GUARDS = (
    GuardLimit("reserve", "backup_reserve", 0, None, min_soc_pct=30.0),
    GuardLimit("ceiling", "soc_ceiling", 1, None, max_soc_pct=25.0),
    GuardLimit("import", "import_cap", 2, None, max_import_w=6000.0),
    GuardLimit("export", "export_cap", 3, None, max_export_w=0.0),
    GuardLimit("quiet", "power_cap", 4, None, max_charge_w=800.0, max_discharge_w=0.0),
    GuardLimit("high reserve", "backup_reserve", 5, None, min_soc_pct=90.0),
)
maybe_power = st.one_of(st.none(), st.sampled_from([0.0, 500.0, 2999.0, 3000.0, 4500.0]))
pcts = st.sampled_from([0.0, 5.0, 20.0, 30.0, 50.0, 90.0, 95.0, 100.0])


@st.composite
def commands(draw: st.DrawFn) -> Command:
    return Command(
        draw(st.sampled_from(list(K))),
        draw(maybe_power),
        draw(pcts),
        draw(pcts),
        draw(st.one_of(st.none(), st.sampled_from([0.0, 5000.0, 20000.0]))),
        draw(st.one_of(st.none(), st.sampled_from([0.0, 2000.0, 9000.0]))),
    )


@settings(max_examples=60, deadline=None)
@given(calls=st.lists(
    st.tuples(commands(), st.sets(st.integers(0, len(GUARDS) - 1)), st.booleans(),
              st.sampled_from([0.0, 5.0, 10.0, 30.0, 31.0, 60.0, 90.0, 100.0])),
    min_size=1, max_size=40))
def test_narrow_cache_gives_what_narrow_gives(
    calls: list[tuple[Command, set[int], bool, float]],
) -> None:
    cache = NarrowCache(LIMITS)
    # Each call twice, the second time with an equal but new command: the cached answer must
    # match the direct one both times, and hand back the caller's own command when unchanged.
    for command, picked, force, soc in calls + calls:
        fresh = Command(command.kind, command.power_w, command.target_soc_pct,
                        command.floor_soc_pct, command.max_import_w, command.max_export_w)
        guards = tuple(GUARDS[i] for i in sorted(picked))
        key = sum(1 << i for i in picked)
        want = narrow(fresh, soc, LIMITS, guards, force=force)
        got = cache.narrow(fresh, soc, guards, key, force)
        assert got == want
        assert (got[0] is fresh) == (want[0] is fresh)
        # Whatever turned the command into hold, one limit is named for it.
        assert sum(h.field == "kind" for h in got[1]) <= 1


def test_discharge_at_zero_power_below_its_floor_names_the_floor_only() -> None:
    cache = NarrowCache(LIMITS)
    command = Command(K.DISCHARGE, 0.0, 95.0, 30.0)
    for soc in (50.0, 20.0, 50.0, 20.0):  # both outcomes, each built once and then reused
        want = narrow(command, soc, LIMITS, ())
        got = cache.narrow(command, soc, (), 0, False)
        assert got == want
        assert got[0].kind is K.HOLD
        kind_hits = [h for h in got[1] if h.field == "kind"]
        expected = "command.floor_soc_pct" if soc <= 30.0 else "power_cap"
        assert [h.limit for h in kind_hits] == [expected]


def _policy(tmp_path: Path) -> Policy:
    doc: dict[str, Any] = policy_doc(
        guards=[
            {"kind": "backup_reserve", "name": "outage", "min_soc_pct": 20},
            {"kind": "import_cap", "name": "peak cap", "max_import_w": 8000,
             "when": {"time": "16:00-19:00"}},
            # Guards with conditions take the path that tests them per tick.
            {"kind": "backup_reserve", "name": "winter mornings", "min_soc_pct": 40,
             "when": {"months": "nov-feb", "time": "05:00-09:00", "soc_below_pct": 60}},
            {"kind": "export_cap", "name": "dear", "max_export_w": 0,
             "when": {"price_above": 0.3}},
        ],
        strategies={
            "shave": {"type": "peak_shaving", "max_import_w": 5000},
            "backup": {"type": "backup_reserve", "reserve_soc_pct": 30,
                       "risk_windows": [{"name": "evening", "cron": "0 17 * * *",
                                         "for": "2h", "target_soc_pct": 70}]},
        },
        rules=[
            {"name": "christmas", "layer": "manual", "when": {"dates": "12-24..12-26"},
             "action": {"kind": "idle"}},
            {"name": "low", "layer": "manual", "when": {"soc_below_pct": 10},
             "action": {"kind": "charge", "power_w": 2000, "target_soc_pct": 25}},
            {"name": "plunge", "layer": "schedule", "when": {"price_below": 0.0},
             "action": {"kind": "charge"}},
            {"name": "dear", "layer": "schedule", "when": {"price_above": 0.3},
             "action": {"kind": "discharge", "floor_soc_pct": 35}},
            {"name": "backup", "layer": "schedule", "when": {"months": "dec-jan"},
             "strategy": "backup"},
            {"name": "shaving", "layer": "schedule",
             "when": {"days": "mon-fri", "time": "07:00-09:00"}, "strategy": "shave"},
            {"name": "evening", "layer": "schedule",
             "when": {"time": "16:00-19:00", "soc_above_pct": 50},
             "action": {"kind": "self_consumption"}},
            {"name": "full", "layer": "schedule", "when": {"soc_above_pct": 90},
             "action": {"kind": "hold"}},
        ],
        default={"action": {"kind": "self_consumption"}},
        control={"min_dwell_s": 600, "hysteresis_pct": 3},
    )
    return make_policy(tmp_path, doc)


def _outlook(start_s: int, prices: list[float]) -> PriceOutlook:
    slot0 = start_s - start_s % 1800
    starts = slot0 + 1800 * np.arange(len(prices), dtype=np.int64)
    arr = np.asarray(prices, dtype=np.float64)
    return PriceOutlook(starts, int(starts[-1]) + 1800, arr, arr * 0.3)


def _cold(policy: Policy, state: SiteState, overrides: tuple[CompiledOverride, ...]) -> Decision:
    """decide() on a model built for this call alone: nothing remembered from earlier ticks.
    The warm model is put back afterwards, so it keeps its memory across the ticks."""
    models = engine_model_module._models
    warm = models.pop(id(policy), None)
    try:
        return decide(policy, state, overrides)
    finally:
        models.pop(id(policy), None)
        if warm is not None:
            models[id(policy)] = warm


tick = st.fixed_dictionaries({
    "minute": st.integers(0, YEAR_MIN),
    "soc": st.one_of(st.floats(0, 100), st.just(float("nan"))),
    "load": st.floats(0, 9000),
    "prices": st.lists(st.sampled_from([-0.05, 0.0, 0.1, 0.29, 0.31, 0.5]), min_size=0,
                       max_size=6),
    "reuse_outlook": st.booleans(),
    "offset_s": st.integers(0, 4 * 3600),
    "active": st.one_of(st.none(), st.sampled_from(list(K))),
    "since_s": st.integers(0, 1200),
    "layer": st.sampled_from([None, "manual", "schedule", "default"]),
    "override": st.booleans(),
})


@pytest.fixture(scope="module")
def cache_policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return _policy(tmp_path_factory.mktemp("caches"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(ticks=st.lists(tick, min_size=1, max_size=20))
def test_warm_decide_equals_cold_decide(cache_policy: Policy, ticks: list[dict[str, Any]]) -> None:
    policy = cache_policy
    outlook = PriceOutlook.empty()
    for k in ticks:
        t_s = YEAR_START_S + k["minute"] * 60 + 13
        if not k["reuse_outlook"]:
            # An outlook that may start hours before the tick (built earlier, as a live loop can).
            outlook = (_outlook(t_s - k["offset_s"], k["prices"]) if k["prices"]
                       else PriceOutlook.empty())
        now = datetime.fromtimestamp(t_s, UTC)
        active = None if k["active"] is None else Command(k["active"])
        state = SiteState(
            time=now, soc_pct=k["soc"], load_w=k["load"], prices=outlook,
            active_command=active,
            active_since=None if active is None else now - timedelta(seconds=k["since_s"]),
            active_layer=k["layer"],
        )
        overrides: tuple[CompiledOverride, ...] = ()
        if k["override"]:
            overrides = (CompiledOverride("boost", Action(kind=K.CHARGE, power_w=1500),
                                          t_s - 60.0, t_s + 600.0),)
        warm = decide(policy, state, overrides)
        assert warm == _cold(policy, state, overrides)
        assert repr(warm) == repr(_cold(policy, state, overrides))
