"""The strategy registry: built-ins, entry-point plugins, and the errors people see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from gridpilot.engine.proposal import Strategy
from gridpilot.errors import StrategyError
from gridpilot.strategies import registry

BUILTINS = ["backup_reserve", "peak_shaving", "self_consumption", "tariff_arbitrage"]


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    dist = tmp_path / "acme_strategies-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-strategies\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[gridpilot.strategies]\n"
        "acme_night = acme_mod:NightCharge\n"
        "acme_missing = acme_not_there:Nothing\n"
        "acme_notaclass = acme_mod:helper\n"
        "self_consumption = acme_mod:NightCharge\n"
    )
    (tmp_path / "acme_mod.py").write_text(
        "from typing import ClassVar\n"
        "from gridpilot.engine.commands import Command, CommandKind\n"
        "from gridpilot.engine.proposal import Proposal\n"
        "from gridpilot.strategies.base import StrategySettings\n"
        "class NightSettings(StrategySettings):\n"
        "    power_w: float = 1000.0\n"
        "class NightCharge:\n"
        "    type_name: ClassVar[str] = 'acme_night'\n"
        "    settings_model = NightSettings\n"
        "    def __init__(self, name, settings):\n"
        "        self.name = name\n"
        "        self.settings = settings\n"
        "    def propose(self, state, ctx):\n"
        "        cmd = Command(CommandKind.CHARGE, power_w=self.settings.power_w)\n"
        "        return Proposal(cmd, 'night')\n"
        "def helper():\n"
        "    return None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.STRATEGIES.reset()
    yield tmp_path
    registry.STRATEGIES.reset()


def test_builtins_are_available() -> None:
    assert set(BUILTINS) <= set(registry.STRATEGIES.names())


def test_type_defaults_to_the_instance_name() -> None:
    s = registry.create_strategy("peak_shaving", {"max_import_w": 4000})
    assert isinstance(s, Strategy)
    assert s.name == "peak_shaving" and s.type_name == "peak_shaving"
    s = registry.create_strategy("evening", {"type": "self_consumption"})
    assert s.name == "evening" and s.type_name == "self_consumption"


def test_unknown_type_lists_the_valid_ones() -> None:
    with pytest.raises(StrategyError) as err:
        registry.create_strategy("x", {"type": "tarif_arbitrage"})
    text = str(err.value)
    assert "'tarif_arbitrage'" in text
    for name in BUILTINS:
        assert name in text


def test_bad_settings_raise_validation_error() -> None:
    with pytest.raises(ValidationError) as err:
        registry.create_strategy("peak_shaving", {"max_import_w": 4000, "recharge_below": 3})
    assert "recharge_below" in str(err.value)
    with pytest.raises(ValidationError):
        registry.create_strategy("peak_shaving", {"max_import_w": 4000, "recharge_below_w": 5000})
    with pytest.raises(ValidationError):
        registry.create_strategy("peak_shaving", {})


def test_plugins_load_and_broken_ones_are_named(plugins: Path) -> None:
    names = registry.STRATEGIES.names()
    assert "acme_night" in names
    assert "acme_missing" not in names and "acme_notaclass" not in names
    s = registry.create_strategy("night", {"type": "acme_night", "power_w": 500})
    assert s.name == "night"
    with pytest.raises(StrategyError) as err:
        registry.create_strategy("m", {"type": "acme_missing"})
    assert "acme_missing" in str(err.value) and "acme_not_there" in str(err.value)
    with pytest.raises(StrategyError) as err:
        registry.create_strategy("m", {"type": "acme_notaclass"})
    assert "acme_mod:helper" in str(err.value) and "not a class" in str(err.value)
    problems = registry.STRATEGIES.problems()
    assert "built-in name" in problems["self_consumption"]
    # A plugin cannot replace a built-in.
    assert type(registry.create_strategy("self_consumption", {})).__module__ == (
        "gridpilot.strategies.self_consumption")
