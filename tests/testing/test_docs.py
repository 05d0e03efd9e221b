"""The documentation stays true: the policy key reference is generated from the schema, and the
examples in the docs are real."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from gridpilot.rules.schema import PolicyDoc
from gridpilot.testing.docgen import BEGIN, END, generate_reference, render_policy_md

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_policy_reference_is_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot.testing.docgen", "--check"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr


def test_the_reference_lists_every_key_of_the_schema() -> None:
    text = generate_reference(PolicyDoc, sorted((ROOT / "examples/policies").glob("*.yaml")))
    for name, info in PolicyDoc.model_fields.items():
        assert f"| `{info.alias or name}` |" in text
    for key in ("capacity_kwh", "min_dwell_s", "price_below", "soc_pct", "expect_not",
                "min_dwell", "bound_by", "published_at"):
        assert f"| `{key}` |" in text, key
    # units come from the names, examples from the bundled policies
    row = next(ln for ln in text.splitlines() if ln.startswith("| `capacity_kwh` |"))
    assert "| kWh |" in row and "`9.5`" in row


def test_a_stale_reference_is_detected(tmp_path: Path) -> None:
    stale = tmp_path / "policy.md"
    current = (DOCS / "policy.md").read_text(encoding="utf-8")
    stale.write_text(current.replace("| `capacity_kwh` |", "| `capacity` |"), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot.testing.docgen", "--check", "--doc", str(stale)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert proc.returncode == 1 and "out of date" in proc.stderr
    rendered = render_policy_md(f"a\n{BEGIN}\nold\n{END}\nb\n", "new\n")
    assert rendered == f"a\n{BEGIN}\n\nnew\n\n{END}\nb\n"


def test_yaml_snippets_in_the_testing_guide_are_valid_cases() -> None:
    from ruamel.yaml import YAML

    from gridpilot.testing.model import ScenarioCase

    guide = (DOCS / "testing.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", guide, re.DOTALL)
    checked = 0
    for block in blocks:
        data = YAML(typ="safe").load(block)
        if isinstance(data, dict) and "tests" in data:
            for case in data["tests"]:
                ScenarioCase.model_validate(case)
                checked += 1
    assert checked >= 5
