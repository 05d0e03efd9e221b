"""Property tests of decide() over generated policies and states."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.engine.commands import Command, CommandKind, validate_command
from gridpilot.engine.decide import decide
from gridpilot.engine.state import SiteState
from gridpilot.errors import PolicyError
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy

K = CommandKind
LAYERS = ("manual", "schedule", "default")
RANK = {"manual": 2, "schedule": 1, "default": 0}
_counter = itertools.count()

hours = st.integers(0, 23)


@st.composite
def windows(draw: st.DrawFn) -> dict[str, Any] | None:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return None
    w: dict[str, Any] = {}
    a, b = draw(hours), draw(hours)
    if a != b:
        w["time"] = f"{a:02d}:00-{b:02d}:00"
    if draw(st.booleans()):
        w["soc_below_pct"] = draw(st.sampled_from([30, 50, 80]))
    if draw(st.booleans()):
        w["days"] = draw(st.sampled_from(["mon-fri", "sat,sun", "wed"]))
    return w or None


@st.composite
def actions(draw: st.DrawFn, max_charge: float, max_discharge: float) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(K)))
    a: dict[str, Any] = {"kind": kind.value}
    if kind is K.CHARGE:
        if draw(st.booleans()):
            a["power_w"] = draw(st.floats(1, 2 * max_charge))
        if draw(st.booleans()):
            a["target_soc_pct"] = draw(st.floats(0, 100))
    elif kind is K.DISCHARGE:
        if draw(st.booleans()):
            a["power_w"] = draw(st.floats(1, 2 * max_discharge))
        if draw(st.booleans()):
            a["floor_soc_pct"] = draw(st.floats(0, 100))
    elif kind is K.PEAK_SHAVE:
        a["max_import_w"] = draw(st.floats(0, 20_000))
    elif kind is K.LIMIT_EXPORT:
        a["max_export_w"] = draw(st.floats(0, 10_000))
    return a


@st.composite
def guards(draw: st.DrawFn, lo: float) -> dict[str, Any]:
    kind = draw(st.sampled_from(["backup_reserve", "import_cap", "export_cap", "power_cap",
                                 "soc_ceiling"]))
    g: dict[str, Any] = {"kind": kind, "name": f"g{draw(st.integers(0, 10**6))}"}
    if kind == "backup_reserve":
        g["min_soc_pct"] = draw(st.floats(lo, 50))
    elif kind == "soc_ceiling":
        g["max_soc_pct"] = draw(st.floats(50, 100))
    elif kind == "import_cap":
        g["max_import_w"] = draw(st.floats(0, 20_000))
    elif kind == "export_cap":
        g["max_export_w"] = draw(st.floats(0, 10_000))
    else:
        g["max_charge_w"] = draw(st.floats(0, 5000))
        if draw(st.booleans()):
            g["max_discharge_w"] = draw(st.floats(0, 5000))
    w = draw(windows())
    if w is not None:
        g["when"] = w
    return g


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    lo = draw(st.floats(0, 40))
    hi = draw(st.floats(60, 100))
    max_c = draw(st.floats(500, 10_000))
    max_d = draw(st.floats(500, 10_000))
    battery = {"capacity_kwh": draw(st.floats(1, 50)), "max_charge_w": max_c,
               "max_discharge_w": max_d, "min_soc_pct": lo, "max_soc_pct": hi}
    grid: dict[str, Any] = {}
    if draw(st.booleans()):
        grid["max_import_w"] = draw(st.floats(1000, 30_000))
    if draw(st.booleans()):
        grid["max_export_w"] = draw(st.floats(0, 10_000))
    rules = []
    for i in range(draw(st.integers(0, 6))):
        layer = draw(st.sampled_from(["manual", "schedule"]))
        body: dict[str, Any] = draw(st.one_of(
            st.builds(lambda a: {"action": a}, actions(max_c, max_d)),
            st.sampled_from([{"strategy": n} for n in ("shave", "arb", "backup", "solar")]),
        ))
        r: dict[str, Any] = {"name": f"r{i}", "layer": layer, **body,
                             # Every rule gets a window so none shadows the next (check refuses it).
                             "when": draw(windows()) or {"time": f"{i:02d}:00-{i + 12:02d}:00"}}
        if layer == "manual" and draw(st.booleans()):
            r["force"] = True
        rules.append(r)
    return {
        "version": 1,
        "site": {"name": "prop", "timezone": "Europe/London", "battery": battery, "grid": grid},
        "tariff": {"import": {"default": 0.2, "periods": [
            {"time": "00:30-05:30", "price": draw(st.sampled_from([-0.05, 0.05, 0.2]))},
            {"time": "16:00-19:00", "price": 0.35}]}},
        "strategies": {
            "shave": {"type": "peak_shaving", "max_import_w": draw(st.floats(0, 20_000))},
            "arb": {"type": "tariff_arbitrage", "allow_export": draw(st.booleans())},
            "backup": {"type": "backup_reserve", "reserve_soc_pct": draw(st.floats(0, 60)),
                       "risk_windows": [{"time": "18:00-20:00", "target_soc_pct": 90}]},
            "solar": {"type": "self_consumption"},
        },
        "guards": draw(st.lists(guards(lo), max_size=4, unique_by=lambda g: g["name"])),
        "rules": rules,
        "default": draw(st.one_of(
            st.builds(lambda a: {"action": a}, actions(max_c, max_d)),
            st.sampled_from([{"strategy": n} for n in ("shave", "arb", "backup", "solar")]),
        )),
        "control": {"min_dwell_s": draw(st.sampled_from([0, 300]))},
    }


@st.composite
def states(draw: st.DrawFn) -> SiteState:
    t = datetime(2018, 1, 1, tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(0, 365 * 24 * 60)))
    prev = None
    since = None
    if draw(st.booleans()):
        prev = Command(draw(st.sampled_from([K.HOLD, K.SELF_CONSUMPTION, K.IDLE])))
        since = t - timedelta(seconds=draw(st.integers(0, 1000)))
    return SiteState(
        time=t,
        soc_pct=draw(st.floats(0, 100)),
        load_w=draw(st.floats(0, 20_000)),
        pv_w=draw(st.floats(0, 10_000)),
        active_command=prev,
        active_since=since,
    )


def load(tmp_path: Path, doc: dict[str, Any]) -> Policy:
    path = tmp_path / f"p{next(_counter)}.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")
    try:
        return load_policy(path)
    except PolicyError as exc:
        # check refuses a rule whose every time earlier action rules of its layer take; such a
        # rule never wins, so dropping it leaves every decision of the policy unchanged.
        dead = {int(m.group(1)) for i in exc.issues
                if (m := re.fullmatch(r"rules\[(\d+)\]", i.path)) and "can never fire" in i.message}
        if not dead or len(dead) != len(exc.issues):
            raise
        kept = [r for k, r in enumerate(doc["rules"]) if k not in dead]
        return load(tmp_path, {**doc, "rules": kept})


def with_prices(policy: Policy, state: SiteState) -> SiteState:
    return replace(state, prices=policy.tariff.outlook(state.time))


PROPS = settings(max_examples=80, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


def _reserve(policy: Policy, state: SiteState) -> float:
    reserve = policy.limits.min_soc_pct
    for g in policy.guards:
        if g.min_soc_pct is None:
            continue
        if g.window is None or g.window.matches(state.time, soc_pct=state.soc_pct,
                                                import_price=0.2):
            reserve = max(reserve, g.min_soc_pct)
    return reserve


def _forced(policy: Policy, winner: str) -> bool:
    return any(f"rule:{r.name}" == winner and r.force for r in policy.rules)


@PROPS
@given(doc=policies(), state=states())
def test_command_is_within_device_and_grid_limits(tmp_path: Path, doc: dict[str, Any],
                                                  state: SiteState) -> None:
    policy = load(tmp_path, doc)
    state = with_prices(policy, state)
    d = decide(policy, state)
    validate_command(d.command, policy.limits)
    lim = policy.limits
    if lim.max_import_w is not None:
        assert d.command.max_import_w is not None and d.command.max_import_w <= lim.max_import_w
    if lim.max_export_w is not None:
        assert d.command.max_export_w is not None and d.command.max_export_w <= lim.max_export_w


@PROPS
@given(doc=policies(), state=states())
def test_no_unforced_command_discharges_below_the_reserve(tmp_path: Path, doc: dict[str, Any],
                                                          state: SiteState) -> None:
    policy = load(tmp_path, doc)
    state = with_prices(policy, state)
    d = decide(policy, state)
    if _forced(policy, d.winner):
        assert d.command.floor_soc_pct >= policy.limits.min_soc_pct - 1e-9
        return
    reserve = _reserve(policy, state)
    assert d.command.floor_soc_pct >= reserve - 1e-9
    if d.command.kind is K.DISCHARGE:
        assert state.soc_pct > d.command.floor_soc_pct


@PROPS
@given(doc=policies(), state=states())
def test_manual_beats_schedule_beats_default_and_file_order(
    tmp_path: Path, doc: dict[str, Any], state: SiteState
) -> None:
    policy = load(tmp_path, doc)
    plain = SiteState(time=state.time, soc_pct=state.soc_pct, load_w=state.load_w,
                      pv_w=state.pv_w)
    d = decide(policy, plain)
    matching = [r for r in policy.rules
                if r.window is None or r.window.matches(plain.time, soc_pct=plain.soc_pct,
                                                        import_price=0.2)]
    ordered = sorted(matching, key=lambda r: (-RANK[r.layer.value], r.index))
    outcome = {c.source: c.outcome for c in d.candidates}
    # A strategy rule that proposes nothing lets the next one decide; an action rule always wins.
    proposing = [r for r in ordered
                 if r.action is not None or outcome[f"rule:{r.name}"] != "no_proposal"]
    if not proposing:
        assert d.winner in ("default", "fallback")
        return
    best = proposing[0]
    assert d.winner == f"rule:{best.name}"
    for other in proposing[1:]:
        # Pairwise: manual > schedule, then file order; every lower one is outranked.
        assert (RANK[best.layer.value], -best.index) > (RANK[other.layer.value], -other.index)
        assert outcome[f"rule:{other.name}"] == "outranked"
    assert outcome["default"] == "outranked"


@PROPS
@given(doc=policies(), state=states())
def test_decide_is_deterministic(tmp_path: Path, doc: dict[str, Any], state: SiteState) -> None:
    policy = load(tmp_path, doc)
    state = with_prices(policy, state)
    first = decide(policy, state).as_dict()
    assert decide(policy, state).as_dict() == first
    # A fresh compile of the same file (no cached engine state) agrees too.
    assert decide(load(tmp_path, doc), state).as_dict() == first
