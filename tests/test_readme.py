"""The samples in the README and docs/ are the real thing: the README's policy is an excerpt of
an example policy that checks and passes its scenario test, the tour's commands run, and the
`decide --json` sample is what that command prints; docs/testing.md's cases are the examples'
cases, its test file and fragments run and its sample output is what `gridpilot test` prints;
docs/devices.md's device sections check."""

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


# docs/testing.md: its cases are the examples' cases, its separate test file and fragments run,
# and its sample output is what `gridpilot test` prints.

DOCS = ROOT / "docs"
GUIDE = (DOCS / "testing.md").read_text(encoding="utf-8")


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.S)


def _load(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(text)


def _example_cases() -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "examples/policies").glob("*.yaml")):
        for case in _load(path.read_text(encoding="utf-8")).get("tests") or []:
            cases[case["name"]] = case
    return cases


def test_excerpts_in_the_docs_are_verbatim() -> None:
    checked = 0
    for doc in (ROOT / "README.md", *sorted(DOCS.glob("*.md"))):
        for block in _yaml_blocks(doc.read_text(encoding="utf-8")):
            first, _, rest = block.partition("\n")
            source = re.fullmatch(r"# (examples/\S+\.ya?ml)", first.strip())
            if source is None:
                continue
            mismatch = excerpt_mismatch(rest, (ROOT / source.group(1)).read_text("utf-8"))
            assert mismatch is None, f"{doc.name}: the excerpt of {source.group(1)}: {mismatch}"
            checked += 1
    assert checked >= 1


def test_the_cases_in_the_docs_are_the_examples_cases() -> None:
    examples = _example_cases()
    checked = 0
    for doc in (ROOT / "README.md", *sorted(DOCS.glob("*.md"))):
        for block in _yaml_blocks(doc.read_text(encoding="utf-8")):
            data = _load(block)
            if not isinstance(data, dict) or "tests" not in data or "policy" in data:
                continue  # a separate test file runs in its own test below
            for case in data["tests"]:
                assert case["name"] in examples, f"{doc.name}: no example has {case['name']!r}"
                assert case == examples[case["name"]], f"{doc.name}: {case['name']!r} differs"
                checked += 1
    assert checked >= 6


def _guide_block(starts: str) -> str:
    return next(b for b in _yaml_blocks(GUIDE) if b.startswith(starts))


def _site(tmp_path: Path) -> Path:
    """A policy repository: ``policies/economy7.yaml`` (the example) and ``tests/``."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "policies/economy7.yaml").write_text(ECONOMY7.read_text("utf-8"), "utf-8")
    return tmp_path


def test_the_separate_test_file_in_the_guide_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    block = _guide_block("policy: ../policies/economy7.yaml\n")
    path = _site(tmp_path) / "tests/winter.gridpilot-test.yaml"
    assert "`tests/winter.gridpilot-test.yaml`" in GUIDE
    path.write_text(block, encoding="utf-8")
    code = main(["test", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert out.splitlines()[-1] == f"{len(_load(block)['tests'])} passed, 0 failed"


def test_the_prices_and_overrides_in_the_guide_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = _guide_block("prices:\n")
    overrides = _guide_block("overrides:\n")
    case = (
        "policy: ../policies/economy7.yaml\ntests:\n"
        "  - name: the guide's prices and override\n"
        '    at: "2026-01-15 17:00"\n'
        "    state: {soc_pct: 50}\n"
        + "".join("    " + line + "\n" for line in (prices + overrides).splitlines())
        + "    expect: {kind: charge, power_w: 3000, target_soc_pct: 90,\n"
        + '             winner: "override:boost"}\n'
    )
    path = _site(tmp_path) / "tests/fragments.gridpilot-test.yaml"
    path.write_text(case, encoding="utf-8")
    code = main(["test", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, out + err


def test_the_misspelt_name_message_in_the_guide_is_real(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quoted = re.search(r"\(`(tests\[0\]\.expect_not\.winner: .*?)`\)", GUIDE, re.S)
    assert quoted, "the guide quotes no misspelt-name error"
    message = " ".join(quoted.group(1).split())
    misspelt = re.search(r"no rule '([^']+)'", message)
    assert misspelt
    path = _site(tmp_path) / "tests/typo.gridpilot-test.yaml"
    path.write_text(
        "policy: ../policies/economy7.yaml\ntests:\n  - name: a typo\n"
        f'    at: "2026-01-15 12:00"\n    expect_not: {{winner: {misspelt.group(1)}}}\n',
        encoding="utf-8",
    )
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert code == 1 and message in out + err, out + err


def test_the_failure_sample_in_the_guide_is_what_gridpilot_test_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    match = re.search(r"whose night charge\npower was mistyped, `power_w: 300` for "
                      r"`power_w: 3000`:\n\n```\n\$ (gridpilot test [^\n]*)\n(.*?)```", GUIDE, re.S)
    assert match, "the guide's failure sample or the edit it shows has moved"
    site = _site(tmp_path)
    text = ECONOMY7.read_text("utf-8")
    assert text.count("power_w: 3000 ") == 1
    (site / "policies/home.yaml").write_text(text.replace("power_w: 3000 ", "power_w: 300 "),
                                             encoding="utf-8")
    monkeypatch.chdir(site)
    code = main(shlex.split(match.group(1))[1:])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert out == match.group(2), "docs/testing.md's sample output is stale; it is now:\n" + out


def test_the_device_samples_in_the_docs_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Realistic secrets (the output masks them) and a whole fingerprint for the documented
    # placeholder; the rest of each sample is checked as written, in the Economy 7 example.
    monkeypatch.setenv("XSTORAGE_PASSWORD", "correct-horse-battery")
    monkeypatch.setenv("XBATTERY_API_KEY", "k-0123456789abcdef")
    monkeypatch.setenv("HA_TOKEN", "ha-0123456789abcdef")
    site = _site(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data/uk-2018-halfhourly.csv").symlink_to(
        ROOT / "examples/data/uk-2018-halfhourly.csv")
    policy = ECONOMY7.read_text("utf-8")
    blocks = [b for b in _yaml_blocks((DOCS / "devices.md").read_text("utf-8"))
              if b.startswith("device:\n")]
    assert len(blocks) >= 4
    for i, block in enumerate(blocks):
        block = block.replace('"3b:1f:...:9a"', '"' + ":".join(["ab"] * 32) + '"')
        path = site / f"policies/device{i}.yaml"
        path.write_text(policy.replace("\ntariff:", "\n" + block + "\ntariff:", 1), "utf-8")
        code = main(["check", str(path)])
        out, err = capsys.readouterr()
        assert code == 0, f"docs/devices.md sample:\n{block}\n{out}{err}"
