"""docs/tariffs.md stays true: every built-in provider's settings are generated into it (the
docgen check covers their freshness) and its table of publication times is each provider's own."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridpilot.prices.registry import PRICE_PROVIDERS
from gridpilot.prices.spec import offline_context

DOC = (Path(__file__).resolve().parents[2] / "docs/tariffs.md").read_text(encoding="utf-8")
REQUIRED = {"octopus": {"product": "AGILE-24-10-01", "region": "C"},
            "entsoe": {"zone": "10Y1001A1001A82H"}, "nordpool": {"area": "SE3"}}
BUILT_IN = ("octopus", "entsoe", "nordpool", "tibber", "awattar", "energy_charts")


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_provider_is_documented_with_its_publication(name: str) -> None:
    assert f"### `type: {name}`" in DOC
    kind = PRICE_PROVIDERS.get(name)
    settings = kind.settings_model.model_validate(REQUIRED.get(name, {}))
    context = offline_context(ZoneInfo("UTC"), Path("."))
    try:
        pub = kind(settings, context).publication()
    finally:
        context.client.close()
    row = next(ln for ln in DOC.splitlines() if ln.startswith(f"| `{name}` |"))
    match = re.search(r"\| (\d\d:\d\d) ([A-Za-z/]+) \|", row)
    assert match is not None, row
    zone = {"CET": "Europe/Oslo"}.get(match.group(2), match.group(2))
    assert match.group(1) == pub.local_time.strftime("%H:%M")
    # Oslo and Brussels keep the same clock (CET/CEST): either name says the same time.
    same = {"Europe/Oslo", "Europe/Brussels", "Europe/Berlin", "Europe/Stockholm"}
    assert zone == pub.tz.key or {zone, pub.tz.key} <= same
    covers = "23:00" if pub.covers_until_local is not None else "the whole next day"
    assert covers in row
