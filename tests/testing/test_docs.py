"""The documentation stays true: the policy key reference is generated from the schema, and the
examples in the docs are real."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from gridpilot.docgen import begin_marker, end_marker, generate_reference, render_block
from gridpilot.rules.schema import PolicyDoc

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_policy_reference_is_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot.docgen", "--check"],
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
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("policy.md", "devices.md", "strategies.md", "tariffs.md"):
        (docs / name).write_text((DOCS / name).read_text(encoding="utf-8"), encoding="utf-8")
    stale = docs / "devices.md"
    stale.write_text(stale.read_text().replace("| `tls_fingerprint_sha256` |", "| `pin` |"),
                     encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot.docgen", "--check", "--docs", str(docs)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert proc.returncode == 1 and f"{stale} is out of date" in proc.stderr
    begin, end = begin_marker("x"), end_marker("x")
    rendered = render_block(f"a\n{begin}\nold\n{end}\nb\n", "x", "new\n")
    assert rendered == f"a\n{begin}\n\nnew\n\n{end}\nb\n"


def test_device_and_strategy_settings_are_documented() -> None:
    devices = (DOCS / "devices.md").read_text(encoding="utf-8")
    for key in ("tls_fingerprint_sha256", "password_file", "insecure", "max_duration_h",
                "device_id", "initial_soc_pct"):
        assert f"| `{key}` |" in devices, key
    strategies = (DOCS / "strategies.md").read_text(encoding="utf-8")
    for name in ("self_consumption", "tariff_arbitrage", "peak_shaving", "backup_reserve"):
        assert f"### `type: {name}`" in strategies
        assert (DOCS / "img" / f"strategy-{name}.png").is_file()
        assert f"](img/strategy-{name}.png)" in strategies
    assert "export_boost" not in strategies  # an installed plugin documents itself


def test_the_plugin_code_in_the_guide_is_the_real_code() -> None:
    guide = (DOCS / "writing-a-strategy.md").read_text(encoding="utf-8")
    source = (ROOT / "examples/plugin/src/gridpilot_export_boost/strategy.py").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", guide, re.DOTALL)
                 if "class ExportBoost" in b)
    source_lines = {ln.strip() for ln in source.splitlines()}
    for line in block.splitlines():
        text = line.strip()
        if text and not text.startswith("..."):
            assert text in source_lines, f"not in the plugin: {text!r}"
    toml = (ROOT / "examples/plugin/pyproject.toml").read_text()
    assert 'export_boost = "gridpilot_export_boost.strategy:ExportBoost"' in toml
    assert 'export_boost = "gridpilot_export_boost.strategy:ExportBoost"' in guide


def test_yaml_snippets_in_the_testing_guide_are_valid_cases() -> None:
    from ruamel.yaml import YAML

    from gridpilot.rules.scenario import ScenarioCase

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


def test_a_price_per_kwh_is_documented_in_currency_per_kwh_not_kwh() -> None:
    from pydantic import BaseModel

    class Prices(BaseModel):
        min_spread_per_kwh: float = 0.0
        standing_charge_per_day: float = 0.0
        demand_charge_per_kw: float = 0.0
        capacity_kwh: float = 1.0
        max_charge_w: float = 1.0

    text = generate_reference(Prices, [])
    units = {
        row.split("|")[1].strip(" `"): row.split("|")[3].strip()
        for row in text.splitlines() if row.startswith("| `")
    }
    assert units == {
        "min_spread_per_kwh": "currency/kWh", "standing_charge_per_day": "currency/day",
        "demand_charge_per_kw": "currency/kW", "capacity_kwh": "kWh", "max_charge_w": "W",
    }
    # and in every generated document: no key priced per kWh is given in kWh
    for name in ("policy.md", "devices.md", "strategies.md", "tariffs.md"):
        for row in (DOCS / name).read_text(encoding="utf-8").splitlines():
            if re.match(r"\| `\w+_per_kwh` \|", row):
                assert row.split("|")[3].strip() == "currency/kWh", f"{name}: {row}"
