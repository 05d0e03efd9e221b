"""Packaging facts a user relies on: one version everywhere, a licence, a changelog entry."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import gridpilot

ROOT = Path(__file__).resolve().parent.parent


def test_installed_metadata_carries_the_package_version() -> None:
    assert importlib.metadata.version("gridpilot") == gridpilot.__version__


def test_version_is_written_once() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project_table = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"^version\s*=", project_table, re.MULTILINE) is None
    assert 'dynamic = ["version"]' in project_table


def test_changelog_has_an_entry_for_the_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert f"## [{gridpilot.__version__}]" in changelog


def test_licence_matches_the_declared_one() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = "MIT"' in pyproject
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
