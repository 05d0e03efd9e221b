"""Names in expectations must exist in the policy.

A misspelt rule name in ``expect_not: {winner: ...}`` would make a test that can never fail, so
every rule, override and guard an expectation names is checked against the policy when the tests
are loaded, and an unknown one is an error at its line, with the closest name as a hint.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gridpilot.errors import Issue
from gridpilot.rules.policy import Policy
from gridpilot.rules.scenario import ScenarioCase
from gridpilot.rules.scenario_expectations import Expectation
from gridpilot.rules.validation import suggest
from gridpilot.rules.yamlsource import NodePath, SourceMap
from gridpilot.testing.compare import source_name

__all__ = ["PolicyNames", "check_references"]


def _expectations(
    case: ScenarioCase, path: NodePath
) -> Iterator[tuple[Expectation, NodePath]]:
    if case.expect is not None:
        yield case.expect, (*path, "expect")
    if isinstance(case.expect_not, list):
        for i, exp in enumerate(case.expect_not):
            yield exp, (*path, "expect_not", i)
    elif case.expect_not is not None:
        yield case.expect_not, (*path, "expect_not")
    for j, check in enumerate(case.checks):
        cpath = (*path, "checks", j)
        if check.expect is not None:
            yield check.expect, (*cpath, "expect")
        if isinstance(check.expect_not, list):
            for i, exp in enumerate(check.expect_not):
                yield exp, (*cpath, "expect_not", i)
        elif check.expect_not is not None:
            yield check.expect_not, (*cpath, "expect_not")


def _source_problem(
    text: str, rules: set[str], overrides: set[str]
) -> tuple[str, str] | None:
    name = source_name(text)
    if name in ("default", "device"):
        return None
    kind, _, rest = name.partition(":")
    if kind == "rule":
        if rest in rules:
            return None
        return f"the policy has no rule {rest!r}", suggest(rest, rules)
    if kind == "override":
        if rest in overrides:
            return None
        return f"no override {rest!r} in the policy's 'manual' or this case", suggest(
            rest, overrides
        )
    return (
        f"unknown source {text!r}",
        "write rule:<name>, override:<name>, default or device",
    )


def _limit_problem(text: str, guards: set[str]) -> tuple[str, str] | None:
    if text == "device" or text.startswith("device."):
        return None
    name = text.removeprefix("guard:")
    base = name.split(".", 1)[0]
    if base in guards or base.split("[", 1)[0] in guards:
        return None
    return f"the policy has no guard {base!r}", suggest(base, guards) or (
        "guards: " + ", ".join(sorted(guards)) if guards else "the policy has no guards"
    )


@dataclass(frozen=True)
class PolicyNames:
    """The names an expectation may refer to: rules (enabled ones), overrides, guards."""

    rules: frozenset[str]
    overrides: frozenset[str]
    guards: frozenset[str]

    @classmethod
    def of(cls, policy: Policy) -> PolicyNames:
        return cls(
            frozenset(r.name for r in policy.rules),
            frozenset(o.name for o in policy.overrides),
            frozenset({g.name for g in policy.guards} | {g.kind for g in policy.guards}),
        )

    @classmethod
    def from_data(cls, data: Any) -> PolicyNames:
        """The names in a policy's plain data, for a policy that does not compile: its tests'
        references are still checked, in the same run as its other errors. An entry that is not
        valid is taken at its word, so no reference to it is reported twice."""
        def entries(key: str) -> list[Mapping[str, Any]]:
            raw = data.get(key) if isinstance(data, Mapping) else None
            return [e for e in raw if isinstance(e, Mapping)] if isinstance(raw, list) else []

        rules = {r["name"] for r in entries("rules")
                 if isinstance(r.get("name"), str) and r.get("enabled") is not False}
        overrides = {o["name"] for o in entries("manual") if isinstance(o.get("name"), str)}
        guards: set[str] = set()
        for i, g in enumerate(entries("guards")):
            kind = str(g.get("kind"))
            guards |= {kind, str(g.get("name") or f"{kind}[{i}]")}
        return cls(frozenset(rules), frozenset(overrides), frozenset(guards))


def check_references(
    policy: Policy | PolicyNames, case: ScenarioCase, path: NodePath, smap: SourceMap
) -> list[Issue]:
    """Issues for names in ``case``'s expectations that the policy does not have."""
    names = policy if isinstance(policy, PolicyNames) else PolicyNames.of(policy)
    rules = set(names.rules)
    overrides = set(names.overrides) | {o.name for o in case.overrides}
    guards = set(names.guards)
    issues: list[Issue] = []

    def add(where: NodePath, problem: tuple[str, str] | None) -> None:
        if problem is not None:
            issues.append(smap.issue(where, problem[0], problem[1]))

    for exp, epath in _expectations(case, path):
        if exp.winner is not None:
            add((*epath, "winner"), _source_problem(exp.winner, rules, overrides))
        for key in ("bound_by", "not_bound_by"):
            value = getattr(exp, key)
            names_ = [value] if isinstance(value, str) else list(value or [])
            for i, name in enumerate(names_):
                where = (*epath, key) if isinstance(value, str) else (*epath, key, i)
                add(where, _limit_problem(name, guards))
        for source in exp.outcomes or {}:
            add((*epath, "outcomes", source), _source_problem(source, rules, overrides))
    return issues
