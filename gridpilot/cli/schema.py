"""``gridpilot schema``: print the JSON Schema of a policy file.

Editors that speak the YAML language server complete and check a policy that starts with
``# yaml-language-server: $schema=<path or URL of this schema>``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from gridpilot.cli.terminal import stdout
from gridpilot.exitcodes import ExitCode

__all__ = ["policy_json_schema", "register", "render"]


def policy_json_schema() -> dict[str, Any]:
    from gridpilot.rules.schema import PolicyDoc

    schema = PolicyDoc.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gridpilot policy"
    return schema


def render() -> str:
    return json.dumps(policy_json_schema(), indent=2, sort_keys=True) + "\n"


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print the JSON Schema of a policy file, for editors and other tools."
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    print(render(), end="", file=stdout())
    return ExitCode.OK
