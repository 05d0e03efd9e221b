"""Every `device: {type: homeassistant}` example in the docs is a valid device section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from gridpilot.devices.homeassistant import HomeAssistantSettings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def examples() -> list[tuple[str, str]]:
    found = []
    for name in ("devices.md", "home-assistant.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL):
            if "type: homeassistant" in block:
                found.append((name, block))
    return found


def test_the_docs_show_at_least_three_integrations() -> None:
    text = "".join(block for _, block in examples())
    for integration in ("solax_remotecontrol", "huawei_solar.", "givtcp_"):
        assert integration in text


@pytest.mark.parametrize(("name", "block"), examples())
def test_example_is_a_valid_device(name: str, block: str) -> None:
    text = block.replace("${HA_TOKEN}", "token").replace("${HA_URL}", "http://supervisor/core")
    raw = YAML(typ="safe").load(text)["device"]
    settings = HomeAssistantSettings.model_validate(raw)
    assert settings.the_mode_entity() is not None, f"{name}: no mode entity"
