"""The command a partial state remembers is written as the engine's Command is: same fields, same
defaults, so an input that omits a field means what the engine means by it."""

from __future__ import annotations

from dataclasses import MISSING, fields

from pydantic_core import PydanticUndefined

from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.partial_state import PartialCommand


def test_partial_command_has_the_fields_and_defaults_of_command() -> None:
    engine = {f.name: (None if f.default is MISSING else f.default) for f in fields(Command)}
    given = {
        name: (None if info.default is PydanticUndefined else info.default)
        for name, info in PartialCommand.model_fields.items()
    }
    assert given == engine


def test_a_partial_command_becomes_the_same_command() -> None:
    partial = PartialCommand(kind=CommandKind.CHARGE, power_w=1500.0, target_soc_pct=90.0)
    assert partial.command() == Command(CommandKind.CHARGE, power_w=1500.0, target_soc_pct=90.0)
