"""decide(): layers, overrides, yielding, guards, force, anti-flap, hysteresis, fallbacks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gridpilot.engine.commands import Command, CommandKind, validate_command
from gridpilot.engine.decide import decide
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import DeviceMode, ModeSource, SiteState
from gridpilot.rules.schema import Action
from tests.engine.support import at, make_policy, policy_doc

K = CommandKind


def rule(name: str, layer: str, kind: str, when: dict[str, Any] | None = None,
         **extra: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"name": name, "layer": layer, "action": {"kind": kind}}
    if when is not None:
        r["when"] = when
    r.update(extra)
    return r


def state(t: str = "2018-01-10T11:00:00Z", soc: float = 50.0, **kw: Any) -> SiteState:
    return SiteState(time=at(t), soc_pct=soc, **kw)


@pytest.fixture
def layered(tmp_path: Path):
    return make_policy(tmp_path, policy_doc(
        rules=[
            rule("sched day", "schedule", "hold", {"time": "08:00-20:00"}),
            rule("manual late morning", "manual", "charge", {"time": "10:00-12:00"}),
            rule("sched second", "schedule", "idle"),
        ],
        default={"action": {"kind": "self_consumption"}},
    ))


def test_manual_beats_schedule_beats_default(layered) -> None:
    d = decide(layered, state("2018-01-10T11:00:00Z"))
    assert (d.winner, d.layer, d.command.kind) == ("rule:manual late morning", "manual", K.CHARGE)
    d = decide(layered, state("2018-01-10T13:00:00Z"))
    assert (d.winner, d.layer, d.command.kind) == ("rule:sched day", "schedule", K.HOLD)
    outcomes = {c.source: c.outcome for c in d.candidates}
    assert outcomes == {
        "rule:manual late morning": "not_active",
        "rule:sched day": "won",
        "rule:sched second": "outranked",
        "default": "outranked",
    }


def test_default_wins_when_no_rule_matches(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        rules=[rule("evening", "schedule", "hold", {"time": "16:00-19:00"})],
        default={"action": {"kind": "idle"}},
    ))
    d = decide(p, state("2018-01-10T09:00:00Z"))
    assert (d.winner, d.command.kind) == ("default", K.IDLE)
    # Europe/London in summer: 16:00 local is 15:00 UTC.
    assert decide(p, state("2018-07-10T15:30:00Z")).winner == "rule:evening"
    assert decide(p, state("2018-07-10T18:30:00Z")).winner == "default"


def test_action_defaults_are_device_limits(layered) -> None:
    d = decide(layered, state("2018-01-10T11:00:00Z"))
    assert d.command.power_w == 3000
    assert d.command.target_soc_pct == 95
    assert d.command.floor_soc_pct == 5
    validate_command(d.command, layered.limits)


def test_overrides_are_manual_and_time_bounded(layered) -> None:
    t = at("2018-01-10T13:00:00Z").timestamp()
    ov = CompiledOverride("boost", Action(kind=K.DISCHARGE, power_w=1000), t - 60, t + 60)
    d = decide(layered, state("2018-01-10T13:00:00Z", soc=60), [ov])
    assert (d.winner, d.layer, d.command.kind, d.command.power_w) == (
        "override:boost", "manual", K.DISCHARGE, 1000)
    # until is exclusive; before start it is not active either.
    assert decide(layered, state("2018-01-10T13:01:00Z"), [ov]).winner == "rule:sched day"
    assert decide(layered, state("2018-01-10T12:58:00Z"), [ov]).winner == "rule:sched day"


def test_policy_manual_section_wins_over_manual_rules(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        rules=[rule("manual always", "manual", "hold")],
        manual=[{"name": "holiday", "action": {"kind": "idle"},
                 "start": "2018-01-10T00:00:00+00:00", "until": "2018-01-11T00:00:00+00:00"}],
    ))
    d = decide(p, state("2018-01-10T11:00:00Z"))
    assert (d.winner, d.command.kind) == ("override:holiday", K.IDLE)
    assert decide(p, state("2018-01-11T11:00:00Z")).winner == "rule:manual always"


def test_person_mode_on_device_makes_the_engine_yield(layered) -> None:
    mode = DeviceMode(K.DISCHARGE, ModeSource.PERSON, native="SET_DISCHARGE")
    d = decide(layered, state("2018-01-10T11:00:00Z", device_mode=mode))
    assert d.yielded
    assert d.winner == "device" and d.layer == "manual"
    assert d.command.kind is K.DISCHARGE
    assert all(c.outcome == "outranked" for c in d.candidates if c.source != "device")
    assert any("yield" in n for n in d.notes)
    # The device's own schedule is not a person: no yielding.
    d = decide(layered, state("2018-01-10T11:00:00Z",
                              device_mode=DeviceMode(K.HOLD, ModeSource.SCHEDULE)))
    assert not d.yielded and d.winner == "rule:manual late morning"


def test_reserve_guard_raises_floor_and_turns_discharge_into_hold(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        guards=[{"kind": "backup_reserve", "name": "reserve", "min_soc_pct": 40}],
        rules=[rule("dump", "schedule", "discharge")],
    ))
    d = decide(p, state(soc=60))
    assert d.command.kind is K.DISCHARGE and d.command.floor_soc_pct == 40
    assert any(h.limit == "guard:reserve.min_soc_pct" and h.field == "floor_soc_pct"
               and h.before == 5 and h.after == 40 for h in d.limits)
    d = decide(p, state(soc=40))
    assert d.command.kind is K.HOLD
    assert any(h.field == "kind" for h in d.limits)


def test_force_breaks_through_guards_but_not_device_limits(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        guards=[{"kind": "backup_reserve", "name": "reserve", "min_soc_pct": 40},
                {"kind": "power_cap", "name": "quiet", "max_discharge_w": 500}],
        rules=[rule("emergency", "manual", "discharge", force=True,
                    action={"kind": "discharge", "power_w": 3000})],
    ))
    d = decide(p, state(soc=30))
    assert d.command.kind is K.DISCHARGE
    assert d.command.power_w == 3000
    assert d.command.floor_soc_pct == 5  # the device minimum still holds
    assert any("forced through guards" in n and "guard:reserve" in n for n in d.notes)
    validate_command(d.command, p.limits)


def test_unforced_manual_rule_is_still_narrowed(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        guards=[{"kind": "power_cap", "name": "quiet", "max_discharge_w": 500}],
        rules=[rule("manual", "manual", "discharge")],
    ))
    d = decide(p, state(soc=60))
    assert d.command.power_w == 500
    assert [h.limit for h in d.limits if h.field == "power_w"] == ["guard:quiet.max_discharge_w"]


@pytest.mark.parametrize(
    ("guards", "floor", "target", "conflict_on"),
    [
        # The ceiling comes first (higher priority): the reserve is clamped to it.
        ([{"kind": "soc_ceiling", "name": "ceil", "max_soc_pct": 60},
          {"kind": "backup_reserve", "name": "res", "min_soc_pct": 80}], 60, 60, "res"),
        # The reserve comes first: the ceiling narrows only down to it.
        ([{"kind": "backup_reserve", "name": "res", "min_soc_pct": 80},
          {"kind": "soc_ceiling", "name": "ceil", "max_soc_pct": 60}], 80, 80, "ceil"),
    ],
)
def test_conflicting_guards_resolve_by_priority(tmp_path: Path, guards: list[Any], floor: float,
                                               target: float, conflict_on: str) -> None:
    p = make_policy(tmp_path, policy_doc(guards=guards))
    d = decide(p, state(soc=70))
    assert d.command.floor_soc_pct == floor
    assert d.command.target_soc_pct == target
    validate_command(d.command, p.limits)
    assert any(h.limit.startswith(f"guard:{conflict_on}.") and "conflicts" in h.note
               for h in d.limits)


def test_guards_apply_only_inside_their_window(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        guards=[{"kind": "import_cap", "name": "peak", "max_import_w": 2000,
                 "when": {"time": "16:00-19:00"}}],
        rules=[rule("shave", "schedule", "peak_shave", action={"kind": "peak_shave",
                                                               "max_import_w": 5000})],
    ))
    assert decide(p, state("2018-01-10T17:00:00Z")).command.max_import_w == 2000
    assert decide(p, state("2018-01-10T12:00:00Z")).command.max_import_w == 5000


def test_min_dwell_holds_previous_kind(tmp_path: Path) -> None:
    doc = policy_doc(
        rules=[rule("charge late", "schedule", "charge", {"time": "12:00-13:00"})],
        default={"action": {"kind": "self_consumption"}},
        control={"min_dwell_s": 300},
    )
    p = make_policy(tmp_path, doc)
    prev = Command(K.SELF_CONSUMPTION)
    t = "2018-01-10T12:00:00Z"
    since = at(t) - timedelta(seconds=120)
    d = decide(p, state(t, active_command=prev, active_since=since, active_layer="default"))
    # The schedule layer is above the default: it may change at once.
    assert d.command.kind is K.CHARGE
    d = decide(p, state(t, active_command=prev, active_since=since, active_layer="schedule"))
    assert d.command.kind is K.SELF_CONSUMPTION
    assert any(c.outcome == "held" for c in d.candidates)
    assert d.reason.startswith("held")
    later = at(t) - timedelta(seconds=301)
    d = decide(p, state(t, active_command=prev, active_since=later, active_layer="schedule"))
    assert d.command.kind is K.CHARGE


def test_guard_forces_a_change_during_dwell(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        guards=[{"kind": "backup_reserve", "min_soc_pct": 30}],
        default={"action": {"kind": "self_consumption"}},
        control={"min_dwell_s": 900},
    ))
    t = "2018-01-10T12:00:00Z"
    prev = Command(K.DISCHARGE, power_w=2000)
    d = decide(p, state(t, soc=29, active_command=prev, active_since=at(t) - timedelta(seconds=10),
                        active_layer="default"))
    assert d.command.kind is K.HOLD  # the held discharge meets the reserve


def test_an_import_cap_being_broken_forces_a_change_during_dwell(tmp_path: Path) -> None:
    # A recharge is running when the house load jumps above the import cap: the default wants
    # self-consumption (which can discharge), and waiting out the dwell would break the cap.
    p = make_policy(tmp_path, policy_doc(
        guards=[{"kind": "import_cap", "name": "fuse", "max_import_w": 3000}],
        default={"action": {"kind": "self_consumption"}},
        control={"min_dwell_s": 900},
    ))
    t = "2018-01-10T12:00:00Z"
    prev = Command(K.CHARGE, power_w=1000, target_soc_pct=90)
    since = at(t) - timedelta(seconds=60)
    calm = decide(p, state(t, load_w=1500, active_command=prev, active_since=since,
                           active_layer="default"))
    assert calm.command.kind is K.CHARGE and calm.reason.startswith("held")
    spike = decide(p, state(t, load_w=4500, active_command=prev, active_since=since,
                            active_layer="default"))
    assert spike.command.kind is K.SELF_CONSUMPTION
    assert any("guard:fuse forces the change" in n for n in spike.notes)
    # A held command that can already discharge is not disturbed by the same spike.
    shaving = Command(K.PEAK_SHAVE, max_import_w=2500)
    d = decide(p, state(t, load_w=4500, active_command=shaving, active_since=since,
                        active_layer="default"))
    assert d.command.kind is K.PEAK_SHAVE and d.reason.startswith("held")


def test_an_export_cap_being_broken_forces_a_change_during_dwell(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        guards=[{"kind": "export_cap", "name": "dno", "max_export_w": 2000}],
        default={"action": {"kind": "self_consumption"}},
        control={"min_dwell_s": 900},
    ))
    t = "2018-01-10T12:00:00Z"
    prev = Command(K.IDLE)
    since = at(t) - timedelta(seconds=60)
    d = decide(p, state(t, load_w=300, pv_w=3500, active_command=prev, active_since=since,
                        active_layer="default"))
    assert d.command.kind is K.SELF_CONSUMPTION
    assert any("guard:dno forces the change" in n for n in d.notes)
    d = decide(p, state(t, load_w=300, pv_w=1500, active_command=prev, active_since=since,
                        active_layer="default"))
    assert d.command.kind is K.IDLE


def test_manual_intent_skips_dwell(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(rules=[rule("stop", "manual", "idle")],
                                         control={"min_dwell_s": 900}))
    t = "2018-01-10T12:00:00Z"
    d = decide(p, state(t, active_command=Command(K.HOLD),
                        active_since=at(t) - timedelta(seconds=5), active_layer="manual"))
    assert d.command.kind is K.IDLE


def test_soc_condition_has_hysteresis_while_its_rule_runs(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        rules=[rule("top up", "schedule", "charge", {"soc_below_pct": 20})],
        control={"min_dwell_s": 0, "hysteresis_pct": 3},
    ))
    assert decide(p, state(soc=19)).winner == "rule:top up"
    assert decide(p, state(soc=21)).winner == "default"
    running = Command(K.CHARGE, power_w=3000, target_soc_pct=95)
    assert decide(p, state(soc=21, active_command=running)).winner == "rule:top up"
    assert decide(p, state(soc=23.5, active_command=running)).winner == "default"


class _Broken:
    type_name = "broken"
    name = "broken"

    def propose(self, state: SiteState, ctx: Any) -> Any:
        raise RuntimeError("boom")


def test_failing_strategy_is_reported_and_skipped(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        rules=[{"name": "arb", "layer": "schedule", "strategy": "self_consumption"}],
        default={"action": {"kind": "idle"}},
    ))
    broken_rule = p.rules[0].__class__(
        name="arb", layer=p.rules[0].layer, index=0, window=None, action=None,
        strategy=_Broken(),  # type: ignore[arg-type]
    )
    from dataclasses import replace

    p2 = replace(p, rules=(broken_rule,))
    d = decide(p2, state())
    assert d.winner == "default" and d.command.kind is K.IDLE
    assert any("boom" in n for n in d.notes)
    assert [c.outcome for c in d.candidates] == ["no_proposal", "won"]


def test_fallback_when_default_strategy_has_nothing(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        strategies={"reserve": {"type": "backup_reserve", "reserve_soc_pct": 20}},
        default={"strategy": "reserve"},
    ))
    d = decide(p, state(soc=60))
    assert d.winner == "fallback" and d.command.kind is K.SELF_CONSUMPTION
    assert d.notes
    d = decide(p, state(soc=10))
    assert d.winner == "default" and d.command.kind is K.CHARGE


def test_decision_round_trips_to_json(layered) -> None:
    import json

    d = decide(layered, state())
    data = json.loads(json.dumps(d.as_dict()))
    assert data["command"]["kind"] == "charge"
    assert data["winner"] == "rule:manual late morning"
    assert {c["outcome"] for c in data["candidates"]} == {"won", "outranked"}
    assert data["yielded"] is False


def test_forced_override_breaks_through_guards(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(
        guards=[{"kind": "backup_reserve", "name": "reserve", "min_soc_pct": 50}],
        manual=[{"name": "drain for service", "action": {"kind": "discharge"}, "force": True,
                 "start": "2018-01-10T00:00:00+00:00", "until": "2018-01-11T00:00:00+00:00"}],
    ))
    d = decide(p, state(soc=30))
    assert (d.winner, d.command.kind, d.command.floor_soc_pct) == (
        "override:drain for service", K.DISCHARGE, 5)
    assert any("guard:reserve" in n for n in d.notes)


def test_price_condition_reads_the_slot_holding_the_tick(tmp_path: Path) -> None:
    import numpy as np

    from gridpilot.engine.state import PriceOutlook

    p = make_policy(tmp_path, policy_doc(
        rules=[rule("cheap", "schedule", "charge", {"price_below": 0.1})],
    ))
    t0 = int(at("2018-01-10T11:00:00Z").timestamp())
    prices = PriceOutlook(np.array([t0, t0 + 1800], dtype=np.int64), t0 + 3600,
                          np.array([0.3, 0.05]), np.zeros(2))
    assert decide(p, state("2018-01-10T11:10:00Z", prices=prices)).winner == "default"
    assert decide(p, state("2018-01-10T11:40:00Z", prices=prices)).winner == "rule:cheap"


def test_unknown_soc_never_discharges(tmp_path: Path) -> None:
    p = make_policy(tmp_path, policy_doc(rules=[rule("dump", "schedule", "discharge")]))
    d = decide(p, state(soc=float("nan")))
    assert d.command.kind is K.HOLD
    assert any("SOC reading" in n for n in d.notes)
    validate_command(d.command, p.limits)
