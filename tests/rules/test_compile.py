"""Compiling a policy: limits, windows, guards, overrides, strategies and device settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridpilot.engine.commands import CommandKind
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.rules.schema import Layer
from gridpilot.strategies.registry import STRATEGIES

from .conftest import errors_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
MakePolicy = Callable[[str], Path]


def test_compiled_policy_shape(policy_file: MakePolicy) -> None:
    path = policy_file("""\
        guards:
          - kind: backup_reserve
            min_soc_pct: 20
          - kind: import_cap
            max_import_w: 5000
            when: {time: "16:00-19:00"}
        rules:
          - name: off
            layer: schedule
            enabled: false
            action: {kind: idle}
          - name: cheap
            layer: schedule
            when: {time: "00:30-07:30"}
            action: {kind: charge, power_w: 2000, target_soc_pct: 90}
        manual:
          - name: visit
            start: 2026-07-01T09:00
            until: 2026-07-01T12:00:00+00:00
            action: {kind: hold}
        """)
    p = load_policy(path)
    assert p.tz == ZoneInfo("Europe/London")
    assert (p.limits.capacity_kwh, p.limits.max_charge_w, p.limits.min_soc_pct,
            p.limits.max_soc_pct, p.limits.max_import_w) == (10, 3000, 10, 95, None)
    assert [(r.name, r.index, r.layer) for r in p.rules] == [("cheap", 1, Layer.SCHEDULE)]
    window = p.rules[0].window
    assert window is not None
    assert window.matches(datetime(2026, 7, 1, 1, 0, tzinfo=p.tz))
    assert not window.matches(datetime(2026, 7, 1, 8, 0, tzinfo=p.tz))
    assert p.default.action is not None
    assert p.default.action.kind is CommandKind.SELF_CONSUMPTION
    assert [(g.kind, g.priority, g.min_soc_pct, g.max_import_w) for g in p.guards] == [
        ("backup_reserve", 0, 20, None), ("import_cap", 1, None, 5000)]
    assert p.guards[0].window is None and p.guards[1].window is not None
    (o,) = p.overrides
    # 09:00 without an offset is read in the site's zone (BST in July): 08:00 UTC.
    assert o.start_s == datetime.fromisoformat("2026-07-01T08:00:00+00:00").timestamp()
    assert o.until_s == datetime.fromisoformat("2026-07-01T12:00:00+00:00").timestamp()
    assert p.tariff.import_price_at(datetime(2026, 7, 1, tzinfo=p.tz)) == 0.25


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_load(path: Path) -> None:
    policy: Policy = load_policy(path)
    assert policy.doc.site.name
    assert path.read_text().startswith(
        "# yaml-language-server: $schema=../../schema/policy.schema.json\n")


def test_unknown_strategy_name_suggests(policy_file: MakePolicy) -> None:
    path = policy_file("""\
        rules:
          - name: shave
            layer: schedule
            strategy: peak_shavng
        """)
    (msg,) = errors_of(path)
    assert ":19:5: rules[0].strategy: unknown strategy 'peak_shavng'" in msg
    assert "peak_shaving" in msg and "did you mean 'peak_shaving'?" in msg


def test_strategy_type_and_settings_errors_are_located(policy_file: MakePolicy) -> None:
    assert "peak_shaving" in STRATEGIES.names()
    path = policy_file("""\
        strategies:
          shaver:
            type: peak_shavin
          cheap:
            type: peak_shaving
            no_such_setting: 3
        rules:
          - name: shave
            layer: schedule
            strategy: shaver
        """)
    errors = errors_of(path)
    assert any(":18:5: strategies.shaver.type:" in e and "peak_shaving" in e for e in errors), \
        errors
    assert any(":21:5: strategies.cheap.no_such_setting:" in e for e in errors), errors


def test_registered_strategy_type_used_directly(policy_file: MakePolicy) -> None:
    path = policy_file("""\
        rules:
          - name: self
            layer: schedule
            strategy: self_consumption
        """)
    p = load_policy(path)
    assert p.rules[0].strategy is not None
    assert "self_consumption" in p.strategies


def test_misspelt_strategy_setting_suggests_the_right_one(policy_file: MakePolicy) -> None:
    path = policy_file("""\
        strategies:
          shave:
            type: peak_shaving
            max_import_ww: 4000
        rules:
          - name: shave
            layer: schedule
            strategy: shave
        """)
    errors = errors_of(path)
    assert any(
        ":19:5: strategies.shave.max_import_ww: unknown key 'max_import_ww' "
        "(hint: did you mean 'max_import_w'?)" in e for e in errors
    ), errors
    # The rule naming the broken entry is not reported again as an unknown strategy.
    assert not any("unknown strategy" in e for e in errors), errors


def test_an_always_on_strategy_rule_does_not_shadow_the_rules_after_it(
    policy_file: MakePolicy,
) -> None:
    # A strategy may have nothing to propose (backup_reserve above its margin), so the rule after
    # it still fires; the same layout with an action in place of the strategy is an error.
    path = policy_file("""\
        rules:
          - name: reserve
            layer: schedule
            strategy: backup_reserve
          - name: evening
            layer: schedule
            when: {time: "16:00-19:00"}
            action: {kind: self_consumption}
        """)
    assert [r.name for r in load_policy(path).rules] == ["reserve", "evening"]
