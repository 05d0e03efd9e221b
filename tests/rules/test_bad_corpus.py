"""Every policy in ``bad/`` must fail with exactly the lines in its ``.expected`` twin."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from gridpilot.errors import PolicyError
from gridpilot.rules.loader import load_policy

BAD = Path(__file__).parent / "bad"
CASES = sorted(BAD.glob("*.yaml"))


def _without_plugins(line: str) -> str:
    """The corpus speaks of the built-in strategies only: whether a test elsewhere has installed
    a plugin package (which then appears among the valid types) must not change the message."""
    for ep in entry_points(group="gridpilot.strategies"):
        line = re.sub(rf"\b{re.escape(ep.name)}, ", "", line)
    return line


def test_every_case_has_its_expected_message() -> None:
    assert len(CASES) >= 30
    assert {p.stem for p in CASES} == {p.stem for p in BAD.glob("*.expected")}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_bad_policy_gives_its_message(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDPILOT_TEST_UNSET_VARIABLE", raising=False)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    got = [_without_plugins(i.format().replace(str(path), path.name)) for i in info.value.issues]
    assert got == path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
