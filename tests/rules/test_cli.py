"""``gridpilot check`` and ``gridpilot schema`` run as a user runs them: in a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.runner import run_cli

ROOT = Path(__file__).resolve().parents[2]
BAD = Path(__file__).parent / "bad"


def gridpilot(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


def test_check_examples_pass() -> None:
    proc = gridpilot("check", "examples/policies/")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    n = len(list((ROOT / "examples" / "policies").glob("*.yaml")))
    assert n >= 4
    assert proc.stdout.count(": ok\n") == n
    assert f"{n} file(s) checked, 0 error(s)" in proc.stderr


def test_check_reports_every_error_of_every_file() -> None:
    files = [BAD / "several_errors.yaml", BAD / "several_check_errors.yaml",
             ROOT / "examples/policies/economy7.yaml"]
    proc = gridpilot("check", *map(str, files))
    assert proc.returncode == 1
    expected = []
    for f in files[:2]:
        expected += [line.replace(f.name, str(f), 1)
                     for line in f.with_suffix(".expected").read_text().splitlines()]
    assert proc.stdout.splitlines() == [*expected, f"{files[2]}: ok"]
    assert "3 file(s) checked, 6 error(s) in 2 file(s)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_json() -> None:
    proc = gridpilot("check", "--json", str(BAD / "unknown_key.yaml"), "examples/policies")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["ok"] is False and out["error_count"] == 2
    first = out["files"][0]
    assert first["file"].endswith("unknown_key.yaml") and first["ok"] is False
    assert first["issues"][1] == {
        "file": first["file"], "line": 6, "column": 5, "path": "site.battery.capacity_kwhh",
        "message": "unknown key 'capacity_kwhh'", "hint": "did you mean 'capacity_kwh'?",
    }
    assert len(out["files"]) > 4 and all(f["ok"] for f in out["files"][1:])


def test_check_missing_file_and_empty_dir(tmp_path: Path) -> None:
    proc = gridpilot("check", str(tmp_path / "missing.yaml"), str(tmp_path))
    assert proc.returncode == 1
    assert f"{tmp_path / 'missing.yaml'}: file not found" in proc.stdout
    assert f"{tmp_path}: no policy (a YAML file with 'version:' and 'site:') or " \
        "*.gridpilot-test.yaml file in this directory or below" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_check_without_arguments_is_a_usage_error() -> None:
    proc = gridpilot("check")
    assert proc.returncode == 2
    assert "usage" in proc.stderr


def test_schema_matches_the_committed_file() -> None:
    proc = gridpilot("schema")
    assert proc.returncode == 0
    committed = (ROOT / "schema" / "policy.schema.json").read_text()
    assert proc.stdout == committed, "regenerate: gridpilot schema > schema/policy.schema.json"
    schema = json.loads(proc.stdout)
    assert {"version", "site", "tariff"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


def test_check_validates_scenario_test_files_in_a_directory(tmp_path: Path) -> None:
    policy = (ROOT / "examples" / "policies" / "economy7.yaml").read_text()
    (tmp_path / "p.yaml").write_text(policy.replace("../data/", str(ROOT / "examples/data") + "/"))
    (tmp_path / "p.gridpilot-test.yaml").write_text(
        "policy: p.yaml\n"
        "tests:\n"
        "  - name: names a rule that does not exist\n"
        '    at: "2018-01-17 04:00"\n'
        "    expect: {kind: charge, winner: no such rule}\n"
    )
    proc = gridpilot("check", str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{tmp_path / 'p.gridpilot-test.yaml'}:5:" in proc.stdout
    assert "no rule 'no such rule'" in proc.stdout
    assert f"{tmp_path / 'p.yaml'}: ok" in proc.stdout


def test_check_directory_recurses_like_test(tmp_path: Path) -> None:
    policy = (ROOT / "examples" / "policies" / "economy7.yaml").read_text()
    policy = policy.replace("../data/", str(ROOT / "examples/data") + "/")
    (tmp_path / "sites" / "north").mkdir(parents=True)
    (tmp_path / "sites" / "north" / "home.yaml").write_text(policy)
    (tmp_path / "sites" / "broken.yml").write_text(
        policy.replace("timezone: Europe/London", "timezone: Mars/Olympus")
    )
    # Not policies: skipped, not errors.
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "workflow.yml").write_text("on: push\njobs: {}\n")
    (tmp_path / ".gridpilot").mkdir()
    (tmp_path / ".gridpilot" / "old.yaml").write_text("version: 1\nsite: 5\n")
    proc = gridpilot("check", str(tmp_path), str(tmp_path / "sites"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert f"{tmp_path / 'sites' / 'north' / 'home.yaml'}: ok" in lines
    assert any(line.startswith(f"{tmp_path / 'sites' / 'broken.yml'}:") and "Mars/Olympus" in line
               for line in lines), lines
    assert "workflow.yml" not in proc.stdout and "old.yaml" not in proc.stdout
    # Each file once, though both arguments reach it.
    assert "2 file(s) checked, 1 error(s) in 1 file(s)" in proc.stderr


def test_check_examples_directory_recurses(example_plugin_installed: None) -> None:
    # examples/plugin/policy.yaml uses the plugin's strategy, so it checks only once installed.
    proc = gridpilot("check", "examples/")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "examples/policies/economy7.yaml: ok" in proc.stdout
    assert "examples/plugin/policy.yaml: ok" in proc.stdout
    assert "github-actions" not in proc.stdout


def test_a_named_non_policy_file_is_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "workflow.yml"
    path.write_text("on: push\n")
    proc = gridpilot("check", str(path))
    assert proc.returncode == 1
    assert str(path) in proc.stdout
