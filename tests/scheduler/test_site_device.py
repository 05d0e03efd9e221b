"""The policy's device section: validated by the device floor, located in the policy."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gridpilot.devices.registry import DEVICES
from gridpilot.errors import PolicyError
from gridpilot.rules.loader import load_policy
from gridpilot.scheduler.site_device import load_site_policy
from tests.rules.conftest import BASE, write


def _errors(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_site_policy(path)
    return [i.format() for i in info.value.issues]


def test_unknown_device_type_lists_valid(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "device:\n  type: xstorag\n")
    (msg,) = _errors(path)
    assert ":17:3: device.type: unknown device type 'xstorag'" in msg
    assert all(name in msg for name in DEVICES.names())
    assert "did you mean 'xstorage'?" in msg


def test_device_settings_are_located(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "device:\n  type: simulated\n  no_such_setting: 1\n")
    errors = _errors(path)
    assert any(":18:3: device.no_such_setting: unknown key" in e for e in errors), errors


def test_device_errors_come_with_the_policys_other_errors(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + textwrap.dedent("""\
        device:
          type: xstorag
        default:
          strategy: no_such_strategy
        """))
    errors = _errors(path)
    assert any("device.type: unknown device type 'xstorag'" in e for e in errors), errors
    assert any("default.strategy: unknown strategy 'no_such_strategy'" in e for e in errors)


def test_the_policy_language_leaves_the_device_to_the_device_floor(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "device:\n  type: xstorag\n")
    assert load_policy(path).doc.device.type == "xstorag"
