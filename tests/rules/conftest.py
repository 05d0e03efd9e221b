"""Helpers for policy-language tests: write a small policy file and load it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from gridpilot.errors import PolicyError
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy

BASE = """\
version: 1
site:
  name: test site
  timezone: Europe/London
  battery:
    capacity_kwh: 10
    max_charge_w: 3000
    max_discharge_w: 3000
    min_soc_pct: 10
    max_soc_pct: 95
tariff:
  import:
    default: 0.25
  export:
    default: 0.05
"""


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    """The formatted issues ``load_policy`` raises for ``path`` (fails if it loads)."""
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return [i.format() for i in info.value.issues]


@pytest.fixture
def policy_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write BASE followed by ``extra`` YAML (top-level sections) and return the path."""

    def make(extra: str = "", base: str = BASE) -> Path:
        return write(tmp_path, base + textwrap.dedent(extra))

    return make


@pytest.fixture
def load() -> Callable[[Path], Policy]:
    return load_policy
