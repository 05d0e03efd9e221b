"""The README's samples are the real thing: its policy is an excerpt of an example policy that
checks and passes its scenario test, the tour's commands run, and the `decide --json` sample is
what that command prints."""

from __future__ import annotations

import json
import math
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from gridpilot.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ECONOMY7 = ROOT / "examples/policies/economy7.yaml"


def _readme_policy() -> str:
    match = re.search(r"```yaml\n(# yaml-language-server.*?)```", README, re.S)
    assert match, "the README has no example policy"
    return match.group(1)


def _is_elision(line: str) -> bool:
    return line.strip().startswith("# ...")


def test_readme_policy_checks_and_its_scenario_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(_readme_policy(), encoding="utf-8")
    for args in (["check", str(policy)], ["test", str(policy)]):
        code = main(args)
        out, err = capsys.readouterr()
        assert code == 0, out + err
    assert "1 passed, 0 failed" in out


def excerpt_mismatch(excerpt: str, source: str) -> str | None:
    """Why ``excerpt`` is not a verbatim excerpt of ``source`` (None when it is): its runs of
    lines between ``# ...`` lines appear in ``source`` whole, in order."""
    lines = source.splitlines()
    runs: list[list[str]] = [[]]
    for line in excerpt.splitlines():
        if _is_elision(line):
            runs.append([])
        else:
            runs[-1].append(line)
    at = 0
    for run in (r for r in runs if r):
        found = next((i for i in range(at, len(lines) - len(run) + 1)
                      if lines[i:i + len(run)] == run), None)
        if found is None:
            # Name the first line that differs, for a readable failure.
            for k in range(len(run), 0, -1):
                if any(lines[i:i + k] == run[:k] for i in range(at, len(lines) - k + 1)):
                    return f"differs from the example from this line on: {run[k]!r}" if k < len(
                        run) else "out of order"
            return f"not in the example: {run[0]!r}"
        at = found + len(run)
    return None


def test_readme_policy_is_a_verbatim_excerpt_of_the_economy7_example() -> None:
    source = ECONOMY7.read_text(encoding="utf-8")
    mismatch = excerpt_mismatch(_readme_policy(), source)
    assert mismatch is None, f"README policy vs {ECONOMY7.relative_to(ROOT)}: {mismatch}"
    # It starts at the top of the file, so it shows the real site, tariff and rules.
    assert source.startswith(_readme_policy().split("# ...")[0].rstrip(" "))


def test_the_excerpt_check_catches_drift() -> None:
    source = "a: 1\nb: 2\nc: 3\nd: 4\n"
    assert excerpt_mismatch("a: 1\nb: 2\n# ... more\nd: 4\n", source) is None
    assert excerpt_mismatch("a: 1\nb: 20\n", source) == "differs from the example from this " \
                                                        "line on: 'b: 20'"
    assert excerpt_mismatch("c: 3\n# ...\na: 1\n", source) is not None
    assert excerpt_mismatch("z: 9\n", source) == "not in the example: 'z: 9'"


def _tour() -> tuple[str, list[list[str]]]:
    """The tour's state.json text and its gridpilot commands (check, decide, test)."""
    block = re.search(r"## A five-minute tour\n\n```sh\n(.*?)```", README, re.S)
    assert block, "the README has no tour"
    text = block.group(1).replace("\\\n", " ")
    state = re.search(r"^echo '(.*)' > state\.json$", text, re.M)
    assert state, "the tour writes no state.json"
    commands = [shlex.split(line) for line in text.splitlines() if line.startswith("gridpilot ")]
    return state.group(1), commands


def _run(argv: list[str], tmp_path: Path, state: str,
         capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    (tmp_path / "state.json").write_text(state + "\n", encoding="utf-8")
    args = [str(ROOT / a) if a.startswith("examples/") else a for a in argv[1:]]
    args = [str(tmp_path / a) if a == "state.json" else a for a in args]
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("verb", ["check", "decide", "test"])
def test_the_tour_commands_run(verb: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    state, commands = _tour()
    argv = next(c for c in commands if c[1] == verb)
    code, out, err = _run(argv, tmp_path, state, capsys)
    assert code == 0, out + err
    if verb == "test":
        assert re.search(r"^\d+ passed, 0 failed$", out, re.M), out


def same_json(sample: Any, actual: Any, path: str = "$") -> list[str]:
    """Where two JSON values differ: the same keys and list lengths, equal strings, booleans and
    nulls, numbers equal to the printed precision of the sample."""
    if isinstance(sample, dict) and isinstance(actual, dict):
        out = [f"{path}: keys {sorted(sample)} != {sorted(actual)}"] if list(sample) != list(
            actual) else []
        for key in sample.keys() & actual.keys():
            out += same_json(sample[key], actual[key], f"{path}.{key}")
        return out
    if isinstance(sample, list) and isinstance(actual, list):
        if len(sample) != len(actual):
            return [f"{path}: {len(sample)} items != {len(actual)}"]
        return [d for i, (s, a) in enumerate(zip(sample, actual, strict=True))
                for d in same_json(s, a, f"{path}[{i}]")]
    numbers = (int, float)
    if (isinstance(sample, numbers) and isinstance(actual, numbers)
            and not isinstance(sample, bool) and not isinstance(actual, bool)):
        return [] if math.isclose(sample, actual, rel_tol=1e-9, abs_tol=1e-9) else [
            f"{path}: {sample!r} != {actual!r}"]
    return [] if sample == actual and type(sample) is type(actual) else [
        f"{path}: {sample!r} != {actual!r}"]


def test_the_decide_json_sample_is_what_the_command_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    match = re.search(r"`--json` prints the Decision; for the tour's tick above \(`(gridpilot "
                      r"decide[^`]*)`\):\n\n```json\n(.*?)```", README, re.S)
    assert match, "the README's decide --json sample names no command"
    argv = shlex.split(match.group(1))
    sample = json.loads(match.group(2))
    state, commands = _tour()
    assert argv[:-1] == next(c for c in commands if c[1] == "decide"), \
        "the sample is not the tour's decide command with --json"
    code, out, err = _run(argv, tmp_path, state, capsys)
    assert code == 0, err
    actual = json.loads(out)
    diffs = same_json(sample, actual)
    assert not diffs, ("the README's decide --json sample is stale; it is now:\n"
                       + json.dumps(actual, indent=1) + "\n" + "\n".join(diffs))


def test_the_json_comparison_catches_drift() -> None:
    assert same_json({"a": 1.0, "b": [None, "x"]}, {"a": 1, "b": [None, "x"]}) == []
    assert same_json({"a": 1.0}, {"a": 1.5}) == ["$.a: 1.0 != 1.5"]
    assert same_json({"a": 1}, {"a": 1, "b": 2}) != []
    assert same_json({"a": [1]}, {"a": [1, 2]}) == ["$.a: 1 items != 2"]
    assert same_json({"a": None}, {"a": 0}) != [] and same_json({"a": False}, {"a": 0}) != []
