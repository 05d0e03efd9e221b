"""Validation messages speak of the policy, not of pydantic's internals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridpilot.errors import PolicyError
from gridpilot.rules.loader import load_policy

from .conftest import BASE, write

# pydantic's loc tags and type names that must never reach a person.
_INTERNAL = re.compile(
    r"str-enum|function-after|function-before|function-wrap|union\[|list\[|instance of|"
    r"Input should|Input tag|dictionary|\.str:|\.int:|\.list:|\[str\]|SiteSpec|PriceSchedule"
)


def issue_lines(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return [i.format().replace(str(path), "p.yaml") for i in info.value.issues]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("site:\n  name: test site\n", "site: 5\nold_site:\n  name: test site\n", None),
        ("  import:\n    default: 0.25\n", "  import: [1]\n",
         "p.yaml:12:3: tariff.import: should be a mapping (key: value)"),
        ("    default: 0.05\n", "    default: 0.05\n    periods: 3\n",
         "p.yaml:16:5: tariff.export.periods: should be a list (- item)"),
        ("  name: test site", "  name: [1]", "p.yaml:3:3: site.name: should be text"),
    ],
)
def test_type_messages(tmp_path: Path, old: str, new: str, expected: str | None) -> None:
    got = issue_lines(write(tmp_path, BASE.replace(old, new, 1)))
    for line in got:
        assert not _INTERNAL.search(line), line
    if expected is not None:
        assert expected in got, got
    else:
        assert "p.yaml:2:1: site: should be a mapping (key: value)" in got, got


def test_union_branches_are_one_message(tmp_path: Path) -> None:
    got = issue_lines(write(tmp_path, BASE + (
        "rules:\n  - name: r\n    layer: schedule\n    when: {days: {a: 1}}\n"
        "    action: {kind: hold}\n"
    )))
    assert got == ["p.yaml:19:12: rules[0].when.days: should be text or a list (- item)"]


def test_enabled_and_times(tmp_path: Path) -> None:
    got = issue_lines(write(tmp_path, BASE + (
        "rules:\n  - name: r\n    layer: schedule\n    enabled: maybe\n"
        "    action: {kind: hold}\n"
        "manual:\n  - name: m\n    start: yesterday\n    until: 2026-01-01T00:00\n"
        "    action: {kind: hold}\n"
    )))
    assert got == [
        "p.yaml:19:5: rules[0].enabled: should be true or false",
        "p.yaml:23:5: manual[0].start: should be a date and time such as 2026-03-10T09:00",
    ]


def test_unknown_guard_kind_names_the_kind(tmp_path: Path) -> None:
    got = issue_lines(write(tmp_path, BASE + "guards:\n  - kind: import_capp\n"))
    assert len(got) == 1
    assert got[0].startswith("p.yaml:17:5: guards[0].kind: unknown kind 'import_capp' (valid: ")
    assert got[0].endswith("(hint: did you mean 'import_cap'?)")


def test_scenario_expect_kind_has_no_internal_tag(tmp_path: Path) -> None:
    got = issue_lines(write(tmp_path, BASE + (
        "tests:\n  - name: t\n    at: 2026-01-01T00:00\n    expect: {kind: flyy}\n"
    )))
    assert len(got) == 1, got
    assert got[0].startswith("p.yaml:19:14: tests[0].expect.kind: should be 'charge', ")
    assert not _INTERNAL.search(got[0]), got[0]
